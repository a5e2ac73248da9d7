#!/usr/bin/env bash
# tests/cli - `innereye export --format onnx` on real hippocampus cases: for
# UNet3D, UNet2D, Basic and an ensemble, the ONNX checker (Debian's
# python3-onnx) accepts the file and ONNX Runtime (npm onnxruntime-node,
# `make export-test-deps`) gives posteriors within 1e-4 of `innereye infer`.
# Also the refusals: bad arguments, an existing --out (kept), a model whose
# forward pass uses data computed outside SDK ops.  Skipped (exit 77)
# without python3-onnx, onnxruntime-node or the hippocampus data.
# Every op mapping is also checked on small graphs (export_ops_tool: strided,
# dilated, transposed convolutions, pools, upsampling, norms, window, ...),
# with the refusals of the tracer.
# Third-party plugins (TinySeg and the transformer UNETR, plugins/examples,
# built through the SDK package) export the same way.
#   test_export_onnx.sh INNEREYE CASE_TOOL SOURCE_DIR ORT_NODE_MODULES DATA_DIR OPS_TOOL PLUGIN_DIR
set -u
innereye=$1
tool=$2
src=$3
ort_modules=$4
data=$5
ops_tool=$6
plugin_dir=$7
python=/usr/bin/python3
for need in "$python -c 'import onnx'" "test -d $ort_modules/onnxruntime-node" "test -d $data/images"; do
  if ! eval "$need" > /dev/null 2>&1; then
    echo "skipped: '$need' failed (python3-onnx, make export-test-deps, ../shared/data/hippocampus)"
    exit 77
  fi
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
refused() { # refused DESCRIPTION EXIT EXPECTED-TEXT export-args...
  "$innereye" export "${@:4}" > "$out/refused.txt" 2>&1
  local rc=$?
  if [ $rc -eq "$2" ] && grep -qF -- "$3" "$out/refused.txt"; then echo "ok    $1"
  else echo "FAIL  $1 (exit $rc)"; cat "$out/refused.txt"; fails=$((fails + 1)); fi
}
onnx_check() { "$python" -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" "$1"; }
case_img=$data/images/hippocampus_001.nii.gz
common=(--output-dir "$out" --set data.images_dir="$data/images" --set data.labels_dir="$data/labels"
        --set data.max_subjects=8 --set train.epochs=1 --set data.split.train=0.5 --set data.split.val=0.25
        --set data.split.test=0.25 --threads 2)

# Tolerance 1e-4 on posteriors in [0, 1]: ONNX Runtime computes the same
# functions in float32 in another order (its own convolution and batch-norm
# kernels; batch norm as (x - mean) / sqrt(var + eps) where we multiply by a
# precomputed inverse); each differs by a few ulps (~1e-7 relative) per
# operation, which through ~20 layers and a softmax stays near 1e-6 in the
# posteriors.  1e-4 leaves two orders of magnitude and would still catch any
# wrong attribute (padding, stride, a missing layer), which moves posteriors
# by 1e-2 or more.  The transformer ops add longer sums: attention sums over
# every token (2 000 and more here) and layer norm's statistics (ours in
# double, ONNX Runtime's in float); summed in another order, a float32 sum
# of n terms differs by about sqrt(n) ulps typically (n ulps at worst, 1e-4
# relative for n = 2 000, only if every rounding goes the same way), still
# ~1e-5 after the attention's softmax, normalised by the following layer
# norm.  Mutations of the UNETR graph below (after its one epoch of
# training) stay detectable: the attention's scale left out moved its
# posteriors by 2.2e-3, layer norm's epsilon 1e-2 instead of 1e-5 by 5.5e-4.
tol=1e-4
compare_with_infer() { # NAME RUN WINDOW(D,H,W) ONNX
  local name=$1 run=$2 window=$3 model=$4
  "$tool" prepare "$run" "$case_img" "$window" "$out/$name.in" > /dev/null || return 1
  NODE_PATH=$ort_modules node "$src/tests/export/ort_run.js" "$model" "$out/$name.in" "$out/$name.ort" || return 1
  "$innereye" infer --run "$run" --image "$case_img" --out "$out/$name.infer" --set "data.test_crop_size=[$window]" \
    --set infer.write_posteriors=true --set infer.posterior_dtype=float32 > /dev/null || return 1
  "$tool" compare "$run" "$case_img" "$window" "$out/$name.ort" "$out/$name.infer/hippocampus_001" "$tol"
}

export_and_compare() { # NAME RUN WINDOW: the window infer uses on the case (the image rounded up)
  local name=$1 run=$2 window file
  window=$("$tool" window "$run" "$case_img" "$3")
  file=${name%% *} # the first word names the files
  check "$name: export writes an ONNX file" "$innereye" export --run "$run" --format onnx --out "$out/$file.onnx" \
    --set "data.test_crop_size=[$window]"
  check "$name: the ONNX checker accepts it (full check, with shape inference)" onnx_check "$out/$file.onnx"
  check "$name: onnxruntime's posteriors are within $tol of innereye infer on hippocampus_001" \
    compare_with_infer "$file" "$run" "$window" "$out/$file.onnx"
}

# ---- every op mapping, on small graphs ----
mkdir -p "$out/ops"
check "the tracer's refusals name the op and the model; the op graphs export" "$ops_tool" "$out/ops"
for c in ops_2d ops_3d ops_norm_window ops_transformer; do
  check "$c: the ONNX checker accepts it" onnx_check "$out/ops/$c.onnx"
  check "$c: onnxruntime's output is within $tol of the engine's" env NODE_PATH="$ort_modules" \
    node "$src/tests/export/ort_run.js" "$out/ops/$c.onnx" "$out/ops/$c.in" "$out/ops/$c.ort" "$out/ops/$c.expected" "$tol"
done

"$innereye" train --model UNet3D "${common[@]}" --set run.name=unet3d --set model.params.features=4 \
  --set model.params.depth=2 --set data.crop_size=[16,16,16] --set data.pad_multiple=4 > "$out/t1.txt" 2>&1 ||
  { cat "$out/t1.txt"; exit 1; }
"$innereye" train --model UNet2D "${common[@]}" --set run.name=unet2d --set model.params.features=4 \
  --set model.params.depth=2 --set data.crop_size=[1,16,16] --set data.pad_multiple=4 > "$out/t2.txt" 2>&1 ||
  { cat "$out/t2.txt"; exit 1; }
"$innereye" train --model Basic "${common[@]}" --set run.name=basic \
  --set model.params.feature_channels=[4,4,4,4,4,4,4,4] --set data.crop_size=[32,32,32] > "$out/t3.txt" 2>&1 ||
  { cat "$out/t3.txt"; exit 1; }
unet3d=$(ls -d "$out"/unet3d*/ | head -1)
unet2d=$(ls -d "$out"/unet2d*/ | head -1)
basic=$(ls -d "$out"/basic*/ | head -1)

export_and_compare UNet3D "$unet3d" 64,64,64
export_and_compare UNet2D "$unet2d" 1,64,64
export_and_compare Basic "$basic" 64,64,64

"$innereye" train --model HelloWorld "${common[@]}" --set run.name=tinyseg --set model.name=TinySeg \
  --set model.plugin="$plugin_dir/libtinyseg.so" --set 'model.params={}' > "$out/t0.txt" 2>&1 ||
  { cat "$out/t0.txt"; exit 1; }
export_and_compare "TinySeg (a third-party plugin)" "$(ls -d "$out"/tinyseg*/ | head -1)" 64,64,64

# UNETR (plugins/examples): patch embedding, layer norm, attention, GELU MLP,
# permutes, matmuls; trained on 16^3 crops and exported for a larger window,
# so its positional embedding is resized in the graph too.
"$innereye" train --model HelloWorld "${common[@]}" --set run.name=unetr --set model.name=UNETR \
  --set model.plugin="$plugin_dir/libunetr.so" --set data.crop_size=[16,16,16] --set data.pad_multiple=4 \
  --set 'model.params={"embed_dim": 16, "heads": 2, "layers": 2, "patch_size": 4, "features": 4}' \
  > "$out/t6.txt" 2>&1 || { cat "$out/t6.txt"; exit 1; }
export_and_compare "UNETR (a transformer plugin)" "$(ls -d "$out"/unetr*/ | head -1)" 64,64,64

# Metadata: what a user needs to prepare the input and read the output.
check "metadata: classes, normalisation, window, post-processing" "$python" - "$out/UNet3D.onnx" <<'PY'
import json, sys, onnx
m = onnx.load(sys.argv[1])
meta = {p.key: p.value for p in m.metadata_props}
assert json.loads(meta["innereye.classes"]) == ["background", "anterior", "posterior"], meta["innereye.classes"]
assert json.loads(meta["innereye.input_shape"]) == [1, 1, 36, 52, 36]  # hippocampus_001 rounded up to 4
for key in ("innereye.normalization", "innereye.postprocess", "innereye.infer", "innereye.config",
            "innereye.target_spacing", "innereye.pad_multiple"):
    assert key in meta, key
assert m.opset_import[0].version == 17 and m.graph.output[0].name == "posteriors"
PY

# An ensemble: the members' posteriors averaged in the graph.
"$innereye" train --model UNet3D "${common[@]}" --set run.name=unet3d_b --set model.params.features=4 --set seed=7 \
  --set model.params.depth=2 --set data.crop_size=[16,16,16] --set data.pad_multiple=4 > "$out/t4.txt" 2>&1 ||
  { cat "$out/t4.txt"; exit 1; }
ens_window=$("$tool" window "$unet3d" "$case_img" 64,64,64)
"$innereye" ensemble --runs "$unet3d" "$(ls -d "$out"/unet3d_b*/ | head -1)" --out "$out/ens" > "$out/e.txt" 2>&1 ||
  { cat "$out/e.txt"; exit 1; }
check "ensemble: export writes an ONNX file" "$innereye" export --run "$out/ens" --format onnx \
  --out "$out/ens.onnx" --set "data.test_crop_size=[$ens_window]"
check "ensemble: the ONNX checker accepts it" onnx_check "$out/ens.onnx"
check "ensemble: two members' weights, prefixed" "$python" -c "
import onnx, sys
names = {i.name for i in onnx.load(sys.argv[1]).graph.initializer}
assert 'member0.output_layer.weight' in names and 'member1.output_layer.weight' in names, sorted(names)[:5]
" "$out/ens.onnx"
compare_ensemble() {
  "$tool" prepare "$unet3d" "$case_img" $ens_window "$out/ens.in" > /dev/null &&
  NODE_PATH=$ort_modules node "$src/tests/export/ort_run.js" "$out/ens.onnx" "$out/ens.in" "$out/ens.ort" &&
  "$innereye" infer --run "$out/ens" --image "$case_img" --out "$out/ens.infer" --set "data.test_crop_size=[$ens_window]" \
    --set infer.write_posteriors=true --set infer.posterior_dtype=float32 > /dev/null &&
  "$tool" compare "$unet3d" "$case_img" $ens_window "$out/ens.ort" "$out/ens.infer/hippocampus_001" "$tol"
}
check "ensemble: onnxruntime's mean posteriors are within $tol of innereye infer" compare_ensemble

# ---- the Classifier on Fashion-MNIST (Debian's dataset-fashion-mnist) ----
if [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
  "$innereye" dataset fashion-mnist --out "$out/fm" --train 200 --val 50 --test 50 > "$out/fm.txt" 2>&1 ||
    { cat "$out/fm.txt"; exit 1; }
  "$innereye" train --config "$src/configs/fashion_mnist_quick.json" --set data.dataset_csv="$out/fm/dataset.csv" \
    --output-dir "$out" --set run.name=classifier --set train.epochs=1 --threads 2 > "$out/t5.txt" 2>&1 ||
    { cat "$out/t5.txt"; exit 1; }
  cls=$(ls -d "$out"/classifier*/ | head -1)
  (head -1 "$out/fm/dataset.csv"; grep '^test_0000[0-4],' "$out/fm/dataset.csv") > "$out/fm/few.csv"
  check "Classifier: export writes an ONNX file" "$innereye" export --run "$cls" --format onnx --out "$out/cls.onnx"
  check "Classifier: the ONNX checker accepts it" onnx_check "$out/cls.onnx"
  "$innereye" infer --run "$cls" --dataset "$out/fm/few.csv" --out "$out/cls.infer" > /dev/null 2>&1
  compare_classifier() { # every output of 5 test images, against predictions.csv (9 significant digits)
    local s worst=0
    for s in test_00000 test_00001 test_00002 test_00003 test_00004; do
      "$tool" scalar-prepare "$cls" "$out/fm/few.csv" "$s" "$out/$s.in" &&
      NODE_PATH=$ort_modules node "$src/tests/export/ort_run.js" "$out/cls.onnx" "$out/$s.in" "$out/$s.ort" \
        > /dev/null || return 1
      od -An -f -v -w4 "$out/$s.ort" | awk '{ print $1 }' > "$out/$s.ort.txt"
      awk -F, -v s="$s" '$1 == s { print $4 }' "$out/cls.infer/predictions.csv" > "$out/$s.infer.txt"
      [ "$(wc -l < "$out/$s.ort.txt")" -eq 10 ] && [ "$(wc -l < "$out/$s.infer.txt")" -eq 10 ] || return 1
      worst=$(paste "$out/$s.ort.txt" "$out/$s.infer.txt" |
              awk -v w="$worst" '{ d = $1 - $2; if (d < 0) d = -d; if (d > w) w = d } END { print w }')
    done
    echo "largest |onnxruntime - innereye infer| over 5 images x 10 classes: $worst (tolerance $tol)"
    awk -v w="$worst" -v t="$tol" 'BEGIN { exit !(w <= t) }'
  }
  check "Classifier: onnxruntime's probabilities are within $tol of innereye infer on Fashion-MNIST" compare_classifier
else
  echo "skipped: the Classifier part (apt-get install dataset-fashion-mnist)"
fi

# ---- refusals: clear message, non-zero exit, nothing written ----
echo keep > "$out/kept.onnx"
refused "an existing --out is never replaced" 2 "already exists" --run "$unet3d" --format onnx --out "$out/kept.onnx"
check "  ... and is left as it was" grep -qx keep "$out/kept.onnx"
refused "an unknown format" 2 "--format must be" --run "$unet3d" --format tflite --out "$out/x.onnx"
refused "no --run" 2 "give --run" --format onnx --out "$out/x.onnx"
refused "a folder that is not a run" 2 "is not a run folder" --run "$out" --format onnx --out "$out/x.onnx"
refused "an unknown argument" 2 "unknown option '--frobnicate'" --run "$unet3d" --frobnicate 1
check "nothing written by the refusals" test ! -e "$out/x.onnx"

[ $fails -eq 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
