#!/usr/bin/env bash
# tests/cli - DICOM end to end on real cases (docs/deploy.md, docs/io.md):
# hippocampus MR cases and the spleen CT become DICOM series (axial, and the
# same voxels re-sliced sagittal and coronal; tests/dicom/gen_dicom_cases.py),
# then for every series:
#   label map -> RTSTRUCT and -> DICOM-SEG (innereye dataset to-dicom): dciodvfy
#     reports no "Error" (its warnings are listed), pydicom reads them back and
#     an independent numpy fill of the contours gives Dice >= 0.99 per structure
#     (SEG: exactly the label map), every contour in its slice's plane;
#   RTSTRUCT -> label map (innereye dataset from-dicom): Dice >= 0.99 again;
# the dataset from-dicom built (image channel = DICOM series folders) trains,
# and infer --format rtstruct|dicom-seg on a series gives files that match the
# segmentation it wrote; a folder with two series is refused with a listing,
# and --series picks one; bad input is refused naming the file and field,
# with nothing written.
#   test_dicom.sh INNEREYE DATA_DIR [PYTHON]
# Skipped (exit 77) without ../shared/data, pydicom + nibabel or dciodvfy.
set -u
innereye=$1
data=$2
python=${3:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$data/hippocampus" ] && [ -d "$data/ct_spleen" ] || { echo "skipped: no $data"; exit 77; }
"$python" -c "import pydicom, nibabel" 2>/dev/null || { echo "skipped: needs python3-pydicom and python3-nibabel"; exit 77; }
command -v dciodvfy > /dev/null || { echo "skipped: needs dciodvfy (Debian dicom3tools; make test-deps)"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
refused() { # refused DESCRIPTION EXIT_CODE REGEX COMMAND...
  local what=$1 code=$2 regex=$3
  shift 3
  "$@" > "$out/refused.txt" 2>&1
  local rc=$?
  check "$what: exit $code" test "$rc" -eq "$code"
  check "$what: says '$regex'" grep -Eq -- "$regex" "$out/refused.txt"
  [ "$rc" -eq "$code" ] && grep -Eq -- "$regex" "$out/refused.txt" || cat "$out/refused.txt"
}
# dciodvfy prints "Error - ..." and "Warning - ..." lines; errors fail, warnings are listed.
dicom_valid() { # dicom_valid FILE
  dciodvfy "$1" > "$out/dciodvfy.txt" 2>&1
  grep "^Warning" "$out/dciodvfy.txt" | sed "s|^|      dciodvfy ${1##*/}: |"
  ! grep -q "^Error" "$out/dciodvfy.txt" || { cat "$out/dciodvfy.txt"; return 1; }
}
pycheck() { "$python" "$here/dicom/check_dicom.py" "$@" > "$out/check.txt" 2>&1; local rc=$?; grep -v "^ok" "$out/check.txt"; return $rc; }

cases="hippocampus_001 hippocampus_003 spleen"
gen=$out/dicom
"$python" "$here/dicom/gen_dicom_cases.py" "$data" "$gen" $cases > "$out/gen.txt" 2>&1
check "the generator writes the DICOM series" test $? -eq 0

for case in $cases; do
  names=anterior,posterior
  [ "$case" = spleen ] && names=spleen
  for v in axial sagittal coronal; do
    d=$gen/${case}_$v
    "$innereye" dataset to-dicom --series "$d/series" --labels "$d/label.nii.gz" --out "$d/rt.dcm" \
      --format rtstruct --classes "background,$names" > "$out/to.txt" 2>&1
    check "$case $v: label map -> RTSTRUCT" test $? -eq 0
    check "$case $v: dciodvfy finds no error in the RTSTRUCT" dicom_valid "$d/rt.dcm"
    check "$case $v: RTSTRUCT read back by pydicom, Dice >= 0.99" pycheck rtstruct "$d/rt.dcm" "$d/series" \
      "$d/label.nii.gz" "$names" 0.99
    "$innereye" dataset to-dicom --series "$d/series" --labels "$d/label.nii.gz" --out "$d/seg.dcm" \
      --format dicom-seg --classes "background,$names" > "$out/to.txt" 2>&1
    check "$case $v: label map -> DICOM-SEG" test $? -eq 0
    check "$case $v: dciodvfy finds no error in the DICOM-SEG" dicom_valid "$d/seg.dcm"
    check "$case $v: DICOM-SEG read back by pydicom rebuilds the label map exactly" pycheck seg "$d/seg.dcm" \
      "$d/series" "$d/label.nii.gz" "$names"
    "$innereye" dataset from-dicom --series "$d/series" --rtstruct "$d/rt.dcm" --out "$out/ds_$case" \
      --subject "${case}_$v" > "$out/from.txt" 2>&1
    check "$case $v: RTSTRUCT -> label map (from-dicom)" test $? -eq 0
    check "$case $v: mask -> RTSTRUCT -> mask keeps Dice >= 0.99" pycheck dice "$d/label.nii.gz" \
      "$out/ds_$case/labels/${case}_$v.nii.gz" 0.99
  done
done
check "from-dicom wrote one dataset.csv row pair per series" test "$(grep -c ',label$' "$out/ds_hippocampus_001/dataset.csv")" -eq 3

# Training on DICOM series folders: the dataset from-dicom built (six
# hippocampus series, image channel = the series folders).
cat "$out/ds_hippocampus_001/dataset.csv" > "$out/hippo.csv"
tail -n +2 "$out/ds_hippocampus_003/dataset.csv" | sed "s|^\([^,]*\),labels/|\1,$out/ds_hippocampus_003/labels/|" >> "$out/hippo.csv"
sed -i "s|,labels/|,$out/ds_hippocampus_001/labels/|" "$out/hippo.csv"
"$innereye" train --model HelloWorld --output-dir "$out" --set run.name=run --set data.dataset_csv="$out/hippo.csv" \
  --set 'data.classes=["background","anterior","posterior"]' --set 'data.class_colours=["#FF8000","#0080FF"]' \
  --set model.params.features=4 --set model.params.depth=2 --set train.epochs=1 --set data.crop_size=[16,16,16] \
  --set data.split.train=0.5 --set data.split.val=0.17 --set data.split.test=0.33 > "$out/train.txt" 2>&1
rc=$?
check "a model trains on DICOM series folders" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$out/train.txt"

series=$gen/hippocampus_003_sagittal/series
for format in rtstruct dicom-seg; do
  "$innereye" infer --run "$out/run" --image "$series" --subject case --format $format --out "$out/infer_$format" \
    > "$out/infer.txt" 2>&1
  rc=$?
  check "infer --format $format on a sagittal series" test $rc -eq 0
  [ $rc -eq 0 ] || cat "$out/infer.txt"
done
pred=$out/infer_rtstruct/case
check "infer --format rtstruct writes segmentation.nii.gz and rtstruct.dcm" test -f "$pred/rtstruct.dcm" -a -f "$pred/segmentation.nii.gz"
check "dciodvfy finds no error in infer's RTSTRUCT" dicom_valid "$pred/rtstruct.dcm"
check "infer's RTSTRUCT matches its segmentation (Dice >= 0.99), named and coloured by the config" \
  pycheck rtstruct "$pred/rtstruct.dcm" "$series" "$pred/segmentation.nii.gz" anterior,posterior 0.99
check "the ROI colours are data.class_colours" "$python" -c "
import pydicom, sys
ds = pydicom.dcmread(sys.argv[1])
sys.exit(0 if [list(map(int, c.ROIDisplayColor)) for c in ds.ROIContourSequence] == [[255, 128, 0], [0, 128, 255]] else 1)" "$pred/rtstruct.dcm"
pred=$out/infer_dicom-seg/case
check "dciodvfy finds no error in infer's DICOM-SEG" dicom_valid "$pred/segmentation.dcm"
check "infer's DICOM-SEG rebuilds its segmentation exactly" pycheck seg "$pred/segmentation.dcm" "$series" \
  "$pred/segmentation.nii.gz" anterior,posterior

# Several series in one folder: listed when ambiguous, chosen by --series.
mixed=$gen/hippocampus_001_mixed/series
refused "a folder with two series" 1 'holds 2 DICOM series:.*' \
  "$innereye" infer --run "$out/run" --image "$mixed" --subject m --out "$out/mixed"
check "the refusal lists each series with its description" grep -q 'description="coronal"' "$out/refused.txt"
"$innereye" infer --run "$out/run" --image "$mixed" --subject m --series description=coronal --format rtstruct \
  --out "$out/mixed" > "$out/infer.txt" 2>&1
check "--series description=coronal picks that series" test $? -eq 0
check "... on the coronal grid, contours on its slices" pycheck rtstruct "$out/mixed/m/rtstruct.dcm" \
  "$gen/hippocampus_001_coronal/series" "$out/mixed/m/segmentation.nii.gz" anterior,posterior 0.99
# Training reads the series data.dicom_series picks from such folders.
{ echo "subject,filePath,channel"
  for s in a b c; do echo "$s,$mixed,image"; echo "$s,$gen/hippocampus_001_coronal/label.nii.gz,label"; done
} > "$out/mixed.csv"
"$innereye" train --model HelloWorld --output-dir "$out" --set run.name=run_two_series --set data.dataset_csv="$out/mixed.csv" \
  --set 'data.classes=["background","anterior","posterior"]' --set model.params.features=4 --set model.params.depth=2 \
  --set train.epochs=1 --set data.crop_size=[16,16,16] --set data.split.train=0.34 --set data.split.val=0.33 \
  --set data.split.test=0.33 --set data.dicom_series=description=coronal > "$out/train_mixed.txt" 2>&1
rc=$?
check "training with data.dicom_series reads the chosen series of two-series folders" test $rc -eq 0
[ $rc -eq 0 ] || tail -5 "$out/train_mixed.txt"
refused "a selector no series matches" 1 'no series match data.dicom_series "modality=CT"' \
  "$innereye" infer --run "$out/run" --image "$mixed" --subject m2 --series modality=CT --out "$out/mixed"

# Bad input: a clear message naming the file and field, non-zero exit, nothing written.
refused "infer --format rtstruct on a NIfTI image" 1 'is not a DICOM series folder' \
  "$innereye" infer --run "$out/run" --image "$gen/hippocampus_001_axial/label.nii.gz" --subject n --format rtstruct \
  --out "$out/bad"
check "... and wrote nothing" test ! -e "$out/bad/n"
refused "infer --format of an unknown kind" 2 'infer.format' \
  "$innereye" infer --run "$out/run" --image "$series" --subject x --format png --out "$out/bad"
echo "not DICOM" > "$out/not_dicom.dcm"
before=$(cat "$out/ds_spleen/dataset.csv")
refused "from-dicom with a non-DICOM structure set" 1 'not_dicom.dcm is not a readable DICOM file' \
  "$innereye" dataset from-dicom --series "$gen/spleen_axial/series" --rtstruct "$out/not_dicom.dcm" \
  --out "$out/ds_spleen" --subject bad1
refused "from-dicom with a structure set of another patient" 1 'FrameOfReferenceUID \(3006,0024\) is .* but the series' \
  "$innereye" dataset from-dicom --series "$gen/spleen_axial/series" --rtstruct "$gen/hippocampus_001_axial/rt.dcm" \
  --out "$out/ds_spleen" --subject bad2
refused "from-dicom with a structure set drawn on another series" 1 'references series .* SeriesInstanceUID' \
  "$innereye" dataset from-dicom --series "$gen/hippocampus_001_coronal/series" \
  --rtstruct "$gen/hippocampus_001_axial/rt.dcm" --out "$out/ds_spleen" --subject bad3
refused "from-dicom with a DICOM-SEG given as the structure set" 1 'is not an RT Structure Set: its SOPClassUID' \
  "$innereye" dataset from-dicom --series "$gen/spleen_axial/series" --rtstruct "$gen/spleen_axial/seg.dcm" \
  --out "$out/ds_spleen" --subject bad4
"$python" -c "
import pydicom, sys
ds = pydicom.dcmread(sys.argv[1])
del ds.ReferencedFrameOfReferenceSequence
del ds.FrameOfReferenceUID
for item in ds.StructureSetROISequence:
    del item.ReferencedFrameOfReferenceUID
ds.save_as(sys.argv[2])" "$gen/spleen_axial/rt.dcm" "$out/no_frame.dcm"
refused "from-dicom with a structure set without frame of reference" 1 'no_frame.dcm: ROI "spleen" has no ReferencedFrameOfReferenceUID' \
  "$innereye" dataset from-dicom --series "$gen/spleen_axial/series" --rtstruct "$out/no_frame.dcm" \
  --out "$out/ds_spleen" --subject bad5
check "... no refused structure set changed the dataset" test "$before" = "$(cat "$out/ds_spleen/dataset.csv")"
check "... nor left a label map" test -z "$(ls "$out/ds_spleen/labels" | grep bad)"
nofor=$gen/hippocampus_001_nofor/series
refused "to-dicom on a series without frame of reference" 1 'has no FrameOfReferenceUID \(0020,0052\)' \
  "$innereye" dataset to-dicom --series "$nofor" --labels "$gen/hippocampus_001_axial/label.nii.gz" \
  --out "$out/nofor.dcm" --format rtstruct --classes background,anterior,posterior
check "... and wrote no file" test -z "$(ls "$out" | grep nofor)"
refused "infer --format dicom-seg on a series without frame of reference" 1 'has no FrameOfReferenceUID' \
  "$innereye" infer --run "$out/run" --image "$nofor" --subject nf --format dicom-seg --out "$out/nf"
check "... and left no subject folder" test -z "$(ls -A "$out/nf" 2>/dev/null)"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
