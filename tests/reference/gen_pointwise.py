"""Golden values for elementwise ops (tests/unit/test_pointwise.c)."""
import torch
import torch.nn.functional as F


def generate(save):
    g = torch.Generator().manual_seed(10)
    x = torch.randn(2, 3, 4, 5, generator=g)
    y = torch.randn(2, 3, 4, 5, generator=g)
    ch = torch.randn(3, generator=g)
    save("pointwise.safetensors", {
        "x": x, "y": y, "channel": ch,
        "relu": F.relu(x), "leaky_relu": F.leaky_relu(x, 0.01),
        "sigmoid": torch.sigmoid(x), "tanh": torch.tanh(x),
        "mul": x * y, "add_channel": x + ch.view(1, 3, 1, 1), "mean": x.mean().reshape(()),
    })
