#!/usr/bin/env bash
# tests/cli - classification and regression runs end to end on a generated
# tabular dataset (numerical and categorical features): the Classifier
# learns binary labels (test AUROC) and a quantity (test R^2);
# predictions.csv gives the run's metrics.csv again through `innereye eval`;
# results do not depend on the thread count and survive a resume byte for
# byte; missing values and a loss that does not fit the targets fail with
# the subject, column and what to do.
#   test_classification.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
metric() { # metric METRICS_CSV SPLIT TARGET NAME
  awk -F, -v s="$2" -v t="$3" -v m="$4" '$1 == s && $3 == t && $4 == m { print $5 }' "$1"
}
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }

# 240 subjects (tests/cli/tabular_dataset.sh): tabular.csv, binary.json, regression.json.
bash "$(dirname "$0")/tabular_dataset.sh" "$out" 240 7 30

"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=bin --threads 2 > "$out/bin.txt" 2>&1
check "binary classification run succeeds" test $? -eq 0
run=$out/bin
check "predictions.csv: one row per val and test subject" \
  test "$(grep -c ',sick,' "$run/predictions.csv")" -eq "$(grep -Ec ',(val|test)$' "$run/split.csv")"
check "predictions.csv has the documented columns" grep -q "^subject,target,label,prediction,split,epoch$" "$run/predictions.csv"
auroc=$(metric "$run/metrics.csv" test sick area_under_roc_curve)
check "the model learns the labels: test AUROC $auroc >= 0.8" at_least "$auroc" 0.8
check "train_log.csv logs the validation AUROC" grep -q "^epoch,lr,train_loss,val_loss,val_auroc_sick,seconds$" "$run/train_log.csv"
check "run.json records the test metrics" grep -q '"area_under_roc_curve"' "$run/run.json"
"$innereye" eval --task classification --predictions "$run/predictions.csv" --out "$out/eval" > "$out/eval.txt" 2>&1
check "innereye eval on predictions.csv reproduces the run's metrics.csv" cmp -s "$run/metrics.csv" "$out/eval/metrics.csv"

"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=bin1 --threads 1 > "$out/bin1.txt" 2>&1
check "1 thread gives the same predictions as 2" cmp -s "$run/predictions.csv" "$out/bin1/predictions.csv"
"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=part --stop-after-epochs 12 \
  > "$out/part.txt" 2>&1
"$innereye" train --resume "$out/part" > "$out/resume.txt" 2>&1
check "a resumed run ends with the same weights" \
  cmp -s "$run/checkpoints/epoch_0030.safetensors" "$out/part/checkpoints/epoch_0030.safetensors"
check "... and the same predictions" cmp -s "$run/predictions.csv" "$out/part/predictions.csv"

"$innereye" train --config "$out/regression.json" --output-dir "$out" --set run.name=reg --threads 2 > "$out/reg.txt" 2>&1
check "regression run succeeds" test $? -eq 0
r2=$(metric "$out/reg/metrics.csv" test volume r2_score)
check "the model learns the quantity: test R^2 $r2 >= 0.7" at_least "$r2" 0.7
check "regression predictions are in the label's units (mL, not standardised)" \
  awk -F, 'NR > 1 && ($4 < 1.5 || $4 > 4.5) { bad = 1 } END { exit bad }' "$out/reg/predictions.csv"
"$innereye" eval --task regression --predictions "$out/reg/predictions.csv" --out "$out/reg_eval" > /dev/null 2>&1
check "innereye eval reproduces the regression metrics" cmp -s "$out/reg/metrics.csv" "$out/reg_eval/metrics.csv"
# The Classifier declares classification; trained with data.scalar.target
# "regression" its run is a regression run everywhere (core/task:
# ie_task_for_run): run.json, innereye runs and show, and export, which
# refuses ONNX for regression (its outputs are rescaled outside the graph).
check "run.json records the task the config names: regression" grep -q '"task":.*"regression"' "$out/reg/run.json"
"$innereye" runs "$out" > "$out/runs.txt" 2>&1
check "innereye runs calls the run regression" grep -Eq '^reg +Classifier +regression ' "$out/runs.txt"
check "... and the binary run classification" grep -Eq '^bin +Classifier +classification ' "$out/runs.txt"
"$innereye" show "$out/reg" > "$out/show_reg.txt" 2>&1
check "innereye show calls it regression" grep -q '^  model Classifier (regression)' "$out/show_reg.txt"
"$innereye" export --run "$out/reg" --format onnx --out "$out/reg.onnx" > "$out/reg_onnx.txt" 2>&1
rc=$?
check "ONNX export of the regression run is refused (exit 1), as regression" \
  bash -c "[ $rc -eq 1 ] && grep -q 'a regression run cannot be exported to ONNX' '$out/reg_onnx.txt' && test ! -e '$out/reg.onnx'"

# Cross-validation: 3 folds of each task, then the folds' ensemble on the
# shared test set is the mean of the folds' test predictions.
for task in binary regression; do
  kind=classification; [ $task = regression ] && kind=regression
  infer_val=true; [ $task = regression ] && infer_val=false
  "$innereye" train --config "$out/$task.json" --output-dir "$out" --set run.name=cv_$task --set train.epochs=10 \
    --set run.infer_val=$infer_val --cv 3 --threads 2 > "$out/cv_$task.txt" 2>&1
  check "$task cross-validation succeeds" test $? -eq 0
  cv=$out/cv_$task
  check "$task: the folds' ensemble predicts the test set" test -s "$cv/ensemble/predictions.csv"
  check "$task: ... and is an ensemble folder innereye infer can take" test -s "$cv/ensemble/manifest.json"
  # Mean of the three folds' test predictions, per subject and target, against the ensemble's.
  check "$task: ensemble prediction = mean of the folds' predictions (1e-6)" awk -F, '
    FNR == 1 { file++; next }
    file <= 3 && $5 == "test" { sum[$1 "," $2] += $4; n[$1 "," $2]++ }
    file == 4 { rows++; k = $1 "," $2; d = sum[k] / 3 - $4; if (n[k] != 3 || d > 1e-6 || d < -1e-6) bad++ }
    END { exit !(rows > 0 && !bad) }' "$cv"/fold_{0,1,2}/predictions.csv "$cv/ensemble/predictions.csv"
  "$innereye" eval --task $kind --predictions "$cv/ensemble/predictions.csv" --out "$out/cv_${task}_eval" \
    > /dev/null 2>&1
  check "$task: innereye eval on the ensemble's predictions reproduces its metrics" \
    cmp -s "$cv/ensemble/metrics.csv" "$out/cv_${task}_eval/metrics.csv"
  check "$task: ensemble_comparison.csv has each fold beside the ensemble" \
    grep -q "^target,metric,fold_0,fold_1,fold_2,folds_mean,ensemble$" "$cv/ensemble_comparison.csv"
done
# The ensemble folder predicts like the CV computed it: innereye infer on the
# test subjects gives the averaged predictions again.
cv=$out/cv_binary
awk -F, 'NR == FNR { if ($2 == "test") test[$1] = 1; next } FNR == 1 || ($1 in test)' \
  "$cv/fold_0/split.csv" "$out/tabular.csv" > "$out/cv_test.csv"
"$innereye" infer --run "$cv/ensemble" --dataset "$out/cv_test.csv" --out "$out/cv_infer" > "$out/cv_infer.txt" 2>&1
check "innereye infer --run <cv>/ensemble on the test subjects gives the CV ensemble's predictions (1e-6)" awk -F, '
  FNR == 1 { file++; next }
  file == 1 { p[$1 "," $2] = $4; next }
  { rows++; k = $1 "," $2; d = p[k] - $4; if (!(k in p) || d > 1e-6 || d < -1e-6) bad++ }
  END { exit !(rows > 0 && rows == length(p) && !bad) }' "$cv/ensemble/predictions.csv" "$out/cv_infer/predictions.csv"
# cv_summary.csv: per split and target, the mean of the folds' metric.
want=$(for i in 0 1 2; do metric "$out/cv_binary/fold_$i/metrics.csv" test sick area_under_roc_curve; done |
  awk '{ s += $1 } END { printf "%.9g", s / 3 }')
check "cv_summary.csv: test AUROC = mean of the folds' ($want)" \
  grep -q "^test|sick,area_under_roc_curve,3,$want," "$out/cv_binary/cv_summary.csv"
check "cv_summary.csv keeps validation and test apart" grep -q "^val|sick,area_under_roc_curve,3," \
  "$out/cv_binary/cv_summary.csv"
auc_row=$(grep "^sick,area_under_roc_curve," "$out/cv_binary/ensemble_comparison.csv")
check "the comparison lists the test AUROC of every fold and of the ensemble ($auc_row)" \
  awk -F, -v r="$auc_row" 'BEGIN { split(r, a, ","); for (i = 3; i <= 7; i++) if (a[i] !~ /^(0\.[0-9]+|1)$/) exit 1 }'
check "the regression comparison lists the test MAE" grep -Eq "^volume,mean_absolute_error(,[0-9.]+){5}$" \
  "$out/cv_regression/ensemble_comparison.csv"
cp "$out/cv_binary/ensemble/metrics.csv" "$out/cv_binary_ensemble_metrics.csv"
"$innereye" cv-aggregate "$out/cv_binary" > "$out/cv_again.txt" 2>&1
check "cv-aggregate again keeps the ensemble folder and gives the same ensemble metrics" \
  cmp -s "$out/cv_binary/ensemble/metrics.csv" "$out/cv_binary_ensemble_metrics.csv"

# Refusals: a missing value (named with subject and column), a loss that does not fit.
sed '5s/^\(s003\),[0-9.]*,/\1,,/' "$out/tabular.csv" > "$out/missing.csv"
"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=miss \
  --set data.dataset_csv="$out/missing.csv" > "$out/miss.txt" 2>&1
check "a missing feature value fails" test $? -ne 0
check "... naming subject, line and column" \
  grep -q "subject s003 (line 5): no value in numerical column age (or set data.scalar.impute_missing)" "$out/miss.txt"
"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=imp \
  --set data.dataset_csv="$out/missing.csv" --set data.scalar.impute_missing=true --set train.epochs=1 \
  > "$out/imp.txt" 2>&1
check "... or is imputed when the config says so" grep -q "1 missing or unseen feature values imputed" "$out/imp.txt"
"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=ce \
  --set train.loss.name=CrossEntropy > "$out/ce.txt" 2>&1
"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=typo \
  --set model.params.widht=8 > "$out/typo.txt" 2>&1
check "a misspelt model parameter is refused" grep -q "model.params.widht is not a parameter of this model" "$out/typo.txt"
check "a loss that does not fit the targets fails" grep -q 'train.loss.name "CrossEntropy" does not fit binary targets; use "BCE"' "$out/ce.txt"

if [ "$fails" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $f"; tail -30 "$f"; done
  echo "$fails checks failed"
  exit 1
fi
echo "all classification checks passed"
