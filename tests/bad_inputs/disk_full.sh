# A full disk: outputs on a small tmpfs, so that writing fails at every
# stage of a training (split, log, checkpoints, predictions, metrics,
# run.json) and of an inference.  Every failure exits 1 naming the file and
# the cause, and leaves no 0-byte, truncated or temporary file under any
# name: what exists is complete.  Needs root for the tmpfs; skipped (exit 77)
# otherwise.  Sourced by run.sh.
MNT=$W/mnt
mkdir -p "$MNT"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=1m tmpfs "$MNT" 2> /dev/null; then
  echo "SKIP: the disk-full cases need root (to mount a small tmpfs); run make test as root to include them"
  exit 77
fi
umount "$MNT"
make_data
make_run

# full SIZE: an empty tmpfs of SIZE at mnt/ (the previous one unmounted).
full() {
  mountpoint -q "$MNT" && umount "$MNT"
  mount -t tmpfs -o "size=$1" tmpfs "$MNT" && MOUNTED=$MNT
}
# Nothing broken under mnt/: no empty file, no temporary or partial name, and
# every image reads in full.
intact() {
  [ -z "$(find "$MNT" -type f -size 0)" ] || { echo "empty files: $(find "$MNT" -type f -size 0)"; return 1; }
  [ -z "$(find "$MNT" -name '*.tmp*' -o -name '*.partial*')" ] || { echo "left: $(find "$MNT" -name '*.tmp*' -o -name '*.partial*')"; return 1; }
  local images
  images=$(find "$MNT" -name '*.nii.gz')
  [ -z "$images" ] || "$TOOL" verify $images
}
FULL="(No space left on device|the file system holding it is full)"
ADVICE="(free some disk space|the disk is not full)"

# ---- training: the disk fills at each stage in turn ----
# Sizes chosen (on Debian 12's kernel) so that the disk fills at split.csv,
# train_log.csv, the checkpoint's weights and optimiser state, the first and
# a later test prediction, and metrics.csv; tmpfs counts pages, so another
# kernel may shift a stage: each case accepts any file of the run, and the
# stages that matter most (a checkpoint, a prediction) are checked apart.
TEST3=(--set data.split.train=0.34 --set data.split.val=0.16 --set data.split.test=0.5 --set train.epochs=1)
failed_at=""
for size in 8k 16k 24k 40k 60k 64k 72k; do
  full "$size"
  # Before training began the run works in its staging folder mnt/.r.staging.PID (core/run/run_dir.h).
  expect "train_disk_full_$size" 1 "mnt/(r|\.r\.staging\.[0-9]+)/[^ ]+.*$FULL" "$ADVICE" --changes mnt -- \
    "$IE" train "${TINY[@]}" "${TEST3[@]}" --set data.dataset_csv=data/dataset.csv --output-dir mnt --set run.name=r
  failed_at="$failed_at $(printf '%s\n' "$LAST_OUTPUT" | grep -Eo 'mnt/(r|\.r\.staging\.[0-9]+)/[^ :]*' | head -1)"
  check "train_disk_full_$size: nothing half-written" intact
done
echo "     the disk filled at:$failed_at"
check "train_disk_full: one case filled the disk at a checkpoint" grep -q "checkpoints/epoch_" <<< "$failed_at"
check "train_disk_full: one case filled it at a test prediction (an image write)" grep -q "predictions/" <<< "$failed_at"
full 2m
expect train_disk_roomy 0 "mnt/r" "done: mnt/r" --changes mnt -- \
  "$IE" train "${TINY[@]}" "${TEST3[@]}" --set data.dataset_csv=data/dataset.csv --output-dir mnt --set run.name=r
check "train_disk_roomy: intact" intact

# ---- inference: some subjects fit, the next does not ----
full 200k
expect infer_disk_full 1 "subject 'synthetic_00[0-9]': writing outputs into mnt/preds: .*$FULL" \
  "of 6 subjects were written before this one" --changes mnt -- \
  "$IE" infer --run runs/good --dataset data/dataset.csv --out mnt/preds
check "infer_disk_full: the subjects written are complete (a segmentation and 3 posteriors each), no partial one" \
  bash -c "intact() { $(declare -f intact | tail -n +2); }; MNT='$MNT' TOOL='$TOOL'; intact &&
           for d in '$MNT'/preds/*/; do [ \$(ls \"\$d\" | wc -l) -eq 4 ] || exit 1; done"

# ---- eval and dataset create ----
full 4k
head -c 4096 /dev/zero > "$MNT/filler" 2> /dev/null
"$IE" infer --run runs/good --dataset data/dataset.csv --out inferred > /dev/null 2>&1
mkdir -p truth && for f in data/synthetic_00*_label.nii.gz; do b=${f##*/}; cp "$f" "truth/${b/_label/}"; done
expect eval_disk_full 1 "metrics.csv: writing .*mnt/evaluated.* failed: No space left on device" \
  "free some disk space" --changes mnt -- \
  "$IE" eval --pred inferred --truth truth --out mnt/evaluated --labels anterior,posterior
check "eval_disk_full: no metrics.csv, nothing half-written" bash -c "[ ! -e '$MNT/evaluated/metrics.csv' ] &&
  [ -z \"\$(find '$MNT' -type f -size 0 -o -name '*.tmp*')\" ]"
mkdir -p images labels
for f in data/synthetic_00[0-5]_image.nii.gz; do s=$(basename "$f" _image.nii.gz); cp "$f" "images/$s.nii.gz"; cp "data/${s}_label.nii.gz" "labels/$s.nii.gz"; done
expect dataset_create_disk_full 1 "mnt/dataset.csv: writing failed: No space left on device" "free some disk space" \
  --changes mnt -- "$IE" dataset create --images images --labels labels --out mnt/dataset.csv
check "dataset_create_disk_full: no dataset.csv" test ! -e "$MNT/dataset.csv"
umount "$MNT"
MOUNTED=
