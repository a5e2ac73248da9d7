#!/usr/bin/env bash
# tests/cli - data-parallel training with real MPI (docs/distributed.md): a
# run with micro-batches on P = 1, 2, 3 processes (mpirun --oversubscribe,
# one compute thread per rank) ends with the same bytes as one process with
# the same micro-batches: weights, optimiser state and train_log.csv (less
# its seconds column); a hung rank stops the job within dist.timeout_s with a
# message naming it and the step, and a killed rank stops it too; each run
# then resumes on another number of processes and ends with the same bytes.
# Skipped (77) where mpirun or the MPI module is missing.
#   test_distributed.sh INNEREYE [quick]
# quick: only the cut-down check that the sanitizer stage runs (ctest
# cli_distributed_quick; the whole script is too long instrumented,
# docs/testing.md): four one-epoch trainings through every MPI path of a step.
set -u
innereye=$1
mode=${2:-all}
lib=$(dirname "$(dirname "$(readlink -f "$innereye")")")/lib
if ! command -v mpirun > /dev/null || [ ! -f "$lib/libinnereye_mpi.so" ]; then
  echo "skipped: needs mpirun (openmpi-bin) and $lib/libinnereye_mpi.so (built where libopenmpi-dev is found)"
  exit 77
fi
# Under the sanitizers (tests/sanitize/run.sh sets ASAN_OPTIONS): Open MPI's
# own leaks at MPI_Init are suppressed (tests/sanitize/lsan.supp), which
# needs their stacks: keep Open MPI's components loaded, unwind slowly.
if [ -n "${ASAN_OPTIONS:-}" ]; then
  export OMPI_MCA_mca_base_component_disable_dlclose=1 ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
# 6 training subjects, steps of 4 then 2 samples, micro-batches of 1: shares
# of 2+2 / 1+1+2 micro-batches, a tree node across ranks, a shorter last step.
tiny=(--model HelloWorld --output-dir "$out" --set data.synthetic=true --set data.synthetic_subjects=12
      --set model.params.features=4 --set model.params.depth=2 --set train.epochs=3 --set data.crop_size=[16,16,16]
      --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 --set run.infer_test=false
      --set train.batch_size=4 --set train.micro_batch_size=1 --set train.checkpoint_every=1 --threads 1)
# The same bytes as run A: the weights and optimiser state of every epoch, and
# the log without its last column (wall-clock seconds).
epochs="0001 0002 0003"
same_as() { # same_as RUN_A RUN_B
  for e in $epochs; do
    cmp -s "$1/checkpoints/epoch_$e.safetensors" "$2/checkpoints/epoch_$e.safetensors" || return 1
    cmp -s "$1/checkpoints/epoch_$e.optimizer.safetensors" "$2/checkpoints/epoch_$e.optimizer.safetensors" || return 1
  done
  cmp -s <(cut -d, -f1-6 "$1/train_log.csv") <(cut -d, -f1-6 "$2/train_log.csv")
}

# Steps of 6 micro-batches (the 6 training subjects in one step): on 2
# processes rank 1 holds micro-batches 3..5, and node (0, 3), leaf 3 alone,
# goes to rank 0 as soon as micro-batch 3's backward ends, while 4 and 5 run
# (core/dist/buckets.c); 2 KiB buckets, so every step has a dozen of them.
six=(--set train.batch_size=6 --set dist.bucket_mb=0.002)
if [ "$mode" = quick ]; then
  # One epoch (one step) of each: one process; 2 processes with the
  # communication thread; synchronised batch norm on 1 and 2 processes.
  epochs=0001
  quick=("${tiny[@]}" "${six[@]}" --set train.epochs=1)
  "$innereye" train "${quick[@]}" --set run.name=one > "$out/one.txt" 2>&1
  check "one process with micro-batches trains" test $? -eq 0
  timeout 300 "$innereye" train "${quick[@]}" --set run.name=p2 --processes 2 > "$out/p2.txt" 2>&1
  check "--processes 2 trains, with its buckets overlapped" grep -Eq "in [0-9]{2} buckets, overlapped" "$out/p2.txt"
  check "... to the bytes of one process" same_as "$out/one" "$out/p2"
  "$innereye" train "${quick[@]}" --set train.sync_batch_norm=true --set run.name=sync1 > "$out/sync1.txt" 2>&1
  check "sync batch norm, one process, trains" test $? -eq 0
  timeout 300 "$innereye" train "${quick[@]}" --set train.sync_batch_norm=true --set run.name=sync2 --processes 2 \
    > "$out/sync2.txt" 2>&1
  check "sync batch norm, --processes 2 trains" test $? -eq 0
  check "... to the bytes of one process" same_as "$out/sync1" "$out/sync2"
  [ "$fails" -ne 0 ] && for f in "$out"/*.txt; do echo "---- $f"; tail -15 "$f"; done
  echo "$fails failed"
  exit $((fails > 0))
fi

"$innereye" train "${tiny[@]}" --set run.name=one > "$out/one.txt" 2>&1
check "one process with micro-batches trains" test $? -eq 0
check "it says it sums micro-batches" grep -q "steps of 4 micro-batches of 1 samples" "$out/one.txt"
"$innereye" train "${tiny[@]}" --set run.name=whole --set train.micro_batch_size=4 > "$out/whole.txt" 2>&1
check "micro-batches change the result (batch norm per micro-batch)" \
  bash -c "! cmp -s '$out/one/checkpoints/epoch_0003.safetensors' '$out/whole/checkpoints/epoch_0003.safetensors'"

for p in 1 2 3; do
  timeout 120 "$innereye" train "${tiny[@]}" --set run.name=p$p --processes $p > "$out/p$p.txt" 2>&1
  check "--processes $p trains" test $? -eq 0
  check "--processes $p: the same weights, optimiser state and log as one process" same_as "$out/one" "$out/p$p"
  check "--processes $p: run.json records $p processes" grep -Eq "\"processes\":[[:space:]]*$p," "$out/p$p/run.json"
done
# Gradient buckets (dist.bucket_mb, docs/distributed.md): 2 KiB buckets (a
# dozen buckets, one parameter each for the larger ones) instead of the
# default (one bucket of this small model), reduced while backward runs or
# after it, give the same bytes again: the tree adds elementwise.
check "the default reduces this model in one bucket and the tail, overlapped" \
  grep -q "in 2 buckets, overlapped with backward" "$out/p2.txt"
for p in 1 2 3; do
  [ $p -eq 1 ] && procs=() || procs=(--processes $p)
  timeout 120 "$innereye" train "${tiny[@]}" --set run.name=bucket$p --set dist.bucket_mb=0.002 "${procs[@]}" \
    > "$out/bucket$p.txt" 2>&1
  check "2 KiB buckets, ${procs[*]:-one process} trains" test $? -eq 0
  check "... in more buckets" grep -Eq "in [0-9]{2} buckets, overlapped with backward" "$out/bucket$p.txt"
  check "... with the same bytes" same_as "$out/one" "$out/bucket$p"
done
"$innereye" train "${tiny[@]}" "${six[@]}" --set run.name=six1 > "$out/six1.txt" 2>&1
timeout 120 "$innereye" train "${tiny[@]}" "${six[@]}" --set run.name=six2 --processes 2 > "$out/six2.txt" 2>&1
check "steps of 6 micro-batches, --processes 2 (a node sent before the rank's last micro-batch): the same bytes" \
  same_as "$out/six1" "$out/six2"
timeout 120 "$innereye" train "${tiny[@]}" --set run.name=after --set dist.bucket_mb=0.002 --set dist.overlap=false \
  --processes 3 > "$out/after.txt" 2>&1
check "buckets reduced after backward (dist.overlap=false), --processes 3: the same bytes" same_as "$out/one" "$out/after"
check "only rank 0 printed progress" test "$(grep -c '^epoch 3/3' "$out/p3.txt")" -eq 1

# Synchronised batch norm (train.sync_batch_norm): statistics of the whole
# step, combined in the micro-batches' tree, so P = 1, 2, 3 give the same
# bytes again; P = 3 has a rank with one micro-batch in the short last step.
for p in 1 2 3; do
  timeout 120 "$innereye" train "${tiny[@]}" --set train.sync_batch_norm=true --set run.name=sync$p --processes $p \
    > "$out/sync$p.txt" 2>&1
  check "sync batch norm, --processes $p trains" test $? -eq 0
  [ $p -gt 1 ] && check "sync batch norm, --processes $p: the bytes of one process" same_as "$out/sync1" "$out/sync$p"
done
check "sync batch norm is a different experiment from per-micro-batch batch norm" \
  bash -c "! cmp -s '$out/one/checkpoints/epoch_0001.safetensors' '$out/sync1/checkpoints/epoch_0001.safetensors'"
# ... and the one that whole batches of 4 compute: epoch 1's training loss
# equals the whole-batch run's to rounding.  Its first step starts from the
# same weights; the statistics differ only in their last float bit (double
# sums, merged vs. summed at once), a few ulps per layer of this depth-2
# net, and Adam's first steps move each weight by about lr whatever the
# gradient's last bits.  So 1e-5 relative is 100 float ulps of margin, while
# per-micro-batch statistics move that loss by about 1e-4.
loss1() { sed -n 2p "$1/train_log.csv" | cut -d, -f3; }
check "sync batch norm over micro-batches of 1 = batch norm over batches of 4 (epoch 1 loss $(loss1 "$out/sync1") vs $(loss1 "$out/whole"))" \
  python3 -c "import sys; a, b = map(float, sys.argv[1:]); sys.exit(abs(a - b) > 1e-5 * abs(b))" \
  "$(loss1 "$out/sync1")" "$(loss1 "$out/whole")"
check "... which per-micro-batch batch norm is not" \
  python3 -c "import sys; a, b = map(float, sys.argv[1:]); sys.exit(abs(a - b) <= 1e-5 * abs(b))" \
  "$(loss1 "$out/one")" "$(loss1 "$out/whole")"
check "it says batch norm is synchronised" grep -q "batch norm synchronised over the step" "$out/sync1.txt"

# One fold of a cross-validation on 2 processes (what submit slurm --cv runs
# with --tasks-per-node 2): the fold of one process.
fold=(--cv 2 --cross_validation_split_index 1 --set train.epochs=1)
"$innereye" train "${tiny[@]}" "${fold[@]}" --set run.name=cv1 > "$out/cv1.txt" 2>&1
timeout 120 "$innereye" train "${tiny[@]}" "${fold[@]}" --set run.name=cv2 --processes 2 > "$out/cv2.txt" 2>&1
check "a cross-validation fold trains on 2 processes" test $? -eq 0
check "... with the bytes of one process" "$innereye" compare-runs "$out/cv1/fold_1" "$out/cv2/fold_1"
"$innereye" train "${tiny[@]}" --cv 2 --set run.name=cvall --processes 2 > "$out/cvall.txt" 2>&1
check "all folds (--cv K) on several processes is refused, saying what works" \
  grep -q "one fold on several processes (--cross_validation_split_index I)" "$out/cvall.txt"

# A rank that hangs before step 4 (epoch 2): the others stop within the
# timeout, naming it; the run resumes on 3 processes.
start=$(date +%s)
INNEREYE_TEST_FAULT=1:4:hang timeout 100 "$innereye" train "${tiny[@]}" --set run.name=hang --set dist.timeout_s=4 \
  --processes 2 > "$out/hang.txt" 2>&1
rc=$?
took=$(($(date +%s) - start))
check "a hung rank fails the job (exit $rc, not the test's timeout 124)" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
check "... within a bounded time ($took s)" test "$took" -lt 60
check "... with a message naming the rank and the step" grep -q "rank 1 did not deliver .* of step 4 within 4 s" \
  "$out/hang.txt"
check "... and how to resume" grep -q "innereye train --resume" "$out/hang.txt"
timeout 120 "$innereye" train --resume "$out/hang" --processes 3 > "$out/hang_resume.txt" 2>&1
check "the hung run resumes on 3 processes" test $? -eq 0
check "... resuming after epoch 1" grep -q "resuming after epoch 1 of 3" "$out/hang_resume.txt"
check "... and ends with the same bytes" same_as "$out/one" "$out/hang"

# A rank killed before step 4: mpirun ends the job and names it; the run
# resumes in one process (no MPI at all).
INNEREYE_TEST_FAULT=2:4:exit timeout 100 "$innereye" train "${tiny[@]}" --set run.name=killed --processes 3 \
  > "$out/killed.txt" 2>&1
rc=$?
check "a killed rank fails the job (exit $rc)" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
check "... and mpirun names it" grep -Eqi "rank 2 .*(signal 9|killed)" "$out/killed.txt"
"$innereye" train --resume "$out/killed" > "$out/killed_resume.txt" 2>&1
check "the killed run resumes in one process" test $? -eq 0
check "... and ends with the same bytes" same_as "$out/one" "$out/killed"

# Bad values are refused before anything runs.
"$innereye" train "${tiny[@]}" --set run.name=bad --set train.micro_batch_size=3 > "$out/bad.txt" 2>&1
check "a micro-batch that does not divide the batch is refused (exit 2)" test $? -eq 2
check "... naming both keys" grep -q "train.micro_batch_size 3 must divide train.batch_size 4" "$out/bad.txt"
"$innereye" train "${tiny[@]}" --processes 0 > "$out/bad0.txt" 2>&1
check "--processes 0 is refused (exit 2)" test $? -eq 2

if [ "$fails" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $f"; tail -15 "$f"; done
fi
echo "$fails failed"
exit $((fails > 0))
