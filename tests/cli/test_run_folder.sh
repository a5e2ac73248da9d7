#!/usr/bin/env bash
# tests/cli - the run folder is made only after every check passed: a new
# run works in a hidden staging folder beside it and is renamed into place
# (core/run/run_dir.h). A run that fails a check leaves nothing at the run
# path and no staging folder; the data check's list of problems is beside
# the run folder it would have had, named in the message; a folder already
# at the run path is never touched; a passing run is as before, with no
# trace of its staging name.  A cross-validation, sweep or repro-check makes
# its parent folder only once its first child passed the same checks.
#   test_run_folder.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
tiny=(--model HelloWorld --output-dir o --set data.synthetic=true --set data.synthetic_subjects=6
      --set model.params.features=4 --set model.params.depth=2 --set data.crop_size=[16,16,16] --threads 2
      --set train.epochs=1)
no_staging() { [ -z "$(find o -maxdepth 2 -name '.*staging*')" ]; }
# A dataset whose files are missing: every subject fails the data check.
printf 'subject,filePath,channel\na,nothere.nii.gz,image\na,nothere_label.nii.gz,label\nb,x.nii.gz,image\nb,y.nii.gz,label\nc,z.nii.gz,image\nc,w.nii.gz,label\n' > bad.csv
bad_data=(--set data.synthetic=false --set data.fallback_synthetic=false --set data.dataset_csv=bad.csv)

# ---- a failing data check
"$innereye" train "${tiny[@]}" "${bad_data[@]}" --set run.name=bad_data > bad_data.txt 2>&1
check "a dataset with missing files fails the data check, exit 1" test $? -eq 1
check "  no run folder was made" test ! -e o/bad_data
check "  nor is a staging folder left" no_staging
check "  the problems are listed beside it, for all 3 subjects" \
  bash -c "grep -q \"subject 'a'\" o/bad_data.data_problems.txt && grep -q \"subject 'b'\" o/bad_data.data_problems.txt &&
           grep -q \"subject 'c'\" o/bad_data.data_problems.txt"
check "  the message names that file and says no run folder was made" \
  bash -c "grep -q 'all are in o/bad_data.data_problems.txt' bad_data.txt &&
           grep -q 'no run folder was made' bad_data.txt"
# Without run.name: the model's name; and no run folder of any name appears.
ls -A o > before.txt
"$innereye" train "${tiny[@]}" "${bad_data[@]}" > generated.txt 2>&1
ls -A o > after.txt
check "a generated name: the problems are in o/HelloWorld.data_problems.txt" \
  grep -q 'all are in o/HelloWorld.data_problems.txt' generated.txt
check "  and o/ gained that file only" \
  bash -c "diff before.txt after.txt | grep '^>' | grep -qx '> HelloWorld.data_problems.txt' &&
           [ \$(diff before.txt after.txt | grep -c '^[<>]') -eq 1 ]"

# ---- a failing check after the data: the starting weights
"$innereye" train "${tiny[@]}" --set run.name=bad_init --set model.init_checkpoint=nothere.safetensors \
  > bad_init.txt 2>&1
check "a missing model.init_checkpoint fails, exit 1" test $? -eq 1
check "  leaving no run folder" test ! -e o/bad_init
check "  and no staging folder" no_staging
check "  as the message says" grep -q 'no run folder was made' bad_init.txt

# ---- a folder already at the run path is never touched
mkdir -p o/keep/checkpoints
echo "the user's notes" > o/keep/notes.txt
echo '{"status": "finished"}' > o/keep/run.json
head -c 1000 /dev/urandom > o/keep/checkpoints/epoch_0001.safetensors
touch -d '2020-01-01 00:00' o/keep o/keep/* o/keep/checkpoints/*
snapshot() { (cd o/keep && find . -printf '%p %y %s %T@ %m\n' | sort && find . -type f -exec sha256sum {} + | sort); }
snapshot > keep_before.txt
"$innereye" train "${tiny[@]}" --set run.name=keep > keep.txt 2>&1
check "a run named as an existing folder is refused, exit 1" test $? -eq 1
check "  saying it exists" grep -q 'run folder o/keep already exists; runs are never overwritten' keep.txt
"$innereye" train "${tiny[@]}" "${bad_data[@]}" --set run.name=keep > keep_bad.txt 2>&1
check "  also when its data would fail the check (refused first)" grep -q 'o/keep already exists' keep_bad.txt
snapshot > keep_after.txt
check "  the folder is byte-identical (files, sizes, times, modes, SHA-256)" cmp -s keep_before.txt keep_after.txt
check "  and no problems file was written for it" test ! -e o/keep.data_problems.txt

# ---- a passing run, after a failed attempt of the same name
"$innereye" train "${tiny[@]}" --set run.name=bad_data > good.txt 2>&1
check "the same name trains once its data is right" test $? -eq 0
check "  in its run folder" test -s o/bad_data/checkpoints/last.json
check "  the earlier attempt's problem list, no longer true, is gone" test ! -e o/bad_data.data_problems.txt
check "  no file of the run names its staging folder" bash -c "! grep -rlq 'staging' o/bad_data"
check "  run.json's dataset is the run folder's" grep -q '"dataset_csv":.*o/bad_data/synthetic_data/dataset.csv' \
  o/bad_data/run.json
check "  as the output says" grep -q 'data: 6 generated volumes in o/bad_data/synthetic_data' good.txt
check "  and no staging folder is left" no_staging
"$innereye" runs o > runs.txt 2>&1
check "innereye runs lists the run, and no staging folder" \
  bash -c "grep -q '^bad_data ' runs.txt && ! grep -q staging runs.txt"

# ---- a cross-validation or sweep makes its parent folder only after its
# first child passed the same checks (core/experiment/child_check.h)
ls -A o > before.txt
"$innereye" train "${tiny[@]}" "${bad_data[@]}" --set run.name=cv --cv 2 > cv.txt 2>&1
check "a cross-validation whose data fails the check fails, exit 1" test $? -eq 1
check "  no parent folder was made" test ! -e o/cv
check "  the problems are beside it, for all 3 subjects" \
  bash -c "grep -q \"subject 'a'\" o/cv.data_problems.txt && grep -q \"subject 'c'\" o/cv.data_problems.txt"
check "  the message names that file and says no run folder was made" \
  bash -c "grep -q 'all are in o/cv.data_problems.txt' cv.txt && grep -q 'no run folder was made' cv.txt"
check "  no fold was started" bash -c "! grep -q 'cross-validation: 2 folds' cv.txt"
check "  and no staging folder is left" no_staging
"$innereye" train "${tiny[@]}" "${bad_data[@]}" --cv 2 > cv_generated.txt 2>&1
check "a generated name: the problems are in o/HelloWorld_cv.data_problems.txt" \
  grep -q 'all are in o/HelloWorld_cv.data_problems.txt' cv_generated.txt
"$innereye" train "${tiny[@]}" --set run.name=cv_init --cv 2 --set model.init_checkpoint=nothere.safetensors \
  > cv_init.txt 2>&1
check "a cross-validation whose starting weights are missing fails, exit 1" test $? -eq 1
check "  leaving no parent folder" test ! -e o/cv_init
"$innereye" train "${tiny[@]}" "${bad_data[@]}" --set run.name=keep --cv 2 > cv_keep.txt 2>&1
check "a cross-validation named as an existing folder is refused" grep -q 'o/keep already exists' cv_keep.txt
snapshot > keep_after.txt
check "  and the folder is byte-identical" cmp -s keep_before.txt keep_after.txt
"$innereye" sweep "${tiny[@]}" "${bad_data[@]}" --set run.name=sw --grid train.optimizer.lr=0.001,0.01 \
  > sweep.txt 2>&1
check "a sweep whose data fails the check fails, exit 1" test $? -eq 1
check "  no parent folder was made" test ! -e o/sw
check "  the problems are beside it, named in the message" \
  bash -c "grep -q \"subject 'b'\" o/sw.data_problems.txt && grep -q 'all are in o/sw.data_problems.txt' sweep.txt"
check "  no trial was started" bash -c "! grep -q 'sweep: 2 trials' sweep.txt"
"$innereye" sweep "${tiny[@]}" --set run.name=sw_init --grid model.init_checkpoint=nothere.safetensors,x.safetensors \
  > sweep_init.txt 2>&1
rc=$?
check "a sweep whose first trial's starting weights are missing fails, exit 1" test $rc -eq 1
check "  leaving no parent folder" test ! -e o/sw_init
"$innereye" repro-check "${tiny[@]}" "${bad_data[@]}" --threads 1 --workers 0 > repro.txt 2>&1
check "a repro-check whose data fails the check fails, exit 1" test $? -eq 1
check "  no repro_check folder was made" bash -c "! ls o | grep -q '^repro_check_'"
check "  the problems are in o/repro_check.data_problems.txt" test -s o/repro_check.data_problems.txt
ls -A o > after.txt
check "the failed experiments added only their problem lists to o/" \
  bash -c "[ \"\$(diff before.txt after.txt | grep '^[<>]' | sort | tr '\n' ' ')\" = \
           '> HelloWorld_cv.data_problems.txt > cv.data_problems.txt > repro_check.data_problems.txt > sw.data_problems.txt ' ]"
check "  and no staging folder is left" no_staging

# ---- a passing cross-validation, after a failed attempt of the same name
"$innereye" train "${tiny[@]}" --set run.name=cv --cv 2 > cv_good.txt 2>&1
check "the same cross-validation runs once its data is right" test $? -eq 0
check "  in its parent folder, both folds finished" \
  bash -c "test -s o/cv/fold_0/checkpoints/last.json && test -s o/cv/fold_1/checkpoints/last.json"
check "  the earlier attempt's problem list, no longer true, is gone" test ! -e o/cv.data_problems.txt
check "  and no staging folder is left" no_staging

if [ "$fails" -ne 0 ]; then
  for f in *.txt o/cv/*.log; do [ -e "$f" ] && { echo "---- $f"; cat "$f"; }; done
fi
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
