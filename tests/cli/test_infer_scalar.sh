#!/usr/bin/env bash
# tests/cli - `innereye infer` on classification and regression runs and
# ensembles, on a generated tabular dataset (numerical and categorical
# features) and, when Debian's dataset-fashion-mnist is installed, on a few
# hundred Fashion-MNIST PNGs (multi-class, images):
#   - data_statistics.json holds the training split's mean and population
#     std (checked against awk over split.csv) and the sorted vocabularies;
#   - infer on the dataset reproduces the run's own held-out rows of
#     predictions.csv exactly, and on the test subjects alone its test
#     metrics (and confusion matrix) byte for byte; 1 and 2 threads agree;
#   - a CSV without label columns gives the same predictions, no metrics;
#   - an ensemble of two runs (different seeds) predicts the mean of the
#     members' own predictions (to 1e-6) and records their SHA-256;
#   - regression with standardize_targets predicts in the labels' units;
#   - refusals (exit 1, nothing written): a missing column, an unseen
#     category, a missing value without imputation (imputed with it), a
#     missing image, an existing --out folder (left untouched), a run
#     without statistics; segmentation-only options are refused (exit 2).
#   test_infer_scalar.sh INNEREYE CONFIG_DIR
set -u
innereye=$1
configs=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
# refused DESCRIPTION EXIT_CODE REGEX COMMAND...: fails with that code and says so.
refused() {
  local what=$1 code=$2 regex=$3
  shift 3
  "$@" > "$out/refused.txt" 2>&1
  local rc=$?
  check "$what: exit $code" test "$rc" -eq "$code"
  check "$what: says '$regex'" grep -Eq -- "$regex" "$out/refused.txt"
  [ "$rc" -eq "$code" ] || cat "$out/refused.txt"
}
# rows PREDICTIONS_CSV [SPLIT]: subject,target,label,prediction of the rows
# (of one split), sorted.
rows() {
  awk -F, -v s="${2:-}" 'NR > 1 && (s == "" || $5 == s) { print $1 "," $2 "," $3 "," $4 }' "$1" | sort
}
# held_out RUN INFER_DIR SPLIT: the infer rows of the subjects the run put in SPLIT.
held_out() {
  awk -F, -v s="$3" 'NR == FNR { if ($5 == s) keep[$1] = 1; next }
                     FNR > 1 && ($1 in keep) { print $1 "," $2 "," $3 "," $4 }' "$1/predictions.csv" \
    "$2/predictions.csv" | sort
}
# subset CSV SPLIT_CSV SPLIT: the rows of CSV whose subject is in SPLIT.
subset() {
  awk -F, -v s="$3" 'NR == FNR { if ($2 == s) keep[$1] = 1; next } FNR == 1 || ($1 in keep)' "$2" "$1"
}

# 120 subjects (tests/cli/tabular_dataset.sh): tabular.csv, binary.json, regression.json.
bash "$(dirname "$0")/tabular_dataset.sh" "$out" 120 11 8

"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=bin --threads 2 > "$out/bin.txt" 2>&1
check "binary run trains" test $? -eq 0
run=$out/bin

# ---- the statistics ----
stats=$run/data_statistics.json
check "the run wrote data_statistics.json" test -s "$stats"
# mean and population std of age over the training split, by awk
read -r mean sd < <(awk -F, 'NR == FNR { if ($2 == "train") tr[$1] = 1; next }
  FNR > 1 && ($1 in tr) { n++; x[n] = $2; s += $2 }
  END { m = s / n; for (i = 1; i <= n; i++) q += (x[i] - m) ^ 2; printf "%.17g %.17g\n", m, sqrt(q / n) }' \
  "$run/split.csv" "$out/tabular.csv")
saved_mean=$(tr -d ' \t\n' < "$stats" | sed 's/.*"column":"age","mean":\([^,]*\),"std":\([^}]*\)}.*/\1/')
saved_sd=$(tr -d ' \t\n' < "$stats" | sed 's/.*"column":"age","mean":\([^,]*\),"std":\([^}]*\)}.*/\2/')
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-9 * (1 + (b < 0 ? -b : b))) }'; }
check "age mean $saved_mean is the training split's ($mean)" close "$saved_mean" "$mean"
check "age std $saved_sd is the training split's population std ($sd)" close "$saved_sd" "$sd"
check "means are printed with 17 significant digits" \
  test "$(printf '%s' "$saved_mean" | tr -d '.-' | sed 's/e.*//' | sed 's/^0*//' | wc -c)" -ge 15
check "the vocabulary of site is sorted" grep -q '"values":[[:space:]]*\["A", "B", "C"\]' "$stats"

# ---- (a) the run's own held-out subjects ----
"$innereye" infer --run "$run" --dataset "$out/tabular.csv" --out "$out/inf" --threads 2 > "$out/inf.txt" 2>&1
check "infer on a classification run succeeds" test $? -eq 0
check "predictions.csv in the run's format" grep -q "^subject,target,label,prediction,split,epoch$" "$out/inf/predictions.csv"
check "one row per subject, split infer, the checkpoint's epoch" \
  test "$(grep -c ',sick,[01],[0-9.e-]*,infer,8$' "$out/inf/predictions.csv")" -eq 120
check "the run has test and validation rows to compare" \
  test "$(rows "$run/predictions.csv" test | wc -l)" -gt 5 -a "$(rows "$run/predictions.csv" val | wc -l)" -gt 5
check "test rows equal the run's predictions.csv exactly" \
  cmp -s <(rows "$run/predictions.csv" test) <(held_out "$run" "$out/inf" test)
check "validation rows too" cmp -s <(rows "$run/predictions.csv" val) <(held_out "$run" "$out/inf" val)
check "inference.json names the weights and their SHA-256" \
  grep -q "\"weights_sha256\":[[:space:]]*\"$(sha256sum "$run/checkpoints/epoch_0008.safetensors" | cut -c1-64)\"" \
  "$out/inf/inference.json"
check "no partial folder is left" test -z "$(ls -A "$out" | grep partial)"
"$innereye" infer --run "$run" --dataset "$out/tabular.csv" --out "$out/inf1/" --threads 1 > /dev/null 2>&1
check "1 thread gives the same predictions as 2 (and --out DIR/ names DIR)" cmp -s "$out/inf/predictions.csv" "$out/inf1/predictions.csv"
subset "$out/tabular.csv" "$run/split.csv" test > "$out/test_subjects.csv"
"$innereye" infer --run "$run" --dataset "$out/test_subjects.csv" --out "$out/inf_test" > /dev/null 2>&1
check "on the test subjects alone: the run's test metrics" \
  cmp -s <(sed 's/^infer,/test,/' "$out/inf_test/metrics.csv") <(grep -E '^(split|test),' "$run/metrics.csv")
"$innereye" eval --task classification --predictions "$out/inf_test/predictions.csv" --out "$out/eval" > /dev/null 2>&1
check "... and what innereye eval computes from its predictions.csv" \
  cmp -s "$out/inf_test/metrics.csv" "$out/eval/metrics.csv"

# ---- (b) no label columns ----
cut -d, -f1-5 "$out/tabular.csv" > "$out/unlabelled.csv"
"$innereye" infer --run "$run" --dataset "$out/unlabelled.csv" --out "$out/nolab" > "$out/nolab.txt" 2>&1
check "a CSV without label columns works" test $? -eq 0
check "... writes no metrics.csv" test ! -e "$out/nolab/metrics.csv"
check "... and says so" grep -q "no label columns: predictions only" "$out/nolab.txt"
check "... leaves the labels empty" test "$(grep -c '^s[0-9]*,sick,,' "$out/nolab/predictions.csv")" -eq 120
check "... with the same predictions" \
  cmp -s <(cut -d, -f1,2,4 "$out/inf/predictions.csv") <(cut -d, -f1,2,4 "$out/nolab/predictions.csv")

# ---- (c) an ensemble of two seeds ----
"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=bin2 --set seed=5 --threads 2 \
  > "$out/bin2.txt" 2>&1
check "a second run with another seed trains" test $? -eq 0
"$innereye" infer --run "$out/bin2" --dataset "$out/tabular.csv" --out "$out/inf2" > /dev/null 2>&1
"$innereye" ensemble --runs "$run" "$out/bin2" --out "$out/ens" > "$out/ens.txt" 2>&1
check "the ensemble is built" test $? -eq 0
check "members keep their training statistics" cmp -s "$out/ens/members/1/data_statistics.json" "$out/bin2/data_statistics.json"
"$innereye" infer --run "$out/ens" --dataset "$out/tabular.csv" --out "$out/infe" > "$out/infe.txt" 2>&1
check "infer on the ensemble succeeds" test $? -eq 0
check "the ensemble predicts the mean of the members' predictions (1e-6)" \
  awk -F, 'FNR == 1 { f++; next } f == 1 { a[$1] = $4; next } f == 2 { b[$1] = $4; next }
           { n++; d = (a[$1] + b[$1]) / 2 - $4; if (d < 0) d = -d; if (d > 1e-6 || !($1 in b)) bad = 1 }
           END { exit bad || n != 120 }' "$out/inf/predictions.csv" "$out/inf2/predictions.csv" "$out/infe/predictions.csv"
check "the members differ (the test means something)" \
  test "$(cut -d, -f4 "$out/inf/predictions.csv" | md5sum)" != "$(cut -d, -f4 "$out/inf2/predictions.csv" | md5sum)"
check "inference.json records both members' weights with SHA-256" \
  test "$(grep -c '"weights_sha256"' "$out/infe/inference.json")" -eq 2
check "... member 1's hash is its file's" \
  grep -q "$(sha256sum "$out/ens/members/1/weights.safetensors" | cut -c1-64)" "$out/infe/inference.json"
check "... and how they were combined" grep -q '"combine":[[:space:]]*"mean of the members. probabilities"' \
  "$out/infe/inference.json"

# ---- (d) refusals ----
cut -d, -f1,3- "$out/tabular.csv" > "$out/no_age.csv"
refused "a missing numerical column" 1 'numerical_columns lists column "age", which .*no_age.csv does not have' \
  "$innereye" infer --run "$run" --dataset "$out/no_age.csv" --out "$out/r1"
check "... writes nothing" test ! -e "$out/r1"
sed '5s/,B,/,Z,/; 5s/,A,/,Z,/; 5s/,C,/,Z,/' "$out/tabular.csv" > "$out/unseen.csv"
refused "an unseen category" 1 'subject s003 \(line 5\): categorical column site is "Z", a value the model.s training split did not hold' \
  "$innereye" infer --run "$run" --dataset "$out/unseen.csv" --out "$out/r2"
sed '6s/^\(s004\),[0-9.]*,/\1,,/' "$out/tabular.csv" > "$out/missing.csv"
refused "a missing value" 1 'subject s004 \(line 6\): no value in numerical column age \(the run was trained without' \
  "$innereye" infer --run "$run" --dataset "$out/missing.csv" --out "$out/r3"
mkdir "$out/existing" && echo keep > "$out/existing/mine.txt"
refused "an existing --out folder" 1 'existing already exists; inference never overwrites' \
  "$innereye" infer --run "$run" --dataset "$out/tabular.csv" --out "$out/existing"
check "... is left untouched" test "$(ls "$out/existing")" = mine.txt
refused "segmentation options" 2 '--image is for segmentation models' \
  "$innereye" infer --run "$run" --image "$out/tabular.csv" --out "$out/r4"
cp -r "$run" "$out/old" && rm "$out/old/data_statistics.json"
refused "a run without statistics" 1 'has no data_statistics.json' \
  "$innereye" infer --run "$out/old" --dataset "$out/tabular.csv" --out "$out/r5"
"$innereye" train --config "$out/binary.json" --output-dir "$out" --set run.name=imp --set train.epochs=1 \
  --set data.scalar.impute_missing=true > /dev/null 2>&1
"$innereye" infer --run "$out/imp" --dataset "$out/missing.csv" --out "$out/imp_inf" > "$out/imp.txt" 2>&1
check "a run trained with impute_missing imputes at inference" grep -q "1 missing or unseen feature values imputed" \
  "$out/imp.txt"

# ---- (e) regression with standardised targets ----
"$innereye" train --config "$out/regression.json" --output-dir "$out" --set run.name=reg --threads 2 > "$out/reg.txt" 2>&1
check "regression run trains" test $? -eq 0
check "the statistics hold the target's mean and std" grep -q '"targets":' "$out/reg/data_statistics.json"
"$innereye" infer --run "$out/reg" --dataset "$out/tabular.csv" --out "$out/infr" > /dev/null 2>&1
check "infer on a regression run succeeds" test $? -eq 0
check "test rows equal the run's (in the labels' units)" \
  cmp -s <(rows "$out/reg/predictions.csv" test) <(held_out "$out/reg" "$out/infr" test)
check "predictions are in mL, not standardised" \
  awk -F, 'NR > 1 && ($4 < 1.5 || $4 > 4.5) { bad = 1 } END { exit bad }' "$out/infr/predictions.csv"

# ---- images: a few Fashion-MNIST PNGs, multi-class ----
if [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
  "$innereye" dataset fashion-mnist --out "$out/fm" --train 200 --val 20 --test 60 > /dev/null 2>&1
  "$innereye" train --config "$configs/fashion_mnist.json" --set data.dataset_csv="$out/fm/dataset.csv" \
    --set 'model.params.widths=[4,8]' --set 'model.params.hidden=[16]' --set train.epochs=2 \
    --set train.batch_size=16 --set 'data.scalar.image_size=[1,24,24]' --set data.cache_mb=0 \
    --output-dir "$out" --set run.name=fmr > "$out/fmr.txt" 2>&1
  check "an image classifier trains" test $? -eq 0
  "$innereye" infer --run "$out/fmr" --dataset "$out/fm/dataset.csv" --out "$out/inffm" > /dev/null 2>&1
  check "infer on PNGs succeeds" test $? -eq 0
  check "its test rows (10 classes each) equal the run's" \
    cmp -s <(rows "$out/fmr/predictions.csv" test) <(held_out "$out/fmr" "$out/inffm" test)
  check "... all 600 of them" test "$(rows "$out/fmr/predictions.csv" test | wc -l)" -eq 600
  subset "$out/fm/dataset.csv" "$out/fmr/split.csv" test > "$out/fm/test_only.csv"
  "$innereye" infer --run "$out/fmr" --dataset "$out/fm/test_only.csv" --out "$out/inffm_test" > /dev/null 2>&1
  check "test subjects alone: the run's accuracy and confusion matrix" \
    cmp -s <(sed 's/^infer,/test,/' "$out/inffm_test/confusion_matrix.csv") \
    <(grep -E '^(split|test),' "$out/fmr/confusion_matrix.csv")
  sed 's#^\(test_00003\),test/00003.png,#\1,test/nowhere.png,#' "$out/fm/test_only.csv" > "$out/fm/gone.csv"
  refused "a missing image" 1 'subject test_00003 \(line [0-9]+\): image test/nowhere.png \(column filePath\) does not exist' \
    "$innereye" infer --run "$out/fmr" --dataset "$out/fm/gone.csv" --out "$out/r6"
else
  echo "skip  image checks: /usr/share/datasets/fashion-mnist is missing (apt-get install dataset-fashion-mnist)"
fi

if [ "$fails" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $f"; tail -20 "$f"; done
  echo "$fails checks failed"
  exit 1
fi
echo "all scalar inference checks passed"
