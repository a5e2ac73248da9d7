#!/usr/bin/env bash
# tests/cli - `innereye runs` (a table of the runs in a folder), `innereye
# show RUN`, and a run stopped with Ctrl-C (SIGINT) or SIGTERM: run.json says
# interrupted, the exact resume command is printed, and the resume finishes.
#   test_runs.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
tiny=(--model HelloWorld --output-dir "$out/outputs" --set data.synthetic=true --set data.synthetic_subjects=6
      --set model.params.features=4 --set model.params.depth=2 --set data.crop_size=[16,16,16]
      --set data.split.train=0.5 --set data.split.val=0.17 --set data.split.test=0.33 --threads 2)

"$innereye" runs "$out/none" > nofolder.txt 2>&1
check "runs of a missing folder exits 1 and says so" \
  bash -c "test $? -eq 1 && grep -q 'none: no such folder' nofolder.txt"
mkdir outputs
"$innereye" runs > empty.txt 2>&1
check "runs of outputs/ without runs says so" grep -q "^no runs in outputs" empty.txt

"$innereye" train "${tiny[@]}" --set train.epochs=2 --set run.name=done > done.txt 2>&1
check "a tiny run finishes" test $? -eq 0

# Ctrl-C: SIGINT once the first checkpoint exists (an epoch takes a while).
"$innereye" train "${tiny[@]}" --set train.epochs=400 --set run.name=stopped > stopped.txt 2>&1 &
pid=$!
for _ in $(seq 600); do [ -e outputs/stopped/checkpoints/last.json ] && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
check "Ctrl-C ends train with the signal's status (130)" test $rc -eq 130
check "run.json says interrupted, by SIGINT" \
  bash -c "grep -q '\"status\":.\"interrupted\"' outputs/stopped/run.json && grep -q 'SIGINT' outputs/stopped/run.json"
check "the exact resume command is printed" grep -q "innereye train --resume $out/outputs/stopped continues it" stopped.txt

"$innereye" runs > runs.txt 2>&1
check "runs exits 0" test $? -eq 0
cat runs.txt
check "runs has a header with the columns" \
  grep -Eq "^name +model +task +status +epochs +metric \(test\) +duration +started \(UTC\)$" runs.txt
check "the finished run: model, task, status, epochs, mean test Dice" \
  grep -Eq "^done +HelloWorld +segmentation +finished +2/2 +dice [01]\.[0-9]{4} +[0-9]+ s +20[0-9-]+T" runs.txt
check "the stopped run is interrupted, with its epochs so far" \
  grep -Eq "^stopped +HelloWorld +segmentation +interrupted +[0-9]+/400 +- +[0-9.]+ (s|min) " runs.txt

"$innereye" show outputs/done > show.txt 2>&1
check "show exits 0" test $? -eq 0
check "show: model and task" grep -q "model HelloWorld (segmentation)" show.txt
check "show: status finished" grep -q "status: finished" show.txt
check "show: the data (generated volumes) and the split" \
  bash -c "grep -q 'generated volumes' show.txt && grep -Eq 'subjects: [0-9]+ train, [0-9]+ validation, [0-9]+ test' show.txt"
check "show: the config keys a person asks first" grep -Eq "^  train.epochs +2$" show.txt
check "show: the test Dice per structure" grep -Eq "^  dice anterior +[01]\.[0-9]{4}$" show.txt
check "show: where the files are" \
  bash -c "grep -q '^files in outputs/done:' show.txt && grep -q 'metrics_aggregates.csv' show.txt"
"$innereye" show outputs/stopped > show_stopped.txt 2>&1
check "show of the stopped run gives the resume command" \
  grep -q "innereye train --resume outputs/stopped continues it" show_stopped.txt
"$innereye" show "$out" > notrun.txt 2>&1
check "show of a folder that is no run exits 1 and says so" \
  bash -c "test $? -eq 1 && grep -q 'is not a run folder' notrun.txt"

# The resume command printed works, and the run then finishes.
"$innereye" train --resume "$out/outputs/stopped" --set data.workers=0 > resumed.txt 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "^resuming after epoch" resumed.txt 2>/dev/null && break; sleep 0.1; done
sleep 1
kill -TERM $pid
wait $pid
check "SIGTERM ends the resumed run as interrupted too" \
  bash -c "grep -q '\"status\":.\"interrupted\"' outputs/stopped/run.json && grep -q SIGTERM outputs/stopped/run.json"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
