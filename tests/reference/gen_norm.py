"""Golden values for batch, instance and group norm (tests/unit/test_norm.c).

Each case stores its inputs, the output, a random upstream gradient gy and the
gradients torch computes for sum(y * gy); batch-norm cases also store the
running statistics before and after the call."""
import torch
import torch.nn.functional as F


def _grads(y, gy, named):
    wanted = [(k, t) for k, t in named.items() if t is not None and t.requires_grad]
    gs = torch.autograd.grad(y, [t for _, t in wanted], gy)
    return {"g" + k: g for (k, _), g in zip(wanted, gs)}


def _params(g, c, affine):
    if not affine:
        return None, None
    w = (torch.rand(c, generator=g) + 0.5).requires_grad_()
    b = torch.randn(c, generator=g).requires_grad_()
    return w, b


def _batch(g, name, shape, affine, training, momentum, eps, offset=0.0, scale=1.0, exact=False):
    """exact: compute in float64 from the float32 inputs (the true answer,
    where float32 torch itself loses digits to cancellation)."""
    c = shape[1]
    x = (torch.randn(*shape, generator=g) * scale + offset).requires_grad_()
    w, b = _params(g, c, affine)
    rm0 = torch.randn(c, generator=g) * 0.5
    rv0 = torch.rand(c, generator=g) + 0.5
    if exact:
        x = x.detach().double().requires_grad_()
        w, b = (w.detach().double().requires_grad_(), b.detach().double().requires_grad_()) if affine else (w, b)
        rm0, rv0 = rm0.double(), rv0.double()
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
    gy = torch.randn(y.shape, generator=g).to(y.dtype)
    out = {"x": x, "y": y, "gy": gy, "rm0": rm0, "rv0": rv0, "rm": rm, "rv": rv}
    if affine:
        out.update({"w": w, "b": b})
    out.update(_grads(y, gy, {"x": x, "w": w, "b": b}))
    return {f"{name}.{k}": v for k, v in out.items()}


def _group(g, name, shape, groups, affine, eps, instance=False, exact=False):
    c = shape[1]
    x = (torch.randn(*shape, generator=g) * 1.5 + 0.7).requires_grad_()
    w, b = _params(g, c, affine)
    if exact:
        x = x.detach().double().requires_grad_()
        w, b = (w.detach().double().requires_grad_(), b.detach().double().requires_grad_()) if affine else (w, b)
    if instance:
        y = F.instance_norm(x, weight=w, bias=b, eps=eps)
    else:
        y = F.group_norm(x, groups, w, b, eps)
    gy = torch.randn(y.shape, generator=g).to(y.dtype)
    out = {"x": x, "y": y, "gy": gy}
    if affine:
        out.update({"w": w, "b": b})
    out.update(_grads(y, gy, {"x": x, "w": w, "b": b}))
    return {f"{name}.{k}": v for k, v in out.items()}


def generate(save):
    g = torch.Generator().manual_seed(20)
    t = {}
    t.update(_batch(g, "bn3d_train", (2, 3, 3, 4, 5), True, True, 0.1, 1e-5, offset=1.5, scale=2.0))
    t.update(_batch(g, "bn2d_train", (4, 3, 5, 6), False, True, 0.3, 1e-3))
    t.update(_batch(g, "bn1d_train", (8, 5), True, True, 0.1, 1e-5))
    t.update(_batch(g, "bn3d_eval", (2, 3, 3, 4, 5), True, False, 0.1, 1e-5))
    t.update(_batch(g, "bn_offset", (2, 2, 4, 4, 4), True, True, 0.1, 1e-5, offset=1000.0, scale=0.1,
                    exact=True))
    t.update(_group(g, "in3d", (2, 3, 3, 4, 5), 3, True, 1e-5, instance=True))
    t.update(_group(g, "in2d", (2, 4, 5, 6), 4, False, 1e-5, instance=True))
    t.update(_group(g, "gn3d", (2, 6, 3, 4, 4), 3, True, 1e-5))
    t.update(_group(g, "gn2d", (3, 4, 5, 5), 2, False, 1e-3))
    # Two values per group: torch's float32 gradient loses 1e-4 to cancellation.
    t.update(_group(g, "gn1d", (4, 6), 3, True, 1e-5, exact=True))
    save("norm.safetensors", t)
