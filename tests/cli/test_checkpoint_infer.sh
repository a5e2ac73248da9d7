#!/usr/bin/env bash
# tests/cli - weights outside a run: `infer --checkpoint FILE --model NAME`
# (the model's built-in config plus --set overrides) segments exactly as
# `infer --run` of the run that wrote FILE; a run started from those weights
# with run.train=false is usable by `infer --run` (its recorded weights,
# checked by SHA-256); `innereye convert` is the installed converter.
#   test_checkpoint_infer.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
shape=(--set model.params.features=4 --set model.params.depth=2 --set data.crop_size=[16,16,16])
"$innereye" train --model HelloWorld "${shape[@]}" --output-dir o --set data.synthetic=true \
  --set data.synthetic_subjects=6 --set train.epochs=1 --set run.name=r --threads 2 > train.txt 2>&1
check "a tiny run finishes" test $? -eq 0
image=o/r/synthetic_data/synthetic_000_image.nii.gz
weights=o/r/checkpoints/epoch_0001.safetensors

"$innereye" infer --run o/r --image $image --out by_run > a.txt 2>&1
check "infer --run" test $? -eq 0
"$innereye" infer --checkpoint $weights --model HelloWorld "${shape[@]}" --image $image --out by_checkpoint > b.txt 2>&1
check "infer --checkpoint FILE --model NAME with --set overrides" test $? -eq 0
check "  segments byte for byte as infer --run" \
  cmp by_run/synthetic_000_image/posterior_anterior.nii.gz by_checkpoint/synthetic_000_image/posterior_anterior.nii.gz
"$innereye" infer --checkpoint $weights --image $image --out x > c.txt 2>&1
check "infer --checkpoint without --model or --config: exit 2, saying what to add" \
  bash -c "test $? -eq 2 && grep -q -- '--checkpoint needs --model NAME (its built-in config) or --config FILE' c.txt"

# A run that only evaluates the weights it starts from (run.train=false).
cp $weights start.safetensors
"$innereye" train --model HelloWorld "${shape[@]}" --output-dir o --set data.synthetic=true \
  --set data.synthetic_subjects=6 --set run.name=eval_only --set run.train=false \
  --set model.init_checkpoint=start.safetensors --threads 2 > d.txt 2>&1
check "a run.train=false run from converted weights finishes" test $? -eq 0
"$innereye" infer --run o/eval_only --image $image --out by_eval_only > e.txt 2>&1
check "infer --run of it works (it has no checkpoint: its starting weights)" test $? -eq 0
check "  and segments as the weights' own run" \
  cmp by_run/synthetic_000_image/posterior_anterior.nii.gz by_eval_only/synthetic_000_image/posterior_anterior.nii.gz
printf 'x' >> start.safetensors
"$innereye" infer --run o/eval_only --image $image --out y > f.txt 2>&1
check "changed starting weights are refused, naming the file" \
  bash -c "test $? -eq 1 && grep -q 'its weights were start.safetensors, but that file changed since' f.txt"

"$innereye" convert --help > g.txt 2>&1
check "innereye convert --help exits 0 with the converter's usage" \
  bash -c "test $? -eq 0 && grep -q '^usage: innereye convert' g.txt"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
