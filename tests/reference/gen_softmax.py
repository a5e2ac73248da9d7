"""Golden values for softmax / log_softmax over several dims (tests/unit/test_softmax.c).

Computed in float64 from float32 inputs; the gradient is that of sum(out * r)."""
import torch


def _case(name, x, dim, out):
    for fn, tag in ((torch.softmax, "softmax"), (torch.log_softmax, "log_softmax")):
        xd = x.double().requires_grad_(True)
        y = fn(xd, dim)
        r = torch.randn(y.shape, generator=_case.g, dtype=torch.float64)
        (y * r).sum().backward()
        key = f"{name}_{tag}_dim{dim}"
        out[key] = y
        out[key + "_r"] = r
        out[key + "_grad"] = xd.grad


def generate(save):
    _case.g = torch.Generator().manual_seed(20)
    g = _case.g
    out = {}
    # Small 4D tensor: every dim, including a negative one.
    x = torch.randn(2, 3, 4, 5, generator=g) * 3
    out["x"] = x
    for dim in (0, 1, 2, -1):
        _case("x", x, dim, out)
    # Channels of a 5D volume: inner = 210 spans several lane blocks.
    v = torch.randn(2, 4, 5, 6, 7, generator=g) * 4
    out["v"] = v
    _case("v", v, 1, out)
    # Rows of a classifier head with a large spread of values.
    h = torch.randn(5, 200, generator=g) * 20
    out["h"] = h
    _case("h", h, 1, out)
    save("softmax.safetensors", out)
