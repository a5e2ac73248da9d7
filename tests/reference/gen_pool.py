"""Golden values for pooling and upsampling (tests/unit/test_pool.c).

Each case stores x, the output y, a random upstream gradient gy and torch's
gradient gx of sum(y * gy)."""
import torch
import torch.nn.functional as F


def _case(g, name, x, fn):
    x = x.clone().requires_grad_()
    y = fn(x)
    gy = torch.randn(y.shape, generator=g)
    (gx,) = torch.autograd.grad(y, [x], gy)
    return {f"{name}.x": x, f"{name}.y": y, f"{name}.gy": gy, f"{name}.gx": gx}


def generate(save):
    g = torch.Generator().manual_seed(30)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    ties = torch.randint(0, 3, (1, 2, 6, 6), generator=g).float()
    cases = {
        "mp3d": (r(2, 2, 5, 6, 7), lambda x: F.max_pool3d(x, (2, 3, 2), (2, 2, 1), (1, 1, 0))),
        "mp3d_default": (r(1, 2, 4, 4, 6), lambda x: F.max_pool3d(x, 2)),
        "mp2d": (r(2, 3, 7, 6), lambda x: F.max_pool2d(x, 3, 2, 1)),
        "mp2d_ties": (ties, lambda x: F.max_pool2d(x, 3, 1, 1)),
        "ap3d": (r(2, 2, 5, 6, 7), lambda x: F.avg_pool3d(x, 3, 2, 1)),
        "ap2d": (r(2, 3, 7, 6), lambda x: F.avg_pool2d(x, (2, 3), (1, 2), (1, 1))),
        "gap3d": (r(2, 3, 3, 4, 5), lambda x: F.adaptive_avg_pool3d(x, 1).flatten(1)),
        "gap2d": (r(2, 3, 4, 5), lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1)),
        "near3d": (r(1, 2, 3, 4, 5), lambda x: F.interpolate(x, size=(5, 7, 9), mode="nearest")),
        "near3d_2x": (r(1, 2, 3, 4, 5), lambda x: F.interpolate(x, size=(6, 8, 10), mode="nearest")),
        "near2d_down": (r(2, 2, 7, 9), lambda x: F.interpolate(x, size=(4, 5), mode="nearest")),
        "tri_f": (r(1, 2, 3, 4, 5), lambda x: F.interpolate(x, size=(5, 7, 3), mode="trilinear",
                                                          align_corners=False)),
        "tri_t": (r(1, 2, 3, 4, 5), lambda x: F.interpolate(x, size=(5, 7, 3), mode="trilinear",
                                                          align_corners=True)),
        "tri_keep_d": (r(1, 2, 3, 4, 5), lambda x: F.interpolate(x, size=(3, 8, 10), mode="trilinear",
                                                               align_corners=False)),
        "bi_f": (r(2, 2, 4, 5), lambda x: F.interpolate(x, size=(7, 10), mode="bilinear",
                                                      align_corners=False)),
        "bi_t": (r(2, 2, 4, 5), lambda x: F.interpolate(x, size=(7, 10), mode="bilinear",
                                                      align_corners=True)),
        "bi_down": (r(2, 2, 7, 9), lambda x: F.interpolate(x, size=(3, 4), mode="bilinear",
                                                         align_corners=False)),
        "bi_to1": (r(1, 2, 4, 5), lambda x: F.interpolate(x, size=(1, 3), mode="bilinear",
                                                        align_corners=True)),
    }
    t = {}
    for name, (x, fn) in cases.items():
        t.update(_case(g, name, x, fn))
    save("pool.safetensors", t)
