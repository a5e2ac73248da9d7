#!/usr/bin/env bash
# tests/cli - the generated tabular dataset of the classification and
# regression tests, and their two configs:
#   tabular_dataset.sh DIR SUBJECTS SEED EPOCHS
# writes DIR/tabular.csv (subject,age,bmi,site,sex,sick,volume: sick depends
# on age and sex, volume on age and site, plus noise), DIR/binary.json (the
# Classifier on sick, BCE) and DIR/regression.json (on volume, MSE,
# standardised targets).
set -eu
dir=$1 subjects=$2 seed=$3 epochs=$4
awk -v n="$subjects" -v seed="$seed" 'BEGIN {
  srand(seed); print "subject,age,bmi,site,sex,sick,volume"
  for (i = 0; i < n; i++) {
    age = 20 + 60 * rand(); bmi = 18 + 17 * rand(); site = substr("ABC", 1 + int(3 * rand()), 1)
    sex = rand() < 0.5 ? "F" : "M"; noise = rand() + rand() + rand() - 1.5
    sick = (0.08 * (age - 50) + 1.5 * (sex == "F") - 0.7 + noise > 0) ? 1 : 0
    volume = 3 + 0.02 * (age - 50) - 0.5 * (site == "B") + 0.1 * noise
    printf "s%03d,%.1f,%.1f,%s,%s,%d,%.4f\n", i, age, bmi, site, sex, sick, volume
  } }' > "$dir/tabular.csv"
cat > "$dir/binary.json" <<JSON
{
  "model": {"name": "Classifier", "params": {"hidden": [16]}},
  "data": {"dataset_csv": "$dir/tabular.csv",
           "scalar": {"label_columns": ["sick"], "numerical_columns": ["age", "bmi"],
                      "categorical_columns": ["site", "sex"]},
           "workers": 1},
  "train": {"epochs": $epochs, "batch_size": 16, "optimizer": {"kind": "adam", "lr": 0.01}, "loss": {"name": "BCE"}},
  "run": {"infer_val": true}
}
JSON
sed -e 's/"sick"/"volume"/' -e 's/"BCE"/"MSE"/' \
    -e 's/"categorical_columns"/"standardize_targets": true, "target": "regression", "categorical_columns"/' \
    "$dir/binary.json" > "$dir/regression.json"
