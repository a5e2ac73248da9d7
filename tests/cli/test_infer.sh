#!/usr/bin/env bash
# tests/cli - `innereye infer` end to end on a run trained for one epoch on
# generated volumes: --image and --dataset give the files the trainer's own
# test inference wrote (same code path), on any thread count; --checkpoint
# with --config equals --run; a mask changes the result; and every refusal is
# clean: a missing run, a run without checkpoint, a wrong number of image
# channels, existing outputs (left untouched), a missing image, bad options.
#   test_infer.sh INNEREYE
set -u
innereye=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
# refused DESCRIPTION EXIT_CODE REGEX COMMAND...: fails with that code (not a
# crash) and says so.
refused() {
  local what=$1 code=$2 regex=$3
  shift 3
  "$@" > "$out/refused.txt" 2>&1
  local rc=$?
  check "$what: exit $code" test "$rc" -eq "$code"
  check "$what: says '$regex'" grep -Eq -- "$regex" "$out/refused.txt"
  [ "$rc" -eq "$code" ] || cat "$out/refused.txt"
}

"$innereye" train --model HelloWorld --output-dir "$out" --set run.name=run --set data.synthetic=true \
  --set data.synthetic_subjects=6 --set model.params.features=4 --set model.params.depth=2 --set train.epochs=1 \
  --set data.crop_size=[16,16,16] --set data.split.train=0.5 --set data.split.val=0.17 --set data.split.test=0.33 \
  > "$out/train.txt" 2>&1
check "a one-epoch run trains" test $? -eq 0
run=$out/run
data=$run/synthetic_data
test_subject=$(awk -F, '$2 == "test" {print $1; exit}' "$run/split.csv")
check "the run has a test subject" test -n "$test_subject"

"$innereye" infer --run "$run" --image "$data/${test_subject}_image.nii.gz" --subject "$test_subject" \
  --out "$out/one" > "$out/one.txt" 2>&1
check "infer --run --image succeeds" test $? -eq 0
check "segmentation.nii.gz written" test -s "$out/one/$test_subject/segmentation.nii.gz"
for c in background anterior posterior; do
  check "posterior_$c.nii.gz written" test -s "$out/one/$test_subject/posterior_$c.nii.gz"
done
check "the segmentation equals the trainer's test prediction byte for byte" \
  cmp -s "$out/one/$test_subject/segmentation.nii.gz" "$run/predictions/${test_subject}_segmentation.nii.gz"
check "no partial folder is left" test -z "$(ls -A "$out/one" | grep -v "^$test_subject\$")"

"$innereye" infer --run "$run" --dataset "$data/dataset.csv" --out "$out/all1" --threads 1 > "$out/all1.txt" 2>&1
check "infer --dataset succeeds on 1 thread" test $? -eq 0
"$innereye" infer --run "$run" --dataset "$data/dataset.csv" --out "$out/all2" --threads 2 > "$out/all2.txt" 2>&1
check "... and on 2 threads" test $? -eq 0
check "every subject of the dataset has outputs" test "$(ls "$out/all1" | wc -l)" -eq 6
check "1 and 2 threads give identical files" diff -r "$out/all1" "$out/all2"
"$innereye" infer --run "$run" --dataset "$data/dataset.csv" --out "$out/all3" --set infer.batch_size=5 \
  > "$out/all3.txt" 2>&1
check "5 windows per batch instead of 2 give identical files" diff -r "$out/all1" "$out/all3"
check "the dataset's test subject matches the --image run" \
  cmp -s "$out/all1/$test_subject/posterior_anterior.nii.gz" "$out/one/$test_subject/posterior_anterior.nii.gz"

"$innereye" infer --checkpoint "$run/checkpoints/epoch_0001.safetensors" --config "$run/config.resolved.json" \
  --image "$data/${test_subject}_image.nii.gz" --subject "$test_subject" --out "$out/ckpt" > "$out/ckpt.txt" 2>&1
check "infer --checkpoint --config succeeds" test $? -eq 0
check "... with the same results as --run" diff -r "$out/ckpt" "$out/one"

"$innereye" infer --run "$run" --image "$data/${test_subject}_image.nii.gz" --subject "$test_subject" \
  --mask "$data/${test_subject}_label.nii.gz" --set infer.posterior_dtype=float32 --set infer.mirror_axes=[2] \
  --set 'postprocess.largest_component=["anterior"]' --out "$out/masked" > "$out/masked.txt" 2>&1
check "a mask, float posteriors, mirroring and largest components run" test $? -eq 0
check "... and change the result" bash -c "! cmp -s '$out/masked/$test_subject/segmentation.nii.gz' \
  '$out/one/$test_subject/segmentation.nii.gz'"
nifti_datatype() { zcat "$1" | od -An -t d2 -j 70 -N 2 | tr -d ' '; } # 2: uint8, 16: float32
check "posteriors are uint8 by default" test "$(nifti_datatype "$out/one/$test_subject/posterior_background.nii.gz")" = 2
check "... float32 on request" test "$(nifti_datatype "$out/masked/$test_subject/posterior_background.nii.gz")" = 16
check "segmentations are uint8" test "$(nifti_datatype "$out/masked/$test_subject/segmentation.nii.gz")" = 2

# ---- refusals
refused "a missing run" 2 "--run $out/nowhere: no such run folder" \
  "$innereye" infer --run "$out/nowhere" --image "$data/${test_subject}_image.nii.gz" --out "$out/x"
mkdir -p "$out/empty_run" && cp "$run/config.resolved.json" "$out/empty_run/"
refused "a run without checkpoint" 1 "has no checkpoint .*last.json is missing" \
  "$innereye" infer --run "$out/empty_run" --image "$data/${test_subject}_image.nii.gz" --out "$out/x"
refused "two images for a one-channel model" 2 \
  "the model takes 1 image channel \(data.image_channels: image\), but 2 --image files were given" \
  "$innereye" infer --run "$run" --image "$data/${test_subject}_image.nii.gz" \
  --image "$data/${test_subject}_image.nii.gz" --out "$out/x"
check "... and nothing was written" test ! -e "$out/x"
sum_before=$(cat "$out/one/$test_subject"/* | md5sum)
refused "existing outputs" 1 "$test_subject already exists; inference never overwrites results" \
  "$innereye" infer --run "$run" --image "$data/${test_subject}_image.nii.gz" --subject "$test_subject" \
  --out "$out/one"
check "... which are left untouched" test "$(cat "$out/one/$test_subject"/* | md5sum)" = "$sum_before"
refused "a missing image" 1 "no_such_image.nii.gz" \
  "$innereye" infer --run "$run" --image "$out/no_such_image.nii.gz" --out "$out/y"
check "... leaves no subject folder" test -z "$(ls -A "$out/y" 2> /dev/null)"
refused "neither --image nor --dataset" 2 "give either --image FILE \(one subject\) or --dataset CSV" \
  "$innereye" infer --run "$run" --out "$out/x"
refused "no --out" 2 "give --out DIR" "$innereye" infer --run "$run" --dataset "$data/dataset.csv"
refused "--config with --run" 2 "use --set to change keys, not --config" \
  "$innereye" infer --run "$run" --config "$run/config.resolved.json" --dataset "$data/dataset.csv" --out "$out/x"
refused "a misspelt key" 2 "infer.overlapp.*infer.overlap" \
  "$innereye" infer --run "$run" --dataset "$data/dataset.csv" --out "$out/x" --set infer.overlapp=0.2
refused "an unknown class in a rule" 2 "postprocess.largest_component\[0\] is \"liver\", which is not one of data.classes" \
  "$innereye" infer --run "$run" --dataset "$data/dataset.csv" --out "$out/x" --set 'postprocess.largest_component=["liver"]'
refused "an unknown option" 2 "unknown option '--imgae'; did you mean '--image'?" \
  "$innereye" infer --run "$run" --imgae "$data/${test_subject}_image.nii.gz" --out "$out/x"

if [ "$fails" -ne 0 ]; then
  for f in "$out"/*.txt; do echo "---- $f"; cat "$f"; done
  echo "$fails checks failed"
  exit 1
fi
echo "all infer checks passed"
