#!/usr/bin/python3
"""Fashion-MNIST with the Classifier network of configs/fashion_mnist.json,
trained the same way in PyTorch, for comparison with `innereye train`
(docs/results.md).

Same data (Debian's dataset-fashion-mnist idx files: the first 55 000
training images train, the last 5 000 validate, the 10 000 test images test,
as `innereye dataset fashion-mnist` splits them), same per-image z-score
(SimpleNorm), same network (models/classifier/classifier_net.h: blocks of
conv3x3-BN-ReLU, 2x2 max-pool between blocks, global average pooling, MLP
head; the same parameter names), same optimiser (Adam), cosine schedule
stepped per epoch, batch size, epochs, and a shuffled order each epoch.
Only the random draws differ (initial weights and order come from torch's
generator).

    /usr/bin/python3 tools/bench/fashion_mnist_torch.py --threads 2 [--config configs/fashion_mnist.json]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_config(path):
    """The config with its `extends` chain applied (objects merged key by key)."""
    with open(path) as f:
        cfg = json.load(f)
    base = cfg.pop("extends", None)
    if not base:
        return cfg
    merged = load_config(os.path.join(os.path.dirname(path), base))

    def merge(a, b):
        for k, v in b.items():
            a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
        return a
    return merge(merged, cfg)


class Block(nn.Module):
    def __init__(self, cin, cout, convs):
        super().__init__()
        self.n = convs
        for j in range(convs):
            setattr(self, f"conv{j + 1}", nn.Conv2d(cin if j == 0 else cout, cout, 3, padding=1, bias=False))
            setattr(self, f"bn{j + 1}", nn.BatchNorm2d(cout))

    def forward(self, x):
        for j in range(self.n):
            x = F.relu(getattr(self, f"bn{j + 1}")(getattr(self, f"conv{j + 1}")(x)))
        return x


class Classifier(nn.Module):
    def __init__(self, widths, convs, hidden, outputs):
        super().__init__()
        cins = [1] + widths[:-1]
        self.encoder = nn.ModuleList(Block(a, b, convs) for a, b in zip(cins, widths))
        sizes = [widths[-1]] + hidden + [outputs]
        self.head = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for i, block in enumerate(self.encoder):
            x = block(x)
            if i + 1 < len(self.encoder):
                x = F.max_pool2d(x, 2)
        x = x.mean((2, 3))
        for i, layer in enumerate(self.head):
            x = layer(x)
            if i + 1 < len(self.head):
                x = F.relu(x)
        return x


def standardize(images):
    x = images.astype(np.float64).reshape(len(images), -1)
    mean = x.mean(1, keepdims=True)
    sd = np.maximum(x.std(1, keepdims=True), 1e-6)
    return torch.from_numpy(((x - mean) / sd).astype(np.float32).reshape(len(images), 1, 28, 28))


def accuracy(model, x, y, batch):
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            right += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return right / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(HERE, "..", "..", "configs", "fashion_mnist.json"))
    ap.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, help="override train.epochs")
    ap.add_argument("--val", type=int, default=5000, help="last N training images validate")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = load_config(args.config)
    p, tr = cfg["model"]["params"], cfg["train"]
    epochs = args.epochs or tr["epochs"]
    batch, lr = tr["batch_size"], tr["optimizer"]["lr"]
    assert tr["optimizer"]["kind"] == "adam" and tr.get("schedule", {}).get("kind", "constant") in ("cosine", "constant")
    cosine = tr.get("schedule", {}).get("kind") == "cosine"

    t0 = time.time()
    xtr = load_idx(os.path.join(args.source, "train-images-idx3-ubyte.gz"))
    ytr = load_idx(os.path.join(args.source, "train-labels-idx1-ubyte.gz"))
    xte = load_idx(os.path.join(args.source, "t10k-images-idx3-ubyte.gz"))
    yte = load_idx(os.path.join(args.source, "t10k-labels-idx1-ubyte.gz"))
    n = len(xtr) - args.val
    x_train, y_train = standardize(xtr[:n]), torch.from_numpy(ytr[:n].astype(np.int64))
    x_val, y_val = standardize(xtr[n:]), torch.from_numpy(ytr[n:].astype(np.int64))
    x_test, y_test = standardize(xte), torch.from_numpy(yte.astype(np.int64))
    print(f"data: {n} train, {args.val} val, {len(x_test)} test ({time.time() - t0:.1f} s)")

    model = Classifier(p.get("widths", [16, 32, 64]), p.get("convs_per_block", 1), p.get("hidden", [64]), 10)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs) if cosine else None
    start = time.time()
    for epoch in range(epochs):
        e0 = time.time()
        model.train()
        perm = torch.randperm(n)
        total, steps = 0.0, 0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        if sched:
            sched.step()
        val = accuracy(model, x_val, y_val, batch) if args.val else float("nan")
        print(f"epoch {epoch + 1}/{epochs}  train loss {total / steps:.4f}  val accuracy {val:.4f}  "
              f"({time.time() - e0:.1f} s)", flush=True)
    train_s = time.time() - start
    test = accuracy(model, x_test, y_test, batch)
    print(f"PyTorch {torch.__version__}, {args.threads} threads: {epochs} epochs in {train_s:.1f} s, "
          f"test accuracy {test:.4f}")


if __name__ == "__main__":
    main()
