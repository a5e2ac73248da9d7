#!/usr/bin/env bash
# tests/cli - AzureML after submission, against a fake `az` on PATH that
# records its arguments and answers `ml job create` (names from a list),
# `ml job show` and `ml job list --parent-job-name` (canned JSON, in the
# shape az prints: name, status, tags with AzureML's `hyperparameters` tag on
# sweep children, services.Studio.endpoint) and `ml job download
# --output-name run` (copies a job's output folder, made by running the
# generated trial command here exactly as AzureML would, into
# <download-path>/named-outputs/run/).  Checked:
#  - status lists every fold with its state and job, the fold taken from the
#    child's hyperparameters tag (not its name), and how to read a failed
#    job's log;
#  - collect puts the finished folds in place and aggregates them: cv_metrics,
#    cv_summary and the folds' ensemble equal a local cv-aggregate of the same
#    folds; the failed fold is reported; collecting again downloads nothing;
#  - --resubmit refuses finished and running tasks, and sends a failed fold
#    alone as a command job running exactly fold i's command; collect takes
#    it for that fold, and then everything equals a local cross-validation;
#  - collect never overwrites a differing fold folder;
#  - a sweep's trials land in trial_<k>/ with AzureML's values in trials.csv,
#    ranked by sweep-aggregate; a trial equals a local run with its values;
#  - one run is collected into its run folder;
#  - with a data input (the job's mount, gone afterwards) the folds are
#    aggregated and collect says why their ensemble cannot be evaluated here.
#  - a submission refused by a check (options, data input, --repo, the first
#    fold's data check on the --data-path folder) leaves nothing at its path
#    but the data check's list of problems.
#   test_azureml.sh INNEREYE SOURCE_DIR
set -u
innereye=$(readlink -f "$1")
src=$(readlink -f "$2")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out" || exit 1
fails=0
check() { if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi; }
tiny=(--model HelloWorld --set data.synthetic=true --set data.synthetic_subjects=9 --set model.params.features=4
      --set model.params.depth=2 --set train.epochs=2 --set "data.crop_size=[16,16,16]")

# ---- the fake az ----
mkdir -p bin fake/jobs fake/children fake/outputs
cat > bin/az << 'EOF'
#!/bin/bash
echo "$*" >> "$FAKE_AZ/calls.log"
args=("$@")
get() { for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[i]}" = "$1" ] && { echo "${args[i+1]}"; return; }; done; }
case "$1 $2 $3" in
  "extension show --name") echo '{"name": "ml"}' ;;
  "ml job create")
    n=$(($(cat "$FAKE_AZ/count" 2> /dev/null || echo 0) + 1)); echo $n > "$FAKE_AZ/count"
    sed -n "${n}p" "$FAKE_AZ/created" ;;
  "ml job show")
    f=$FAKE_AZ/jobs/$(get --name).json
    if [ -f "$f" ]; then cat "$f"; else echo "ERROR: (UserError) Job $(get --name) not found" >&2; exit 1; fi ;;
  "ml job list") cat "$FAKE_AZ/children/$(get --parent-job-name).json" ;;
  "ml job download")
    from=$FAKE_AZ/outputs/$(get --name) to=$(get --download-path)/named-outputs/$(get --output-name)
    if [ ! -d "$from" ]; then echo "ERROR: job $(get --name) has no output" >&2; exit 1; fi
    mkdir -p "$to" && cp -R "$from/." "$to/" ;;
  *) echo "fake az: unexpected call: $*" >&2; exit 2 ;;
esac
EOF
chmod +x bin/az
export PATH=$out/bin:$PATH FAKE_AZ=$out/fake
printf 'amber_fig_7q\nlime_job_1\nteal_sweep_9\nnavy_job_2\nsolo_job_3\nolive_cv_4\n' > fake/created
# job NAME STATUS TAGS: one job as `az ml job show --output json` prints it (the fields we read).
job() {
  printf '{"name": "%s", "type": "command", "status": "%s", "tags": {%s}, "services": {"Studio": {"endpoint": "https://ml.azure.com/runs/%s?wsid=/subscriptions/0/resourcegroups/rg/workspaces/ws", "job_service_type": "Studio"}}}' \
    "$1" "$2" "$3" "$1"
}
# run_job YAML NAME KEY=VALUE...: runs the job's command here as AzureML would, its output into fake/outputs/NAME.
run_job() {
  local yaml=$1 name=$2 cmd
  cmd=$(sed -n 's/^ *command: "\(.*\)"$/\1/p' "$yaml")
  cmd=${cmd//'${{inputs.config}}'/$(readlink -f "$(dirname "$yaml")/$(sed -n 's/^ *path: "\(.*config.resolved.json\)"$/\1/p' "$yaml")")}
  cmd=${cmd//'${{outputs.run}}'/$out/fake/outputs/$name}
  shift 2
  for kv in "$@"; do cmd=${cmd//"\${{search_space.${kv%%=*}}}"/${kv#*=}}; done
  cmd=${cmd//'${{inputs.data}}'/${MOUNT:-}}
  mkdir -p "fake/outputs/$name"
  (PATH=$(dirname "$innereye"):$PATH; eval "$cmd") > "fake/$name.log" 2>&1
}

# ---- a cross-validation: folds 0 and 1 finish, fold 2 fails ----
"$innereye" submit azureml "${tiny[@]}" --cv 3 --set run.name=cv --compute cpu-cluster --repo "$src" > submit.txt 2>&1
check "submit creates the sweep job over the folds" grep -q "^ml job create --file $out/outputs/cv/azureml/cv.yml --query name --output tsv$" fake/calls.log
# AzureML numbers the children itself; the fold is in each one's hyperparameters tag.
run_job outputs/cv/azureml/cv.yml amber_fig_7q_0 fold=1
run_job outputs/cv/azureml/cv.yml amber_fig_7q_1 fold=0
job amber_fig_7q Completed '"innereye_run": "cv"' > fake/jobs/amber_fig_7q.json
{ echo "["; job amber_fig_7q_2 Failed '"hyperparameters": "{\"fold\": 2}"'; echo ","
  job amber_fig_7q_1 Completed '"hyperparameters": "{\"fold\": 0}"'; echo ","
  job amber_fig_7q_0 Completed '"hyperparameters": "{\"fold\": 1}"'; echo "]"; } > fake/children/amber_fig_7q.json

"$innereye" status outputs/cv > status.txt 2>&1
check "status exits 1 when a fold failed" test $? = 1
check "... lists the children by the fold in their hyperparameters tag" \
  test "$(grep -E '^[0-2] +fold_' status.txt | awk '{print $1, $2, $3, $4, $5}')" = "$(printf '%s\n' \
    '0 fold_0 Completed - amber_fig_7q_1' '1 fold_1 Completed - amber_fig_7q_0' '2 fold_2 Failed - amber_fig_7q_2')"
check "... asking az for the sweep's children" \
  grep -q "^ml job list --parent-job-name amber_fig_7q --max-results [0-9]* --output json$" fake/calls.log
check "... and says how to read the failed job's log" grep -q "log:    az ml job stream --name amber_fig_7q_2$" status.txt
check "... with its studio page" grep -q "studio: https://ml.azure.com/runs/amber_fig_7q_2?wsid=" status.txt

# The same folds run locally, and a local aggregation of folds 0 and 1 alone.
"$innereye" train "${tiny[@]}" --cv 3 --set run.name=cv_local > cv_local.txt 2>&1
mkdir outputs/cv_two && cp -R outputs/cv_local/config.resolved.json outputs/cv_local/fold_0 outputs/cv_local/fold_1 outputs/cv_two/
"$innereye" cv-aggregate outputs/cv_two > cv_two.txt 2>&1

"$innereye" collect outputs/cv > collect.txt 2>&1
check "collect exits 1 when a fold failed" test $? = 1
check "... puts the finished folds in place" test -f outputs/cv/fold_0/run.json -a -f outputs/cv/fold_1/run.json -a ! -e outputs/cv/fold_2
check "... downloading each child's run output" \
  grep -q "^ml job download --name amber_fig_7q_1 --output-name run --download-path $out/outputs/cv/azureml/download_amber_fig_7q_1.tmp$" fake/calls.log
check "... reports the failed fold" grep -q "^fold_2: job amber_fig_7q_2 Failed; not collected" collect.txt
check "... fold 1 is the local fold 1" "$innereye" compare-runs outputs/cv/fold_1 outputs/cv_local/fold_1
for f in cv_metrics.csv cv_summary.csv ensemble/metrics.csv; do
  check "... $f equals a local cv-aggregate of the same folds" cmp -s outputs/cv/$f outputs/cv_two/$f
done
check "... cv_status.csv says which folds finished" \
  test "$(cut -d, -f1-3 outputs/cv/cv_status.csv | tr '\n' ' ')" = "fold,status,exit_code 0,finished,0 1,finished,0 2,failed,1 "
downloads=$(grep -c "job download" fake/calls.log)
"$innereye" collect outputs/cv > collect_again.txt 2>&1
check "collecting again downloads nothing new" test "$(grep -c "job download" fake/calls.log)" = "$downloads"
check "... and says so" grep -q "^fold_0: collected before from job amber_fig_7q_1$" collect_again.txt

# ---- resubmitting the failed fold ----
"$innereye" submit azureml --resubmit outputs/cv --task 0 > refuse.txt 2>&1
check "resubmit refuses a finished fold" grep -q "task 0 finished (job amber_fig_7q_1); nothing to resubmit" refuse.txt
"$innereye" submit azureml --resubmit outputs/cv --task 2 > resubmit.txt 2>&1
check "resubmit sends fold 2 alone" grep -q "^ml job create --file $out/outputs/cv/azureml/resubmit_fold_2.yml --query name --output tsv$" fake/calls.log
check "... as a command job" grep -q '^type: command$' outputs/cv/azureml/resubmit_fold_2.yml
trial=$(sed -n 's/^  command: "\(.*\)"$/\1/p' outputs/cv/azureml/cv.yml)
fold2=$(sed -n 's/^command: "\(.*\)"$/\1/p' outputs/cv/azureml/resubmit_fold_2.yml)
check "... running exactly fold 2's command" \
  test "$fold2" = 'cd ${{outputs.run}} && innereye train --config ${{inputs.config}} --cross_validation_split_index 2 --output-dir . --set run.name=cv' -a "$fold2" = "${trial//'${{search_space.fold}}'/2}"
check "... recorded in submission.json" grep -q '"replaces":.*"amber_fig_7q_2"' outputs/cv/azureml/submission.json
run_job outputs/cv/azureml/resubmit_fold_2.yml lime_job_1
job lime_job_1 Running '"innereye_task": "2"' > fake/jobs/lime_job_1.json
"$innereye" status outputs/cv > status2.txt 2>&1
check "status follows the resubmitted job for fold 2" grep -Eq "^2 +fold_2 +Running +- +lime_job_1 \(resubmitted\)$" status2.txt
"$innereye" submit azureml --resubmit outputs/cv --task 2 > refuse2.txt 2>&1
check "resubmit refuses a running fold" grep -q "task 2 is Running (job lime_job_1): cancel it first (az ml job cancel --name lime_job_1)" refuse2.txt

# ---- never over a differing folder ----
job lime_job_1 Completed '"innereye_task": "2"' > fake/jobs/lime_job_1.json
mkdir outputs/cv/fold_2 && echo "mine" > outputs/cv/fold_2/notes.txt
"$innereye" collect outputs/cv > conflict.txt 2>&1
check "collect refuses a differing fold folder" test $? = 1 -a "$(cat outputs/cv/fold_2/notes.txt)" = "mine"
check "... with a clear message" grep -q "^fold_2: REFUSED: $out/outputs/cv/fold_2 exists and differs from job lime_job_1's output" conflict.txt
check "... and aggregates nothing" grep -q "not aggregated" conflict.txt
check "... leaving no download behind" test -z "$(ls -d outputs/cv/azureml/download_* 2> /dev/null)"
rm -r outputs/cv/fold_2
"$innereye" collect outputs/cv > collect3.txt 2>&1
check "collect takes the resubmitted fold" test $? = 0 -a -f outputs/cv/fold_2/run.json
check "... keeps the two-fold ensemble aside" test -f outputs/cv/ensemble.before_*/metrics.csv
for f in cv_metrics.csv cv_summary.csv ensemble/metrics.csv ensemble_comparison.csv; do
  check "... then $f equals the local cross-validation's" cmp -s outputs/cv/$f outputs/cv_local/$f
done
check "... fold 2 is the local fold 2" "$innereye" compare-runs outputs/cv/fold_2 outputs/cv_local/fold_2

# ---- a sweep: trials 0 and 1 finish, 2 fails ----
"$innereye" submit azureml "${tiny[@]}" --grid train.batch_size=1,2 --random "train.optimizer.lr=loguniform(0.001,0.03)" \
  --trials 3 --no-early-stop --set run.name=sw --compute cpu-cluster --repo "$src" > sw.txt 2>&1
run_job outputs/sw/azureml/sweep.yml teal_sweep_9_0 train_batch_size=2 train_optimizer_lr=0.0123456789
run_job outputs/sw/azureml/sweep.yml teal_sweep_9_1 train_batch_size=1 train_optimizer_lr=0.002
job teal_sweep_9 Failed '' > fake/jobs/teal_sweep_9.json
{ echo "["; job teal_sweep_9_1 Completed '"hyperparameters": "{\"train_batch_size\": 1, \"train_optimizer_lr\": 0.002}"'; echo ","
  job teal_sweep_9_0 Completed '"hyperparameters": "{\"train_batch_size\": 2, \"train_optimizer_lr\": 0.0123456789}"'; echo ","
  job teal_sweep_9_2 Failed '"hyperparameters": "{\"train_batch_size\": 1, \"train_optimizer_lr\": 0.02}"'; echo "]"; } \
  > fake/children/teal_sweep_9.json
"$innereye" collect outputs/sw > sw_collect.txt 2>&1
check "sweep: trial <n> of child <sweep>_<n> goes to trial_<n>" test -f outputs/sw/trial_0/run.json -a -f outputs/sw/trial_1/run.json
check "... trials.csv holds the values AzureML drew" \
  test "$(cat outputs/sw/trials.csv)" = "$(printf 'trial,train.batch_size,train.optimizer.lr\n0,2,0.0123456789\n1,1,0.002\n2,1,0.02')"
check "... ours are kept aside" test -s outputs/sw/azureml/trials.submitted.csv
check "... sweep-aggregate ranks the finished ones" grep -Eq "^best: trial [01], val_loss = " sw_collect.txt
check "... the failed one is in sweep.csv as failed" grep -q "^2,failed,1,0.02,nan," outputs/sw/sweep.csv
"$innereye" train "${tiny[@]}" --set train.batch_size=1 --set train.optimizer.lr=0.002 --set run.name=t1 > t1.txt 2>&1
check "... trial 1 equals a local run with its values" "$innereye" compare-runs outputs/sw/trial_1 outputs/t1
"$innereye" submit azureml --resubmit outputs/sw --task 2 > sw_resubmit.txt 2>&1
check "resubmit sends trial 2 with the values AzureML drew for it" \
  grep -q '^command: "cd ${{outputs.run}} && innereye train --config ${{inputs.config}} --output-dir . --set run.name=trial --set train.median_stop.siblings= --set train.batch_size=1 --set train.optimizer.lr=0.02"$' \
  outputs/sw/azureml/resubmit_trial_2.yml

# ---- one run ----
"$innereye" submit azureml "${tiny[@]}" --set run.name=one --compute cpu-cluster --repo "$src" > one.txt 2>&1
run_job outputs/one.azureml/job.yml solo_job_3
job solo_job_3 Completed '' > fake/jobs/solo_job_3.json
"$innereye" collect outputs/one > one_collect.txt 2>&1
check "one run: collected into its run folder" test $? = 0 -a -f outputs/one/run.json -a -f outputs/one/metrics.csv

# ---- a data input: the folds' data is the job's mount, gone after the jobs ----
cp -R outputs/cv_local/fold_0/synthetic_data dataset
"$innereye" submit azureml "${tiny[@]}" --set data.synthetic=false --set data.dataset_csv=dataset/dataset.csv --cv 2 \
  --set run.name=cvd --compute cpu-cluster --repo "$src" > cvd.txt 2>&1
check "a data input replaces the dataset folder in the command" \
  grep -q "data.dataset_csv=\${{inputs.data}}/dataset.csv" outputs/cvd/azureml/cv.yml
cp -R dataset mnt
MOUNT=$out/mnt run_job outputs/cvd/azureml/cv.yml olive_cv_4_0 fold=0
MOUNT=$out/mnt run_job outputs/cvd/azureml/cv.yml olive_cv_4_1 fold=1
rm -r mnt
job olive_cv_4 Completed '' > fake/jobs/olive_cv_4.json
{ echo "["; job olive_cv_4_0 Completed '"hyperparameters": "{\"fold\": 0}"'; echo ","
  job olive_cv_4_1 Completed '"hyperparameters": "{\"fold\": 1}"'; echo "]"; } > fake/children/olive_cv_4.json
"$innereye" collect outputs/cvd > cvd_collect.txt 2>&1
check "with the data elsewhere, collect still aggregates the folds" test $? = 0 -a -s outputs/cvd/cv_summary.csv
check "... and says why the ensemble is not evaluated here" \
  grep -q "the folds' ensemble is not evaluated here: the folds read their data from $out/mnt/dataset.csv" cvd_collect.txt

# ---- refusals ----
"$innereye" collect outputs/cv_local > nocollect.txt 2>&1
check "collect of a run never submitted says so" grep -q "has no submission record" nocollect.txt
"$innereye" submit azureml "${tiny[@]}" --cv 2 --set run.name=dry --compute cpu-cluster --repo "$src" --dry-run > dry.txt 2>&1
"$innereye" collect outputs/dry > dry_collect.txt 2>&1
check "collect of a submission not sent to AzureML says to run commands.sh" \
  grep -q "was written but not submitted .*: run $out/outputs/dry/azureml/commands.sh first" dry_collect.txt
"$innereye" submit azureml "${tiny[@]}" --set run.name=dp --compute cpu-cluster --repo "$src" --dry-run \
  --instance-count 2 --processes-per-instance 3 > dp.txt 2>&1
check "a data-parallel run is an MPI command job on 2 nodes of 3 processes" \
  grep -Pzq "distribution:\n  type: mpi\n  process_count_per_instance: 3\nresources:\n  instance_count: 2\n" \
  outputs/dp.azureml/job.yml
"$innereye" submit azureml "${tiny[@]}" --cv 2 --set run.name=dpcv --compute cpu-cluster --repo "$src" --dry-run \
  --processes-per-instance 2 > dpcv.txt 2>&1
check "... refused for a cross-validation sweep job, saying what works" \
  grep -q "submit a single run, or a cross-validation with --jobs-per-fold" dpcv.txt
check "... before anything is written" test ! -e outputs/dpcv
# Every check before anything is written: a refused submission leaves nothing.
"$innereye" submit azureml "${tiny[@]}" --cv 2 --set run.name=nodata --set data.synthetic=false \
  --set data.fallback_synthetic=false --set data.dataset_csv=nowhere/dataset.csv --compute cpu-cluster \
  --repo "$src" --dry-run > nodata.txt 2>&1
check "a dataset folder neither here nor given (--data) is refused, leaving nothing" \
  test $? = 1 -a ! -e outputs/nodata -a ! -e outputs/nodata.data_problems.txt
check "... saying so" grep -q "nowhere does not exist here: give the data as --data" nodata.txt
mkdir notgit
"$innereye" submit azureml "${tiny[@]}" --set run.name=notgit --compute cpu-cluster --repo "$out/notgit" \
  --dry-run > notgit.txt 2>&1
check "a --repo that is no git checkout is refused, leaving nothing" \
  test $? = 1 -a ! -e outputs/notgit.azureml -a ! -e outputs/notgit
check "... saying so" grep -q "notgit: not a git checkout with a commit" notgit.txt
mkdir baddata
printf 'subject,filePath,channel\na,nothere.nii.gz,image\na,nothere_label.nii.gz,label\nb,x.nii.gz,image\nb,y.nii.gz,label\nc,z.nii.gz,image\nc,w.nii.gz,label\n' > baddata/dataset.csv
"$innereye" submit azureml "${tiny[@]}" --cv 2 --set run.name=badcv --set data.synthetic=false \
  --set data.dataset_csv=nowhere/dataset.csv --data-path baddata --compute cpu-cluster --repo "$src" --dry-run \
  > badcv.txt 2>&1
check "data given with --data-path is checked here as the job will read it: refused, exit 1" test $? = 1
check "... leaving only the list of problems" test ! -e outputs/badcv -a -s outputs/badcv.data_problems.txt
"$innereye" submit azureml --resubmit outputs/cv --task 7 > badtask.txt 2>&1
check "resubmit of a task that does not exist says which exist" grep -q "has tasks 0 to 2; there is no task 7" badtask.txt

if [ "$fails" -ne 0 ]; then
  for f in *.txt; do echo "---- $f"; tail -20 "$f"; done
  echo "---- az calls"; cat fake/calls.log
  echo "$fails checks failed"
  exit 1
fi
echo "all AzureML checks passed"
