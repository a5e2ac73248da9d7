#!/usr/bin/env bash
# tests/cli - cluster submission without a cluster:
#  - Slurm: fake sbatch/squeue/sacct on PATH record their arguments; the
#    generated array script, run by hand as Slurm would run it (the
#    SLURM_ARRAY_* variables set), gives the same trials as a local sweep;
#    it resumes a task with a checkpoint and moves a broken attempt aside;
#    sweep-aggregate ranks them; status reports a failed task with its log and
#    resubmit sends that task alone, with a new aggregation after it; a task
#    cancelled before it started reads NOT_RUN whatever Slurm still lists;
#  - a submission whose first task fails its checks (data, starting weights)
#    leaves nothing at the job's path but the data check's list of problems
#    and submits nothing;
#  - AzureML: the command of a cross-validation's sweep trial, with the
#    values AzureML substitutes, trains that fold into the job's output;
#  - inside an (imitated) AzureML job the metrics are mirrored as an MLflow
#    file store in the run folder, equal to train_log.csv;
#  - the Dockerfiles install exactly the Makefile's packages.
#   test_submit.sh INNEREYE SOURCE_DIR
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

# ---- fake Slurm tools ----
mkdir bin
cat > bin/sbatch << 'EOF'
#!/bin/sh
echo "sbatch $*" >> "$FAKE_LOG"
n=$(cat "$FAKE_IDS" 2> /dev/null || echo 100)
echo $((n + 1)) > "$FAKE_IDS"
echo "$n"
EOF
cat > bin/squeue << 'EOF'
#!/bin/sh
echo "squeue $*" >> "$FAKE_LOG"
cat "$FAKE_QUEUE" 2> /dev/null
EOF
cat > bin/sacct << 'EOF'
#!/bin/sh
echo "Slurm accounting storage is disabled" >&2
exit 1
EOF
chmod +x bin/*
export PATH=$out/bin:$PATH FAKE_LOG=$out/slurm_calls.log FAKE_IDS=$out/ids FAKE_QUEUE=$out/queue

# A sweep submitted to Slurm, its tasks run by hand, against the same sweep run locally.
sweep=(--grid train.batch_size=1,2 --random "train.optimizer.lr=loguniform(0.001,0.03)" --trials 3 --no-early-stop)
"$innereye" submit slurm "${tiny[@]}" "${sweep[@]}" --set run.name=sw --cpus-per-task 2 --partition gpu \
  --gpus-per-task 1 --time 01:00:00 --mem 4G --parallel 2 > submit.txt 2>&1
check "submit slurm: the array of 3 trials, 2 at a time" \
  grep -q "^sbatch --parsable --array=0-2%2 $out/outputs/sw/slurm/tasks.sbatch$" slurm_calls.log
check "... then the aggregation after the whole array" \
  grep -q "^sbatch --parsable --dependency=afterok:100 --kill-on-invalid-dep=yes $out/outputs/sw/slurm/aggregate.sbatch$" slurm_calls.log
script=outputs/sw/slurm/tasks.sbatch
check "the script asks for the resources given" \
  test "$(grep -c -e '^#SBATCH --partition=gpu$' -e '^#SBATCH --time=01:00:00$' -e '^#SBATCH --cpus-per-task=2$' \
          -e '^#SBATCH --gpus-per-task=1$' -e '^#SBATCH --mem=4G$' $script)" = 5
check "... writes each trial's log where a local sweep does" grep -q "^#SBATCH --output=$out/outputs/sw/trial_%a.log$" $script
# Run as Slurm runs them: output appended to the #SBATCH --output file.
for k in 0 1 2; do SLURM_ARRAY_JOB_ID=100 SLURM_ARRAY_TASK_ID=$k bash $script >> outputs/sw/trial_$k.log 2>&1; done
check "every task recorded its job id and exit code" \
  test "$(cat outputs/sw/slurm/task_0.exit outputs/sw/slurm/task_2.exit)" = "$(printf '100_0 0\n100_2 0')"
bash outputs/sw/slurm/aggregate.sbatch >> outputs/sw/aggregate.log 2>&1
check "the aggregation ranks the trials (sweep-aggregate)" grep -q "^best: trial [0-2], val_loss = " outputs/sw/aggregate.log
"$innereye" sweep "${tiny[@]}" "${sweep[@]}" --set run.name=local_sw > local_sweep.txt 2>&1
check "the same trials as a local sweep (trials.csv)" cmp -s outputs/sw/trials.csv outputs/local_sw/trials.csv
check "... with the same results (sweep.csv)" cmp -s outputs/sw/sweep.csv outputs/local_sw/sweep.csv
check "... trial by trial, byte for byte" "$innereye" compare-runs outputs/sw/trial_2 outputs/local_sw/trial_2

# Status and resubmission: squeue knows nothing any more; task 1 failed.
echo "100_1 1" > outputs/sw/slurm/task_1.exit
"$innereye" status outputs/sw > status.txt 2>&1
check "status exits 1 when a task failed" test $? = 1
check "... lists each task's state, exit code and run.json status" \
  grep -Eq "^0 +trial_0 +COMPLETED +0 +finished +100_0$" status.txt
check "... reports the failed task with its log" grep -q "task 1 (trial_1) FAILED: see $out/outputs/sw/trial_1.log" status.txt
check "... after asking squeue for the array and the aggregation" \
  grep -q "^squeue --noheader --array --states=all --format=%i|%T --jobs 100,101$" slurm_calls.log
"$innereye" submit slurm --resubmit outputs/sw --task 0 > refuse.txt 2>&1
check "resubmit refuses a finished task" grep -q "task 0 finished (job 100_0); nothing to resubmit" refuse.txt
echo "100_2|RUNNING" > queue
"$innereye" submit slurm --resubmit outputs/sw --task 1 > resubmit.txt 2>&1
check "resubmit sends the failed task alone" grep -q "^sbatch --parsable --array=1 $out/outputs/sw/slurm/tasks.sbatch$" slurm_calls.log
check "... and an aggregation after it and the tasks still running" \
  grep -q "^sbatch --parsable --dependency=afterok:102_1:100_2 --kill-on-invalid-dep=yes" slurm_calls.log
"$innereye" status outputs/sw > status2.txt 2>&1
check "status follows the resubmitted task (job 102_1) and the running one" \
  grep -Eq "^1 +trial_1 +UNKNOWN|^1 +trial_1 +LOST" status2.txt
check "... RUNNING from squeue" grep -Eq "^2 +trial_2 +RUNNING .* 100_2$" status2.txt
"$innereye" submit slurm --resubmit outputs/sw --task 2 > refuse2.txt 2>&1
check "resubmit refuses a running task" grep -q "task 2 is RUNNING (job 100_2): cancel it first" refuse2.txt
# Cancelled before it started: Slurm forgets such an array element or lists
# it CANCELLED, by its own timing; status reads NOT_RUN either way, and
# CANCELLED only for a job whose start line is in the task's log.
echo "102_1|CANCELLED" > queue
"$innereye" status outputs/sw > cancelled.txt 2>&1
check "a task Slurm lists CANCELLED that never started is NOT_RUN" grep -Eq "^1 +trial_1 +NOT_RUN .* 102_1$" cancelled.txt
echo "== 2026-12-07T20:00:00Z Slurm job 102_1 on node1: $out/outputs/sw/trial_1" >> outputs/sw/trial_1.log
"$innereye" status outputs/sw > cancelled2.txt 2>&1
check "... and CANCELLED once it had started" grep -Eq "^1 +trial_1 +CANCELLED .* 102_1$" cancelled2.txt
rm -f queue

# A cross-validation task moves a broken attempt (no checkpoint) aside.
"$innereye" submit slurm "${tiny[@]}" --cv 2 --set run.name=cv --dry-run > cv_submit.txt 2>&1
check "--dry-run writes the scripts and prints the sbatch lines" \
  grep -q "^  sbatch --array=0-1 $out/outputs/cv/slurm/tasks.sbatch$" cv_submit.txt
mkdir -p outputs/cv/fold_1 && echo broken > outputs/cv/fold_1/leftover
for k in 0 1; do SLURM_ARRAY_JOB_ID=200 SLURM_ARRAY_TASK_ID=$k bash outputs/cv/slurm/tasks.sbatch >> outputs/cv/fold_$k.log 2>&1; done
check "a task without a checkpoint moves the earlier attempt aside" test -f outputs/cv/fold_1.attempt_*/leftover
"$innereye" train "${tiny[@]}" --cv 2 --set run.name=cv_local --threads 2 > cv_local.txt 2>&1
check "the folds equal the local cross-validation's" "$innereye" compare-runs outputs/cv/fold_1 outputs/cv_local/fold_1
bash outputs/cv/slurm/aggregate.sbatch >> outputs/cv/aggregate.log 2>&1
check "the aggregation job's cv_metrics.csv equals the local one" cmp -s outputs/cv/cv_metrics.csv outputs/cv_local/cv_metrics.csv
check "... and evaluates the folds' ensemble like the local CV" \
  cmp -s outputs/cv/ensemble/metrics.csv outputs/cv_local/ensemble/metrics.csv

# One run: the run folder is left to the job; the scripts go beside it.  A
# task whose run stopped after a checkpoint resumes it.
"$innereye" submit slurm "${tiny[@]}" --set run.name=single --dry-run > single.txt 2>&1
check "one run: scripts in <run>.slurm, no aggregation" test -f outputs/single.slurm/tasks.sbatch -a ! -e outputs/single.slurm/aggregate.sbatch -a ! -e outputs/single
"$innereye" train "${tiny[@]}" --set run.name=single --stop-after-epochs 1 > stopped.txt 2>&1
SLURM_ARRAY_JOB_ID=300 SLURM_ARRAY_TASK_ID=0 bash outputs/single.slurm/tasks.sbatch >> outputs/single.slurm/run.log 2>&1
check "a task with a checkpoint resumes it" grep -q "resuming $out/outputs/single from its last checkpoint" outputs/single.slurm/run.log
"$innereye" train "${tiny[@]}" --set run.name=straight > straight.txt 2>&1
check "... and ends byte-identical to an uninterrupted run" "$innereye" compare-runs outputs/single outputs/straight

# Refusals.
"$innereye" submit slurm "${tiny[@]}" --cv 2 --grid train.batch_size=1,2 > both.txt 2>&1
check "a sweep and a cross-validation at once is refused" grep -q "a sweep and a cross-validation at once is not supported" both.txt
"$innereye" submit slurm "${tiny[@]}" --time soon > badtime.txt 2>&1
check "a malformed --time is refused" grep -q -- "--time takes Slurm's form HH:MM:SS" badtime.txt
"$innereye" submit azureml "${tiny[@]}" > nocompute.txt 2>&1
check "azureml needs --compute" grep -q -- "give --compute CLUSTER" nocompute.txt
"$innereye" status outputs/nothing > nostatus.txt 2>&1
check "status of a run never submitted says so" grep -q "has no run.json and no submission record" nostatus.txt

# Every check before anything is written, as for a local run (cli_run_folder):
# a submission whose first task fails its checks leaves nothing at the job's
# path but the data check's list of problems, and submits nothing.
printf 'subject,filePath,channel\na,nothere.nii.gz,image\na,nothere_label.nii.gz,label\nb,x.nii.gz,image\nb,y.nii.gz,label\nc,z.nii.gz,image\nc,w.nii.gz,label\n' > bad.csv
bad_data=(--set data.synthetic=false --set data.fallback_synthetic=false --set data.dataset_csv=bad.csv)
calls=$(wc -l < slurm_calls.log)
ls -A outputs > before.txt
"$innereye" submit slurm "${tiny[@]}" "${bad_data[@]}" --cv 2 --set run.name=bad_cv > bad_cv.txt 2>&1
check "a cross-validation whose data fails the check is refused, exit 1" test $? = 1
check "... naming the list of problems" grep -q "all are in outputs/bad_cv.data_problems.txt" bad_cv.txt
"$innereye" submit slurm "${tiny[@]}" "${bad_data[@]}" --set run.name=bad_one --dry-run > bad_one.txt 2>&1
check "one run whose data fails the check is refused, exit 1" test $? = 1
"$innereye" submit slurm "${tiny[@]}" --grid model.init_checkpoint=nothere.safetensors,x.safetensors \
  --set run.name=bad_sw > bad_sw.txt 2>&1
check "a sweep whose first trial's starting weights are missing is refused, exit 1" test $? = 1
ls -A outputs > after.txt
check "... they left their problem lists only: no folder, no staging folder" \
  test "$(diff before.txt after.txt | grep '^[<>]' | sort | tr '\n' ' ')" = "> bad_cv.data_problems.txt > bad_one.data_problems.txt "
check "... and submitted nothing" test "$(wc -l < slurm_calls.log)" = "$calls"

# ---- AzureML: a fold's trial command with the values AzureML substitutes ----
"$innereye" submit azureml "${tiny[@]}" --cv 2 --set run.name=az --compute cpu --repo "$src" --dry-run > az.txt 2>&1
check "submit azureml --cv 2 writes cv.yml" test -s outputs/az/azureml/cv.yml
command=$(sed -n 's/^  command: "\(.*\)"$/\1/p' outputs/az/azureml/cv.yml)
mkdir job_output
command=${command//'${{inputs.config}}'/$out/outputs/az/config.resolved.json}
command=${command//'${{outputs.run}}'/$out/job_output}
command=${command//'${{search_space.fold}}'/1}
(PATH=$(dirname "$innereye"):$PATH; eval "$command") > az_fold.txt 2>&1
check "the trial command trains fold 1 into the job's output" grep -q '"status":[[:space:]]*"finished"' job_output/az/fold_1/run.json
check "... the same fold as a local cross-validation" "$innereye" compare-runs job_output/az/fold_1 outputs/cv_local/fold_1

# ---- MLflow mirror inside an AzureML job ----
AZUREML_RUN_ID=dcid.test-run_1 AZUREML_ARM_PROJECT_NAME=exp "$innereye" train "${tiny[@]}" --set run.name=ml > ml.txt 2>&1
m=outputs/ml/mlruns/0/dcid_test-run_1
check "inside AzureML the run gets an MLflow file store" grep -q "^status: 3$" $m/meta.yaml
check "... in experiment AZUREML_ARM_PROJECT_NAME" grep -q "^name: exp$" outputs/ml/mlruns/0/meta.yaml
check "... with val_loss per epoch equal to train_log.csv" \
  test "$(awk '{print $2, $3}' $m/metrics/val_loss)" = "$(awk -F, 'NR > 1 {print $4, $1}' outputs/ml/train_log.csv)"
check "... test Dice per structure" test -s $m/metrics/test_Dice_anterior -a -s $m/metrics/test_Dice_posterior
check "... and the config as params" grep -qx "2" $m/params/train.epochs
"$innereye" train "${tiny[@]}" --set run.name=noml > noml.txt 2>&1
check "outside AzureML there is no mlruns folder" test ! -e outputs/noml/mlruns

# ---- the Dockerfiles install the Makefile's packages ----
make_pkgs=$(sed -n 's/^PACKAGES := //p' "$src/Makefile" | tr ' ' '\n' | sort | tr '\n' ' ')
for f in Dockerfile Dockerfile.cuda; do
  docker_pkgs=$(grep -A2 'apt-get install' "$src/docker/$f" | grep -v 'apt-get\|rm -rf' | tr -s ' \\' '\n' | grep -v '^$' | sort | tr '\n' ' ')
  check "docker/$f installs the Makefile's packages" test "$docker_pkgs" = "$make_pkgs"
done

if [ "$fails" -ne 0 ]; then
  for f in *.txt outputs/*/aggregate.log; do echo "---- $f"; tail -15 "$f"; done
  echo "---- slurm_calls.log"; cat slurm_calls.log
  echo "$fails checks failed"
  exit 1
fi
echo "all submission checks passed"
