# Plugins that break the rules: crash (SIGSEGV, SIGBUS, SIGFPE), call exit(0),
# fail to load or fail in their functions.  The host says which plugin and
# what it was doing, marks the run in run.json, never exits 0 for an
# unfinished run, and `innereye status` and --resume take it from there.
# Sourced by run.sh.
make_data
FAULTY=$PLUGINS/libfaulty.so
# 3 training subjects, batch size 4: one step per epoch, so the 2nd training
# forward call is epoch 2, step 2, after the checkpoint of epoch 1.
RUN=("${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs --set train.epochs=3
     --set train.checkpoint_every=1 --set "model.plugin=$FAULTY")
status_of() { sed -n 's/^\t"status":\t"\(.*\)",*$/\1/p' "$1/run.json" | tail -1; }

for fault in segv:139:SIGSEGV bus:135:SIGBUS fpe:136:SIGFPE; do
  kind=${fault%%:*}; rest=${fault#*:}; code=${rest%%:*}; sig=${rest#*:}
  expect "plugin_crash_$kind" "$code" \
    "plugin Faulty \\($FAULTY\\) crashed with $sig .* in its forward \\(training\\) function during training, epoch 2, step 2" \
    "innereye train --resume runs/$kind continues it from its last checkpoint \\(epoch 1\\)" --changes runs -- \
    env IE_TEST_FAULT="$kind@2" "$IE" train "${RUN[@]}" --set "run.name=$kind"
  check "plugin_crash_$kind: run.json says crashed, in forward, epoch 2, step 2" \
    grep -Pzq '"status":\t"crashed",\n\t"crashed":\t\{\n\t\t"cause":\t"'"$sig"'[^"]*",\n\t\t"plugin":\t"Faulty",\n(.*\n)*\t\t"function":\t"forward \(training\)",\n\t\t"operation":\t"training",\n\t\t"epoch":\t2,\n\t\t"step":\t2' \
    "runs/$kind/run.json"
done
expect status_of_crashed_run 1 "status: crashed: SIGSEGV.*|in plugin Faulty \\($FAULTY\\), function forward \\(training\\)" \
  "innereye train --resume runs/segv continues it from its last checkpoint \\(epoch 1\\)" -- "$IE" status runs/segv
expect resume_after_crash 0 "resuming after epoch 1 of 3" "done: runs/segv" --changes runs/segv -- \
  "$IE" train --resume runs/segv
check "resume_after_crash: run.json says finished, and keeps the crash in its resume entry" \
  bash -c "[ \"\$(sed -n 's/^\t\"status\":\t\"\(.*\)\",*\$/\1/p' runs/segv/run.json | tail -1)\" = finished ] &&
           grep -q '\"previous\":' runs/segv/run.json && grep -q 'SIGSEGV' runs/segv/run.json"
"$IE" train "${RUN[@]}" --set run.name=clean > /dev/null 2>&1
check "resume_after_crash: weights byte-identical to a run that never crashed" \
  cmp runs/clean/checkpoints/epoch_0003.safetensors runs/segv/checkpoints/epoch_0003.safetensors

expect plugin_exit_in_training 1 "plugin Faulty \\($FAULTY\\) called exit\\(\\) in its forward \\(training\\) function during training, epoch 2, step 2" \
  "a plugin must return an error status" --changes runs -- \
  env IE_TEST_FAULT=exit@2 "$IE" train "${RUN[@]}" --set run.name=exit
check "plugin_exit_in_training: run.json says interrupted" test "$(status_of runs/exit)" = interrupted
expect status_of_interrupted_run 1 "status: interrupted: exit\\(\\) called" "--resume runs/exit continues it" -- \
  "$IE" status runs/exit
# create runs among the checks, before the run folder exists (core/run/run_dir.h): none is made.
expect plugin_exit_in_create 1 "plugin Faulty \\($FAULTY\\) called exit\\(\\) in its create function during training" \
  "a plugin must return an error status instead of ending the program" --changes runs -- \
  env IE_TEST_FAULT=exit@0 "$IE" train "${RUN[@]}" --set run.name=exit_create
check "plugin_exit_in_create: it ended before its checks passed, so no run folder was made" test ! -e runs/exit_create
expect plugin_exit_in_infer 1 "plugin Faulty \\($FAULTY\\) called exit\\(\\) in its create function during inference" \
  "this one and later ones were not written" -- \
  env IE_TEST_FAULT=exit@0 "$IE" infer --run runs/clean --image data/synthetic_000_image.nii.gz --out preds
expect status_of_finished_run 0 "status: finished at" "last checkpoint: epoch 3" -- "$IE" status runs/clean
expect status_not_a_run 2 "data has no run.json and no submission record" "was it made by innereye train" -- \
  "$IE" status data

# Plugins that cannot be loaded or fail with an error status (the normal way).
plugin_train() { # plugin_train NAME NAMES ADVICE PLUGIN_FILE
  expect "$1" 1 "$2" "$3" --changes runs -- "$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv \
    --output-dir runs --set run.name="$1" --set "model.plugin=$4"
}
plugin_train plugin_wrong_major "libwrong_major.so: built for plugin ABI 2.0, this host speaks 1." \
  "rebuild the plugin against this SDK" "$PLUGINS/libwrong_major.so"
plugin_train plugin_no_entry "libno_entry.so: no symbol ie_plugin_entry" "define it with IE_PLUGIN_EXPORT" \
  "$PLUGINS/libno_entry.so"
plugin_train plugin_missing_dependency "libmissing_dep.so: cannot load the plugin: libie_test_dep.so: cannot open" \
  "No such file or directory" "$PLUGINS/libmissing_dep.so"
plugin_train plugin_undefined_symbol "libundefined_symbol.so: cannot load the plugin: .*undefined symbol" \
  "undefined symbol: ie_broken_no_such_function" "$PLUGINS/libundefined_symbol.so"
plugin_train plugin_no_forward "libnull_forward.so: plugin NullForward has no forward function" "set .forward" \
  "$PLUGINS/libnull_forward.so"
plugin_train plugin_missing_file "nothere.so: cannot load the plugin: .*No such file" "No such file or directory" \
  "$W/nothere.so"
# A config the plugin refuses: exit 1 as any failed run, no run folder left.
expect plugin_create_fails 1 "plugin CreateFails: create failed: CreateFails: model.params.depth must be at least 1" \
  "must be at least 1" --changes runs -- "$IE" train "${TINY[@]}" --set data.dataset_csv=data/dataset.csv \
  --output-dir runs --set run.name=plugin_create_fails --set "model.plugin=$PLUGINS/libcreate_fails.so"
plugin_train plugin_without_parameters "plugin ForwardFails \\($PLUGINS/libforward_fails.so\\): the optimiser cannot use the model's parameters" \
  "no trainable parameters" "$PLUGINS/libforward_fails.so"
check "plugin_without_parameters: it failed before training began, so no run folder is left" \
  test ! -e runs/plugin_without_parameters
