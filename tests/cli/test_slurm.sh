#!/usr/bin/env bash
# tests/cli - `innereye submit slurm` against a REAL Slurm on this machine:
#  - installs Debian's slurm-wlm and munge when missing (apt-get, as root);
#  - starts its own munged, slurmctld and slurmd in a temporary folder, with
#    its own key, socket, ports, state and spool folders and its own config
#    (SLURM_CONF), so a Slurm already on the machine is never touched; stops
#    them on exit (trap);
#  - submits a 2-fold cross-validation of a tiny HelloWorld, waits (bounded)
#    for both folds and the aggregation job (which also evaluates the folds'
#    ensemble on the test set), checks their metrics and `innereye
#    status`, and checks that fold 0 run through Slurm is byte-identical to
#    the same fold run locally with the same seed and thread count;
#  - submits a second one, cancels task 1 while it waits, checks that status
#    reports it with its log and exits non-zero, resubmits it alone and checks
#    that the run then completes and aggregates.
# Exits 77 (skipped) with the reason when the daemons cannot be started
# (not root, no apt-get, packages not installable, a daemon refusing to start).
#   test_slurm.sh INNEREYE
set -u
innereye=$(readlink -f "$1")
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root: starting munged, slurmctld and slurmd needs root (CI runs as root)"

if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null || ! command -v munged > /dev/null \
   || ! command -v sbatch > /dev/null; then
  command -v apt-get > /dev/null || skip "slurm-wlm and munge are not installed and there is no apt-get"
  echo "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q slurm-wlm munge > /tmp/ie_slurm_apt.log 2>&1 \
    || { apt-get update -q >> /tmp/ie_slurm_apt.log 2>&1 && apt-get install -y -q slurm-wlm munge >> /tmp/ie_slurm_apt.log 2>&1; } \
    || skip "apt-get install slurm-wlm munge failed (see /tmp/ie_slurm_apt.log)"
fi

tmp=$(mktemp -d /tmp/ie_slurm.XXXXXX)
chmod 755 "$tmp"
pids=()
stop() {
  # Our jobs first, then our daemons (by the pids we started), never others.
  [ -n "${SLURM_CONF:-}" ] && scancel --quiet --name=cv --name=cv-aggregate --name=cv2 --name=cv2-aggregate 2> /dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null; done
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2> /dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2> /dev/null; done
  rm -rf "$tmp"
}
trap stop EXIT
daemon_logs() { for f in "$tmp"/munge/munged.log "$tmp"/slurmctld.log "$tmp"/slurmd.log; do echo "---- $f"; tail -15 "$f" 2> /dev/null; done; }

# A free TCP port on the loopback interface (nothing answers on it).
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null && [ "$p" != "${1:-}" ]; then echo "$p"; return; fi
  done
  echo 0
}

# ---- munge: own key and socket ----
mkdir -p "$tmp/munge" && chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.socket" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed" \
  > "$tmp/munge/stdout.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/munge/munge.socket" ] && break; sleep 0.1; done
munge --socket="$tmp/munge/munge.socket" -n 2> /dev/null | unmunge --socket="$tmp/munge/munge.socket" > /dev/null 2>&1 \
  || { daemon_logs; cat "$tmp/munge/stdout.log"; skip "munged did not start (see its log above)"; }

# ---- Slurm: one node on localhost, own ports and folders ----
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
ctl_port=$(free_port)
d_port=$(free_port "$ctl_port")
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/work"
export SLURM_CONF=$tmp/slurm.conf
cat > "$SLURM_CONF" << EOF
ClusterName=innereye_test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i -f "$SLURM_CONF" > "$tmp/slurmctld.stdout" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" > "$tmp/slurmd.stdout" 2>&1 &
pids+=($!)
idle=0
for _ in $(seq 150); do
  if sinfo -h -o %T 2> /dev/null | grep -Eq '^(idle|mixed|allocated)'; then idle=1; break; fi
  sleep 0.2
done
[ $idle = 1 ] || { daemon_logs; cat "$tmp"/*.stdout; skip "slurmctld/slurmd did not bring the node up within 30 s (logs above)"; }
echo "Slurm is up: $(sinfo -h -o '%P %D %T %C')"

cd "$tmp/work" || exit 1
fails=0
check() { if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi; }
tiny=(--model HelloWorld --set data.synthetic=true --set data.synthetic_subjects=9 --set model.params.features=4
      --set model.params.depth=2 --set train.epochs=2 --set "data.crop_size=[16,16,16]")
# Waits (at most $2 seconds) until file $1 exists.
wait_for() { for _ in $(seq $(($2 * 5))); do [ -e "$1" ] && return 0; sleep 0.2; done; return 1; }

# ---- a 2-fold cross-validation, aggregated by a job after the array ----
"$innereye" submit slurm "${tiny[@]}" --cv 2 --set run.name=cv --cpus-per-task 1 > submit.txt 2>&1
check "submit slurm --cv 2 submits the array and the aggregation" grep -q "^submitted: array job [0-9]*, aggregation job [0-9]* after it" submit.txt
wait_for outputs/cv/aggregate.log 120 && sleep 0.5
for _ in $(seq 300); do [ -s outputs/cv/ensemble_comparison.csv ] && break; sleep 0.2; done
check "both folds ran through Slurm into the CV layout" test -s outputs/cv/fold_0/metrics.csv -a -s outputs/cv/fold_1/metrics.csv
check "... with their logs where a local CV writes them" grep -q "^done: " outputs/cv/fold_1.log
check "the aggregation job wrote cv_summary.csv over 2 folds" grep -Eq "^posterior,Dice,2,[0-9.]+,[0-9.]+$" outputs/cv/cv_summary.csv
check "... and evaluated the folds' ensemble on the test set" \
  grep -Eq "^posterior,Dice,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+$" outputs/cv/ensemble_comparison.csv
"$innereye" status outputs/cv > status.txt 2>&1
check "status: both tasks COMPLETED with exit 0 and run.json finished" \
  test "$(grep -Ec '^[01] +fold_[01] +COMPLETED +0 +finished' status.txt)" = 2
"$innereye" train "${tiny[@]}" --cv 2 --cross_validation_split_index 0 --set run.name=local --threads 1 > local.txt 2>&1
check "a fold run through Slurm is byte-identical to the same fold run locally" \
  "$innereye" compare-runs outputs/cv/fold_0 outputs/local/fold_0

# ---- a task that fails (cancelled while it waits), resubmitted alone ----
"$innereye" submit slurm "${tiny[@]}" --cv 2 --set run.name=cv2 --parallel 1 > submit2.txt 2>&1
array=$(sed -n 's/^submitted: array job \([0-9]*\),.*/\1/p' submit2.txt)
# Task 1 waits behind task 0 (--parallel 1), so it is cancelled before it
# starts: NOT_RUN, whether slurmctld drops it from the array's record or
# lists it CANCELLED (which depends on its scheduling; see task_state_of).
scancel "${array}_1"
# Up to 4 minutes: task 0 trains meanwhile, slowly on a loaded machine.
deadline=$((SECONDS + 240))
while [ $SECONDS -lt $deadline ]; do
  "$innereye" status outputs/cv2 > status2.txt 2>&1
  grep -q "^1 .*NOT_RUN" status2.txt && grep -q "^0 .*COMPLETED" status2.txt && break
  sleep 0.5
done
"$innereye" status outputs/cv2 > status2.txt 2>&1
check "status exits non-zero when a task failed" test $? = 1
check "... reports the cancelled task (never run) with its log" grep -q "task 1 (fold_1) NOT_RUN: see .*/outputs/cv2/fold_1.log" status2.txt
check "... and how to resubmit it" grep -q "innereye submit slurm --resubmit .*/outputs/cv2 --task I" status2.txt
"$innereye" submit slurm --resubmit outputs/cv2 --task 1 > resubmit.txt 2>&1
check "resubmit sends task 1 alone and a new aggregation" \
  grep -q "^sbatch --parsable --dependency=afterok:[0-9]*_1 --kill-on-invalid-dep=yes" resubmit.txt
wait_for outputs/cv2/cv_summary.csv 120 && sleep 0.5
"$innereye" status outputs/cv2 > status3.txt 2>&1
check "after the resubmission both folds finished and were aggregated" \
  test "$(grep -Ec '^[01] +fold_[01] +COMPLETED +0 +finished' status3.txt)" = 2 -a -s outputs/cv2/cv_summary.csv
check "the resubmitted fold equals the first CV's fold 1" "$innereye" compare-runs outputs/cv/fold_1 outputs/cv2/fold_1

# ---- one run as 2 MPI processes (srun --mpi=pmix): the bytes of one process ----
mpi_lib=$(dirname "$(dirname "$innereye")")/lib/libinnereye_mpi.so
if [ -f "$mpi_lib" ] && srun --mpi=list 2>&1 | grep -q pmix; then
  micro=(--set train.batch_size=4 --set train.micro_batch_size=1 --set run.infer_test=false --set train.epochs=1)
  "$innereye" submit slurm "${tiny[@]}" "${micro[@]}" --set run.name=dp --nodes 1 --tasks-per-node 2 \
    > submit_dp.txt 2>&1
  check "submit slurm --nodes 1 --tasks-per-node 2 submits one job" grep -q "^submitted" submit_dp.txt
  check "... asking for 2 tasks and starting them with srun" \
    grep -q "srun --mpi=pmix" outputs/dp.slurm/tasks.sbatch
  for _ in $(seq 600); do grep -Eq '"status":[[:space:]]*"(finished|failed)"' outputs/dp/run.json 2> /dev/null && break; sleep 0.2; done
  check "the run finished on 2 processes" grep -Eq '"processes":[[:space:]]*2,' outputs/dp/run.json
  "$innereye" train "${tiny[@]}" "${micro[@]}" --set run.name=dp_local --threads 1 > dp_local.txt 2>&1
  check "... with the bytes of one local process" "$innereye" compare-runs outputs/dp outputs/dp_local
else
  echo "note: no MPI module or no PMIx in this Slurm; the 2-process job is not tested here"
fi

if [ "$fails" -ne 0 ]; then
  for f in *.txt outputs/*/aggregate.log outputs/*/fold_*.log outputs/*.slurm/run.log; do echo "---- $f"; tail -20 "$f"; done
  daemon_logs
  echo "$fails checks failed"
  exit 1
fi
echo "all Slurm checks passed"
