#!/usr/bin/env python3
"""tools/gpu/check.sh's PyTorch side: the same UNet3D training step as
gpu_determinism (forward + cross-entropy + backward + Adam, batch 2, one loss
read per step) on the GPU, in PyTorch's default mode and in its deterministic
mode.  Prints one line per mode:  torch <mode> step_ms <median> | error <why>.
PyTorch's deterministic mode is expected to raise on this network (its CUDA
cross-entropy and max-pool backward use atomicAdd, docs/gpu.md)."""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "reference"))
from innereye_unet3d import UNet3D  # noqa: E402


def time_step(a, deterministic):
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    # Strict fp32, as our backend computes (no TF32 in convolutions or matmuls).
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = UNet3D(1, a.classes, a.features, a.depth).to(dev)
    x = torch.rand(2, 1, *a.crop, device=dev) * 4 - 2
    y = ((x[:, 0] > 0.3).long() + (x[:, 0] > 1.1).long()) % a.classes
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    times = []
    for step in range(a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()  # the loss read ends the step, as in our loop
        if step:
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--classes", type=int, default=2)
    p.add_argument("--crop", type=int, nargs=3, default=[64, 64, 64])
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("torch default error no CUDA device visible to PyTorch")
        print("torch deterministic error no CUDA device visible to PyTorch")
        return
    for mode, det in (("default", False), ("deterministic", True)):
        if det:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        try:
            print(f"torch {mode} step_ms {time_step(a, det):.3f}", flush=True)
        except Exception as e:  # noqa: BLE001 - the reason is the result
            print(f"torch {mode} error {str(e).splitlines()[0][:160]}", flush=True)


if __name__ == "__main__":
    main()
