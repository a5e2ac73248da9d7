#!/usr/bin/env bash
# tests/cli - `innereye dataset from-msd` and `from-nnunet` on folders laid
# out as the Decathlon and nnU-Net lay them out (links to real hippocampus
# cases): the dataset.csv rows, the config stub, test.csv, nnU-Net's folds as
# configs, a fingerprint of the import, and refusals that name the file and
# what is wrong, with exit 1 and nothing written.  Exits 77 (skipped) without
# ../shared/data.
#   test_import.sh INNEREYE HIPPOCAMPUS_DIR
set -u
innereye=$1
[ -d "$2/images" ] || { echo "skipped: $2 not found"; exit 77; }
data=$(cd "$2" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
names=$(ls "$data/labels" | head -6)

# ---- MSD: dataset.json with modality, labels, training and test lists ----
msd=$out/Task04_Hippocampus
mkdir -p "$msd/imagesTr" "$msd/labelsTr" "$msd/imagesTs"
training=""
for f in $names; do
  ln -s "$data/images/$f" "$msd/imagesTr/$f"; ln -s "$data/labels/$f" "$msd/labelsTr/$f"
  training="$training{\"image\": \"./imagesTr/$f\", \"label\": \"./labelsTr/$f\"},"
done
t=$(ls "$data/images" | tail -1)
ln -s "$data/images/$t" "$msd/imagesTs/$t"
cat > "$msd/dataset.json" <<JSON
{"name": "Hippocampus", "modality": {"0": "MRI"},
 "labels": {"0": "background", "1": "Anterior", "2": "Posterior"},
 "numTraining": 6, "numTest": 1, "training": [${training%,}], "test": ["./imagesTs/$t"]}
JSON
"$innereye" dataset from-msd "$msd" > "$out/msd.txt" 2>&1
check "from-msd succeeds" test $? -eq 0
check "... reporting 6 cases, 1 channel, 3 classes, 1 test case" \
  grep -q "6 training cases, 1 channel, 3 classes; test.csv: 1 test cases" "$out/msd.txt"
first=$(echo "$names" | head -1); first=${first%.nii.gz}
check "... dataset.csv: channel MRI then label, relative paths" \
  grep -qx "$first,imagesTr/$first.nii.gz,MRI" "$msd/dataset.csv"
check "... the label row" grep -qx "$first,labelsTr/$first.nii.gz,label" "$msd/dataset.csv"
check "... 13 lines (header + 6 x 2)" test "$(wc -l < "$msd/dataset.csv")" -eq 13
check "... test.csv lists the test image" grep -qx "${t%.nii.gz},imagesTs/$t,MRI" "$msd/test.csv"
check "... config.json names channels and classes" python3 -c "
import json
c = json.load(open('$msd/config.json'))
assert c['data']['image_channels'] == ['MRI'] and c['data']['classes'] == ['background', 'Anterior', 'Posterior'], c
assert c['data']['dataset_csv'] == '$msd/dataset.csv' and c['extends'] == 'unet3d.json'
"
"$innereye" dataset fingerprint --dataset "$msd/dataset.csv" --out "$out/fp.json" --quiet > /dev/null
check "... and the import fingerprints (MRI is MR)" grep -q '"modality":	"MR"' "$out/fp.json"
"$innereye" dataset from-msd "$msd" > "$out/again.txt" 2>&1
check "a second import is refused (exit 1)" test $? -eq 1
check "... because dataset.csv exists" grep -q "dataset.csv already exists; it is never overwritten" "$out/again.txt"

# ---- nnU-Net v2: channel_names, labels by name, _0000 files, splits ----
nn=$out/Dataset004_Hippocampus
mkdir -p "$nn/imagesTr" "$nn/labelsTr" "$nn/imagesTs"
for f in $names; do
  ln -s "$data/images/$f" "$nn/imagesTr/${f%.nii.gz}_0000.nii.gz"
  ln -s "$data/images/$f" "$nn/imagesTr/${f%.nii.gz}_0001.nii.gz"
  ln -s "$data/labels/$f" "$nn/labelsTr/$f"
done
ln -s "$data/images/$t" "$nn/imagesTr/extra_0000.nii.gz" # no label: left out
ln -s "$data/images/$t" "$nn/imagesTs/${t%.nii.gz}_0000.nii.gz"
ln -s "$data/images/$t" "$nn/imagesTs/${t%.nii.gz}_0001.nii.gz"
cat > "$nn/dataset.json" <<JSON
{"channel_names": {"0": "T1", "1": "T1copy"}, "labels": {"background": 0, "anterior": 1, "posterior": 2},
 "numTraining": 6, "file_ending": ".nii.gz"}
JSON
s=($(echo "$names" | sed 's/.nii.gz//'))
cat > "$nn/splits_final.json" <<JSON
[{"train": ["${s[0]}", "${s[1]}", "${s[2]}"], "val": ["${s[3]}", "${s[4]}", "${s[5]}"]},
 {"train": ["${s[3]}", "${s[4]}", "${s[5]}"], "val": ["${s[0]}", "${s[1]}", "${s[2]}"]}]
JSON
mkdir "$out/nn_out"
"$innereye" dataset from-nnunet "$nn" --out "$out/nn_out" > "$out/nn.txt" 2>&1
check "from-nnunet succeeds" test $? -eq 0
check "... 6 cases, 2 channels, 2 folds" grep -q "6 training cases, 2 channels, 3 classes; test.csv: 1 test cases; folds/: 2 folds" "$out/nn.txt"
check "... warning about the unlabelled image" grep -q "1 training images without a label map were left out" "$out/nn.txt"
check "... channel rows in _0000, _0001 order (absolute paths outside --out)" \
  grep -qx "${s[0]},$nn/imagesTr/${s[0]}_0001.nii.gz,T1copy" "$out/nn_out/dataset.csv"
check "... folds as explicit splits" python3 -c "
import json
f = json.load(open('$out/nn_out/folds/fold_1.json'))['data']['split']
assert f['val_subjects'] == ['${s[0]}', '${s[1]}', '${s[2]}'] and len(f['train_subjects']) == 3, f
"
check "... nothing written into the dataset folder" test ! -e "$nn/dataset.csv"

# ---- refusals: file and field named, exit 1, nothing written ----
bad=$out/bad; mkdir -p "$bad/imagesTr" "$bad/labelsTr"
ln -s "$data/labels/${s[0]}.nii.gz" "$bad/labelsTr/${s[0]}.nii.gz"
echo '{"channel_names": {"0": "CT"}, "labels": {"background": 0, "organ": 1}}' > "$bad/dataset.json"
"$innereye" dataset from-nnunet "$bad" > "$out/bad.txt" 2>&1
check "a case without its _0000 image is refused (exit 1)" test $? -eq 1
check "... naming the case and the missing file" grep -q "case '${s[0]}' has no image for channel 0 ('CT'): .*imagesTr/${s[0]}_0000.nii.gz does not exist" "$out/bad.txt"
check "... writing nothing" test ! -e "$bad/dataset.csv"
echo '{"channel_names": {"0": "CT"}, "labels": {"background": 0, "organ": [1, 2]}}' > "$bad/dataset.json"
"$innereye" dataset from-nnunet "$bad" > "$out/bad.txt" 2>&1
check "region-based labels are refused, naming the label" grep -q 'dataset.json: labels."organ" is a region' "$out/bad.txt"
echo '{"modality": {"0": "FLAIR", "1": "T1w"}, "labels": {"0": "background", "1": "x"}, "training": []}' > "$bad/dataset.json"
"$innereye" dataset from-msd "$bad" > "$out/bad.txt" 2>&1
check "multi-modal MSD (4-D files) is refused with what to do" grep -q "nnUNetv2_convert_MSD_dataset" "$out/bad.txt"
echo '{"modality": {"0": "CT"}, "labels": {"0": "background", "2": "x"}, "training": []}' > "$bad/dataset.json"
"$innereye" dataset from-msd "$bad" > "$out/bad.txt" 2>&1
check "labels that skip a value are refused" grep -q 'labels."2": label values must be 0..1' "$out/bad.txt"
echo '{"modality": ' > "$bad/dataset.json"
"$innereye" dataset from-msd "$bad" > "$out/bad.txt" 2>&1
check "broken JSON is refused, naming the file" grep -q "bad/dataset.json: not a JSON object" "$out/bad.txt"
"$innereye" dataset from-msd "$out/none" > "$out/bad.txt" 2>&1
check "a missing folder is refused (exit 1)" test $? -eq 1

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
exit $((fails > 0))
