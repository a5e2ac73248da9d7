# Damaged, missing and unusable checkpoints: resuming falls back to the
# newest checkpoint that works, inference refuses what it cannot trust,
# model.init_checkpoint is checked before training.  Sourced by run.sh.
make_data
make_run
ckpt=runs/good/checkpoints
# A run stopped after epoch 2 of 3, with checkpoints of epochs 1 and 2.
stopped() { rm -rf "runs/$1"; "$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs \
  --set train.epochs=3 --set train.checkpoint_every=1 --set run.name="$1" --stop-after-epochs 2 > /dev/null 2>&1; }
"$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs --set train.epochs=3 \
  --set run.name=whole > /dev/null 2>&1

# ---- resume falls back to the previous checkpoint ----
stopped truncated
head -c 100 runs/truncated/checkpoints/epoch_0002.safetensors > t && mv t runs/truncated/checkpoints/epoch_0002.safetensors
expect resume_last_weights_truncated 0 "warning: the last checkpoint cannot be used \\(.*epoch_0002.safetensors: header length" \
  "continuing from the newest one that can: epoch 1" --changes runs/truncated -- "$IE" train --resume runs/truncated
check "resume_last_weights_truncated: ends byte-identical to an uninterrupted run" \
  cmp runs/whole/checkpoints/epoch_0003.safetensors runs/truncated/checkpoints/epoch_0003.safetensors
stopped garbage_json
echo "not json" > runs/garbage_json/checkpoints/last.json
expect resume_last_json_garbage 0 "warning: the last checkpoint cannot be used \\(.*last.json: not a valid checkpoint record" \
  "continuing from the newest one that can: epoch 2" --changes runs/garbage_json -- \
  "$IE" train --resume runs/garbage_json
stopped missing_optimizer
rm runs/missing_optimizer/checkpoints/epoch_0002.optimizer.safetensors
expect resume_optimizer_state_missing 0 "warning: the last checkpoint cannot be used \\(.*epoch_0002.optimizer.safetensors: cannot open" \
  "continuing from the newest one that can: epoch 1" --changes runs/missing_optimizer -- \
  "$IE" train --resume runs/missing_optimizer
stopped nan_weights
"$TOOL" nan-weights runs/nan_weights/checkpoints/epoch_0002.safetensors nan.safetensors
mv nan.safetensors runs/nan_weights/checkpoints/epoch_0002.safetensors
expect resume_last_weights_nan 0 "warning: the last checkpoint cannot be used \\(.*epoch_0002.safetensors: tensor '[^']+' holds [0-9]+ NaN" \
  "continuing from the newest one that can: epoch 1" --changes runs/nan_weights -- \
  "$IE" train --resume runs/nan_weights
stopped all_bad
for f in runs/all_bad/checkpoints/epoch_*.safetensors; do : > "$f"; done
expect resume_no_usable_checkpoint 1 "runs/all_bad has no usable checkpoint \\(the last one: .*too short to be a safetensors file" \
  "start the run again" -- "$IE" train --resume runs/all_bad
stopped orphans
touch runs/orphans/checkpoints/epoch_0003.safetensors.tmp.99999 runs/orphans/train_log.csv.tmp.99999
expect resume_removes_orphan_temporaries 0 "removed 2 temporary files that an interrupted process left in runs/orphans" \
  "done: runs/orphans" --changes runs/orphans -- "$IE" train --resume runs/orphans
check "resume_removes_orphan_temporaries: none left" \
  test -z "$(find runs/orphans -name '*.tmp.*')"

# ---- inference refuses weights it cannot trust ----
cp -r runs/good runs/nan_run
"$TOOL" nan-weights $ckpt/epoch_0002.safetensors runs/nan_run/checkpoints/epoch_0002.safetensors
expect infer_nan_weights 1 "runs/nan_run/checkpoints/epoch_0002.safetensors: tensor '[^']+' holds [0-9]+ NaN or infinite values" \
  "use an earlier checkpoint" -- "$IE" infer --run runs/nan_run --image data/synthetic_000_image.nii.gz --out preds
expect infer_checkpoint_nan_file 1 "nan_run/checkpoints/epoch_0002.safetensors: tensor '[^']+' holds" \
  "use an earlier checkpoint" -- "$IE" infer --checkpoint runs/nan_run/checkpoints/epoch_0002.safetensors \
  --config runs/good/config.resolved.json --image data/synthetic_000_image.nii.gz --out preds
cp -r runs/good runs/cut_run
head -c 300 $ckpt/epoch_0002.safetensors > runs/cut_run/checkpoints/epoch_0002.safetensors
expect infer_last_checkpoint_truncated 1 "epoch_0002.safetensors: header length [0-9]+ does not fit the file" \
  "the file is truncated or not safetensors" -- \
  "$IE" infer --run runs/cut_run --image data/synthetic_000_image.nii.gz --out preds
echo garbage > garbage.safetensors
expect infer_checkpoint_garbage 1 "garbage.safetensors: header length [0-9]+ does not fit the file" \
  "truncated or not safetensors" -- "$IE" infer --checkpoint garbage.safetensors \
  --config runs/good/config.resolved.json --image data/synthetic_000_image.nii.gz --out preds
"$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs --set run.name=wide \
  --set model.params.features=4 --set train.epochs=1 > /dev/null 2>&1
expect infer_checkpoint_other_model 1 "wide/checkpoints/epoch_0001.safetensors: tensor '[^']+' is \\[[0-9, ]+\\] f32, the model's is" \
  "(convert|another model|the model's)" -- "$IE" infer --checkpoint runs/wide/checkpoints/epoch_0001.safetensors \
  --config runs/good/config.resolved.json --image data/synthetic_000_image.nii.gz --out preds
expect infer_checkpoint_missing 1 "nothere.safetensors: cannot open: No such file" "(check|No such file)" -- \
  "$IE" infer --checkpoint nothere.safetensors --config runs/good/config.resolved.json \
  --image data/synthetic_000_image.nii.gz --out preds
rm runs/cut_run/checkpoints/last.json
expect infer_last_json_missing 1 "runs/cut_run has no checkpoint \\(.*last.json is missing\\)" \
  "was the run stopped before its first checkpoint" -- \
  "$IE" infer --run runs/cut_run --image data/synthetic_000_image.nii.gz --out preds

# ---- model.init_checkpoint ----
init() { expect "$1" 1 "$2" "$3" --changes runs -- "$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv \
  --output-dir runs --set "model.init_checkpoint=$4"; }
init init_checkpoint_missing "model.init_checkpoint: nothere.safetensors: cannot open" "No such file" nothere.safetensors
init init_checkpoint_garbage "model.init_checkpoint: garbage.safetensors: header length" "truncated or not safetensors" \
  garbage.safetensors
init init_checkpoint_nan "model.init_checkpoint: .*epoch_0002.safetensors: tensor '[^']+' holds [0-9]+ NaN" \
  "use an earlier checkpoint" runs/nan_run/checkpoints/epoch_0002.safetensors
init init_checkpoint_other_model "model.init_checkpoint: .*tensor '[^']+' is \\[[0-9, ]+\\] f32, the model's is" \
  "model.init_checkpoint" runs/wide/checkpoints/epoch_0001.safetensors
check "init_checkpoint cases stopped before training and left no run folder" \
  bash -c "[ -z \"\$(ls -d runs/HelloWorld_* 2>/dev/null)\" ]"
