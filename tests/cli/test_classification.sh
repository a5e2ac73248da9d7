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

# 240 subjects: sick depends on age and sex, volume on age and site (plus noise).
awk 'BEGIN {
  srand(7); print "subject,age,bmi,site,sex,sick,volume"
  for (i = 0; i < 240; i++) {
    age = 20 + 60 * rand(); bmi = 18 + 17 * rand(); site = substr("ABC", 1 + int(3 * rand()), 1)
    sex = rand() < 0.5 ? "F" : "M"; noise = rand() + rand() + rand() - 1.5
    sick = (0.08 * (age - 50) + 1.5 * (sex == "F") - 0.7 + noise > 0) ? 1 : 0
    volume = 3 + 0.02 * (age - 50) - 0.5 * (site == "B") + 0.1 * noise
    printf "s%03d,%.1f,%.1f,%s,%s,%d,%.4f\n", i, age, bmi, site, sex, sick, volume
  } }' > "$out/tabular.csv"
cat > "$out/binary.json" <<JSON
{
  "model": {"name": "Classifier", "params": {"hidden": [16]}},
  "data": {"dataset_csv": "$out/tabular.csv",
           "scalar": {"label_columns": ["sick"], "numerical_columns": ["age", "bmi"],
                      "categorical_columns": ["site", "sex"]},
           "workers": 1},
  "train": {"epochs": 30, "batch_size": 16, "optimizer": {"kind": "adam", "lr": 0.01}, "loss": {"name": "BCE"}},
  "run": {"infer_val": true}
}
JSON
sed -e 's/"sick"/"volume"/' -e 's/"BCE"/"MSE"/' \
    -e 's/"categorical_columns"/"standardize_targets": true, "target": "regression", "categorical_columns"/' \
    "$out/binary.json" > "$out/regression.json"

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
