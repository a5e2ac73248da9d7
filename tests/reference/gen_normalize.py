"""Expected photometric normalisations (tests/unit/test_normalize.c).

A numpy restatement of the formulas of InnerEye-DeepLearning's
photometric_normalization.py (CtWindow, MriWindow, TrimmedNorm, SimpleNorm)
and of scikit-image's threshold_otsu, written from their documented
behaviour: numpy.histogram with 256 bins over [min, max], the between-class
variance of every cut, numpy.percentile with method="midpoint", the robust
std (q75 - q25) / (2 * 0.67448975), and a linear map of the window onto the
output range, clipped.  Images are float32, as InnerEye loads them, so numpy
does the final map in float32.

Writes normalize.safetensors (synthetic volumes and their normalisations)
and, when ../shared/data/hippocampus exists, hippocampus_normalize.csv (the
thresholds and windows of real MR images; the test skips that part without
the data)."""
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data", "hippocampus")


def otsu(x):
    x = x.ravel()
    if np.all(x == x[0]):
        return x[0]
    counts, edges = np.histogram(x, bins=256)
    centres = (edges[:-1] + edges[1:]) / 2.0
    counts = counts.astype(float)
    w_low = np.cumsum(counts)
    w_high = np.cumsum(counts[::-1])[::-1]
    mean_low = np.cumsum(counts * centres) / w_low
    mean_high = (np.cumsum((counts * centres)[::-1]) / w_high[::-1])[::-1]
    between = w_low[:-1] * w_high[1:] * (mean_low[:-1] - mean_high[1:]) ** 2
    return centres[np.argmax(between)]


def robust_stats(v):
    q = np.percentile(v, (0, 25, 50, 75, 100), method="midpoint")
    return q[2], (q[3] - q[1]) / (2 * 0.67448975), q[0], q[4]


def linear(x, lo, hi, out):
    gradient = (out[1] - out[0]) / (hi - lo)
    offset = out[1] - gradient * hi
    return np.clip(x * gradient + offset, out[0], out[1])


def ct_window(x, level, width, out):
    return linear(x, level - width / 2, level + width / 2, out), (0.0, level - width / 2, level + width / 2)


def mri_window(x, sharpen, tail, out):
    t = otsu(x)
    level, std, _, top = robust_stats(x[x > t])
    lo = max(level - std * sharpen, t)
    hi = min(top, level + tail * std * sharpen)
    y = x.copy()
    y[y < t] = 0
    return linear(y, lo, hi, out), (float(t), lo, hi)


def trimmed(x, percentiles, sharpen, out):
    v = x.ravel().astype(float)
    lo_p, hi_p = np.percentile(v, percentiles, method="midpoint")
    median, std, mn, mx = robust_stats(v[(v > lo_p) & (v < hi_p)])
    lo = max(median - std * sharpen, mn)
    hi = min(median + std * sharpen, mx)
    return linear(x, lo, hi, out), (0.0, lo, hi)


def simple(x):
    v = x.astype(np.float64)
    return ((v - v.mean()) / max(v.std(), 1e-6)).astype(np.float32), (0.0, 0.0, 0.0)


def volumes(rng):
    shape = (10, 12, 14)
    n = int(np.prod(shape))
    ct = rng.normal(40, 300, n).astype(np.float32)
    ct[: n // 5] = -1000 + rng.normal(0, 5, n // 5)  # air
    # MR: dark background, two tissue peaks, a bright tail; integer values
    # like the hippocampus images (ties on histogram edges and percentiles).
    mr = np.concatenate([rng.normal(3, 2, n // 3), rng.normal(220, 30, n // 3),
                         rng.normal(480, 60, n - 2 * (n // 3) - 40), rng.uniform(900, 2500, 40)])
    mr_int = np.abs(np.round(mr)).astype(np.float32)
    rng.shuffle(mr_int)
    mr_frac = (np.abs(mr) * 1.37).astype(np.float32)
    rng.shuffle(mr_frac)
    return {k: v.reshape(shape) for k, v in {"ct": ct, "mr_int": mr_int, "mr_frac": mr_frac}.items()}


CASES = [  # name, input, function, parameters (level, window, sharpen, tail, p_lo, p_hi, out_lo, out_hi)
    ("ct_default", "ct", lambda x: ct_window(x, 50, 600, (-1.0, 1.0)), (50, 600, 0.9, 1, 1, 99, -1, 1)),
    ("ct_soft", "ct", lambda x: ct_window(x, 40, 400, (0.0, 255.0)), (40, 400, 0.9, 1, 1, 99, 0, 255)),
    ("mri_default", "mr_int", lambda x: mri_window(x, 0.9, 1.0, (-1.0, 1.0)), (50, 600, 0.9, 1, 1, 99, -1, 1)),
    ("mri_wide", "mr_int", lambda x: mri_window(x, 1.9, 1.5, (0.0, 1.0)), (50, 600, 1.9, 1.5, 1, 99, 0, 1)),
    ("mri_frac", "mr_frac", lambda x: mri_window(x, 0.9, 1.0, (-1.0, 1.0)), (50, 600, 0.9, 1, 1, 99, -1, 1)),
    ("trim_default", "mr_int", lambda x: trimmed(x, (1.0, 99.0), 0.9, (-1.0, 1.0)), (50, 600, 0.9, 1, 1, 99, -1, 1)),
    ("trim_wide", "mr_frac", lambda x: trimmed(x, (2.0, 98.0), 1.9, (0.0, 1.0)), (50, 600, 1.9, 1, 2, 98, 0, 1)),
    ("trim_ct", "ct", lambda x: trimmed(x, (5.0, 95.0), 2.5, (-1.0, 1.0)), (50, 600, 2.5, 1, 5, 95, -1, 1)),
    ("simple", "mr_frac", simple, (50, 600, 0.9, 1, 1, 99, -1, 1)),
]
METHODS = {"ct": 2, "mri": 3, "trim": 4, "simple": 1}  # ie_seg_norm values


def hippocampus_table():
    import nibabel as nib
    rows = ["case,otsu,mri_lo,mri_hi,trim_lo,trim_hi"]
    names = sorted(os.listdir(os.path.join(SHARED, "images")))[:12]
    for name in names:
        x = np.asarray(nib.load(os.path.join(SHARED, "images", name)).dataobj).astype(np.float32)
        _, (t, lo, hi) = mri_window(x.copy(), 0.9, 1.0, (-1.0, 1.0))
        _, (_, tlo, thi) = trimmed(x.copy(), (1.0, 99.0), 0.9, (-1.0, 1.0))
        rows.append(f"{name},{t!r},{lo!r},{hi!r},{tlo!r},{thi!r}")
    with open(os.path.join(HERE, "fixtures", "hippocampus_normalize.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def generate(save):
    vols = volumes(np.random.default_rng(20))
    tensors = {f"input.{k}": torch.from_numpy(v.copy()) for k, v in vols.items()}
    for name, source, fn, params in CASES:
        y, stats = fn(vols[source].copy())
        assert y.dtype == np.float32, name
        tensors[f"{name}.y"] = torch.from_numpy(np.ascontiguousarray(y))
        tensors[f"{name}.stats"] = torch.tensor(stats, dtype=torch.float64)
        tensors[f"{name}.params"] = torch.tensor(params, dtype=torch.float64)
        tensors[f"{name}.method"] = torch.tensor([METHODS[name.split("_")[0]]], dtype=torch.int64)
        tensors[f"{name}.source"] = torch.tensor([sorted(vols).index(source)], dtype=torch.int64)
    save("normalize.safetensors", tensors)
    if os.path.isdir(SHARED):
        hippocampus_table()
