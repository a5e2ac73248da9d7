#!/usr/bin/env bash
# tests/cli - messages a newcomer reads: image sizes always with their axis
# names (x, y, z of the file; D, H, W of the network's tensors), a flood of
# eval warnings capped with a count, and train.loss.name Auto choosing the
# loss of the targets (the classification default used to be refused for
# binary targets).
#   test_messages.sh INNEREYE SOURCE_DIR
set -u
innereye=$1
src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
tiny=(--model HelloWorld --output-dir "$out/o" --set data.synthetic=true --set data.synthetic_subjects=6
      --set model.params.features=4 --set model.params.depth=2 --set data.crop_size=[16,16,16] --threads 2)
"$innereye" train "${tiny[@]}" --set train.epochs=1 --set run.name=r > train.txt 2>&1
check "a tiny run finishes" test $? -eq 0
data=o/r/synthetic_data

# Sizes: infer names the axes of the size it prints.
"$innereye" infer --run o/r --image $data/synthetic_000_image.nii.gz --out pred > infer.txt 2>&1
check "infer prints the size with its axes" grep -Eq "^synthetic_000_image: [0-9]+x[0-9]+x[0-9]+ voxels \(z, y, x: D, H, W\)" infer.txt

# Warning floods: 12 true label maps, 1 prediction: 5 named, the rest counted.
mkdir -p truth
for i in $(seq -w 1 12); do cp $data/synthetic_000_label.nii.gz truth/case_$i.nii.gz; done
mkdir -p one && cp pred/synthetic_000_image/segmentation.nii.gz one/case_01.nii.gz
"$innereye" eval --pred one --truth truth --out ev > eval.txt 2>&1
check "eval with more truths than predictions succeeds" test $? -eq 0
check "eval names at most 5 unmatched label maps" test "$(grep -c 'warning: no prediction for true label map' eval.txt)" -eq 5
check "eval counts the others" \
  grep -q "warning: ... and 6 more true label maps without a prediction (1 of 12 evaluated" eval.txt
check "eval wrote the one subject's metrics" grep -q "^case_01," ev/metrics.csv

# train.loss.name Auto (the default) on binary and regression targets.
bash "$src/tests/cli/tabular_dataset.sh" "$out" 60 7 2
sed 's/, "loss": {"name": "BCE"}//' binary.json > binary_auto.json
sed 's/, "loss": {"name": "MSE"}//' regression.json > regression_auto.json
check "the configs leave the loss to the default" bash -c "! grep -q loss binary_auto.json regression_auto.json"
"$innereye" train --config binary_auto.json --output-dir o --set run.name=bin --threads 2 > bin.txt 2>&1
check "a binary classifier trains with the default loss" test $? -eq 0
check "  which is BCE, said at the start" grep -q "train.loss.name Auto: BCE for binary targets" bin.txt
"$innereye" train --config regression_auto.json --output-dir o --set run.name=reg --threads 2 > reg.txt 2>&1
check "a regressor trains with the default loss, MSE" grep -q "train.loss.name Auto: MSE for regression targets" reg.txt
"$innereye" train --config binary_auto.json --output-dir o --set run.name=ce --set train.loss.name=CrossEntropy \
  > ce.txt 2>&1
check "a loss named by hand is still checked against the targets" \
  grep -q 'train.loss.name "CrossEntropy" does not fit binary targets; use "BCE"' ce.txt

# A run that fails a check before training begins leaves no run folder
# (tests/cli/test_run_folder.sh tests this in full).
"$innereye" train "${tiny[@]}" --set train.epochs=1 --set run.name=bad_init \
  --set model.init_checkpoint=nothere.safetensors > bad_init.txt 2>&1
check "a missing model.init_checkpoint fails" test $? -ne 0
check "  no run folder was made, as the message says" \
  bash -c "test ! -e o/bad_init && grep -q 'the run stopped before training began, so no run folder was made' bad_init.txt"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
