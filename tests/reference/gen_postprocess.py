"""Golden values for core/inference's post-processing (tests/unit/test_postprocess.c).

The reference is scipy.ndimage (label, gaussian_filter) and numpy restatements of
InnerEye-DeepLearning's image_util functions: apply_mask_to_posteriors,
posteriors_to_segmentation, gaussian_smooth_posteriors, apply_summed_probability_rules,
extract_largest_foreground_connected_component and apply_slice_exclusion_rules, applied in
the order of InnerEye's inference pipeline."""
import numpy as np
import torch
from scipy import ndimage

STRUCT = {6: ndimage.generate_binary_structure(3, 1), 26: ndimage.generate_binary_structure(3, 3)}


def _blobs(rng, shape, sigma, quantile):
    """A binary volume of random blobs: thresholded smoothed noise."""
    smooth = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return smooth > np.quantile(smooth, quantile)


def _posteriors(rng, k, shape):
    p = rng.random((k,) + shape) ** 3
    return (p / p.sum(0, keepdims=True)).astype(np.float32)


def mask_posteriors(post, mask):
    post = post.copy()
    for c in range(post.shape[0]):
        post[c][mask == 0] = 1.0 if c == 0 else 0.0
    return post


def smooth(post, sigma_vox):
    return np.stack([ndimage.gaussian_filter(p, sigma=sigma_vox) for p in post]).astype(np.float32)


def summed_rules(post, seg, rules):
    """InnerEye's rule with class indices: voxels labelled `external` whose external
    posterior is below first + second take the likelier of first and second."""
    seg = seg.copy()
    for first, second, external in rules:
        both = post[first] + post[second]  # float32, as InnerEye
        replace = (seg == external) & (post[external] < both)
        seg[replace & (post[first] >= post[second])] = first
        seg[replace & (post[first] < post[second])] = second
    return seg


def largest_components(seg, restrictions, connectivity):
    """InnerEye's largest-component rule per (class, threshold or None)."""
    result = seg.copy()
    for c, limit in restrictions:
        fg = result == c
        if not fg.any():
            continue
        lab, _ = ndimage.label(fg, structure=STRUCT[connectivity])
        sizes = np.bincount(lab.ravel())
        sizes[0] = 0
        keep = []
        if limit is not None and limit < 0.5:
            threshold = limit * np.sum(sizes)
            keep = [i for i, s in enumerate(sizes) if s >= threshold]
        if not keep:
            keep = [int(np.argmax(sizes))]
        survivors = np.isin(lab, keep)
        result[fg & ~survivors] = 0
    return result


def slice_rules(seg, rules):
    """InnerEye's slice exclusion with class indices, slices along axis 0."""
    seg = seg.copy()
    for higher, lower, higher_dominates in rules:
        hz = np.nonzero(np.any(seg == higher, axis=(1, 2)))[0]
        lz = np.nonzero(np.any(seg == lower, axis=(1, 2)))[0]
        if len(hz) and len(lz) and hz[0] <= lz[-1]:
            region = seg[hz[0]:lz[-1] + 1]
            dominant, replaced = (higher, lower) if higher_dominates else (lower, higher)
            region[region == replaced] = dominant
    return seg


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def generate(save):
    rng = np.random.default_rng(20261126)
    out = {}

    # Connected components of random blobs, both connectivities.
    blobs = _blobs(rng, (16, 20, 16), 0.8, 0.8)
    out["blobs"] = t(blobs.astype(np.uint8))
    for conn in (6, 26):
        lab, n = ndimage.label(blobs, structure=STRUCT[conn])
        out[f"blobs_labels{conn}"] = t(lab.astype(np.int32))
        out[f"blobs_count{conn}"] = t(np.array([n], dtype=np.int32))

    # Largest components on a 4-class map: class 1 only the largest, class 2
    # components with >= 20% of its voxels, class 3 with limit 0.5 (= largest).
    seg = np.zeros((18, 22, 20), dtype=np.uint8)
    for c in (1, 2, 3):
        seg[_blobs(rng, seg.shape, 1.0, 0.8) & (seg == 0)] = c
    out["lcc_input"] = t(seg)
    restrictions = [(1, None), (2, 0.2), (3, 0.5)]
    for conn in (6, 26):
        out[f"lcc_expected{conn}"] = t(largest_components(seg, restrictions, conn))

    # Smoothing: an axis shorter than the kernel radius (reflections repeat).
    post = _posteriors(rng, 2, (6, 16, 13))
    out["smooth_input"] = t(post)
    out["smooth_sigma_a"] = t(np.array([2.5, 1.2, 0.7], dtype=np.float32))
    out["smooth_expected_a"] = t(smooth(post, (2.5, 1.2, 0.7)))
    out["smooth_sigma_b"] = t(np.array([0.0, 1.0, 0.0], dtype=np.float32))
    out["smooth_expected_b"] = t(smooth(post, (0.0, 1.0, 0.0)))

    # Summed probability and slice exclusion rules.
    post = _posteriors(rng, 4, (8, 9, 10))
    seg = post.argmax(0).astype(np.uint8)
    out["rules_post"] = t(post)
    out["summed_expected"] = t(summed_rules(post, seg, [(1, 2, 0), (3, 1, 2)]))
    out["slice_expected"] = t(slice_rules(seg, [(1, 2, True), (3, 1, False)]))

    # The whole chain in InnerEye's order: mask, argmax, smoothing (mm -> voxels)
    # and argmax, summed rules, largest components, slice rules.
    shape = (8, 14, 12)
    post = _posteriors(rng, 3, shape)
    post[1, :3] *= 0.1  # class 1 keeps to the upper slices, so the slice rule spares some of class 2
    post /= post.sum(0, keepdims=True)
    mask = _blobs(rng, shape, 2.0, 0.3).astype(np.uint8)
    spacing = np.array([2.0, 0.8, 1.1])
    smoothing_mm = np.array([3.0, 1.0, 1.5])
    out["chain_post"] = t(post)
    out["chain_mask"] = t(mask)
    p = smooth(mask_posteriors(post, mask), smoothing_mm / spacing)
    seg = p.argmax(0).astype(np.uint8)
    seg = summed_rules(p, seg, [(1, 2, 0)])
    seg = largest_components(seg, [(1, None), (2, 0.3)], 6)
    seg = slice_rules(seg, [(1, 2, True)])
    out["chain_expected_post"] = t(p)
    out["chain_expected_seg"] = t(seg)
    save("postprocess.safetensors", out)
