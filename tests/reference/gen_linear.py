"""Golden values for the linear layer (tests/unit/test_linear.c).

Computed in float64 from float32 inputs; gradients are those of sum(out * r).
The large case spans several 64-row and 128-column blocks of the CPU kernel."""
import torch
import torch.nn.functional as F


def _case(prefix, n, fin, fout, g, out, bias=True):
    x = torch.randn(n, fin, generator=g)
    w = torch.randn(fout, fin, generator=g) / fin ** 0.5
    b = torch.randn(fout, generator=g) if bias else None
    xd, wd = x.double().requires_grad_(True), w.double().requires_grad_(True)
    bd = b.double().requires_grad_(True) if bias else None
    y = F.linear(xd, wd, bd)
    r = torch.randn(y.shape, generator=g, dtype=torch.float64)
    (y * r).sum().backward()
    out.update({prefix + "_x": x, prefix + "_w": w, prefix + "_y": y, prefix + "_r": r,
                prefix + "_gx": xd.grad, prefix + "_gw": wd.grad})
    if bias:
        out.update({prefix + "_b": b, prefix + "_gb": bd.grad})


def generate(save):
    g = torch.Generator().manual_seed(30)
    out = {}
    _case("small", 5, 7, 3, g, out)
    _case("nobias", 4, 6, 2, g, out, bias=False)
    _case("large", 65, 5, 129, g, out)
    save("linear.safetensors", out)
