"""Expected paired statistics of `innereye compare` (tests/unit/test_wilcoxon.c),
computed with scipy (Debian python3-scipy, 1.10): scipy.stats.wilcoxon with
zero_method="wilcox" and correction=True, and the mean difference with its
95% Student t interval (scipy.stats.t.ppf).

The method is the one core/metrics/wilcoxon.c chooses (exact for up to 50
non-zero differences without zeros or ties, else the normal approximation),
passed to scipy explicitly: scipy 1.10's "auto" would take "exact" with ties,
truncating half ranks.  Cases cover the exact distribution (including the
centre, p = 1, and all differences of one sign), ties, zero differences, both
at once, and large n.

Writes fixtures/wilcoxon.csv: case,method,n_nonzero,n_zero,statistic,p_value,
z,mean,ci_low,ci_high,differences (space-separated, 17 significant digits so
they parse back exactly).  Numbers come from numpy's seeded generator.
    /usr/bin/python3 tests/reference/gen_wilcoxon.py"""
import csv
import os

import numpy as np
from scipy import stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "wilcoxon.csv")


def method_of(d):
    nz = d[d != 0]
    ties = len(np.unique(np.abs(nz))) < len(nz)
    return "exact" if len(nz) <= 50 and len(nz) == len(d) and not ties else "approx"


def row(name, d):
    d = np.asarray(d, dtype=np.float64)
    method = method_of(d)
    res = stats.wilcoxon(d, zero_method="wilcox", correction=True, method=method)
    z = getattr(res, "zstatistic", float("nan")) if method == "approx" else float("nan")
    n = len(d)
    mean = d.mean()
    if n >= 2:
        half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)
        lo, hi = mean - half, mean + half
    else:
        lo = hi = float("nan")
    return [name, method, int(np.sum(d != 0)), int(np.sum(d == 0)), repr(float(res.statistic)),
            repr(float(res.pvalue)), repr(float(z)), repr(float(mean)), repr(float(lo)), repr(float(hi)),
            " ".join("%.17g" % v for v in d)]


def generate(save=None):
    rng = np.random.default_rng(15)
    cases = [
        ("exact_small", rng.normal(0.02, 0.05, 8)),
        ("exact_20", rng.normal(0.01, 0.03, 20)),
        ("exact_one_sign", np.abs(rng.normal(0, 1, 6)) + 0.1),
        ("exact_near_centre", np.array([1.0, -2.0, 3.0, -4.0, -5.0, 6.0, 7.0, -8.0])),  # W+ = 17, the centre 18
        ("exact_p_one", np.array([1.0, 2.0, -3.0, 4.0, -5.0])),  # W+ = 7 = 15 // 2: scipy's p = 1
        ("exact_50", rng.normal(0.0, 1.0, 50)),
        ("ties_no_zeros", np.array([0.5, -0.5, 1.0, 1.0, 1.0, -2.0, 3.0, 3.0, 4.0, -0.25, 5.0])),
        ("ties_rounded", np.round(rng.normal(0.01, 0.02, 15), 2)),
        ("zeros", np.where(rng.random(12) < 0.3, 0.0, rng.normal(0.0, 0.1, 12))),
        ("zeros_and_ties", np.round(rng.normal(0.0, 0.02, 30), 2)),
        ("dice_like_ties", np.array([0.01, -0.01, 0.02, 0.01, 0.0, 0.0, 0.03, -0.02, 0.01, 0.02, 0.04, -0.01])),
        ("large_80", rng.normal(-0.005, 0.02, 80)),
        ("large_ties_200", np.round(rng.normal(0.003, 0.01, 200), 3)),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "method", "n_nonzero", "n_zero", "statistic", "p_value", "z", "mean", "ci_low",
                    "ci_high", "differences"])
        for name, d in cases:
            w.writerow(row(name, d))
    # Student t quantiles (the interval's factor) at a few degrees of freedom.
    tq = OUT.replace("wilcoxon.csv", "student_t.csv")
    with open(tq, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["p", "df", "quantile"])
        for df in (1, 2, 3, 5, 9, 19, 30, 99, 1000):
            for p in (0.975, 0.995, 0.9):
                w.writerow([p, df, repr(float(stats.t.ppf(p, df)))])


if __name__ == "__main__":
    generate()
