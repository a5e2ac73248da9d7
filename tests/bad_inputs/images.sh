# Bad images: missing, empty, damaged, wrong kind, unusable voxels, grids
# that do not match, in training (the data check before the first epoch) and
# in inference.  Sourced by run.sh.
make_data
make_run
img=$W/data/synthetic_000_image.nii.gz
lab=$W/data/synthetic_000_label.nii.gz

# train_with NAME RC NAMES ADVICE IMAGE LABEL: a training whose first subject
# (s0) has these files; a refusal may leave only a run folder under runs/.
train_with() {
  csv_with "$W/case.csv" "$5" "$6" s0
  expect "$1" "$2" "$3" "$4" --changes runs --changes case.csv -- \
    "$IE" train "${TINY[@]}" --set data.dataset_csv=case.csv --output-dir runs
}

train_with missing_image 1 "subject 's0', channel 'image' \\($W/missing.nii.gz\\): No such file" "check the path" \
  "$W/missing.nii.gz" "$lab"
: > empty.nii.gz
train_with empty_image 1 "empty.nii.gz is not an image any reader recognises" "InnerEye reads NIfTI" \
  "$W/empty.nii.gz" "$lab"
head -c 1000 /dev/urandom > garbage.nii.gz
train_with garbage_image 1 "garbage.nii.gz is not an image" "InnerEye reads NIfTI" "$W/garbage.nii.gz" "$lab"
echo "not an image" > text.nii
train_with text_as_nifti 1 "text.nii is not an image" "InnerEye reads" "$W/text.nii" "$lab"
train_with missing_label 1 "channel 'label' \\($W/none.nii.gz\\): No such file" "check the path" "$img" "$W/none.nii.gz"
cp "$FIXTURES/nifti2.nii.gz" nifti2.nii.gz
train_with nifti2_image 1 "nifti2.nii.gz is NIfTI-2" "save it as NIfTI-1" "$W/nifti2.nii.gz" "$lab"
"$TOOL" labels big.nii.gz --like "$img" --value 7
train_with label_outside_classes 1 "channel 'label' \\($W/big.nii.gz\\): 1 voxel holds values outside the classes 0..2" \
  "Fix them" "$img" "$W/big.nii.gz"
"$TOOL" labels neg.nii.gz --like "$img" --value -3
train_with negative_label 1 "big.nii.gz|neg.nii.gz\\): 1 voxel holds values outside the classes 0..2" "Fix them" \
  "$img" "$W/neg.nii.gz"
"$TOOL" labels small.nii.gz
train_with label_other_grid 1 "channel 'label' \\($W/small.nii.gz\\): not on the grid of channel 'image'" \
  "resample them first" "$img" "$W/small.nii.gz"
"$TOOL" image other_spacing.nii.gz --spacing 1,1,2
"$TOOL" labels other_spacing_label.nii.gz --spacing 1,1,1
train_with label_other_spacing 1 "other_spacing_label.nii.gz\\): not on the grid of channel 'image'.*spacing" \
  "resample them first" "$W/other_spacing.nii.gz" "$W/other_spacing_label.nii.gz"
"$TOOL" labels float_label.mha --like "$img" --value 1.5
train_with float_label_mha 1 "float_label.mha: voxel \\(x [0-9]+, y [0-9]+, z [0-9]+\\) is 1.5, not an integer" \
  "resample them with nearest neighbour" "$img" "$W/float_label.mha"
"$TOOL" labels float_label.nii.gz --like "$img" --value 2.5
train_with float_label_nifti 1 "float_label.nii.gz: voxel \\(x [0-9]+, y [0-9]+, z [0-9]+\\) is 2.5, not an integer" \
  "resample them with nearest neighbour" "$img" "$W/float_label.nii.gz"
mkdir -p not_dicom && echo "readme" > not_dicom/readme.txt
train_with folder_without_dicom 1 "not_dicom is a folder without a DICOM series" "give an image file" \
  "$W/not_dicom" "$lab"

# ---- inference on bad images (a trained run from runs/good) ----
expect infer_missing_image 1 "missing.nii.gz: No such file" "check the path" -- \
  "$IE" infer --run runs/good --image missing.nii.gz --out preds
expect infer_garbage_image 1 "garbage.nii.gz is not an image any reader recognises" "InnerEye reads NIfTI" -- \
  "$IE" infer --run runs/good --image garbage.nii.gz --out preds
expect infer_two_images_one_channel 2 "the model takes 1 image channel \\(data.image_channels: image\\), but 2 --image" \
  "give one --image per channel" -- "$IE" infer --run runs/good --image "$img" --image "$img" --out preds
expect infer_mask_other_size 1 "the mask \\(channel 'mask', .*small.nii.gz\\) is .* but the image is" \
  "the mask must have the image's size" -- \
  "$IE" infer --run runs/good --image "$img" --mask small.nii.gz --out preds
"$TOOL" labels mask_float.nii.gz --like "$img" --value 1.5
expect infer_mask_float 1 "subject 'synthetic_000_image': mask channel 'mask' \\((./)?mask_float.nii.gz\\): .*is 1.5, not an integer" \
  "resample them with nearest neighbour" -- "$IE" infer --run runs/good --image "$img" --mask mask_float.nii.gz --out preds
"$TOOL" labels mask_negative.nii.gz --like "$img" --value -1
expect infer_mask_negative 1 "mask channel 'mask' \\((./)?mask_negative.nii.gz\\): voxel [0-9]+ holds -1" \
  "a mask holds 0 \\(outside\\) and positive whole numbers" -- \
  "$IE" infer --run runs/good --image "$img" --mask mask_negative.nii.gz --out preds
"$TOOL" image spaced_image.nii.gz --spacing 1,1,2
"$TOOL" labels spaced_mask.nii.gz --spacing 1,1,1
expect infer_mask_other_grid 1 "mask channel 'mask' \\((./)?spaced_mask.nii.gz\\): the mask is not on the image's grid: spacing" \
  "resample it onto the image" -- "$IE" infer --run runs/good --image spaced_image.nii.gz --mask spaced_mask.nii.gz \
  --out preds

# NaN and infinite voxels: ITK's NIfTI reader would make them 0 silently.
"$TOOL" image nan.nii.gz --like "$img" --nan
train_with nan_image_nifti 1 "nan.nii.gz: voxel \\(x [0-9]+, y [0-9]+, z [0-9]+\\) is NaN" "replace them" \
  "$W/nan.nii.gz" "$lab"
"$TOOL" image inf.nii --like "$img" --inf
train_with inf_image_nifti 1 "inf.nii: voxel \\(x [0-9]+, y [0-9]+, z [0-9]+\\) is \\+Inf" "replace them" \
  "$W/inf.nii" "$lab"
"$TOOL" labels nan_label.nii.gz --like "$img" --nan
train_with nan_label_nifti 1 "nan_label.nii.gz: voxel \\(x [0-9]+, y [0-9]+, z [0-9]+\\) is NaN" "replace them" \
  "$img" "$W/nan_label.nii.gz"
expect infer_nan_image 1 "nan.nii.gz: voxel \\(x [0-9]+, y [0-9]+, z [0-9]+\\) is NaN" "replace them" -- \
  "$IE" infer --run runs/good --image nan.nii.gz --out preds

# Found by the data check before the first epoch, wherever the subject is
# (a validation or test subject used to fail only after training).
head -c 3000 "$img" > truncated.nii.gz
train_with truncated_image 1 "truncated.nii.gz: the gzip data is truncated" \
  "copy or export it again" "$W/truncated.nii.gz" "$lab"
check "truncated_image: found before the first epoch" bash -c "! grep -q '^epoch 1/' <(cd '$W' && \
  '$IE' train ${TINY[*]} --set data.dataset_csv=case.csv --output-dir runs 2>&1)"
"$TOOL" image nan.mha --like "$img" --nan
train_with nan_image_mha 1 "nan.mha.*voxel .* is NaN" "replace them" \
  "$W/nan.mha" "$lab"
"$TOOL" image flat.nii.gz --2d
"$TOOL" labels flat_label.nii.gz --2d
train_with image_2d_for_3d_model 1 "flat.nii.gz\\): a 2-D image \\(16x16, x, y\\), but the model works on 3-D crops \\(data.crop_size \\[8, 8, 8\\]\\)" \
  "give 3-D volumes, or train a 2-D model" "$W/flat.nii.gz" "$W/flat_label.nii.gz"
expect infer_2d_for_3d_model 1 "subject .flat., channel .image.: (./)?flat.nii.gz: a 2-D image \\(16x16, x, y\\), but the model works on 3-D crops" \
  "give 3-D volumes" -- "$IE" infer --run runs/good --image flat.nii.gz --out preds

# DICOM series folders: one series trains (the run records a hash of the
# folder's files); a folder with two series is refused instead of using one.
cp -r "$FIXTURES/dicom_series" dicom
"$TOOL" labels dicom_label.nii.gz --like dicom
train_with dicom_series_trains 0 "data: case.csv" "done: " "$W/dicom" "$W/dicom_label.nii.gz"
cp -r "$FIXTURES/dicom_series" two_series && "$TOOL" reseries dicom two_series_b && \
  for f in two_series_b/*; do cp "$f" "two_series/b_${f##*/}"; done
train_with dicom_two_series 1 "two_series holds 2 DICOM series" "one series per folder" \
  "$W/two_series" "$W/dicom_label.nii.gz"
