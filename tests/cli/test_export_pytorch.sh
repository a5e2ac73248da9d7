#!/usr/bin/env bash
# tests/cli - `innereye export --format pytorch`: the file torch.load reads
# (also with weights_only=True) is a state_dict that InnerEye's PyTorch
# models (the references of tests/reference, used by the golden generators)
# load with every key matched, and that model's posteriors on a real
# hippocampus case are within 1e-4 of `innereye infer`'s, for UNet3D, UNet2D
# and Basic.  Refusals: an ensemble, --set.  Skipped (exit 77) without
# python3-torch or the hippocampus data.
#   test_export_pytorch.sh INNEREYE CASE_TOOL SOURCE_DIR DATA_DIR
set -u
innereye=$1
tool=$2
src=$3
data=$4
python=/usr/bin/python3
if ! "$python" -c "import torch" 2> /dev/null || [ ! -d "$data/images" ]; then
  echo "skipped: needs $python with torch (python3-torch) and $data"
  exit 77
fi
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
case_img=$data/images/hippocampus_001.nii.gz
common=(--output-dir "$out" --set data.images_dir="$data/images" --set data.labels_dir="$data/labels"
        --set data.max_subjects=8 --set train.epochs=1 --set data.split.train=0.5 --set data.split.val=0.25
        --set data.split.test=0.25 --threads 2)
# Same tolerance and argument as test_export_onnx.sh: PyTorch's kernels sum
# in another order than ours (differences of a few ulps per operation).
tol=1e-4

# torch side: load the state_dict into the reference model, posteriors of the
# prepared input (edge-padded by 14 for Basic, as the Basic plugin does in
# inference), raw float32 out.
torch_posteriors() { # MODEL_EXPR STATE_DICT INPUT.bin WINDOW OUTPUT.bin
  PYTHONPATH=$src/tests/reference "$python" - "$@" <<'PY'
import sys, numpy as np, torch, torch.nn.functional as F
from innereye_unet3d import UNet2D, UNet3D
from innereye_basic import BasicModel
expr, state, inp, window, outp = sys.argv[1:]
model = eval(expr)
missing = model.load_state_dict(torch.load(state, weights_only=True), strict=True)
model.eval()
d, h, w = (int(v) for v in window.split(","))
x = torch.from_numpy(np.fromfile(inp, dtype=np.float32)).reshape(1, 1, -1, h, w)
if isinstance(model, BasicModel):
    x = F.pad(x, (14,) * 6, mode="replicate")
with torch.no_grad():
    if isinstance(model, UNet2D):  # slices one by one, as the 2-D window slides
        y = torch.cat([torch.softmax(model(x[:, :, i:i + 1]), 1) for i in range(x.shape[2])], 2)
    else:
        y = torch.softmax(model(x), 1)
y.numpy().astype(np.float32).tofile(outp)
PY
}

compare() { # NAME RUN MODEL_EXPR REQUEST_WINDOW
  local name=$1 run=$2 expr=$3 window
  window=$("$tool" window "$run" "$case_img" "$4") || return 1
  "$innereye" export --run "$run" --format pytorch --out "$out/$name.pt" > /dev/null || return 1
  "$tool" prepare "$run" "$case_img" "$window" "$out/$name.in" > /dev/null || return 1
  torch_posteriors "$expr" "$out/$name.pt" "$out/$name.in" "$window" "$out/$name.torch" || return 1
  "$innereye" infer --run "$run" --image "$case_img" --out "$out/$name.infer" --set "data.test_crop_size=[$window]" \
    --set infer.write_posteriors=true --set infer.posterior_dtype=float32 > /dev/null || return 1
  "$tool" compare "$run" "$case_img" "$window" "$out/$name.torch" "$out/$name.infer/hippocampus_001" "$tol"
}

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

check "UNet3D: the PyTorch reference loads the state_dict; posteriors within $tol of innereye infer" \
  compare UNet3D "$unet3d" "UNet3D(in_channels=1, classes=3, features=4, depth=2)" 64,64,64
check "UNet2D: the same" compare UNet2D "$unet2d" "UNet2D(in_channels=1, classes=3, features=4, depth=2)" 1,64,64
check "Basic: the same" compare Basic "$basic" "BasicModel(1, [4] * 8, 3)" 64,64,64
check "the file is a zip with archive/data.pkl, archive/data/*, archive/version" "$python" -c "
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert names[0] == 'archive/data.pkl' and names[-1] == 'archive/version' and 'archive/data/0' in names, names[:3]
" "$out/UNet3D.pt"

"$innereye" train --model UNet3D "${common[@]}" --set run.name=second --set model.params.features=4 --set seed=3 \
  --set model.params.depth=2 --set data.crop_size=[16,16,16] --set data.pad_multiple=4 > "$out/t4.txt" 2>&1
"$innereye" ensemble --runs "$unet3d" "$(ls -d "$out"/second*/ | head -1)" --out "$out/ens" > /dev/null 2>&1
refused "an ensemble is refused (a state_dict is one model)" 2 "writes one model's state_dict" \
  --run "$out/ens" --format pytorch --out "$out/x.pt"
refused "--set is refused" 2 "--set does not go with --format pytorch" \
  --run "$unet3d" --format pytorch --out "$out/x.pt" --set seed=2
check "nothing written by the refusals" test ! -e "$out/x.pt"

[ $fails -eq 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
