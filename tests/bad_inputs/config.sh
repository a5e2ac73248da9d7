# Bad configs and command lines: all exit 2 and make nothing (no run folder),
# whether the schema or a later check finds the problem.  Sourced by run.sh.
make_data
BASE=("${TINY[@]}" --set data.dataset_csv=data/dataset.csv --output-dir runs)

# train_config NAME NAMES ADVICE ARGS...: must exit 2 and change nothing.
train_config() {
  local name=$1 names=$2 advice=$3
  shift 3
  expect "$name" 2 "$names" "$advice" -- "$IE" train "${BASE[@]}" "$@"
}

train_config unknown_key "--set train.epochz=3: train.epochz: unknown key" "did you mean train.epochs" \
  --set train.epochz=3
train_config wrong_type "train.epochs: must be an int in \\[1, 2147483647\\], got \"abc\"" "must be an int" \
  --set train.epochs=abc
train_config out_of_range "train.epochs: must be an int in \\[1, 2147483647\\], got -1" "must be an int in" \
  --set train.epochs=-1
# Past INT_MAX: refused, never wrapped by the reader's cast to int.
train_config too_large "train.epochs: must be an int in \\[1, 2147483647\\], got 10000000000" "must be an int in" \
  --set train.epochs=1e10
train_config bad_set_syntax "--set train.epochs: expected PATH=VALUE" "for example train.epochs=3" --set train.epochs
train_config empty_key "--set =3: \"\" is not a key path" "write it like train.epochs" --set =3
echo '{"train": {"epochs": 2,}}' > trailing_comma.json
train_config json_trailing_comma "trailing_comma.json:1:24: JSON syntax error: trailing comma" "remove the ','" \
  --config trailing_comma.json
echo '{"train": {"epochs": 2}' > unclosed.json
train_config json_unclosed "unclosed.json:[0-9]+:[0-9]+: JSON syntax error" "JSON syntax error: .+" --config unclosed.json
echo '[1, 2]' > not_object.json
train_config json_not_object "not_object.json: a config must be a JSON object" "\\{ ... \\}" --config not_object.json
echo '{"train": {"epochs": 2, "epochs": 3}}' > duplicate.json
train_config json_duplicate_key "duplicate.json: key \"epochs\" appears twice in train" "keep one" --config duplicate.json
train_config config_missing "cannot open nothere.json: No such file" "check the path given to --config" --config nothere.json
mkdir -p folder.json
train_config config_is_folder "folder.json is a folder, not a file" "give the config's JSON file" --config folder.json
printf '{"a": 1}\0' > nul.json
train_config config_binary "nul.json: not a text file" "NUL byte" --config nul.json
echo '{"extends": "cycle_b.json"}' > cycle_a.json
echo '{"extends": "cycle_a.json"}' > cycle_b.json
train_config extends_cycle "config extends cycle: cycle_a.json -> cycle_b.json -> cycle_a.json" \
  "a config cannot extend itself" --config cycle_a.json
echo '{"extends": "nowhere.json"}' > extends_missing.json
train_config extends_missing "config \"nowhere.json\" \\(extended by extends_missing.json\\) not found" \
  "looked for nowhere.json" --config extends_missing.json
{ printf '{"data": {"split": {"train_subjects": ['; yes '"subject_0000000",' | head -n 300000 | tr -d '\n'
  printf '"last"]}}}\n'; } > huge.json
train_config huge_config "huge.json: the config is [0-9.]+ MB; a config file may have at most 4 MB" \
  "list subjects in the dataset CSV" --config huge.json
{ printf '{"model": {"params": {'; for i in $(seq 1 5000); do printf '"k%d": %d,' "$i" "$i"; done; printf '"z": 0}}}\n'; } \
  > many_keys.json
train_config too_many_keys "many_keys.json: model.params has 5001 keys; an object in a config may have at most 4096" \
  "check that this is the file you meant" --config many_keys.json
printf '%.0s[' $(seq 1 20000) > deep.json
train_config json_too_deep "deep.json:[0-9]+:[0-9]+: JSON syntax error" "JSON syntax error: .+" --config deep.json

# Checks beyond the schema's: the same exit code, and still no run folder.
train_config crop_weights_count "data.crop_class_weights has 2 entries" "give one per class" \
  --set "data.crop_class_weights=[1,2]"
train_config largest_component_class "postprocess.largest_component\\[0\\] is \"liver\", which is not one of data.classes" \
  "\\(background, anterior, posterior\\)" --set 'postprocess.largest_component=["liver"]'
train_config stride_beyond_window "infer.stride\\[0\\] is 100, larger than the window" "use at most the window size" \
  --set "infer.stride=[100,100,100]"
train_config one_class "data.classes must name the segmentation classes" "2 to 64 names" --set 'data.classes=["bg"]'
train_config run_name_with_slash "run.name 'a/b' must be a plain folder name" "no '/'" --set run.name=a/b
long_dir=$W/$(printf 'd%.0s' $(seq 1 200))
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do long_dir=$long_dir/$(printf 'd%.0s' $(seq 1 200)); done
train_config output_dir_too_long "the run folder $W/d+\\.\\.\\.d+/<model>_<time> would be a path of [0-9]+ bytes; a run folder's path may have at most 2900" \
  "choose a shorter output.dir" --output-dir "$long_dir"
expect model_unknown 1 "no plugin named 'NoSuchModel'" "Give a path to the .so, or add its folder to INNEREYE_PLUGIN_PATH" \
  -- "$IE" train "${BASE[@]}" --set model.name=NoSuchModel
expect train_unknown_flag 2 "unknown option '--bogus'" "innereye help train" -- "$IE" train "${BASE[@]}" --bogus
expect train_no_model 2 "give --config FILE or --model NAME" "usage: innereye train" -- "$IE" train --set train.epochs=1
expect infer_bad_setting 2 "infer.overlap: must be a number in \\[0, 1\\), got 7" "must be a number" -- \
  "$IE" infer --checkpoint nothing.safetensors --config "$FIXTURES/../../../configs/hello_world.json" \
  --image data/synthetic_000_image.nii.gz --out preds --set infer.overlap=7
expect infer_no_out 2 "give --out DIR" "results go to DIR/<subject>/" -- \
  "$IE" infer --checkpoint nothing.safetensors --config "$FIXTURES/../../../configs/hello_world.json" \
  --image data/synthetic_000_image.nii.gz
expect eval_missing_args 2 "usage: innereye eval" "--pred FILE_OR_DIR --truth FILE_OR_DIR" -- "$IE" eval --pred x
expect unknown_command 2 "unknown command 'trian'; did you mean 'train'?" "innereye help lists the commands" -- "$IE" trian
