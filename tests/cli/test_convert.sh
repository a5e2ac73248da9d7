#!/usr/bin/env bash
# tests/cli - tools/convert_pytorch_checkpoint.py on checkpoints built with
# the PyTorch references of tests/reference: the layouts it recognises (with
# the parameters it reports), the prefixes it removes, every refusal (with
# its message, nothing written, an existing output untouched), and a
# converted partial checkpoint used with model.init_strict=false.  Needs
# Debian's python3-torch; skipped (exit 77) without it.
#   test_convert.sh INNEREYE SOURCE_DIR [PYTHON]
set -u
innereye=$1
src=$2
python=${3:-/usr/bin/python3}
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "skipped: $python cannot import torch"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fails=0
# innereye convert runs the installed converter with INNEREYE_PYTHON.
convert() { INNEREYE_PYTHON="$python" "$innereye" convert "$@"; }
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1"; fails=$((fails + 1)); fi
}
refused() { # refused DESCRIPTION EXPECTED-TEXT INPUT [options]: exit 2, the message, nothing written
  echo keep > "$out/kept.safetensors"
  convert "$3" "$out/kept.safetensors" "${@:4}" > "$out/refused.txt" 2>&1
  local rc=$?
  if [ $rc -eq 2 ] && grep -qF -- "$2" "$out/refused.txt" && grep -qF "nothing was written" "$out/refused.txt" &&
     [ "$(cat "$out/kept.safetensors")" = keep ]; then echo "ok    $1"
  else echo "FAIL  $1 (exit $rc)"; cat "$out/refused.txt"; fails=$((fails + 1)); fi
}

# Checkpoints in every shape the converter meets.
PYTHONPATH=$src/tests/reference "$python" - "$out" <<'EOF'
import collections, sys, torch
from innereye_basic import BasicModel
from innereye_unet3d import UNet2D, UNet3D
out = sys.argv[1]
torch.manual_seed(0)
unet2d = UNet2D(in_channels=2, classes=4, features=4, depth=3).state_dict()
torch.save({"epoch": 3, "global_step": 30, "state_dict": {"model." + k: v for k, v in unet2d.items()},
            "optimizer_states": [{"lr": 0.001}]}, out + "/unet2d.ckpt")            # Lightning
unet3d = UNet3D(in_channels=1, classes=3, features=4, depth=2).state_dict()
torch.save({"epoch": 1, "state_dict": {"module." + k: v for k, v in unet3d.items()}, "opt_dict": {}},
           out + "/unet3d_dataparallel.pt")                                          # InnerEye, DataParallel
basic = BasicModel(1, [2] * 8, 3)
torch.save(basic.half().state_dict(), out + "/basic_fp16.pt")                       # plain state_dict, fp16
headless = collections.OrderedDict((k, v.float() if v.is_floating_point() else v)
                                   for k, v in basic.state_dict().items() if not k.startswith("_layers.5"))
torch.save(headless, out + "/basic_headless.pt")
torch.save(dict(unet3d, **{"foo.weight": torch.zeros(2)}), out + "/extra.pt")
wrong = dict(unet3d)
wrong["output_layer.weight"] = torch.zeros(3, 5, 1, 1, 1)
torch.save(wrong, out + "/wrong_shape.pt")
import argparse
torch.save({"state_dict": unet3d, "hparams": argparse.Namespace(lr=0.1)}, out + "/pickled_class.pt")
torch.save({"epoch": 1, "lr": 0.1}, out + "/no_state_dict.pt")
torch.save(torch.nn.Conv3d(1, 2, 3).state_dict(), out + "/other_model.pt")
EOF
echo "not a checkpoint" > "$out/text.pt"

convert "$out/unet2d.ckpt" "$out/unet2d.safetensors" > "$out/unet2d.txt" 2>&1
check "a Lightning checkpoint of a UNet2D converts" test $? -eq 0
check "... its \"model.\" prefix removed" grep -q 'removed the prefix "model."' "$out/unet2d.txt"
check "... reporting the layout and the settings to use" grep -qF \
  "InnerEye's UNet2D layout (features 4, depth 3, in_channels 2, classes 4)" "$out/unet2d.txt"
check "... names as in PyTorch" grep -q '"_layers.6.upsample_block.0.weight":{"dtype":"F32","shape":\[16,8,1,4,4\]' \
  "$out/unet2d.safetensors"
check "... num_batches_tracked stays int64" grep -q '"_layers.0.block1.bn1.num_batches_tracked":{"dtype":"I64","shape":\[\]' \
  "$out/unet2d.safetensors"
convert "$out/unet3d_dataparallel.pt" "$out/unet3d.safetensors" > "$out/unet3d.txt" 2>&1
check "InnerEye's own checkpoint of a DataParallel UNet3D converts" grep -qF \
  "InnerEye's UNet3D layout (features 4, depth 2, in_channels 1, classes 3)" "$out/unet3d.txt"
convert "$out/basic_fp16.pt" "$out/basic.safetensors" > "$out/basic.txt" 2>&1
check "a float16 state_dict of Basic converts to float32" grep -q "converted 50 tensors to float32" "$out/basic.txt"
check "... reporting its feature_channels" grep -qF \
  "InnerEye's Basic layout (feature_channels [2, 2, 2, 2, 2, 2, 2, 2], in_channels 1, classes 3)" "$out/basic.txt"

refused "an unknown tensor is refused" "unexpected: foo.weight" "$out/extra.pt"
refused "a tensor of the wrong shape is refused" \
  "wrong shape: output_layer.weight is [3, 5, 1, 1, 1], expected [3, 4, 1, 1, 1]" "$out/wrong_shape.pt"
refused "pickled Python classes are not loaded" \
  "holds Python objects besides tensors (it pickles argparse.Namespace); loading it runs code from the file. If you trust the file, rerun with --trust-pickle" \
  "$out/pickled_class.pt"
refused "a file that is no checkpoint is refused" "torch.load cannot read it" "$out/text.pt"
refused "a missing file is refused" "no such file" "$out/none.pt"
refused "a dictionary without a state_dict is refused" \
  "no state_dict found: the top-level keys are 'epoch', 'lr'" "$out/no_state_dict.pt"
refused "another model's tensors form no known layout" \
  "form no known layout: not InnerEye's UNet3D/UNet2D layout (no tensor _layers.0.block1.conv1.weight)" \
  "$out/other_model.pt"
refused "--model UNet2D on a UNet3D checkpoint is refused" "the kernels are UNet3D's, not UNet2D's" \
  "$out/unet3d_dataparallel.pt" --model UNet2D
refused "a partial Basic is not a layout" "not InnerEye's Basic layout (no tensor _layers.5.weight)" \
  "$out/basic_headless.pt"
convert "$out/pickled_class.pt" "$out/trusted.safetensors" --trust-pickle > /dev/null 2>&1 &&
  check "--trust-pickle loads it" test -s "$out/trusted.safetensors" || check "--trust-pickle loads it" false

# A network without its head (fine-tuning for other classes): --model any,
# then model.init_strict=false loads what matches.
convert "$out/basic_headless.pt" "$out/headless.safetensors" --model any > "$out/headless.txt" 2>&1
check "--model any converts tensors as they are" grep -q "56 tensors, names as in the checkpoint" "$out/headless.txt"
run=(train --model Basic --output-dir "$out" --set data.synthetic=true --set data.synthetic_subjects=4
     --set data.split.train=0.5 --set data.split.val=0.25 --set data.split.test=0.25 --set train.epochs=1
     --set model.params.feature_channels=[2,2,2,2,2,2,2,2] --set data.crop_size=[29,30,29]
     --set model.init_checkpoint="$out/headless.safetensors" --threads 2)
"$innereye" "${run[@]}" --set run.name=strict > "$out/strict.txt" 2>&1
check "strict loading refuses a checkpoint without the head" \
  grep -q "has no tensor '_layers.5.weight' that the model needs" "$out/strict.txt"
"$innereye" "${run[@]}" --set run.name=loose --set model.init_strict=false > "$out/loose.txt" 2>&1
check "model.init_strict=false loads the 56 matching tensors" \
  grep -q "initial weights: 56 of the model's 58 tensors" "$out/loose.txt"
check "... and trains" grep -q "^test (1 subjects)" "$out/loose.txt"

echo "$fails failed"
[ "$fails" -eq 0 ]
