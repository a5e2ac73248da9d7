#!/usr/bin/env bash
# tests/fuzz - (re)writes the seed corpora tests/fuzz/corpus/<harness>/ from
# the repository's own files: configs/, test fixtures, the tests' generated
# tabular dataset, tiny images written here, and the files of real run and
# ensemble folders made by a short training of the built innereye.
#   tests/fuzz/make_seeds.sh BUILD_DIR      (BUILD_DIR/bin/innereye must exist)
# The result is committed; run it again when the formats change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
innereye=$(cd "$1" && pwd)/bin/innereye
corpus=$here/corpus
fixtures=$root/tests/reference/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$corpus"
mkdir -p "$corpus"/{config,cli,dataset_csv,scalar_csv,safetensors,run_json,image_header}

# ---- configs: every shipped config and the tests' tabular ones
cp "$root"/configs/*.json "$corpus/config/"
bash "$root/tests/cli/tabular_dataset.sh" "$tmp" 12 7 1
sed "s|$tmp/||" "$tmp/binary.json" > "$corpus/config/tabular_binary.json"
sed "s|$tmp/||" "$tmp/regression.json" > "$corpus/config/tabular_regression.json"
printf '{"extends": "hello_world.json", "train": {"epochs": 2}, "data": {"classes": null}}' \
  > "$corpus/config/extends_null.json"

# ---- command lines: one argument per line, as the README and tests write them
i=0
while IFS= read -r line; do
  i=$((i + 1))
  printf '%s' "$line" | tr ' ' '\n' > "$corpus/cli/args_$i"
done <<'ARGS'
--model HelloWorld
--model=HelloWorld --num_epochs=2 --output-dir outputs
--model HelloWorld --set train.epochs=3 --set data.workers=0 --threads 2
--model UNet3D --l_rate=0.001 --batch_size 2 --random_seed 7 --no-train
--model Basic --number_of_cross_validation_splits=5 --cross_validation_split_index 1
--model HelloWorld --inference_on_test_set --inference_on_val_set=false --output_to out
--resume outputs/run --set train.epochs=4
--model hippocampus_quick --set data.target_spacing=[1,1,1] --set model.params={"channels":[4,8]}
--model HelloWorld -- --not-a-flag
--model FashionMnist --set run.name=x --seed=3 --num_dataload_workers=1
ARGS

# ---- dataset.csv (segmentation, InnerEye's layout) and the CSVs of the repository
cat > "$corpus/dataset_csv/innereye_layout.csv" <<'CSV'
subject,filePath,channel,institutionId,seriesId,tags
1,ct/1.nii.gz,ct,inst1,s1,
1,masks/1_liver.nii.gz,liver,inst1,s1,
2,"ct/2,with comma.nii.gz",ct,inst2,s2,"a ""quoted"" tag"
2,masks/2_liver.nii.gz,liver,inst2,s2,
CSV
printf '\xef\xbb\xbfsubject,filePath,channel\r\nhippo_001,images/hippocampus_001.nii.gz,image\r\nhippo_001,labels/hippocampus_001.nii.gz,label\r\n\r\n' \
  > "$corpus/dataset_csv/bom_crlf.csv"
cp "$fixtures/hippocampus_normalize.csv" "$fixtures/seg_metrics_expected.csv" "$corpus/dataset_csv/"
head -c 3000 "$fixtures/hippocampus_nibabel.csv" > "$corpus/dataset_csv/hippocampus_nibabel_head.csv"

# ---- classification / regression CSVs
cp "$tmp/tabular.csv" "$corpus/scalar_csv/tabular.csv"
sed -e '3s/,[0-9.]*,/,,/' -e '5s/,[ABC],/,D,/' -e '7s/,[01],/,x,/' "$tmp/tabular.csv" > "$corpus/scalar_csv/tabular_bad_values.csv"
sed -e '2s/,A,/,B,/' -e 's/^s001/s000/' "$tmp/tabular.csv" > "$corpus/scalar_csv/tabular_duplicate_subject.csv"

# ---- safetensors: small fixtures
cp "$fixtures/classifier_mlp.safetensors" "$fixtures/schedule.safetensors" "$fixtures/pointwise.safetensors" \
  "$corpus/safetensors/"

# ---- run folders: two 1-epoch classification runs and their ensemble
"$innereye" train --config "$tmp/binary.json" --output-dir "$tmp/out" --set run.name=a --threads 1 > /dev/null
"$innereye" train --config "$tmp/regression.json" --output-dir "$tmp/out" --set run.name=b --threads 1 > /dev/null
"$innereye" train --config "$tmp/binary.json" --output-dir "$tmp/out" --set run.name=c --seed 2 --threads 1 > /dev/null
"$innereye" ensemble --runs "$tmp/out/a" "$tmp/out/c" --out "$tmp/ens" > /dev/null
cp "$tmp/out/a/run.json" "$corpus/run_json/run_binary.json"
cp "$tmp/out/b/run.json" "$corpus/run_json/run_regression.json"
cp "$tmp/out/a/data_statistics.json" "$corpus/run_json/statistics_binary.json"
cp "$tmp/out/b/data_statistics.json" "$corpus/run_json/statistics_regression.json"
cp "$tmp/ens/manifest.json" "$corpus/run_json/manifest.json"

# ---- images: NIfTI fixtures (gzip and plain), NIfTI-2, hand-written MetaImage and NRRD
cp "$fixtures/nifti_scaled.nii.gz" "$fixtures/nifti_oblique.nii.gz" "$fixtures/nifti2.nii.gz" "$corpus/image_header/"
gunzip -c "$fixtures/nifti_scaled.nii.gz" > "$corpus/image_header/nifti_scaled.nii"
cat "$fixtures/nifti_pair.hdr" > "$corpus/image_header/analyze_header_only.nii"
python3 - "$corpus/image_header" <<'PY'
import sys, zlib
out = sys.argv[1]
voxels = bytes(range(24))  # 2 x 3 x 4 uint8
mha = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
       "Offset = 1 2 3\nElementSpacing = 0.5 1 2\nTransformMatrix = 1 0 0 0 1 0 0 0 1\n"
       "DimSize = 4 3 2\nElementType = MET_UCHAR\n")
open(f"{out}/tiny.mha", "wb").write((mha + "ElementDataFile = LOCAL\n").encode() + voxels)
packed = zlib.compress(voxels)
open(f"{out}/tiny_compressed.mha", "wb").write(
    (mha + f"CompressedData = True\nCompressedDataSize = {len(packed)}\nElementDataFile = LOCAL\n").encode() + packed)
floats = b"".join(int(i).to_bytes(4, "little") for i in range(8))
open(f"{out}/float_channels.mha", "wb").write(
    b"ObjectType = Image\nNDims = 2\nDimSize = 2 2\nElementNumberOfChannels = 2\n"
    b"ElementType = MET_FLOAT\nElementDataFile = LOCAL\n" + floats)
nrrd = ("NRRD0004\ntype: uint8\ndimension: 3\nspace: left-posterior-superior\nsizes: 4 3 2\n"
        "space directions: (0.5,0,0) (0,1,0) (0,0,2)\nspace origin: (1,2,3)\nendian: little\n")
open(f"{out}/tiny.nrrd", "wb").write((nrrd + "encoding: raw\n\n").encode() + voxels)
import gzip
open(f"{out}/tiny_gzip.nrrd", "wb").write((nrrd + "encoding: gzip\n\n").encode() + gzip.compress(voxels, mtime=0))
PY
find "$corpus" -type f | wc -l
