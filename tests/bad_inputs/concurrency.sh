# Two processes at once: on one run folder (a second --resume is refused
# while the first trains, and the first's log is not interleaved), creating
# runs of one name, inferring into one output folder; status and SIGTERM of
# a running run.  Sourced by run.sh.
make_data
make_run
BASE=("${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs)

# A run that trains long enough to meet a second process: 3000 epochs of
# one step, stopped after the first, then resumed in the background.
"$IE" train "${BASE[@]}" --set train.epochs=3000 --set train.validate_every=1000 --set run.name=long \
  --stop-after-epochs 1 > /dev/null 2>&1
"$IE" train --resume runs/long > long.log 2>&1 &
first=$!
for _ in $(seq 1 300); do grep -q "^epoch 3/" long.log && break; sleep 0.1; done
check "the first resume is training" grep -q "^epoch 3/" long.log
expect second_resume_refused 1 "run folder runs/long is in use by process $first on .*, running since" \
  "wait for it to finish \\(innereye status runs/long\\), or stop it first" --changes runs/long --changes long.log -- \
  "$IE" train --resume runs/long
expect status_of_running_run 0 "status: running \\(process $first, since" "runs/long" --changes runs/long --changes long.log -- \
  "$IE" status runs/long
kill -TERM "$first"
wait "$first"
rc=$?
check "SIGTERM ends the run with the signal's exit status (143), not 0" test "$rc" -eq 143
# The signal lands in the host's code or in the plugin's (then the message
# names the plugin and its function): both say why.
check "the stopped run says why" grep -qE "innereye: (the host|plugin [A-Za-z0-9_]+ \(.*\)) was stopped by SIGTERM" long.log
expect status_of_terminated_run 1 "status: interrupted: SIGTERM" "--resume runs/long continues it from its last checkpoint" \
  -- "$IE" status runs/long
check "train_log.csv has one row per epoch, in order (no second writer)" \
  awk -F, 'NR > 1 && $1 != NR - 1 { exit 1 }' runs/long/train_log.csv

# Two new runs of one name at the same moment: one trains, the other is refused.
"$IE" train "${BASE[@]}" --set run.name=twin > twin1.log 2>&1 &
a=$!
"$IE" train "${BASE[@]}" --set run.name=twin > twin2.log 2>&1 &
b=$!
wait "$a"; ra=$?
wait "$b"; rb=$?
check "two runs of one name: one succeeds, one is refused" test "$((ra + rb))" -eq 1
check "... saying the folder exists and never reusing it" \
  grep -q "run folder runs/twin already exists; runs are never overwritten" twin1.log twin2.log
check "... and the one run is complete" grep -q '"status":.*"finished"' runs/twin/run.json

# Two inferences into one output folder: each subject's folder is written by
# one of them, complete; the other says it exists.
"$IE" infer --run runs/good --dataset data/dataset.csv --out shared > infer1.log 2>&1 &
a=$!
"$IE" infer --run runs/good --dataset data/dataset.csv --out shared > infer2.log 2>&1 &
b=$!
wait "$a"; ra=$?
wait "$b"; rb=$?
check "two inferences into one folder: at most one reports success" test "$((ra + rb))" -ge 1
check "... the other names what exists" grep -Eq "shared/synthetic_00[0-9] already exists" \
  infer1.log infer2.log
check "... and every subject folder there is complete (4 images each, all readable), nothing partial" \
  bash -c "for d in shared/*/; do [ \$(ls \"\$d\" | wc -l) -eq 4 ] && '$TOOL' verify \"\$d\"*.nii.gz || exit 1; done;
           [ -z \"\$(ls -a shared | grep partial)\" ]"
