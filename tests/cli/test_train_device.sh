#!/usr/bin/env bash
# tests/cli - `innereye train --device cuda` and `innereye infer` on a device,
# run on the stand-in device module (tests/backend/testdev.c: the CUDA slot
# served from host memory with the CPU's kernels, through the same dlopen,
# copies and contracts as the real module).  Since its arithmetic is the
# CPU's, a device run must give the CPU run's bytes: checkpoints, optimiser
# state, metrics and inferred segmentations; a device run stopped and resumed
# too.  Also: run.json records the device and precision; train.precision is
# refused where it cannot run, and a missing backend is reported before a
# run folder is made.
#   test_train_device.sh INNEREYE TESTDEV_MODULE
set -u
innereye=$1
testdev=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
tiny=(--model HelloWorld --output-dir "$out" --set data.synthetic=true --set data.synthetic_subjects=8
      --set model.params.features=4 --set model.params.depth=2 --set train.epochs=2 --set data.crop_size=[16,16,16]
      --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 --threads 2)

"$innereye" train "${tiny[@]}" --set run.name=cpu > "$out/cpu.txt" 2>&1
check "CPU run succeeds" test $? -eq 0
INNEREYE_CUDA_MODULE=$testdev "$innereye" train "${tiny[@]}" --set run.name=dev --device cuda > "$out/dev.txt" 2>&1
check "device run succeeds" test $? -eq 0
for f in checkpoints/epoch_0002.safetensors checkpoints/epoch_0002.optimizer.safetensors metrics.csv; do
  check "device run's $f equals the CPU run's" cmp -s "$out/cpu/$f" "$out/dev/$f"
done
check "run.json records the device and precision" \
  python3 -c "import json, sys; d = json.load(open(sys.argv[1]))['device']; sys.exit(d != {'kind': 'cuda', 'precision': 'fp32'})" \
  "$out/dev/run.json"
check "the resolved config says train.device cuda" grep -q '"device":[[:space:]]*"cuda"' "$out/dev/config.resolved.json"

INNEREYE_CUDA_MODULE=$testdev "$innereye" train "${tiny[@]}" --set run.name=part --device cuda --stop-after-epochs 1 \
  > "$out/part.txt" 2>&1
INNEREYE_CUDA_MODULE=$testdev "$innereye" train --resume "$out/part" --threads 1 > "$out/resume.txt" 2>&1
check "a device run resumes" test $? -eq 0
check "the resumed device run equals the CPU run" \
  cmp -s "$out/cpu/checkpoints/epoch_0002.safetensors" "$out/part/checkpoints/epoch_0002.safetensors"

csv=$out/dev/synthetic_data/dataset.csv
INNEREYE_CUDA_MODULE=$testdev "$innereye" infer --run "$out/dev" --dataset "$csv" --out "$out/inf_dev" > "$out/inf_dev.txt" 2>&1
check "infer follows the run's train.device" test $? -eq 0
"$innereye" infer --run "$out/dev" --dataset "$csv" --out "$out/inf_cpu" --set train.device=cpu > "$out/inf_cpu.txt" 2>&1
check "infer --set train.device=cpu runs on the CPU" test $? -eq 0
check "device and CPU inference write the same files" diff -r "$out/inf_dev" "$out/inf_cpu"

# Refusals: precision where it cannot run (config check, exit 2), and no
# backend for the device (exit 1, no run folder left behind).
"$innereye" train "${tiny[@]}" --set run.name=tf32cpu --precision tf32 > "$out/tf32.txt" 2>&1
check "tf32 on the CPU is refused as a config problem" test $? -eq 2
check "the tf32 refusal names the key and the fix" grep -q "train.precision: tf32 needs train.device cuda" "$out/tf32.txt"
"$innereye" train "${tiny[@]}" --set run.name=bf16 --device cuda --precision bf16 > "$out/bf16.txt" 2>&1
check "bf16 is refused as not implemented" grep -q "bf16 is not implemented yet" "$out/bf16.txt"
INNEREYE_CUDA_MODULE=$out/no_such_module.so "$innereye" train "${tiny[@]}" --set run.name=nomod --device cuda \
  > "$out/nomod.txt" 2>&1
check "a missing CUDA module fails" test $? -eq 1
check "the error names the missing module" grep -q "no_such_module.so does not exist" "$out/nomod.txt"
check "no run folder is left behind" test ! -e "$out/nomod"

# Classification and regression models are CPU-only so far: refused by name.
mkdir -p "$out/tab" && bash "$(dirname "$0")/tabular_dataset.sh" "$out/tab" 40 7 30 > /dev/null
INNEREYE_CUDA_MODULE=$testdev "$innereye" train --config "$out/tab/binary.json" --output-dir "$out" \
  --set run.name=cls --device cuda > "$out/cls.txt" 2>&1
check "a classifier on the device is refused" test $? -ne 0
check "the refusal says classification trains on the CPU" grep -q "classification and regression models train on the CPU" \
  "$out/cls.txt"

echo "$fails failed"
[ "$fails" -eq 0 ]
