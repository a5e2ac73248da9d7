"""Golden values for the losses (tests/unit/test_loss.c).

Inputs are float32; everything is computed in float64 and the gradients are
those of the loss itself.  Cross-entropy, BCE, MSE and L1 are PyTorch's own
functions; focal and soft Dice are written here from the formulas in
sdk/include/innereye/loss.h (InnerEye's definitions)."""
import torch
import torch.nn.functional as F


def focal(x, y, gamma, w=None):
    lp = torch.log_softmax(x, 1)
    lpy = lp.gather(1, y.long().unsqueeze(1)).squeeze(1)
    wy = torch.ones_like(lpy) if w is None else w[y.long()]
    return (wy * (1 - lpy.exp()) ** gamma * -lpy).sum() / wy.sum()


def soft_dice(x, y, w=None, eps=1e-10):
    p = torch.softmax(x, 1)
    t = F.one_hot(y.long(), x.shape[1]).movedim(-1, 1).to(x.dtype)
    axes = tuple(range(2, x.dim()))

    def over_voxels(v):  # torch's sum over an empty dim tuple would sum everything
        return v.sum(axes) if axes else v

    inter = over_voxels(p * t + eps)
    s = over_voxels(p * p + eps) + over_voxels(t * t + eps)
    ratio = inter / s
    if w is None:
        return 1 - 2 * ratio.mean()
    return 1 - 2 * (ratio * w).sum() / (x.shape[0] * w.sum())


def _grad(fn, *inputs):
    leaves = [t.double().requires_grad_(True) for t in inputs]
    loss = fn(*leaves)
    loss.backward()
    return [loss] + [t.grad for t in leaves]


def generate(save):
    g = torch.Generator().manual_seed(40)
    out = {}
    # Classification [N, C] with i64 labels; segmentation [N, C, D, H, W] with i32 labels.
    out["cls_x"] = torch.randn(6, 5, generator=g) * 2
    out["cls_y"] = torch.randint(0, 5, (6,), generator=g)
    out["cls_w"] = torch.rand(5, generator=g) + 0.5
    out["seg_x"] = torch.randn(2, 3, 3, 4, 5, generator=g) * 2
    out["seg_y"] = torch.randint(0, 3, (2, 3, 4, 5), generator=g).int()
    out["seg_w"] = torch.tensor([0.2, 1.0, 2.5])
    # Item 1 has no voxel of class 2, so the eps terms matter for that class.
    out["seg_y"][1][out["seg_y"][1] == 2] = 1
    cases = {
        "cls": ("cls_x", "cls_y", "cls_w"),
        "seg": ("seg_x", "seg_y", "seg_w"),
    }
    for name, (xk, yk, wk) in cases.items():
        x, y, w = out[xk], out[yk], out[wk].double()
        yl = y.long()
        for tag, fn in {
            "ce": lambda a: F.cross_entropy(a, yl),
            "ce_w": lambda a: F.cross_entropy(a, yl, weight=w),
            "ce_ls": lambda a: F.cross_entropy(a, yl, label_smoothing=0.1),
            "ce_w_ls": lambda a: F.cross_entropy(a, yl, weight=w, label_smoothing=0.2),
            "focal": lambda a: focal(a, y, 2.0),
            "focal_w": lambda a: focal(a, y, 0.5, w),
            "dice": lambda a: soft_dice(a, y),
            "dice_w": lambda a: soft_dice(a, y, w),
        }.items():
            loss, gx = _grad(fn, x)
            out[f"{name}_{tag}"] = loss.reshape(())
            out[f"{name}_{tag}_grad"] = gx

    # Multi-label BCE over [N, C] with pos_weight [C], and the regression losses.
    bx = torch.randn(4, 3, 5, generator=g) * 3
    bt = torch.rand(4, 3, 5, generator=g)
    pw = torch.rand(5, generator=g) * 3
    out.update({"bce_x": bx, "bce_t": bt, "pos_weight": pw})
    for tag, fn in {
        "bce": lambda a, b: F.binary_cross_entropy_with_logits(a, b),
        "bce_pw": lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw.double()),
        "mse": F.mse_loss,
        "l1": F.l1_loss,
    }.items():
        loss, ga, gb = _grad(fn, bx, bt)
        out[tag] = loss.reshape(())
        out[tag + "_ga"] = ga
        out[tag + "_gb"] = gb
    save("loss.safetensors", out)
