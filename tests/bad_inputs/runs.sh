# Run folders: resuming (runs from an images folder, changed data or split,
# settings on the command line, finished runs, things that are not runs),
# a diverging loss, inference with a replaced plugin, and `innereye eval` on
# inference's own output layout.  Sourced by run.sh.
make_data
make_run
mkdir -p images labels
for f in data/synthetic_00[0-5]_image.nii.gz; do
  s=$(basename "$f" _image.nii.gz); cp "$f" "images/$s.nii.gz"; cp "data/${s}_label.nii.gz" "labels/$s.nii.gz"
done
FOLDERS=("${TINY[@]}" --set data.images_dir=images --set data.labels_dir=labels --output-dir runs --set train.epochs=3)

# ---- resume: a run made from an images folder (the default HelloWorld way) ----
"$IE" train "${FOLDERS[@]}" --set run.name=whole > /dev/null 2>&1
"$IE" train "${FOLDERS[@]}" --set run.name=folders --stop-after-epochs 1 > /dev/null 2>&1
expect resume_run_from_images_folder 0 "data: runs/folders/dataset.csv \\(paired from data.images_dir, as the run started\\)" \
  "done: runs/folders" --changes runs/folders -- "$IE" train --resume runs/folders
check "resume_run_from_images_folder: ends byte-identical to an uninterrupted run" \
  cmp runs/whole/checkpoints/epoch_0003.safetensors runs/folders/checkpoints/epoch_0003.safetensors
"$IE" train "${TINY[@]}" --set data.synthetic=true --set data.synthetic_subjects=6 --output-dir runs --set run.name=synth \
  --stop-after-epochs 1 > /dev/null 2>&1
expect resume_generated_data 0 "data: runs/synth/synthetic_data/dataset.csv \\(generated, as the run started\\)" \
  "done: runs/synth" --changes runs/synth/checkpoints --changes runs/synth/run.json --changes runs/synth/train_log.csv \
  --changes runs/synth/metrics.csv --changes runs/synth/metrics_aggregates.csv --changes runs/synth/predictions \
  --changes runs/synth/report.html -- "$IE" train --resume runs/synth

# ---- resume: what it refuses, changing nothing ----
stopped() { rm -rf "runs/$1"; "$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs \
  --set train.epochs=3 --set run.name="$1" --stop-after-epochs 1 > /dev/null 2>&1; }
stopped part
expect resume_set_changes_result 2 "--set train.epochs=5 cannot be given with --resume" \
  "Only run.threads, data.workers, data.prefetch, data.cache_mb, dist.timeout_s, dist.bucket_mb, dist.overlap may be set on resume" -- \
  "$IE" train --resume runs/part --set train.epochs=5
expect resume_with_config 2 "'--config' cannot be given with --resume" "only --threads N and --set of run.threads" -- \
  "$IE" train --resume runs/part --config x.json
expect resume_with_model_flag 2 "'--num_epochs=4' cannot be given with --resume" "only --threads N" -- \
  "$IE" train --resume runs/part --num_epochs=4
expect resume_set_workers 0 "resuming after epoch 1 of 3" "done: runs/part" --changes runs/part -- \
  "$IE" train --resume runs/part --set data.workers=0 --threads 2
check "resume_set_workers: run.json records the setting" grep -q '"data.workers=0"' runs/part/run.json
expect resume_finished_run 1 "run runs/good finished \\(run.json\\); there is nothing to resume" \
  "start a new run from its weights: --set model.init_checkpoint=runs/good/checkpoints/epoch_0002.safetensors" -- \
  "$IE" train --resume runs/good
expect resume_no_such_folder 2 "--resume runs/nothing: no such folder" "give the folder of a run" -- \
  "$IE" train --resume runs/nothing
expect resume_not_a_run 2 "--resume data: not a run folder \\(it has no config.resolved.json\\)" \
  "give the folder of a run" -- "$IE" train --resume data
stopped split
sed -i 's/,test$/,train/' runs/split/split.csv
expect resume_split_edited 1 "runs/split/split.csv changed since the run started" \
  "Put the original split.csv back, or start a new run" -- "$IE" train --resume runs/split
stopped csv
cp data/dataset.csv data/dataset.csv.orig && sed -i '$d' data/dataset.csv
expect resume_dataset_csv_edited 1 "the dataset CSV data/dataset.csv changed since the run started" \
  "put the original back, or start a new run" -- "$IE" train --resume runs/csv
mv data/dataset.csv.orig data/dataset.csv
"$IE" train "${FOLDERS[@]}" --set run.name=gone --stop-after-epochs 1 > /dev/null 2>&1
mv images images_elsewhere
expect resume_images_folder_missing 1 \
  "the folder [^ ]*/images, which holds the run's data file [^ ]*/images/synthetic_000.nii.gz \\(listed in runs/gone/dataset.csv\\), does not exist" \
  "moved, renamed or deleted since the run started. Put the folder back there, or start a new run" -- \
  "$IE" train --resume runs/gone
mv images_elsewhere images
stopped image
cp data/synthetic_003_image.nii.gz image_orig.nii.gz && "$TOOL" image data/synthetic_003_image.nii.gz --like image_orig.nii.gz
expect resume_image_replaced 1 "data file synthetic_003_image.nii.gz changed since the run started" \
  "put the original back, or start a new run" -- "$IE" train --resume runs/image
mv image_orig.nii.gz data/synthetic_003_image.nii.gz
stopped config
sed -i 's/"seed":[^,]*,/"seed": 99,/' runs/config/config.resolved.json
expect resume_config_edited 1 "runs/config: the checkpoint was written with another configuration" \
  "put the run's own config.resolved.json back, or start a new run" -- "$IE" train --resume runs/config

# ---- a diverging loss: the advice names a checkpoint that exists ----
expect nan_loss_before_checkpoint 1 "epoch 1, step 2: the loss is not finite" \
  "No checkpoint was written yet: start a new run with a lower train.optimizer.lr" --changes runs/diverge -- \
  "$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs --set run.name=diverge \
  --set train.optimizer.lr=1e30 --set train.batch_size=1
check "nan_loss_before_checkpoint: indeed no checkpoint" test ! -e runs/diverge/checkpoints/last.json
expect nan_loss_after_checkpoint 1 "epoch 2, step 1: the loss is not finite" \
  "The last good checkpoint is of epoch 1 \\(runs/diverge2/checkpoints/epoch_0001.safetensors\\)" \
  --changes runs/diverge2 -- "$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs \
  --set run.name=diverge2 --set train.checkpoint_every=1 --set train.optimizer.lr=1e30
check "nan_loss_after_checkpoint: the advised checkpoint exists" test -s runs/diverge2/checkpoints/epoch_0001.safetensors

# ---- inference with the run's plugin, not another ----
mkdir -p plugin_copy && cp "$PLUGINS/libfaulty.so" plugin_copy/libfaulty.so
"$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs --set run.name=faulty \
  --set model.plugin=plugin_copy/libfaulty.so > /dev/null 2>&1
printf 'rebuilt' >> plugin_copy/libfaulty.so
expect infer_plugin_file_changed 1 "runs/faulty was trained with plugin Faulty of SHA-256 [0-9a-f]{12}.*has SHA-256 [0-9a-f]{12}" \
  "Use the plugin the run was trained with; if it was rebuilt from the same source on purpose, add --allow-plugin-change" \
  -- "$IE" infer --run runs/faulty --image data/synthetic_000_image.nii.gz --out preds
expect infer_plugin_change_allowed 0 "warning: plugin Faulty .* is not the file runs/faulty was trained with" \
  "done: preds" --changes preds -- \
  "$IE" infer --run runs/faulty --image data/synthetic_000_image.nii.gz --out preds --allow-plugin-change
cp "$PLUGINS/libtinyseg.so" plugin_copy/libfaulty.so
expect infer_plugin_other_model 1 "runs/faulty was trained with plugin Faulty, but .*libfaulty.so provides TinySeg" \
  "load the run's plugin" -- \
  "$IE" infer --run runs/faulty --image data/synthetic_000_image.nii.gz --out preds2 --allow-plugin-change

# ---- inference: outputs that exist, runs without weights ----
expect infer_output_exists 1 "preds/synthetic_000_image already exists; inference never overwrites results" \
  "give another --out folder, or move it away" -- \
  "$IE" infer --run runs/good --image data/synthetic_000_image.nii.gz --out preds
mkdir -p runs/empty && cp runs/good/config.resolved.json runs/empty/
expect infer_run_without_checkpoint 1 "runs/empty has no checkpoint" "was the run stopped before its first checkpoint" \
  -- "$IE" infer --run runs/empty --image data/synthetic_000_image.nii.gz --out preds3
expect infer_not_a_run 2 "--run data is not a run folder: it has no config.resolved.json" "give the folder of a run" -- \
  "$IE" infer --run data --image data/synthetic_000_image.nii.gz --out preds3

# ---- innereye eval reads innereye infer's layout (<out>/<subject>/segmentation.nii.gz) ----
"$IE" infer --run runs/good --dataset data/dataset.csv --out inferred > /dev/null 2>&1
mkdir -p truth && cp data/synthetic_00*_label.nii.gz truth/ && for f in truth/*; do mv "$f" "${f/_label/}"; done
expect eval_infer_layout 0 "6 subjects, 2 structures" "metrics: evaluated/metrics.csv" --changes evaluated -- \
  "$IE" eval --pred inferred --truth truth --out evaluated --labels anterior,posterior
check "eval_infer_layout: every subject scored" test "$(grep -c '^synthetic_00[0-5],anterior,' evaluated/metrics.csv)" -eq 6

# ---- status of a run whose process vanished (killed: run.json still says running) ----
cp -r runs/good runs/killed && sed -i 's/"status":\t"finished"/"status":\t"running"/' runs/killed/run.json
expect status_killed_run 1 "status: stopped: run.json says running, but no process works in it" \
  "innereye train --resume runs/killed continues it from its last checkpoint \\(epoch 2\\)" -- "$IE" status runs/killed

# ---- a model trained with data.target_spacing (resampled inputs) ----
# Inference segments on the resampled grid, moves the posteriors back to each
# input's grid (linear), then post-processes and takes the argmax there, as
# nnU-Net; the run's test metrics are computed on that original grid too, so
# `innereye eval` of its predictions gives the same numbers.
# (20 epochs of a slightly larger net: enough to segment, so the metrics are not all 0.)
SPACED=("${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs --set "data.target_spacing=[1.5,1.5,1.5]"
        --set data.split.train=0.5 --set data.split.val=0.17 --set data.split.test=0.33 --set infer.write_posteriors=true
        --set model.params.features=4 --set train.epochs=20 --set "data.crop_size=[16,16,16]" --set train.optimizer.lr=0.01)
expect resampled_train 0 "data: data/dataset.csv" "done: runs/spaced" --changes runs -- \
  "$IE" train "${SPACED[@]}" --set run.name=spaced
expect resampled_infer 0 "synthetic_000: 24x40x32 voxels" "done: spaced_preds" --changes spaced_preds -- \
  "$IE" infer --run runs/spaced --image data/synthetic_000_image.nii.gz --subject synthetic_000 --out spaced_preds
check "resampled_infer: the segmentation and posteriors are on the input's grid" \
  "$TOOL" same-grid data/synthetic_000_image.nii.gz spaced_preds/synthetic_000/segmentation.nii.gz \
  spaced_preds/synthetic_000/posterior_background.nii.gz spaced_preds/synthetic_000/posterior_anterior.nii.gz
mkdir -p spaced_truth && for f in runs/spaced/predictions/*_segmentation.nii.gz; do
  s=$(basename "$f" _segmentation.nii.gz); cp "data/${s}_label.nii.gz" "spaced_truth/$s.nii.gz"; done
"$IE" eval --pred runs/spaced/predictions --truth spaced_truth --out spaced_test_eval --labels anterior,posterior > /dev/null 2>&1
check "resampled_train: the model segments (test Dice above 0.5)" \
  awk -F, 'NR > 1 && $3 < 0.5 { exit 1 }' runs/spaced/metrics.csv
check "resampled_train: test metrics are on the original grid (eval of its predictions gives metrics.csv's numbers)" \
  cmp runs/spaced/metrics.csv spaced_test_eval/metrics.csv
expect resampled_cross_validation 0 "ensemble of the folds" "done: runs/spaced_cv" --changes runs -- \
  "$IE" train "${SPACED[@]}" --set run.name=spaced_cv --cv 2
check "resampled_cross_validation: the ensemble is scored" test -s runs/spaced_cv/ensemble/metrics.csv
