#!/usr/bin/env bash
# tests/cli - `innereye dataset hippocampus-volume` on the 200 real
# hippocampus cases: every volume (all labels, and each label) equals the
# voxel counts and spacing nibabel reads (tests/reference/fixtures/
# hippocampus_nibabel.csv, written by gen_hippocampus_expected.py) times the
# voxel volume.  Skipped (77) without ../shared/data.
#   test_hippocampus_volume_dataset.sh INNEREYE HIPPOCAMPUS_DIR FIXTURE_CSV
set -u
innereye=$1
data=$2
fixture=$3
if [ ! -d "$data/labels" ]; then
  echo "skipped: $data is missing"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
"$innereye" dataset hippocampus-volume --images "$data/images" --labels "$data/labels" --out "$out/hv" \
  > "$out/run.txt" 2>&1
check "the command succeeds" test $? -eq 0
check "dataset.csv has the volume columns" grep -q "^subject,filePath,volume_ml,label1_ml,label2_ml$" "$out/hv/dataset.csv"
check "200 subjects" test "$(($(wc -l < "$out/hv/dataset.csv") - 1))" -eq 200
# fixture: case,...,sx(7),sy(8),sz(9),...,label1(24),label2(25)
compare() {
  awk -F, 'NR == FNR { if (FNR > 1) { c = $1; sub(/\.nii\.gz$/, "", c); v = $7 * $8 * $9 / 1000
                                      a[c] = $24 * v; p[c] = $25 * v }; next }
    FNR > 1 { n++; d1 = $4 - a[$1]; d2 = $5 - p[$1]; d0 = $3 - a[$1] - p[$1]
              if (!($1 in a) || d0 * d0 > 1e-12 || d1 * d1 > 1e-12 || d2 * d2 > 1e-12) { print "differs: " $0; bad = 1 } }
    END { exit bad || n != 200 }' "$fixture" "$out/hv/dataset.csv"
}
check "every volume equals nibabel's voxel counts x spacing" compare
"$innereye" dataset hippocampus-volume --images "$out" --labels "$data/labels" --out "$out/none" > "$out/none.txt" 2>&1
check "no image for any label map is an error" grep -q "no label map has an image of the same name" "$out/none.txt"
if [ "$fails" -ne 0 ]; then
  cat "$out"/*.txt
  echo "$fails checks failed"
  exit 1
fi
echo "all hippocampus-volume checks passed"
