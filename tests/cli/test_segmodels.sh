#!/usr/bin/env bash
# tests/cli - the segmentation models UNet3D, UNet2D and Basic through
# `innereye`: listed as plugins, their config checks (a clear message naming
# the key, the value and the rule, before any data is read), a short training
# run of each on generated volumes, and model.init_checkpoint with the
# committed converted checkpoint (tests/reference/gen_convert_unet3d.py).
#   test_segmodels.sh INNEREYE FIXTURE_DIR
set -u
innereye=$1
fixtures=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
refused() { # refused DESCRIPTION EXPECTED-TEXT innereye-args...
  "$innereye" "${@:3}" > "$out/refused.txt" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$2" "$out/refused.txt"; then echo "ok    $1"
  else echo "FAIL  $1 (exit $rc)"; cat "$out/refused.txt"; fails=$((fails + 1)); fi
}
synthetic=(--output-dir "$out" --set data.synthetic=true --set data.synthetic_subjects=6 --set train.epochs=1
           --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 --threads 2)

"$innereye" plugins > "$out/plugins.txt" 2>&1
for m in UNet3D UNet2D Basic; do check "innereye plugins lists $m" grep -q "^  $m 1\.0\.0" "$out/plugins.txt"; done

# ---- config checks ----
refused "UNet3D: a crop that is not a multiple of 2^depth" \
  "UNet3D: data.crop_size is [30, 48, 32]; along D it must be a multiple of 16 (2^depth, model.params.depth 4), and 30 is not. Try [32, 48, 32]" \
  train --model UNet3D --set data.crop_size=[30,48,32]
refused "UNet3D: the same for the inference tile" \
  "UNet3D: data.test_crop_size is [64, 64, 60]; along W it must be a multiple of 8 (2^depth, model.params.depth 3)" \
  train --model UNet3D --set model.params.depth=3 --set data.test_crop_size=[64,64,60]
refused "UNet2D: only H and W need the multiple" \
  "UNet2D: data.crop_size is [1, 48, 36]; along W it must be a multiple of 16" \
  train --model UNet2D --set data.crop_size=[1,48,36]
refused "UNet3D: data.pad_multiple must fit the depth" \
  "UNet3D: data.pad_multiple is 16; it must be a multiple of 32 (2^depth, model.params.depth 5)" \
  train --model UNet3D --set model.params.depth=5 --set data.crop_size=[32,64,32]
refused "UNet3D: a misspelt parameter" \
  "UNet3D: model.params.featurs is not a parameter of this model; it has: features, depth, in_channels, classes" \
  train --model UNet3D --set model.params.featurs=8
refused "UNet3D: classes disagreeing with data.classes" \
  "UNet3D: model.params.classes is 2 but data.classes lists 3 classes (background first); they must agree" \
  train --model UNet3D --set model.params.classes=2
refused "UNet3D: depth out of range" \
  "UNet3D: model.params.depth is 7; it must be between 1 and 6" \
  train --model UNet3D --set model.params.depth=7
refused "Basic: a crop smaller than 29" \
  "Basic: data.crop_size is [40, 28, 40]; along H it must be at least 29 (the network's unpadded convolutions" \
  train --model Basic --set data.crop_size=[40,28,40]
refused "Basic: feature_channels must have 8 entries" \
  "Basic: model.params.feature_channels must be a list of 8 integers" \
  train --model Basic --set model.params.feature_channels=[4,4,4]

# ---- a short training run of each ----
"$innereye" train --model UNet3D "${synthetic[@]}" --set run.name=unet3d --set model.params.features=4 \
  --set model.params.depth=2 --set data.crop_size=[16,16,16] > "$out/unet3d.txt" 2>&1
check "UNet3D trains, validates and segments the test subjects" grep -q "^test (1 subjects): loss" "$out/unet3d.txt"
check "... with InnerEye's parameter names" \
  grep -q "_layers.4.block2.bn1.num_batches_tracked" "$out/unet3d/checkpoints/epoch_0001.safetensors"
"$innereye" train --model UNet2D "${synthetic[@]}" --set run.name=unet2d --set model.params.features=4 \
  --set model.params.depth=2 --set data.crop_size=[1,16,16] > "$out/unet2d.txt" 2>&1
check "UNet2D trains, validates and segments the test subjects" grep -q "^test (1 subjects): loss" "$out/unet2d.txt"
"$innereye" train --model Basic "${synthetic[@]}" --set run.name=basic \
  --set model.params.feature_channels=[2,2,2,2,2,2,2,2] --set data.crop_size=[29,30,29] > "$out/basic.txt" 2>&1
check "Basic trains (logits of the crop's centre), validates and segments whole volumes" \
  grep -q "^test (1 subjects): loss" "$out/basic.txt"
check "... its predictions cover the whole volume" test -s "$(ls "$out"/basic/predictions/*_segmentation.nii.gz | head -1)"

# ---- model.init_checkpoint ----
converted=$fixtures/convert_unet3d.safetensors
init=(--model UNet3D --output-dir "$out" --set model.params.features=4 --set model.params.depth=2
      --set model.init_checkpoint="$converted" --set run.train=false --threads 2)
"$innereye" train "${init[@]}" --set data.synthetic=true --set data.synthetic_subjects=6 --set seed=1 \
  --set data.split.seed=1 --set run.name=init1 > "$out/init1.txt" 2>&1
check "model.init_checkpoint loads every tensor" \
  grep -q "initial weights: 78 of the model's 78 tensors from $converted" "$out/init1.txt"
check "... and run.json records the file and its SHA-256" \
  grep -q "\"sha256\":[[:space:]]*\"$(sha256sum "$converted" | cut -c1-64)\"" "$out/init1/run.json"
# Another seed initialises the model differently, but the loaded weights
# replace all of it: the same segmentations.
data=(--set data.dataset_csv="$out/init1/synthetic_data/dataset.csv" --set data.split.seed=1 --set seed=2)
"$innereye" train "${init[@]}" "${data[@]}" --set run.name=init2 > "$out/init2.txt" 2>&1
"$innereye" train "${init[@]}" "${data[@]}" --set run.name=random --set model.init_checkpoint= > "$out/random.txt" 2>&1
seg=$(basename "$(ls "$out"/init1/predictions/*_segmentation.nii.gz | head -1)")
check "the loaded weights alone decide the segmentation (seed 1 and seed 2 agree)" \
  cmp -s "$out/init1/predictions/$seg" "$out/init2/predictions/$seg"
check "... while a randomly initialised model segments differently" \
  test -s "$out/random/predictions/$seg" -a -n "$(cmp "$out/init1/predictions/$seg" "$out/random/predictions/$seg")"
refused "a checkpoint of another configuration is refused, naming the tensor" \
  "model.init_checkpoint: $converted: tensor '_layers.0.block1.conv1.weight' is [4, 1, 3, 3, 3] f32, the model's is [8, 1, 3, 3, 3] f32" \
  train --model UNet3D "${synthetic[@]}" --set model.params.features=8 --set model.params.depth=2 \
  --set data.crop_size=[16,16,16] --set model.init_checkpoint="$converted"
refused "a checkpoint of another model is refused" \
  "has no tensor '_layers.0.conv1.weight' that the model needs" \
  train --model Basic "${synthetic[@]}" --set model.params.feature_channels=[2,2,2,2,2,2,2,2] \
  --set data.crop_size=[29,30,29] --set model.init_checkpoint="$converted"
refused "a missing file is named" "model.init_checkpoint: $out/no_such.safetensors: cannot open" \
  train --model UNet3D "${synthetic[@]}" --set model.params.features=4 --set model.params.depth=2 \
  --set data.crop_size=[16,16,16] --set model.init_checkpoint="$out/no_such.safetensors"

echo "$fails failed"
[ "$fails" -eq 0 ]
