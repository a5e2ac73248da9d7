"""Golden values for the transformer-era SDK ops (tests/unit/test_sdkops.c):
matmul (2-D, batched, shared right operand) with both gradients, GELU (erf
and tanh forms), SiLU, layer norm,
permute, embedding and attention with their gradients."""
import torch
import torch.nn.functional as F


def generate(save):
    g = torch.Generator().manual_seed(14)
    t = {}
    # matmul: batched [2, 3, 4, 5] x [2, 3, 5, 6]; shared [2, 3, 4, 5] x [5, 6]; 2-D [7, 9] x [9, 4]
    pairs = {
        "bmm": ((2, 3, 4, 5), (2, 3, 5, 6)),
        "shared": ((2, 3, 4, 5), (5, 6)),
        "mm": ((7, 9), (9, 4)),
    }
    for name, (sa, sb) in pairs.items():
        a = torch.randn(*sa, generator=g, requires_grad=True)
        b = torch.randn(*sb, generator=g, requires_grad=True)
        y = torch.matmul(a, b)
        r = torch.randn(*y.shape, generator=g)
        (y * r).sum().backward()
        t.update({name + "_a": a.detach(), name + "_b": b.detach(), name + "_r": r, name + "_y": y.detach(),
                  name + "_ga": a.grad, name + "_gb": b.grad})
    x = (torch.randn(3, 4, 50, generator=g) * 3).requires_grad_(True)
    r = torch.randn(3, 4, 50, generator=g)
    t["act_x"], t["act_r"] = x.detach(), r
    for name, fn in {"gelu": lambda v: F.gelu(v), "gelu_tanh": lambda v: F.gelu(v, approximate="tanh"),
                     "silu": F.silu}.items():
        x.grad = None
        y = fn(x)
        (y * r).sum().backward()
        t[name] = y.detach()
        t[name + "_grad"] = x.grad.clone()
    generate_layer_norm(t, g)
    generate_permute_embedding(t, g)
    generate_attention(t, g)
    save("sdkops.safetensors", t)


def generate_layer_norm(t, g):
    """layer_norm over the last 2 dimensions (affine) and the last 1 (plain)."""
    x = (torch.randn(3, 5, 4, 6, generator=g) * 2 + 1).requires_grad_(True)
    w = (torch.rand(4, 6, generator=g) + 0.5).requires_grad_(True)
    b = torch.randn(4, 6, generator=g).requires_grad_(True)
    r = torch.randn(3, 5, 4, 6, generator=g)
    y = F.layer_norm(x, (4, 6), w, b, 1e-5)
    (y * r).sum().backward()
    t.update({"ln_x": x.detach(), "ln_w": w.detach(), "ln_b": b.detach(), "ln_r": r, "ln_y": y.detach(),
              "ln_gx": x.grad.clone(), "ln_gw": w.grad, "ln_gb": b.grad})
    x.grad = None
    y = F.layer_norm(x, (6,), None, None, 1e-5)
    (y * r).sum().backward()
    t.update({"ln1_y": y.detach(), "ln1_gx": x.grad.clone()})


def generate_permute_embedding(t, g):
    """permute (and its gradient, the inverse permutation) and embedding with
    repeated indices (the table gradient sums them)."""
    x = torch.randn(2, 3, 4, 5, generator=g).requires_grad_(True)
    y = x.permute(2, 0, 3, 1)
    r = torch.randn(*y.shape, generator=g)
    (y * r).sum().backward()
    t.update({"perm_x": x.detach(), "perm_y": y.detach().contiguous(), "perm_r": r, "perm_gx": x.grad})
    table = torch.randn(10, 6, generator=g).requires_grad_(True)
    idx = torch.randint(0, 10, (4, 7), generator=g)
    y = F.embedding(idx, table)
    r = torch.randn(*y.shape, generator=g)
    (y * r).sum().backward()
    t.update({"emb_table": table.detach(), "emb_idx": idx, "emb_y": y.detach(), "emb_r": r,
              "emb_gt": table.grad})


def generate_attention(t, g):
    """Attention written out (torch 1.13 has no scaled_dot_product_attention):
    softmax(q k^T / sqrt(d) + causal mask) v, [batch, heads, L, d]."""
    q = torch.randn(2, 3, 9, 8, generator=g).requires_grad_(True)
    k = torch.randn(2, 3, 11, 8, generator=g).requires_grad_(True)
    v = torch.randn(2, 3, 11, 8, generator=g).requires_grad_(True)
    r = torch.randn(2, 3, 9, 8, generator=g)
    t.update({"att_q": q.detach(), "att_k": k.detach(), "att_v": v.detach(), "att_r": r})
    for causal in (False, True):
        for x in (q, k, v):
            x.grad = None
        s = q @ k.transpose(-1, -2) / 8 ** 0.5
        if causal:
            s = s.masked_fill(torch.ones(9, 11, dtype=torch.bool).triu(1), float("-inf"))
        y = torch.softmax(s, -1) @ v
        (y * r).sum().backward()
        p = "attc_" if causal else "att_"
        t.update({p + "y": y.detach(), p + "gq": q.grad.clone(), p + "gk": k.grad.clone(), p + "gv": v.grad.clone()})
