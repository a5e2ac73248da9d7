#!/usr/bin/env bash
# tests/cli - report.html and innereye compare on real small runs:
#   - train writes report.html by itself; run.report=false turns it off;
#   - every number on the page is the run's own (check_report.py), for a
#     segmentation run (hippocampus) and a classification and regression run;
#   - the page renders in headless Chromium with no console error, no request,
#     every image decoded and a screenshot that is not blank (render_report.py);
#   - innereye compare: compare.csv's statistics equal scipy's on the two
#     runs' metrics.csv; runs on different test subjects are refused, naming them;
#     a bad folder exits non-zero naming it.
# Skipped (77) when the hippocampus data or chromium is absent.
#   test_report.sh INNEREYE SOURCE_DIR
set -u
innereye=$1
src=$2
if [ ! -d "$src/../shared/data/hippocampus/images" ]; then
  echo "skipped: $src/../shared/data/hippocampus is absent"
  exit 77
fi
command -v chromium > /dev/null || { echo "skipped: chromium is not installed (make test-deps)"; exit 77; }
/usr/bin/python3 -c "import numpy, scipy" 2> /dev/null ||
  { echo "skipped: python3-numpy and python3-scipy are not installed (make test-deps)"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$src" || exit 1
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
py=/usr/bin/python3
hello="$innereye --model=HelloWorld --threads 2 --output-dir $out"

# A and B: the same seed, so the same split and test subjects; C: another seed, another test set.
# A also infers its validation split (run.infer_val): the report shows both splits.
$hello --num_epochs=1 --set run.name=A --set run.infer_val=true > "$out/A.txt" 2>&1 ||
  { echo "FAIL: run A"; cat "$out/A.txt"; exit 1; }
check "train wrote report.html by itself" test -s "$out/A/report.html"
check "run.infer_val: val_metrics.csv, val_metrics_aggregates.csv and val_predictions/" \
  test -s "$out/A/val_metrics.csv" -a -s "$out/A/val_metrics_aggregates.csv" -a -d "$out/A/val_predictions"
check "  metrics.csv keeps the test split only" test "$(cut -d, -f1 "$out/A/val_metrics.csv" | sort -u | grep -c -x -F \
  -f - <(cut -d, -f1 "$out/A/metrics.csv" | tail -n +2))" -eq 0
check "box plots per structure and split (test and val)" \
  grep -q 'data-label="[^"]* val" data-file="val_metrics.csv"' "$out/A/report.html"
check "  the validation split's worst subjects have overlays" grep -q "val split, the 5 worst" "$out/A/report.html"
check "train said where the report is" grep -q "^report: $out/A/report.html" "$out/A.txt"
$hello --num_epochs=2 --set run.name=B > "$out/B.txt" 2>&1 || { echo "FAIL: run B"; exit 1; }
$hello --num_epochs=1 --random_seed=7 --set run.name=C --set run.report=false > "$out/C.txt" 2>&1 ||
  { echo "FAIL: run C"; exit 1; }
check "run.report=false: no report.html" test ! -e "$out/C/report.html"

"$innereye" report "$out/C" > "$out/report_C.txt" 2>&1
check "innereye report writes it afterwards" test -s "$out/C/report.html"
check "every number of the segmentation report is the run's" $py "$here/check_report.py" "$out/A/report.html" "$out/A"
check "the report has overlays of the worst subjects" grep -q 'data-view="sagittal"' "$out/A/report.html"
check "segmentation report renders in Chromium" $py "$here/render_report.py" "$out/A/report.html" "$out"

"$innereye" report "$out/nowhere" > "$out/bad.txt" 2>&1
check "a missing folder: non-zero exit" test $? -ne 0
check "  naming it" grep -q "$out/nowhere" "$out/bad.txt"
"$innereye" report "$out/A/checkpoints" > "$out/bad2.txt" 2>&1
check "a folder that is no run: non-zero exit" test $? -ne 0
check "  saying what to give" grep -q "is not a run, cross-validation, ensemble, sweep or comparison folder" "$out/bad2.txt"

# compare: B against A on the same subjects, against scipy.
"$innereye" compare "$out/A" "$out/B" --out "$out/cmp" > "$out/cmp.txt" 2>&1
check "compare A B succeeds" test $? -eq 0
check "compare wrote compare.csv, compare_subjects.csv, compare.json and report.html" \
  test -s "$out/cmp/compare.csv" -a -s "$out/cmp/compare_subjects.csv" -a -s "$out/cmp/compare.json" -a \
  -s "$out/cmp/report.html"
check "compare.csv's tests are scipy's on the runs' metrics.csv" $py - "$out/A/metrics.csv" "$out/B/metrics.csv" \
  "$out/cmp/compare.csv" <<'PY'
import csv, sys
import numpy as np
from scipy import stats
a, b, c = (list(csv.DictReader(open(p))) for p in sys.argv[1:4])
key = lambda r: (r["Patient"], r["Structure"])
bb = {key(r): r for r in b}
bad = 0
for row in c:
    d = []
    for r in a:
        if r["Structure"] != row["structure"]:
            continue
        va, vb = float(r[row["metric"]]), float(bb[key(r)][row["metric"]])
        if np.isnan(va) or np.isnan(vb):
            continue
        d.append(0.0 if va == vb else vb - va)
    d = np.array(d)
    nz = d[d != 0]
    if len(nz) == 0:
        continue
    exact = len(nz) == len(d) and len(nz) <= 50 and len(np.unique(np.abs(nz))) == len(nz)
    if any(np.isinf(d)):
        continue  # scipy ranks inf as nan; ours ranks it above every finite difference
    res = stats.wilcoxon(d, zero_method="wilcox", correction=True, method="exact" if exact else "approx")
    ok = abs(float(row["p_value"]) - res.pvalue) <= 1e-6 * max(res.pvalue, 1e-12) and \
        float(row["statistic"]) == res.statistic and row["method"] == ("exact" if exact else "normal")
    print(("ok  " if ok else "BAD ") + "%s %s: p %s (scipy %r), statistic %s (%r), %s" % (
        row["structure"], row["metric"], row["p_value"], res.pvalue, row["statistic"], res.statistic, row["method"]))
    bad += not ok
sys.exit(1 if bad or not c else 0)
PY
check "the comparison's report: every number is compare.csv's" $py "$here/check_report.py" "$out/cmp/report.html" "$out/cmp"
check "the comparison's report renders in Chromium" $py "$here/render_report.py" "$out/cmp/report.html" "$out"
"$innereye" report "$out/B" --compare "$out/A" > "$out/report_B.txt" 2>&1
check "report B --compare A succeeds" test $? -eq 0
check "  B's report has the comparison section" grep -q 'id="compare"' "$out/B/report.html"
check "  its compare.csv is compare A B's, byte for byte" cmp -s "$out/B/comparison/compare.csv" "$out/cmp/compare.csv"
check "  every number of B's report is B's files'" $py "$here/check_report.py" "$out/B/report.html" "$out/B"
"$innereye" report "$out/B" > "$out/report_B2.txt" 2>&1
check "  innereye report B again keeps the section" grep -q 'id="compare"' "$out/B/report.html"
"$innereye" report "$out/B" --compare "$out/C" > "$out/report_BC.txt" 2>&1
check "report --compare of runs on different subjects: refused" test $? -ne 0
check "  the earlier comparison is kept" cmp -s "$out/B/comparison/compare.csv" "$out/cmp/compare.csv"
"$innereye" compare "$out/A" "$out/B" --out "$out/A" > "$out/cmp_into_run.txt" 2>&1
check "compare --out a run folder: refused, pointing at report --compare" grep -q "report $out/A --compare" \
  "$out/cmp_into_run.txt"
"$innereye" compare "$out/A" "$out/B" --metric dice > "$out/cmp_dice.txt" 2>&1
check "--metric dice: only Dice lines" test "$(grep -c Dice "$out/cmp_dice.txt")" -eq 2 -a \
  "$(grep -c HD95 "$out/cmp_dice.txt")" -eq 0
"$innereye" compare "$out/A" "$out/B" --out "$out/cmp" > "$out/cmp_again.txt" 2>&1
check "compare never overwrites an earlier result" test $? -ne 0
"$innereye" compare "$out/A" "$out/C" > "$out/cmp_bad.txt" 2>&1
check "runs on different test subjects: refused" test $? -ne 0
subject=$(awk -F, 'NR == 2 {print $1}' "$out/C/metrics.csv")
grep -q ",$subject," "$out/A/metrics.csv" || grep -q "^$subject," "$out/A/metrics.csv" ||
  check "  naming a subject only C has ($subject)" grep -q "$subject" "$out/cmp_bad.txt"

# a cross-validation (its page, its ensemble's page) and a sweep
$hello --num_epochs=1 --cv 2 --set run.name=cv > "$out/cv.txt" 2>&1 || { echo "FAIL: cross-validation"; cat "$out/cv.txt"; exit 1; }
check "the cross-validation wrote report.html" test -s "$out/cv/report.html"
check "  each fold wrote its own" test -s "$out/cv/fold_0/report.html" -a -s "$out/cv/fold_1/report.html"
check "cross-validation: every number is its files'" $py "$here/check_report.py" "$out/cv/report.html" "$out/cv" "$out/cv/ensemble"
check "cross-validation: each fold beside the mean and the ensemble" grep -q 'data-plot="folds:' "$out/cv/report.html"
check "cross-validation report renders in Chromium" $py "$here/render_report.py" "$out/cv/report.html" "$out"
"$innereye" report "$out/cv/ensemble" > "$out/ens.txt" 2>&1
check "an ensemble folder's report" $py "$here/check_report.py" "$out/cv/ensemble/report.html" "$out/cv/ensemble"
"$innereye" sweep --model HelloWorld --grid train.optimizer.lr=0.001,0.01 --set train.epochs=1 --set run.name=sweep \
  --output-dir "$out" --threads 2 > "$out/sweep.txt" 2>&1 || { echo "FAIL: sweep"; cat "$out/sweep.txt"; exit 1; }
check "the sweep wrote report.html: trials ranked" grep -q 'id="trials"' "$out/sweep/report.html"
check "sweep: every number is sweep.csv's" $py "$here/check_report.py" "$out/sweep/report.html" "$out/sweep"
check "sweep: the objective against the swept key" grep -q 'data-plot="sweep:train.optimizer.lr"' "$out/sweep/report.html"
check "sweep report renders in Chromium" $py "$here/render_report.py" "$out/sweep/report.html" "$out"

# classification and regression (tests/cli/tabular_dataset.sh)
bash "$here/tabular_dataset.sh" "$out" 240 7 20
for kind in binary regression; do
  "$innereye" train --config "$out/$kind.json" --output-dir "$out" --set run.name=$kind --threads 2 \
    > "$out/$kind.txt" 2>&1 || { echo "FAIL: $kind run"; cat "$out/$kind.txt"; exit 1; }
  check "$kind: every number of the report is the run's" $py "$here/check_report.py" "$out/$kind/report.html" "$out/$kind"
  check "$kind report renders in Chromium" $py "$here/render_report.py" "$out/$kind/report.html" "$out"
done
check "classification report: ROC, PR, calibration, confusion matrix" \
  grep -q 'data-plot="roc:test:sick".*\|data-plot="calibration:test:sick"' "$out/binary/report.html"
check "regression report: scatter with the identity line and residuals" \
  grep -q 'data-line="identity"' "$out/regression/report.html"
echo "$fails failures"
exit $fails
