#!/usr/bin/env bash
# tests/cli - `innereye train` end to end on generated volumes: a run folder
# with every artefact; a run stopped after epoch 1 and resumed (on another
# thread count) ends byte-identical to an uninterrupted run; loader workers do
# not change results; run folders are never overwritten; bad configs and a
# diverging loss fail cleanly.
#   test_train.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
tiny=(--model HelloWorld --output-dir "$out" --set data.synthetic=true --set data.synthetic_subjects=8
      --set model.params.features=4 --set model.params.depth=2 --set train.epochs=3 --set data.crop_size=[16,16,16]
      --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25)

"$innereye" train "${tiny[@]}" --set run.name=full --threads 2 > "$out/full.txt" 2>&1
check "uninterrupted run succeeds" test $? -eq 0
run=$out/full
check "config.resolved.json written" test -s "$run/config.resolved.json"
check "train_log.csv has a header and 3 epochs" test "$(wc -l < "$run/train_log.csv")" -eq 4
check "train_log.csv has Dice columns" grep -q "val_dice_anterior,val_dice_posterior,seconds" "$run/train_log.csv"
check "metrics.csv has InnerEye's columns" \
  grep -q "^Patient,Structure,Dice,HausdorffDistance_mm,HD95_mm,MeanDistance_mm$" "$run/metrics.csv"
check "metrics.csv has Dice and distances per subject and structure" \
  grep -Eq "^synthetic_[0-9]+,posterior,(0|1)\.[0-9]+,([0-9.]+|inf),([0-9.]+|inf),([0-9.]+|inf)$" "$run/metrics.csv"
check "metrics_aggregates.csv summarises each structure and metric" \
  grep -q "^posterior,HD95_mm," "$run/metrics_aggregates.csv"
check "predictions written" test -s "$(ls "$run"/predictions/*_segmentation.nii.gz | head -1)"
check "run.json finished, with provenance" \
  grep -q '"status":[[:space:]]*"finished"' "$run/run.json"
check "run.json has the plugin's SHA-256" grep -Eq '"sha256":[[:space:]]*"[0-9a-f]{64}"' "$run/run.json"
check "run.json has data file hashes" grep -q '"files_sha256"' "$run/run.json"
check "run.json has the git commit" grep -q '"git_commit"' "$run/run.json"
check "checkpoint of epoch 3" test -s "$run/checkpoints/epoch_0003.safetensors"
check "split.csv written" grep -q "^subject,split" "$run/split.csv"

# Stop after epoch 1 (as if killed), then resume on 1 thread.
"$innereye" train "${tiny[@]}" --set run.name=part --threads 2 --stop-after-epochs 1 > "$out/part.txt" 2>&1
check "a stopped run exits non-zero" test $? -ne 0
check "the stopped run kept its epoch-1 checkpoint" test -s "$out/part/checkpoints/epoch_0001.safetensors"
"$innereye" train --resume "$out/part" --threads 1 > "$out/resume.txt" 2>&1
check "resume succeeds" test $? -eq 0
check "resumed weights are byte-identical to the uninterrupted run's" \
  cmp -s "$run/checkpoints/epoch_0003.safetensors" "$out/part/checkpoints/epoch_0003.safetensors"
check "resumed optimiser state is byte-identical" \
  cmp -s "$run/checkpoints/epoch_0003.optimizer.safetensors" "$out/part/checkpoints/epoch_0003.optimizer.safetensors"
check "resumed metrics are identical" cmp -s "$run/metrics.csv" "$out/part/metrics.csv"
check "resumed log matches except for timings" \
  cmp -s <(cut -d, -f1-6 "$run/train_log.csv") <(cut -d, -f1-6 "$out/part/train_log.csv")

"$innereye" train "${tiny[@]}" --set run.name=w0 --set data.workers=0 --threads 1 > "$out/w0.txt" 2>&1
check "0 loader workers and 1 thread give the same weights as 2 workers and 2 threads" \
  cmp -s "$run/checkpoints/epoch_0003.safetensors" "$out/w0/checkpoints/epoch_0003.safetensors"

(cd "$out" && "$innereye" train "${tiny[@]}" --output-dir relative --set run.name=rel --set train.epochs=1) \
  > "$out/relative.txt" 2>&1
check "a relative output folder works (generated data found through dataset.csv)" \
  test -s "$out/relative/rel/metrics.csv"

"$innereye" train "${tiny[@]}" --set run.name=full > "$out/again.txt" 2>&1
check "an existing run folder is refused" test $? -ne 0
check "... saying so" grep -q "already exists; runs are never overwritten" "$out/again.txt"
check "... and the first run is untouched" cmp -s "$run/metrics.csv" "$out/part/metrics.csv"

"$innereye" train "${tiny[@]}" --set train.epochz=3 > "$out/bad.txt" 2>&1
check "an unknown key fails with exit 2" test $? -eq 2
check "... suggesting the nearest key" grep -q "train.epochs" "$out/bad.txt"

"$innereye" train "${tiny[@]}" --set run.name=badweights --set "data.crop_class_weights=[1,2]" > "$out/badweights.txt" 2>&1
check "a setting the schema cannot check (3 classes, 2 crop weights) is refused" \
  grep -q "data.crop_class_weights has 2 entries; give one per class (3" "$out/badweights.txt"
check "... before a run folder is made" test ! -e "$out/badweights"
"$innereye" train "${tiny[@]}" --set run.name=balanced --set "data.crop_class_weights=[0.2,0.4,0.4]" \
  --set train.epochs=1 > "$out/balanced.txt" 2>&1
check "class-balanced crop sampling trains" test -s "$out/balanced/metrics.csv"
check "... and its crops differ from uniform sampling's" \
  bash -c "! cmp -s '$out/balanced/checkpoints/epoch_0001.safetensors' '$out/w0/checkpoints/epoch_0001.safetensors'"

"$innereye" train "${tiny[@]}" --set run.name=nan --set train.optimizer.lr=1e30 > "$out/nan.txt" 2>&1
check "a diverging run fails" test $? -ne 0
check "... naming the epoch and step" grep -Eq "epoch [0-9]+, step [0-9]+: the loss is not finite" "$out/nan.txt"

if [ "$fails" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $f"; cat "$f"; done
  echo "$fails checks failed"
  exit 1
fi
echo "all train checks passed"
