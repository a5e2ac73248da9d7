"""Expected classification and regression metrics (tests/unit/test_scalar_metrics.c,
tests/cli/test_eval_scalar.sh), computed with scikit-learn (Debian python3-sklearn)
the way InnerEye-DeepLearning computes them (InnerEye/ML/metrics_dict.py and
utils/metrics_util.py), on generated prediction tables.

Writes fixtures/scalar_metrics/<case>_predictions.csv (the predictions table,
values with 17 significant digits so they parse back exactly) and
<case>_expected.csv (split,epoch,target,metric,value), plus
multiclass_confusion.csv.  Numbers come from numpy's seeded generator."""
import csv
import os

import numpy as np
from sklearn.metrics import (accuracy_score, auc, confusion_matrix, explained_variance_score, log_loss,
                             mean_absolute_error, mean_squared_error, precision_recall_curve, r2_score,
                             roc_auc_score, roc_curve)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "scalar_metrics")
MULTICLASS = "(multiclass)"


def binary_metrics(p, y):
    """InnerEye's MetricsDict for one hue: AUROC/AUPRC (1.0 when one class only),
    log_loss, accuracy at 0.5, and the values at the Youden-optimal ROC point."""
    m = {"subject_count": len(p)}
    single = len(np.unique(y)) == 1
    m["area_under_roc_curve"] = 1.0 if single else roc_auc_score(y, p)
    if single:
        m["area_under_pr_curve"] = 1.0
    else:
        precision, recall, _ = precision_recall_curve(y, p)
        m["area_under_pr_curve"] = auc(recall, precision)
    m["cross_entropy"] = log_loss(y, p, labels=[0, 1])
    m["accuracy_at_threshold_05"] = np.mean((p > 0.5) == (y > 0.5))
    if single:  # one of the rates is undefined: NaN (our convention)
        for k in ("optimal_threshold", "accuracy_at_optimal_threshold",
                  "false_positive_rate_at_optimal_threshold", "false_negative_rate_at_optimal_threshold"):
            m[k] = float("nan")
        return m
    fpr, tpr, thr = roc_curve(y, p)
    i = np.argmax(tpr - fpr)
    m["optimal_threshold"] = thr[i]
    m["accuracy_at_optimal_threshold"] = np.mean((p > thr[i]) == (y > 0.5))
    m["false_positive_rate_at_optimal_threshold"] = fpr[i]
    m["false_negative_rate_at_optimal_threshold"] = 1 - tpr[i]
    return m


def regression_metrics(p, y):
    return {"subject_count": len(p), "mean_squared_error": mean_squared_error(y, p),
            "mean_absolute_error": mean_absolute_error(y, p), "r2_score": r2_score(y, p),
            "explained_variance": explained_variance_score(y, p)}


def write_case(name, rows, expected, with_split=True):
    with open(os.path.join(OUT, name + "_predictions.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["subject", "target", "label", "prediction"] + (["split", "epoch"] if with_split else []))
        for r in rows:
            w.writerow([r[0], r[1], repr(float(r[2])), repr(float(r[3]))] + (list(r[4:]) if with_split else []))
    with open(os.path.join(OUT, name + "_expected.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["split", "epoch", "target", "metric", "value"])
        for split, epoch, target, metrics in expected:
            for k, v in metrics.items():
                w.writerow([split, epoch, target, k, repr(float(v))])


def group_rows(subjects, targets, labels, preds, split, epoch):
    return [(s, t, labels[i, j], preds[i, j], split, epoch)
            for i, s in enumerate(subjects) for j, t in enumerate(targets)]


def binary_cases(rng):
    # InnerEye's unit case (test_metrics_dict.py): AUPRC 0.7111111.
    p = np.array([0.5, 0.6, 0.1, 0.8, 0.2, 0.9])
    y = np.array([0, 1, 0, 0, 1, 1])
    write_case("innereye_unit", [(f"s{i}", "label", y[i], p[i]) for i in range(6)],
               [("all", "", "label", binary_metrics(p, y))], with_split=False)
    # Multi-label: three targets, two splits; predictions rounded so that ties
    # occur; one target of the val split has a single class.
    rows, expected = [], []
    for split, epoch, n in (("val", "7", 60), ("test", "7", 200)):
        subjects = [f"{split}_{i:03d}" for i in range(n)]
        score = rng.normal(size=(n, 3))
        y = (score + rng.normal(scale=1.0, size=(n, 3)) > 0.3).astype(float)
        p = np.round(1 / (1 + np.exp(-1.5 * score)), 2)
        p[:5, 1] = 0.0  # exact 0 and 1 exercise log_loss's clipping
        p[5:9, 1] = 1.0
        if split == "val":
            y[:, 2] = 0.0
        targets = ["Edema", "Effusion", "Nodule"]
        rows += group_rows(subjects, targets, y, p, split, epoch)
        for j, t in enumerate(targets):
            expected.append((split, epoch, t, binary_metrics(p[:, j], y[:, j])))
    write_case("multilabel", rows, expected)


def multiclass_case(rng):
    k, n = 5, 150
    classes = [f"class_{c}" for c in range(k)]
    truth = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[truth]
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    prob[3] = [0.3, 0.3, 0.2, 0.1, 0.1]  # a tie: the first largest class wins (numpy's argmax)
    onehot = np.eye(k)[truth]
    subjects = [f"img{i:04d}" for i in range(n)]
    rows = group_rows(subjects, classes, onehot, prob, "test", "3")
    expected = [("test", "3", c, binary_metrics(prob[:, j], onehot[:, j])) for j, c in enumerate(classes)]
    pred = prob.argmax(1)
    expected.append(("test", "3", MULTICLASS, {"subject_count": n, "accuracy": accuracy_score(truth, pred)}))
    write_case("multiclass", rows, expected)
    cm = confusion_matrix(truth, pred, labels=list(range(k)))
    with open(os.path.join(OUT, "multiclass_confusion.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["split", "epoch", "true_class", "predicted_class", "count"])
        for a in range(k):
            for b in range(k):
                w.writerow(["test", "3", classes[a], classes[b], int(cm[a, b])])


def regression_case(rng):
    n = 120
    subjects = [f"r{i:03d}" for i in range(n)]
    y = np.stack([rng.normal(3.5, 0.6, n), rng.uniform(-10, 10, n), np.full(n, 2.0)], 1)
    p = y + rng.normal(scale=[0.3, 4.0, 0.1], size=(n, 3))
    p[:, 1] += 1.0  # a bias: explained variance differs from R^2
    targets = ["volume_ml", "score", "constant"]
    rows = group_rows(subjects, targets, y, p, "test", "10")
    expected = [("test", "10", t, regression_metrics(p[:, j], y[:, j])) for j, t in enumerate(targets)]
    write_case("regression", rows, expected)


def generate(save=None):
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2024)
    binary_cases(rng)
    multiclass_case(rng)
    regression_case(rng)


if __name__ == "__main__":
    generate()
