#!/usr/bin/python3
"""PyTorch peer of conv_layers.c: times every distinct conv layer shape of
InnerEye's UNet3D (batch 2, crop 32x48x32) forward and backward on 2 threads.

    /usr/bin/python3 tools/bench/conv_layers_torch.py [repeats] [threads] [--cpu-time]

--cpu-time: process CPU time instead of wall time (a busy machine; use 1 thread,
as conv_layers -c -t 1 does).

Prints one line per layer: name, count in the network, forward ms, backward ms
(min over repeats).  conv_layers.c prints the same table for our engine and,
given this script's output file, the ratios."""
import sys
import time

import torch
import torch.nn.functional as F

# name, count, transposed, cin, cout, kernel, stride, padding, input size, bias, input grad
LAYERS = [
    ("enc0_1to16", 1, False, 1, 16, 3, 1, 1, (32, 48, 32), False, False),
    ("enc0_16to16", 2, False, 16, 16, 3, 1, 1, (32, 48, 32), False, True),
    ("enc1_16to32_s2", 1, False, 16, 32, 3, 2, 1, (32, 48, 32), False, True),
    ("enc1_32to32", 2, False, 32, 32, 3, 1, 1, (16, 24, 16), False, True),
    ("enc2_32to64_s2", 1, False, 32, 64, 3, 2, 1, (16, 24, 16), False, True),
    ("enc2_64to64", 2, False, 64, 64, 3, 1, 1, (8, 12, 8), False, True),
    ("enc3_64to128_s2", 1, False, 64, 128, 3, 2, 1, (8, 12, 8), False, True),
    ("enc3_128to128", 2, False, 128, 128, 3, 1, 1, (4, 6, 4), False, True),
    ("enc4_128to256_s2", 1, False, 128, 256, 3, 2, 1, (4, 6, 4), False, True),
    ("enc4_256to256", 1, False, 256, 256, 3, 1, 1, (2, 3, 2), False, True),
    ("up3_256to128", 1, True, 256, 128, 4, 2, 1, (2, 3, 2), True, True),
    ("dec3_256to128", 1, False, 256, 128, 3, 1, 1, (4, 6, 4), False, True),
    ("up2_128to64", 1, True, 128, 64, 4, 2, 1, (4, 6, 4), True, True),
    ("dec2_128to64", 1, False, 128, 64, 3, 1, 1, (8, 12, 8), False, True),
    ("up1_64to32", 1, True, 64, 32, 4, 2, 1, (8, 12, 8), True, True),
    ("dec1_64to32", 1, False, 64, 32, 3, 1, 1, (16, 24, 16), False, True),
    ("up0_32to16", 1, True, 32, 16, 4, 2, 1, (16, 24, 16), True, True),
    ("dec0_32to16", 1, False, 32, 16, 3, 1, 1, (32, 48, 32), False, True),
    ("out_16to3_k1", 1, False, 16, 3, 1, 1, 0, (32, 48, 32), True, True),
]
BATCH = 2


CLOCK = time.process_time if "--cpu-time" in sys.argv else time.perf_counter


def best_of(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = CLOCK()
        fn()
        best = min(best, CLOCK() - t)
    return best


def main():
    args = [a for a in sys.argv[1:] if a != "--cpu-time"]
    repeats = int(args[0]) if len(args) > 0 else 5
    torch.set_num_threads(int(args[1]) if len(args) > 1 else 2)
    torch.manual_seed(0)
    total_f = total_b = 0.0
    print("# layer count fwd_ms bwd_ms (torch %s, %d threads)" % (torch.__version__, torch.get_num_threads()))
    for name, count, tr, cin, cout, k, s, p, size, bias, in_grad in LAYERS:
        x = torch.randn(BATCH, cin, *size, requires_grad=in_grad)
        wshape = (cin, cout, k, k, k) if tr else (cout, cin, k, k, k)
        w = (torch.randn(*wshape) * 0.1).requires_grad_()
        b = torch.randn(cout, requires_grad=True) if bias else None
        conv = F.conv_transpose3d if tr else F.conv3d

        def fwd():
            with torch.no_grad():
                conv(x, w, b, stride=s, padding=p)

        y = conv(x, w, b, stride=s, padding=p)
        g = torch.randn_like(y)
        wrt = [t for t in (x, w, b) if t is not None and t.requires_grad]

        def bwd():
            torch.autograd.grad(y, wrt, g, retain_graph=True)

        tf, tb = best_of(fwd, repeats) * 1e3, best_of(bwd, repeats) * 1e3
        total_f += count * tf
        total_b += count * tb
        print("%s %d %.3f %.3f" % (name, count, tf, tb), flush=True)
    print("# total fwd_ms %.2f bwd_ms %.2f (weighted by count)" % (total_f, total_b))


if __name__ == "__main__":
    main()
