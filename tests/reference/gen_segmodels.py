"""Golden runs for tests/unit/test_segmodels_train.c: InnerEye's UNet2D and
Basic networks in PyTorch (innereye_unet3d.py, innereye_basic.py), three SGD
steps with cross-entropy, single-threaded, in float64 (stored as float32): a
reference free of float32 rounding.  Basic's small outputs put few values
under its last BatchNorms, whose backward then cancels heavily: small weight
gradients are only good to ~1e-3 relative in float32 (PyTorch's own float32
run included), so the test compares gradients relative to each tensor's
largest value against this float64 truth.

Each fixture stores the initial state_dict ("init.<name>"), the input x and
labels y, the logits of the first (training-mode) forward, the gradients of
the first step ("grad0.<name>"), each step's loss, the state_dict after the
last step ("final.<name>"), the eval-mode logits of x after training, and
"sgd" = [lr, momentum, steps], and "spread.<key>": how far PyTorch's own
float32 runs (1-4 threads, inputs moved by half an ulp) land from the float64
truth, the measure of float32 rounding along this trajectory that the test's
tolerances are built from.  SGD rather than Adam: a conv bias that feeds
BatchNorm has a true gradient of zero and both engines compute rounding
noise, which Adam would scale up to full steps; SGD leaves it negligible, so
every tensor can be compared tightly.

Basic's input must exceed 28 voxels per axis, so to keep the fixture small it
is stored as bytes: x = (x_u8 - 128) / 32, exact in float32 on both sides.
basic_train.safetensors also holds the Basic plugin's evaluation path: x_eval
padded by 14 voxels per side with torch's replicate padding (InnerEye's
PaddingMode.Edge) and run in eval mode ("eval_padded_logits")."""
import copy

import torch
import torch.nn.functional as F

from innereye_basic import SHRINKAGE, BasicModel
from innereye_unet3d import UNet2D

LR, MOMENTUM, STEPS = 0.05, 0.9, 3
SPREAD_RUNS = 8


def blob_labels(n, d, h, w, classes):
    """Labels with structure: a ball of class 1 and a slab of the last class."""
    zz, yy, xx = torch.meshgrid(torch.arange(d), torch.arange(h), torch.arange(w), indexing="ij")
    y = torch.zeros(n, d, h, w, dtype=torch.int64)
    for i in range(n):
        y[i][yy < (h // 3 + i)] = classes - 1
        y[i][((zz - d // 2) ** 2 + (yy - h // 2) ** 2 + (xx - w // 2 - i) ** 2) <= (min(h, w) // 3) ** 2] = 1
    return y


def run(model, x, y, dtype, threads=1):
    """Three SGD steps of a copy of `model` in `dtype` on `threads` threads."""
    model = copy.deepcopy(model).to(dtype)
    x = x.to(dtype)
    torch.set_num_threads(threads)
    tensors = {}
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    model.train()
    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if step == 0:
            tensors["logits0"] = logits.detach().clone()
            for k, p in model.named_parameters():
                tensors["grad0." + k] = p.grad.detach().clone()
        opt.step()
        losses.append(loss.item())
    tensors["losses"] = torch.tensor(losses, dtype=dtype)
    tensors.update({"final." + k: v.clone() for k, v in model.state_dict().items()})
    model.eval()
    with torch.no_grad():
        tensors["eval_logits"] = model(x)
    torch.set_num_threads(1)
    return tensors, model


def train(model, x, y):
    tensors = {"x": x.double(), "y": y, "sgd": torch.tensor([LR, MOMENTUM, STEPS], dtype=torch.float32)}
    tensors.update({"init." + k: v.clone().double() if v.is_floating_point() else v.clone()
                    for k, v in model.state_dict().items()})
    truth, trained = run(model, x, y, torch.float64)
    tensors.update(truth)
    # PyTorch's own float32 spread: SPREAD_RUNS float32 runs with 1-4 threads
    # (other summation orders), half of them with the input moved by up to
    # half an ulp.  spread.<key> is the largest distance of any run from the
    # float64 truth, over the tensor's elements.
    gen = torch.Generator().manual_seed(7)
    spread = {}
    for i in range(SPREAD_RUNS):
        xi = x.float()
        if i >= SPREAD_RUNS // 2:
            xi = xi * (1 + (torch.rand(xi.shape, generator=gen) - 0.5) * 2.0**-23)
        r32, _ = run(model, xi, y, torch.float32, threads=1 + i % 4)
        for k, v in truth.items():
            if not v.is_floating_point() or v.numel() == 0:
                continue
            d = (r32[k].double() - v).abs().max().item()
            spread[k] = max(spread.get(k, 0.0), d)
    tensors.update({"spread." + k: torch.tensor([d], dtype=torch.float32) for k, d in spread.items()})
    model.double().load_state_dict(trained.state_dict())  # generate() evaluates the trained network
    model.eval()
    return tensors


def generate(save):
    torch.manual_seed(2024)
    unet2d = UNet2D(in_channels=1, classes=3, features=4, depth=2)
    x = torch.randn(2, 1, 3, 16, 16)
    save("unet2d_train.safetensors", train(unet2d, x, blob_labels(2, 3, 16, 16, 3)))

    torch.manual_seed(2025)
    basic = BasicModel(in_channels=2, feature_channels=[3, 4, 5, 4, 4, 6, 5, 5], classes=3)
    x_u8 = (torch.randn(2, 2, 29, 30, 31) * 32 + 128).round().clamp(0, 255).to(torch.uint8)
    x = (x_u8.float() - 128) / 32
    y = blob_labels(2, 29 - SHRINKAGE, 30 - SHRINKAGE, 31 - SHRINKAGE, 3)
    tensors = train(basic, x, y)
    del tensors["x"]
    tensors["x_u8"] = x_u8
    x_eval = torch.randn(1, 2, 6, 5, 7)
    with torch.no_grad():
        pad = SHRINKAGE // 2
        tensors["x_eval"] = x_eval
        tensors["eval_padded_logits"] = basic(F.pad(x_eval.double(), (pad,) * 6, mode="replicate"))
    save("basic_train.safetensors", tensors)
