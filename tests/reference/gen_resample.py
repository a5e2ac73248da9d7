"""Expected resamplings (tests/unit/test_resample.c), from SciPy instead of ITK.

The input is a [D, H, W] = (z, y, x) volume with spacing (x, y, z) =
(1, 1.5, 2.5) mm, resampled to (0.6, 2.4, 1.5) mm with the origin and
direction kept: output voxel k along an axis sits at input index
k * new / old.  scipy.ndimage.map_coordinates evaluates the input there,
order=1 (trilinear) for intensities and order=0 (nearest) for labels.  The
ratios 0.6 and 1.6 never put a point exactly halfway between two voxels
(where nearest-neighbour rounding conventions differ), and every point lies
within half a voxel of the input's voxel centres, where ITK interpolates
(clamping at the border) exactly as map_coordinates(mode="nearest")."""
import numpy as np
import torch
from scipy import ndimage

OLD = (1.0, 1.5, 2.5)  # x, y, z
NEW = (0.6, 2.4, 1.5)
SHAPE = (8, 10, 12)  # D, H, W


def generate(save):
    rng = np.random.default_rng(31)
    image = rng.normal(100, 40, SHAPE).astype(np.float32)
    labels = rng.integers(0, 5, SHAPE).astype(np.int64)
    out_shape = []
    coords_1d = []
    for axis in range(3):  # tensor axis 0 is z, 2 is x
        j = 2 - axis
        n = int(round(SHAPE[axis] * OLD[j] / NEW[j]))
        out_shape.append(n)
        coords_1d.append(np.arange(n) * (NEW[j] / OLD[j]))
    grid = np.meshgrid(*coords_1d, indexing="ij")
    linear = ndimage.map_coordinates(image.astype(np.float64), grid, order=1, mode="nearest")
    nearest = ndimage.map_coordinates(labels, grid, order=0, mode="nearest")
    save("resample.safetensors", {
        "image": torch.from_numpy(image),
        "labels": torch.from_numpy(labels),
        "linear": torch.from_numpy(linear.astype(np.float32)),
        "nearest": torch.from_numpy(nearest.astype(np.int64)),
    })
