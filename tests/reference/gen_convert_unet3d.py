"""Golden files for tests/unit/test_convert_unet3d.c: a UNet3D built and
trained a little in PyTorch, saved as an InnerEye (PyTorch Lightning)
checkpoint, converted by tools/convert_pytorch_checkpoint.py, and its
posteriors on a real hippocampus MRI (case 001 of ../shared/data).

  fixtures/convert_unet3d.safetensors           the converter's output, as written
  fixtures/convert_unet3d_expected.safetensors  "posteriors": softmax of the eval-mode
      logits [3, 18, 26, 18], every second voxel of the volume's own extent
      (keeps the file small while covering borders and interior);
      "norm": [mean, std] of the volume (population std, in float64)

The input: the image [D, H, W] = nibabel's (x, y, z) array transposed (the
axis order ITK reads), normalised (x - mean) / std, zero-padded at the end of
each axis to a multiple of 16 (35 x 51 x 35 -> 48 x 64 x 48).  The model:
UNet3D(features 4, depth 2) with torch's initialisation, then 4 Adam steps
(lr 0.01, cross-entropy against the case's labels) in training mode, which
moves weights and BatchNorm running statistics away from their initial
values.  Skipped (the committed files stay) when ../shared/data is absent."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from innereye_unet3d import UNet3D

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "hippocampus"))
CASE = "hippocampus_001.nii.gz"
MULTIPLE, STRIDE, STEPS = 16, 2, 4


def load_case():
    import nibabel as nib
    image = np.asanyarray(nib.load(os.path.join(DATA, "images", CASE)).dataobj).astype(np.float64).transpose(2, 1, 0)
    labels = np.asanyarray(nib.load(os.path.join(DATA, "labels", CASE)).dataobj).astype(np.int64).transpose(2, 1, 0)
    extent, mean, std = image.shape, image.mean(), image.std()
    image = ((image - mean) / std).astype(np.float32)
    padding = [(0, (-s) % MULTIPLE) for s in extent]
    image, labels = np.pad(image, padding), np.pad(labels, padding)
    return torch.from_numpy(image)[None, None], torch.from_numpy(labels)[None], extent, (mean, std)


def generate(save):
    if not os.path.isfile(os.path.join(DATA, "images", CASE)):
        print("gen_convert_unet3d: %s not found, keeping the committed fixtures" % DATA)
        return
    x, y, extent, (mean, std) = load_case()
    torch.manual_seed(77)
    model = UNet3D(in_channels=1, classes=3, features=4, depth=2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(STEPS):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    with tempfile.TemporaryDirectory() as tmp:
        # What InnerEye's Lightning training writes: the module's state_dict
        # under "model.", next to the trainer's own entries.
        ckpt = os.path.join(tmp, "best_checkpoint.ckpt")
        torch.save({"epoch": STEPS, "global_step": STEPS, "pytorch-lightning_version": "1.5.5",
                    "state_dict": {"model." + k: v for k, v in model.state_dict().items()},
                    "optimizer_states": [opt.state_dict()]}, ckpt)
        out = os.path.join(HERE, "fixtures", "convert_unet3d.safetensors")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "convert_pytorch_checkpoint.py"), ckpt, out],
                       check=True)
    model.eval()
    with torch.no_grad():
        posteriors = torch.softmax(model(x), dim=1)[0]
    posteriors = posteriors[:, :extent[0]:STRIDE, :extent[1]:STRIDE, :extent[2]:STRIDE]
    save("convert_unet3d_expected.safetensors",
         {"posteriors": posteriors, "norm": torch.tensor([mean, std], dtype=torch.float64)})
