#!/usr/bin/python3
"""PyTorch side of tools/bench/unet3d_cpu.sh: times one InnerEye UNet3D
training step (forward + cross-entropy + backward + Adam) and forward-only
inference, printing one line per repetition:  torch train|infer <seconds>.
Peak RSS is printed at the end:  torch rss_kb <kb>."""
import argparse
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "reference"))
from innereye_unet3d import UNet3D  # noqa: E402


def forward_gflop(model, x):
    """Multiply-adds x2 of every convolution in one forward pass."""
    total = 0

    def hook(mod, inp, out):
        nonlocal total
        if isinstance(mod, torch.nn.Conv3d):
            total += 2 * out.numel() * mod.weight[0].numel()
        elif isinstance(mod, torch.nn.ConvTranspose3d):
            total += 2 * inp[0].numel() * mod.weight[0].numel()
    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--mode", choices=["train", "infer", "flops"], required=True)
    p.add_argument("--features", type=int, default=16)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--crop", type=int, nargs=3, default=[32, 48, 32])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = UNet3D(1, 3, a.features, 4)
    x = torch.randn(a.batch, 1, *a.crop)
    y = torch.randint(0, 3, (a.batch, *a.crop))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    if a.mode == "flops":
        print(f"{forward_gflop(model, x):.3f}")
        return
    if a.mode == "train":
        model.train()
        for rep in range(a.reps + 1):  # the first repetition warms up
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            dt = time.perf_counter() - t0
            if rep:
                print(f"torch train {dt:.6f}", flush=True)
    else:
        model.eval()
        with torch.no_grad():
            for rep in range(a.reps + 1):
                t0 = time.perf_counter()
                model(x)
                dt = time.perf_counter() - t0
                if rep:
                    print(f"torch infer {dt:.6f}", flush=True)
    print(f"torch rss_kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


if __name__ == "__main__":
    main()
