#!/usr/bin/env bash
# tests/cli - cross-validation, reproducibility commands and crash recovery on
# generated volumes:
#  - `--cv 2 --parallel 2` lays out both folds and aggregates their metrics;
#  - a fold run alone gives the same bytes as the same fold inside the CV;
#  - repro-check passes across thread and worker counts; rerun matches;
#    compare-runs finds the first difference between two seeds;
#  - a run killed with SIGKILL at random moments (three times) and resumed
#    ends byte-identical to an uninterrupted run.
#   test_experiments.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out" || exit 1
fails=0
check() { if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi; }
tiny=(--model HelloWorld --set data.synthetic=true --set data.synthetic_subjects=9 --set model.params.features=4
      --set model.params.depth=2 --set train.epochs=2 --set "data.crop_size=[16,16,16]")

"$innereye" train "${tiny[@]}" --cv 2 --parallel 2 --set run.name=cv > cv.txt 2>&1
check "cross-validation succeeds" test $? -eq 0
check "both folds are run folders with metrics" test -s outputs/cv/fold_0/metrics.csv -a -s outputs/cv/fold_1/metrics.csv
check "cv_metrics.csv has a fold column" grep -q "^fold,Patient,Structure,Dice" outputs/cv/cv_metrics.csv
check "cv_summary.csv has mean and std of Dice per structure over 2 folds" \
  grep -Eq "^posterior,Dice,2,[0-9.]+,[0-9.]+$" outputs/cv/cv_summary.csv
check "the folds' ensemble is evaluated on the test set" test -s outputs/cv/ensemble/metrics_aggregates.csv
check "ensemble_comparison.csv puts the ensemble beside each fold" \
  grep -Eq "^posterior,Dice,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+$" outputs/cv/ensemble_comparison.csv
check "folds share the test set" cmp -s <(grep ',test$' outputs/cv/fold_0/split.csv) <(grep ',test$' outputs/cv/fold_1/split.csv)
check "folds validate on different subjects" \
  test "$(grep ',val$' outputs/cv/fold_0/split.csv)" != "$(grep ',val$' outputs/cv/fold_1/split.csv)"

"$innereye" train "${tiny[@]}" --cv 2 --cross_validation_split_index 1 --set run.name=alone --threads 2 > alone.txt 2>&1
check "a single fold runs into the CV layout" test -s outputs/alone/fold_1/metrics.csv
check "a fold run alone is byte-identical to the same fold inside the CV" \
  "$innereye" compare-runs outputs/cv/fold_1 outputs/alone/fold_1
"$innereye" train "${tiny[@]}" --cv 2 --cross_validation_split_index 0 --set run.name=alone --threads 2 >> alone.txt 2>&1
"$innereye" cv-aggregate outputs/alone >> alone.txt 2>&1
check "cv-aggregate after folds run one by one gives the full CV's metrics" \
  cmp -s outputs/cv/cv_metrics.csv outputs/alone/cv_metrics.csv
check "... and the same ensemble metrics" cmp -s outputs/cv/ensemble/metrics.csv outputs/alone/ensemble/metrics.csv

"$innereye" ensemble --runs outputs/cv/fold_0 outputs/cv/fold_1 --out ens > ens.txt 2>&1
check "an ensemble folder holds every member's weights and a manifest" \
  test -s ens/manifest.json -a -s ens/members/1/weights.safetensors
check "... with the weights' SHA-256" grep -q "\"weights_sha256\":[[:space:]]*\"$(sha256sum ens/members/0/weights.safetensors | cut -c1-64)\"" ens/manifest.json
# infer reads an ensemble only as its manifest describes it.
image=$(ls outputs/cv/fold_0/synthetic_data/*_image.nii.gz | head -1)
cp -r ens ens_changed && printf x >> ens_changed/members/1/weights.safetensors
"$innereye" infer --run ens_changed --image "$image" --out changed > changed.txt 2>&1
check "infer refuses an ensemble whose member weights changed, naming the file" \
  grep -q "ens_changed/members/1/weights.safetensors: its SHA-256 does not match the manifest" changed.txt
cp -r ens ens_big
python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); m["members"] *= 33; json.dump(m, open(sys.argv[1], "w"))' \
  ens_big/manifest.json
"$innereye" infer --run ens_big --image "$image" --out big > big.txt 2>&1
check "... and one of more members than it combines (66 > 64), never a smaller one" \
  grep -q "ens_big/manifest.json: 66 members; innereye combines at most 64" big.txt
"$innereye" ensemble --runs outputs/cv/fold_0 outputs/cv/fold_1 --out ens > ens2.txt 2>&1
check "an existing ensemble folder is not overwritten" grep -q "already exists" ens2.txt
"$innereye" train "${tiny[@]}" --set run.name=five --set "data.classes=[\"background\",\"a\",\"b\",\"c\"]" --set model.params.classes=4 > five.txt 2>&1
"$innereye" ensemble --runs outputs/cv/fold_0 outputs/five --out ens3 > ens3.txt 2>&1
check "incompatible runs are refused, naming the mismatch" grep -q "is not compatible with" ens3.txt

"$innereye" repro-check "${tiny[@]}" --threads 1,2 --workers 0,2 > repro.txt 2>&1
check "repro-check passes across 1/2 threads and 0/2 workers" grep -q "^PASS: 4 runs compared" repro.txt
base=$(ls -d outputs/repro_check_*/baseline)
"$innereye" rerun "$base" > rerun.txt 2>&1
check "rerun reproduces a run" grep -q "^MATCH: " rerun.txt
"$innereye" train "${tiny[@]}" --set run.name=seed7 --set seed=7 --set data.split.seed=42 > seed7.txt 2>&1
"$innereye" compare-runs "$base" outputs/seed7 > compare.txt 2>&1
check "compare-runs reports another seed's run as different" test $? -eq 1
check "... naming the first difference" grep -q "^DIFFERENT: train_log.csv: row 1 (epoch 1), column train_loss" compare.txt

# Sweeps: a grid x random search, and the median stopping rule ending a
# hopeless trial (learning rate 1e-7) after its minimum epochs.
"$innereye" sweep "${tiny[@]}" --grid train.batch_size=1,2 --random "train.optimizer.lr=loguniform(0.001,0.03)" \
  --trials 4 --parallel 2 --set run.name=sweep > sweep.txt 2>&1
check "a sweep runs every trial" test "$(grep -c ',finished,' outputs/sweep/sweep.csv)" -eq 4
check "... alternating the grid values" grep -q "^1,finished,2," outputs/sweep/sweep.csv
check "... and reports the best trial" grep -Eq "^best: trial [0-3], val_loss = " sweep.txt
"$innereye" sweep "${tiny[@]}" --set train.epochs=6 --grid "train.optimizer.lr=0.01,0.0000001" \
  --set run.name=median > median.txt 2>&1
check "the median stopping rule stops a poor trial early" grep -q "^1,finished,0.0000001,[0-9.]*,2,yes$" outputs/median/sweep.csv
check "... and lets the good one finish" grep -q "^0,finished,0.01,[0-9.]*,6,no$" outputs/median/sweep.csv

# Crash recovery: SIGKILL at a random moment after the first checkpoint,
# resume, three times over; then compare with an uninterrupted run.
long=("${tiny[@]}" --set train.epochs=12 --set data.synthetic_subjects=12 --threads 2)
"$innereye" train "${long[@]}" --set run.name=straight > straight.txt 2>&1
"$innereye" train "${long[@]}" --set run.name=killed > killed.txt 2>&1 &
pid=$!
epoch_done() { grep -o '"epoch":[[:space:]]*[0-9]*' outputs/killed/checkpoints/last.json 2>/dev/null | grep -o '[0-9]*$' || echo 0; }
for round in 1 2 3; do
  # Each kill lands after a later checkpoint than the one before.
  before=$(epoch_done)
  for _ in $(seq 300); do [ "$(epoch_done)" -gt "$before" ] && break; sleep 0.01; done
  sleep "0.0$((RANDOM % 9 + 1))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "killed round $round with the checkpoint of epoch $(epoch_done) on disk"
  if grep -q '"status":[[:space:]]*"finished"' outputs/killed/run.json; then break; fi
  "$innereye" train --resume outputs/killed --threads 1 >> killed.txt 2>&1 &
  pid=$!
done
wait "$pid" 2>/dev/null
if ! grep -q '"status":[[:space:]]*"finished"' outputs/killed/run.json; then
  "$innereye" train --resume outputs/killed --threads 2 >> killed.txt 2>&1
fi
check "a run killed with SIGKILL and resumed finishes" grep -q '"status":[[:space:]]*"finished"' outputs/killed/run.json
check "... byte-identical to the uninterrupted run" "$innereye" compare-runs outputs/straight outputs/killed

if [ "$fails" -ne 0 ]; then
  for f in *.txt; do echo "---- $f"; tail -20 "$f"; done
  echo "$fails checks failed"
  exit 1
fi
echo "all experiment checks passed"
