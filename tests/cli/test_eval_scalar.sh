#!/usr/bin/env bash
# tests/cli - `innereye eval --task classification|regression` on the
# scikit-learn fixtures (tests/reference/gen_scalar_metrics.py): metrics.csv
# matches sklearn's values, the confusion matrix matches sklearn's, and bad
# tables fail cleanly with the file and line.
#   test_eval_scalar.sh INNEREYE FIXTURE_DIR
set -u
innereye=$1
fx=$2/scalar_metrics
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
# same_metrics GOT WANT: same rows in the same order, values within 1e-8 relative (9 significant digits).
same_metrics() {
  paste -d '\n' "$1" "$2" | awk -F, 'NR % 2 == 1 { split($0, g, ","); next }
    { if (g[1] != $1 || g[3] != $3 || g[4] != $4) { print "row " NR/2 ": " g[3] "/" g[4] " vs " $3 "/" $4; bad = 1; next }
      a = g[5]; b = $5
      if (b == "nan") { if (a != "NaN") { print g[4] ": " a " vs nan"; bad = 1 } next }
      d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b
      if (d > 1e-8 * m + 1e-12) { print g[3] " " g[4] ": " a " vs " b; bad = 1 } }
    END { exit bad }' && test "$(wc -l < "$1")" -eq "$(wc -l < "$2")"
}

for case in multiclass multilabel; do
  "$innereye" eval --task classification --predictions "$fx/${case}_predictions.csv" --out "$out/$case" \
    > "$out/$case.txt" 2>&1
  check "$case: eval succeeds" test $? -eq 0
  check "$case: metrics.csv matches scikit-learn" same_metrics "$out/$case/metrics.csv" "$fx/${case}_expected.csv"
done
check "multiclass: confusion matrix matches scikit-learn" \
  cmp -s "$out/multiclass/confusion_matrix.csv" "$fx/multiclass_confusion.csv"
check "multiclass: the summary prints the accuracy" grep -q "(multiclass): n 150 accuracy" "$out/multiclass.txt"
"$innereye" eval --task=regression --predictions="$fx/regression_predictions.csv" --out "$out/reg/nested" \
  > "$out/reg.txt" 2>&1
check "regression: eval succeeds (--opt=value spelling, nested output folder)" test $? -eq 0
check "regression: metrics.csv matches scikit-learn" same_metrics "$out/reg/nested/metrics.csv" "$fx/regression_expected.csv"

"$innereye" eval --task classification --predictions "$fx/regression_predictions.csv" --out "$out/bad" \
  > "$out/bad.txt" 2>&1
check "regression values as classification fail" test $? -eq 1
check "... naming the file, line, subject and target" \
  grep -q "regression_predictions.csv:2: subject r000, target volume_ml: label .*; classification labels must be 0 or 1" "$out/bad.txt"
check "... and writing nothing" test ! -e "$out/bad/metrics.csv"
"$innereye" eval --task regression --predictions "$out/none.csv" --out "$out/none" > "$out/none.txt" 2>&1
check "a missing CSV fails" test $? -eq 1
"$innereye" eval --task regression --out "$out/x" > "$out/noarg.txt" 2>&1
check "a missing --predictions is a usage error" test $? -eq 2

if [ "$fails" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $f"; cat "$f"; done
  echo "$fails checks failed"
  exit 1
fi
echo "all eval checks passed"
