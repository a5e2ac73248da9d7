"""Expected segmentation metrics for tests/unit/test_seg_metrics.c, computed
with scipy (python3-scipy), independently of the C code.

The reference is MedPy's formulation (medpy.metric.binary), restated here:
  surface of a mask   M ^ binary_erosion(M, 6-connected cross), with scipy's
                      default border_value=0, so a mask voxel on the volume
                      border is a surface voxel;
  directed distances  distance_transform_edt(~surface(B), sampling=spacing)
                      read at the surface voxels of A (exact Euclidean, mm);
  Hausdorff           max over both directed sets;
  HD95                numpy.percentile(hstack(d(P->T), d(T->P)), 95) (MedPy's
                      hd95: the union of both directed sets, linear
                      interpolation);
  mean distance       InnerEye's surface_distance(): the mean of the union
                      (sum of both sets / number of both), not MedPy's assd
                      (mean of the two directed means);
  Dice                2|P & T| / (|P| + |T|);
  InnerEye's rules    both masks empty -> NaN for all four; exactly one empty
                      -> Dice 0 and the three distances +inf.

Writes fixtures/seg_metrics.safetensors (uint8 label maps `<input>.pred` and
`<input>.truth`, tensor order [D, H, W] = z, y, x, or [H, W] for 2-D) and
fixtures/seg_metrics_expected.csv (one row per case and foreground class,
values as %.17g).  Inputs:
  innereye_*        the cases of InnerEye-DeepLearning's Tests/ML/test_metrics.py
                    (anisotropic spacing (z, y, x) = (1, 2, 3) where HD = mean
                    = 6 mm; all-empty and one-empty masks; Dice 1, 2/3, 1/2);
  hippocampus_NNN   two real label maps from ../shared/data/hippocampus (read with
                    nibabel), the 'prediction' made by shifting, eroding and
                    dilating the true map; both cropped to the bounding box of
                    their union plus one voxel, which leaves every metric
                    unchanged (no mask voxel touches the crop border);
  blobs_*           random multi-label blobs (thresholded smoothed noise) that
                    touch the volume border, with anisotropic spacing, 3-D,
                    a single-slice 3-D volume and a 2-D image.
Skipped (the committed files stay) when ../shared/data is absent."""
import csv
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "hippocampus"))
HIPPOCAMPUS_CASES = ["hippocampus_001", "hippocampus_004"]
COLUMNS = ["case", "input", "spacing_x", "spacing_y", "spacing_z", "class",
           "Dice", "HausdorffDistance_mm", "HD95_mm", "MeanDistance_mm"]


def surface(mask):
    from scipy.ndimage import binary_erosion, generate_binary_structure
    cross = generate_binary_structure(mask.ndim, 1)
    return mask ^ binary_erosion(mask, structure=cross, iterations=1)


def metrics(pred, truth, spacing_axes):
    """Dice, Hausdorff, HD95, mean distance of two boolean masks; spacing per
    array axis (z, y, x order for 3-D)."""
    from scipy.ndimage import distance_transform_edt
    p_any, t_any = bool(pred.any()), bool(truth.any())
    if not p_any and not t_any:
        return [math.nan] * 4
    dice = 2.0 * np.logical_and(pred, truth).sum() / (pred.sum() + truth.sum())
    if p_any != t_any:
        return [dice, math.inf, math.inf, math.inf]
    sp, st = surface(pred), surface(truth)
    d_pt = distance_transform_edt(~st, sampling=spacing_axes)[sp]
    d_tp = distance_transform_edt(~sp, sampling=spacing_axes)[st]
    both = np.hstack((d_pt, d_tp))
    return [dice, both.max(), np.percentile(both, 95), math.fsum(both) / both.size]


def shift(a, offsets):
    """a shifted by whole voxels along each axis, zero-filled."""
    out = np.zeros_like(a)
    src = tuple(slice(max(0, -o), a.shape[i] - max(0, o)) for i, o in enumerate(offsets))
    dst = tuple(slice(max(0, o), a.shape[i] - max(0, -o)) for i, o in enumerate(offsets))
    out[dst] = a[src]
    return out


def crop_union(pred, truth, margin=1):
    nz = np.argwhere((pred > 0) | (truth > 0))
    lo = np.maximum(nz.min(0) - margin, 0)
    hi = np.minimum(nz.max(0) + 1 + margin, pred.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    return pred[box], truth[box]


def hippocampus_inputs():
    import nibabel as nib
    from scipy.ndimage import binary_dilation, binary_erosion
    out = []
    for k, name in enumerate(HIPPOCAMPUS_CASES):
        img = nib.load(os.path.join(DATA, "labels", name + ".nii.gz"))
        truth = np.asarray(img.dataobj).astype(np.uint8).transpose(2, 1, 0)  # nibabel [x,y,z] -> [z,y,x]
        spacing_xyz = [float(np.float32(s)) for s in img.header.get_zooms()[:3]]
        # A plausible imperfect prediction, different for each case: shifted;
        # anterior eroded (case 0) or dilated (case 1); posterior dilated; in
        # case 1 the anterior voxels with x < W/2 missed.
        pred = shift(truth, [(0, 1, -1), (-1, 1, 0)][k])
        anterior = binary_erosion(pred == 1) if k == 0 else binary_dilation(pred == 1) & (pred != 2)
        posterior = binary_dilation(pred == 2, iterations=1 + k) & ~anterior
        pred = np.where(anterior, 1, np.where(posterior, 2, 0)).astype(np.uint8)
        if k == 1:
            lower = pred[:, :, : pred.shape[2] // 2]
            lower[lower == 1] = 0
        pred, truth = crop_union(pred, truth)
        out.append((name, pred, truth, spacing_xyz, 2))
    return out


def innereye_inputs():
    out = []
    # test_calculate_hd_exact: voxel_spacing (z, y, x) = (1, 2, 3); HD = mean distance = 6.
    truth = np.array([[[1, 0, 0], [1, 0, 0], [1, 0, 0]]], dtype=np.uint8)
    pred = np.array([[[0, 0, 1], [0, 0, 1], [0, 0, 1]]], dtype=np.uint8)
    out.append(("innereye_hd_exact", pred, truth, [3.0, 2.0, 1.0], 1))
    # test_calculate_dice2: one z slice, rows repeated; Dice 1, 2/3, 1/2.
    gt = np.repeat(np.array([[[0, 0, 1]]]), 3, 1).astype(np.uint8)
    for tag, row in (("same", [0, 0, 1]), ("two_thirds", [1, 0, 1]), ("half", [1, 1, 1])):
        out.append(("innereye_dice2_" + tag, np.repeat(np.array([[row]]), 3, 1).astype(np.uint8), gt,
                    [1.0, 1.0, 1.0], 1))
    # test_calculate_dice1 / test_calculate_hd: all-zero and all-one volumes.
    zero, one = np.zeros((3, 3, 3), np.uint8), np.ones((3, 3, 3), np.uint8)
    out.append(("innereye_both_empty", zero, zero, [1.0, 1.0, 1.0], 1))
    out.append(("innereye_pred_empty", zero, one, [1.0, 1.0, 1.0], 1))
    out.append(("innereye_truth_empty", one, zero, [1.0, 1.0, 1.0], 1))
    out.append(("innereye_all_one", one, one, [1.0, 1.0, 1.0], 1))
    # test_calculate_hd: random (10, 5, 2) masks, with 1 mm and 2 mm spacing.
    rng = np.random.RandomState(0)
    a = np.round(rng.uniform(size=(10, 5, 2))).astype(np.uint8)
    b = np.round(rng.uniform(size=(10, 5, 2))).astype(np.uint8)
    out.append(("innereye_random", a, b, [1.0, 1.0, 1.0], 1))
    return out


def blob_labels(rng, shape, n_labels, sigma):
    from scipy.ndimage import gaussian_filter
    field = gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="wrap")
    edges = np.quantile(field, np.linspace(0.35, 1.0, n_labels + 1)[:-1])
    return np.searchsorted(edges, field, side="right").astype(np.uint8)  # 0 below the first edge


def blob_inputs():
    rng = np.random.RandomState(1234)
    out = []
    for tag, shape, spacing_xyz, n in (("3d", (9, 14, 11), [0.7, 1.3, 2.5], 3),
                                       ("3d_fine", (16, 12, 13), [0.45, 0.45, 1.75], 2),
                                       ("slice", (1, 16, 13), [1.1, 0.6, 3.0], 2),
                                       ("2d", (17, 12), [0.9, 1.6, 1.0], 3)):
        truth = blob_labels(rng, shape, n, 1.6)
        pred = truth.copy()
        flip = rng.uniform(size=shape) < 0.08
        pred[flip] = rng.randint(0, n + 1, size=int(flip.sum()))
        if tag == "3d":
            pred[pred == 3] = 0  # class 3 missed entirely: Dice 0, distances inf
        if tag == "3d_fine":
            n += 1  # class 3 in neither map: NaN
        out.append(("blobs_" + tag, pred, truth, spacing_xyz, n))
    return out


def generate(save):
    if not os.path.isdir(DATA):
        print("gen_seg_metrics: %s not found, keeping the committed fixtures" % DATA)
        return
    import torch
    tensors, rows = {}, []
    cases = innereye_inputs() + hippocampus_inputs() + blob_inputs()
    for name, pred, truth, spacing_xyz, n_classes in cases:
        tensors[name + ".pred"] = torch.from_numpy(np.ascontiguousarray(pred))
        tensors[name + ".truth"] = torch.from_numpy(np.ascontiguousarray(truth))
        variants = [(name, spacing_xyz)]
        if name == HIPPOCAMPUS_CASES[0]:  # the real map on an anisotropic grid as well
            variants.append((name + "_anisotropic", [0.8, 1.0, 1.5]))
        if name == "innereye_random":  # InnerEye checks that the spacing changes the result
            variants.append((name + "_2mm", [2.0, 2.0, 2.0]))
        for case, sp in variants:
            axes = sp[::-1][3 - pred.ndim:]  # spacing per array axis: z, y, x (or y, x)
            for c in range(1, n_classes + 1):
                m = metrics(pred == c, truth == c, axes)
                rows.append([case, name, *("%.17g" % v for v in sp), c, *("%.17g" % v for v in m)])
    save("seg_metrics.safetensors", tensors)
    with open(os.path.join(HERE, "fixtures", "seg_metrics_expected.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)


if __name__ == "__main__":
    import sys
    sys.path.insert(0, HERE)
    import safetensors_io
    generate(lambda name, t: safetensors_io.save(os.path.join(HERE, "fixtures", name), t))
