"""Golden values for the convolutions (tests/unit/test_conv.c).

Every case stores x, w, (b), an upstream gradient r, the output y and the
gradients of sum(y * r) with respect to x, w and b.  Computed in float64 so
the fixtures hold the exact answer rounded once to float32."""
import torch
import torch.nn.functional as F

# name, op, x shape, w shape, bias, stride, padding, dilation, output_padding
CASES = [
    ("c3_s1", "conv3d", (2, 3, 4, 5, 6), (4, 3, 3, 3, 3), True, 1, 1, 1, 0),
    ("c3_s2_even", "conv3d", (1, 3, 6, 8, 4), (5, 3, 3, 3, 3), False, 2, 1, 1, 0),
    ("c3_s2_odd", "conv3d", (1, 2, 7, 5, 6), (3, 2, 3, 3, 3), True, 2, 1, 1, 0),
    ("c3_dil2_same", "conv3d", (1, 2, 6, 5, 7), (3, 2, 3, 3, 3), True, 1, 2, 2, 0),
    ("c3_dil2_valid", "conv3d", (1, 2, 7, 6, 8), (2, 2, 3, 2, 3), False, 1, 0, 2, 0),
    ("c3_k1", "conv3d", (2, 5, 3, 4, 5), (3, 5, 1, 1, 1), True, 1, 0, 1, 0),
    ("c3_wide", "conv3d", (1, 17, 3, 4, 5), (9, 17, 1, 3, 3), True, 1, (0, 1, 1), 1, 0),
    ("c3_aniso", "conv3d", (1, 3, 4, 6, 8), (2, 3, 1, 3, 3), True, (1, 2, 2), (0, 1, 1), 1, 0),
    ("c2_s1", "conv2d", (2, 3, 7, 9), (4, 3, 3, 3), True, 1, 1, 1, 0),
    ("c2_s2", "conv2d", (2, 2, 8, 7), (3, 2, 3, 3), False, 2, (1, 0), 1, 0),
    ("t3_k4s2p1", "conv_transpose3d", (2, 4, 2, 3, 3), (4, 3, 4, 4, 4), True, 2, 1, 1, 0),
    ("t3_k3s2p1_op1", "conv_transpose3d", (1, 3, 3, 4, 2), (3, 2, 3, 3, 3), True, 2, 1, 1, 1),
    ("t3_k3s1p1", "conv_transpose3d", (1, 3, 4, 5, 3), (3, 5, 3, 3, 3), False, 1, 1, 1, 0),
    ("t3_k2s2", "conv_transpose3d", (2, 3, 2, 3, 2), (3, 4, 2, 2, 2), True, 2, 0, 1, 0),
    ("t2_k3s2", "conv_transpose2d", (2, 3, 4, 5), (3, 2, 3, 3), True, 2, 1, 1, (1, 0)),
    ("t2_dil", "conv_transpose2d", (1, 2, 5, 4), (2, 3, 3, 2), False, 1, 0, 2, 0),
]


def generate(save):
    g = torch.Generator().manual_seed(20)
    tensors = {}
    for name, op, xs, ws, has_bias, stride, pad, dil, opad in CASES:
        x = torch.randn(*xs, generator=g, dtype=torch.float64).requires_grad_()
        w = (torch.randn(*ws, generator=g, dtype=torch.float64) * 0.3).requires_grad_()
        cout = ws[1] if op.startswith("conv_transpose") else ws[0]
        b = torch.randn(cout, generator=g, dtype=torch.float64).requires_grad_() if has_bias else None
        fn = getattr(F, op)
        if op.startswith("conv_transpose"):
            y = fn(x, w, b, stride=stride, padding=pad, output_padding=opad, dilation=dil)
        else:
            y = fn(x, w, b, stride=stride, padding=pad, dilation=dil)
        r = torch.randn(*y.shape, generator=g, dtype=torch.float64)
        (y * r).sum().backward()
        tensors.update({name + ".x": x, name + ".w": w, name + ".r": r, name + ".y": y,
                        name + ".gx": x.grad, name + ".gw": w.grad})
        if has_bias:
            tensors.update({name + ".b": b, name + ".gb": b.grad})
    save("conv.safetensors", tensors)
