#!/usr/bin/env bash
# tests/cli - `innereye eval` on label maps written by test_seg_metrics
# (--write-eval-inputs): folders paired by name (unmatched files reported),
# exact metrics.csv and metrics_aggregates.csv, a single pair of files,
# structures named by label value; refusals: existing results, no matching
# files, different shapes or spacing, a file against a folder, bad options.
#   test_eval.sh INNEREYE TEST_SEG_METRICS
set -u
innereye=$1
writer=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
# refuses DESCRIPTION REGEX ARGS...: a clean non-zero exit whose output matches
refuses() {
  local out rc
  out=$("$innereye" eval "${@:3}" 2>&1)
  rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && printf '%s\n' "$out" | grep -Eq -- "$2"; then
    echo "ok    $1"
  else
    echo "FAIL  $1 (exit $rc)"; printf '%s\n' "$out"; fails=$((fails + 1))
  fi
}

"$writer" --write-eval-inputs "$d" > /dev/null || { echo "FAIL  writing the inputs"; exit 1; }

# Folders given with a '/' at the end, as a newcomer types them (docs/guide.md).
"$innereye" eval --pred "$d/pred/" --truth "$d/truth/" --labels anterior,posterior --out "$d/out/nested/" \
  > "$d/run.txt" 2> "$d/err.txt"
check "eval on two folders succeeds" test $? -eq 0
check "the paths it prints have no '//' (folders given as dir/)" \
  bash -c "grep -q 'metrics: $d/out/nested/metrics.csv' '$d/run.txt' && ! grep -q '//' '$d/run.txt' '$d/err.txt'"
check "an unmatched prediction is reported with its path" \
  grep -q "no true label map for prediction $d/pred/extra.nii.gz" "$d/err.txt"
check "an unmatched true map is reported with its path" \
  grep -q "no prediction for true label map $d/truth/lonely.nii.gz" "$d/err.txt"
cat > "$d/want_metrics.csv" <<'EOF'
Patient,Structure,Dice,HausdorffDistance_mm,HD95_mm,MeanDistance_mm
case1,anterior,0.000000,6.000000,6.000000,6.000000
case1,posterior,nan,nan,nan,nan
case2,anterior,1.000000,0.000000,0.000000,0.000000
case2,posterior,1.000000,0.000000,0.000000,0.000000
case3,anterior,0.000000,inf,inf,inf
case3,posterior,nan,nan,nan,nan
EOF
check "metrics.csv: InnerEye's 6 mm case, identical maps, a missed structure, absent ones" \
  diff "$d/want_metrics.csv" "$d/out/nested/metrics.csv"
cat > "$d/want_aggregates.csv" <<'EOF'
Structure,Metric,count,nan_count,inf_count,mean,std,min,max
anterior,Dice,3,0,0,0.333333,0.577350,0.000000,1.000000
anterior,HausdorffDistance_mm,3,0,1,3.000000,4.242641,0.000000,inf
anterior,HD95_mm,3,0,1,3.000000,4.242641,0.000000,inf
anterior,MeanDistance_mm,3,0,1,3.000000,4.242641,0.000000,inf
posterior,Dice,1,2,0,1.000000,nan,1.000000,1.000000
posterior,HausdorffDistance_mm,1,2,0,0.000000,nan,0.000000,0.000000
posterior,HD95_mm,1,2,0,0.000000,nan,0.000000,0.000000
posterior,MeanDistance_mm,1,2,0,0.000000,nan,0.000000,0.000000
EOF
check "metrics_aggregates.csv: NaN counted apart, inf in count and max only" \
  diff "$d/want_aggregates.csv" "$d/out/nested/metrics_aggregates.csv"
check "the summary names the structures" grep -q "anterior *Dice 0.333" "$d/run.txt"
check "no temporary files left" test "$(ls -A "$d/out/nested" | wc -l)" -eq 2

cp "$d/out/nested/metrics.csv" "$d/before.csv"
refuses "existing results are never replaced" "already holds results .*metrics.csv.*nothing was written" \
  --pred "$d/pred" --truth "$d/truth" --out "$d/out/nested"
check "... and stay untouched" cmp -s "$d/before.csv" "$d/out/nested/metrics.csv"

"$innereye" eval --pred "$d/pred/case2_segmentation.nii.gz" --truth "$d/truth/case2.nii.gz" --out "$d/single" \
  --threads 1 > /dev/null 2>&1
check "a single pair of files succeeds" test $? -eq 0
check "... named after the true map, structures by label value" \
  grep -qx "case2,2,1.000000,0.000000,0.000000,0.000000" "$d/single/metrics.csv"

refuses "no matching files" "no prediction in .*/pred matches a true label map in .*/empty \(4 predictions, 0 true" \
  --pred "$d/pred" --truth "$d/empty" --out "$d/none"
refuses "different shapes name both files" \
  "prediction .*/bad/shape.nii.gz and true label map .*/truth/case2.nii.gz are not on the same voxel grid \(size" \
  --pred "$d/bad/shape.nii.gz" --truth "$d/truth/case2.nii.gz" --out "$d/shape"
check "... and write nothing" test ! -e "$d/shape"
refuses "different spacing" "bad/spacing.nii.gz and true label map .*case2.nii.gz are not on the same voxel grid \(spacing" \
  --pred "$d/bad/spacing.nii.gz" --truth "$d/truth/case2.nii.gz" --out "$d/spacing"
refuses "a file against a folder" "must both be files or both be folders" \
  --pred "$d/pred" --truth "$d/truth/case2.nii.gz" --out "$d/mixed"
refuses "a missing input" "no_such_folder: No such file or directory" \
  --pred "$d/no_such_folder" --truth "$d/truth" --out "$d/missing"
refuses "an empty structure name" "--labels 'a,,b' has an empty name" \
  --pred "$d/pred" --truth "$d/truth" --labels a,,b --out "$d/labels"
refuses "a missing option" "give --pred, --truth and --out" --pred "$d/pred" --truth "$d/truth"

# Seven subjects whose maps hold label 2 with one --labels name: five
# warnings named, then one line with the count (it was one per subject).
mkdir -p "$d/many/pred" "$d/many/truth"
for i in 1 2 3 4 5 6 7; do
  cp "$d/pred/case2_segmentation.nii.gz" "$d/many/pred/s$i.nii.gz"; cp "$d/truth/case2.nii.gz" "$d/many/truth/s$i.nii.gz"
done
"$innereye" eval --pred "$d/many/pred" --truth "$d/many/truth" --labels anterior --out "$d/many/out" \
  > /dev/null 2> "$d/many/err.txt"
check "labels above --labels: eval succeeds" test $? -eq 0
check "labels above --labels: 5 subjects named" \
  test "$(grep -c 'holds label 2, but --labels names 1 structure' "$d/many/err.txt")" -eq 5
check "labels above --labels: the rest counted on one line" \
  grep -q '\.\.\. and 2 more subjects with labels above the 1 --labels names (7 of 7 subjects)' "$d/many/err.txt"

if [ "$fails" -ne 0 ]; then echo "$fails checks failed"; exit 1; fi
echo "all checks passed"
