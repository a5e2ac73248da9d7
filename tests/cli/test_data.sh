#!/usr/bin/env bash
# tests/cli - the segmentation data side end to end on real hippocampus cases:
# `innereye dataset create` (pairing, unpaired files, relative paths, no
# overwrite), a short training with MriWindow, resampling and augmentations
# on the created dataset.csv, and a broken dataset refused before training
# with every problem listed.  Exits 77 (skipped) without ../shared/data.
#   test_data.sh INNEREYE HIPPOCAMPUS_DIR
set -u
innereye=$1
[ -d "$2/images" ] || { echo "skipped: $2 not found"; exit 77; }
data=$(cd "$2" && pwd) # the links made below must not depend on the current folder
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}

d=$out/d
mkdir -p "$d/images" "$d/labels"
for n in 001 003 004 006 007 008; do
  ln -s "$data/images/hippocampus_$n.nii.gz" "$d/images/"
  ln -s "$data/labels/hippocampus_$n.nii.gz" "$d/labels/"
done
ln -s "$data/images/hippocampus_010.nii.gz" "$d/images/" # no label

"$innereye" dataset create --images "$d/images" --labels "$d/labels" --out "$d/dataset.csv" > "$out/create.txt" 2>&1
check "dataset create succeeds" test $? -eq 0
check "... reporting 6 subjects" grep -q "wrote .*dataset.csv: 6 subjects, channels 'image' and 'label'" "$out/create.txt"
check "... and the unpaired image" grep -q "left out 1 image without a label (hippocampus_010.nii.gz)" "$out/create.txt"
check "dataset.csv: InnerEye's header" test "$(head -1 "$d/dataset.csv")" = "subject,filePath,channel"
check "dataset.csv: paths relative to its folder" \
  grep -qx "hippocampus_001,labels/hippocampus_001.nii.gz,label" "$d/dataset.csv"
check "dataset.csv: 12 rows" test "$(wc -l < "$d/dataset.csv")" -eq 13
cp "$d/dataset.csv" "$out/before.csv"
"$innereye" dataset create --images "$d/images" --labels "$d/labels" --out "$d/dataset.csv" > "$out/again.txt" 2>&1
check "an existing dataset.csv is refused" test $? -ne 0
check "... saying so" grep -q "already exists; it is never overwritten" "$out/again.txt"
check "... and left unchanged" cmp -s "$d/dataset.csv" "$out/before.csv"

tiny=(--model HelloWorld --output-dir "$out/runs" --set model.params.features=2 --set model.params.depth=2
      --set train.epochs=1 --set data.crop_size=[16,16,16] --set train.batch_size=2 --threads 2
      --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25)
"$innereye" train "${tiny[@]}" --set run.name=full --set data.dataset_csv="$d/dataset.csv" \
  --set data.normalization=MriWindow --set data.target_spacing=[1.25,1.25,1.25] \
  --set data.augment.rotate_degrees=[10,10,10] --set data.augment.rotate_probability=1 \
  --set data.augment.scale_range=[0.9,1.1] --set data.augment.gamma_range=[0.7,1.5] \
  --set data.augment.noise_std=[0,0.1] > "$out/train.txt" 2>&1
check "training on the created dataset.csv with MriWindow, resampling and augmentations" test $? -eq 0
check "... after checking the data" grep -q "data check: 6 subjects, 0 problems" "$out/train.txt"
check "... writing predictions" test -s "$(ls "$out"/runs/full/predictions/*_segmentation.nii.gz 2>/dev/null | head -1)"

# A broken dataset: a missing label file, a label of another case (another
# grid), a subject without label row, an image that is no image.
printf 'not an image\n' > "$d/broken.nii.gz"
cat > "$d/broken.csv" <<EOF
subject,filePath,channel
a,images/hippocampus_001.nii.gz,image
a,labels/hippocampus_001.nii.gz,label
b,images/hippocampus_003.nii.gz,image
b,labels/no_such_file.nii.gz,label
c,images/hippocampus_004.nii.gz,image
c,labels/hippocampus_006.nii.gz,label
d,images/hippocampus_006.nii.gz,image
e,broken.nii.gz,image
e,labels/hippocampus_007.nii.gz,label
EOF
"$innereye" train "${tiny[@]}" --set run.name=broken --set data.dataset_csv="$d/broken.csv" > "$out/broken.txt" 2>&1
rc=$?
check "a broken dataset fails before training" test $rc -ne 0 -a $rc -lt 128
check "... counting every problem" grep -q "the dataset has 4 problems in 4 of 5 subjects; nothing was trained" \
  "$out/broken.txt"
check "... naming the missing file" grep -q "subject 'b', channel 'label' (.*no_such_file.nii.gz): No such file" \
  "$out/broken.txt"
check "... the other grid" grep -q "subject 'c', channel 'label' (.*hippocampus_006.nii.gz): not on the grid" \
  "$out/broken.txt"
check "... the missing row" grep -q "subject 'd', channel 'label': no row for this channel" "$out/broken.txt"
check "... the unreadable image" grep -q "subject 'e', channel 'image' (.*broken.nii.gz): .*not an image" \
  "$out/broken.txt"
check "... all in broken.data_problems.txt, beside the run folder" \
  test "$(wc -l < "$out/runs/broken.data_problems.txt")" -eq 4
check "... and no run folder was made" test ! -e "$out/runs/broken"

if [ "$fails" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $f"; cat "$f"; done
  echo "$fails checks failed"
  exit 1
fi
echo "all data checks passed"
