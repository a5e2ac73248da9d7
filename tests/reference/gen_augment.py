"""Expected augmentations (tests/unit/test_augment_reference.c) from numpy and
scipy.ndimage, restating nnU-Net's (batchgenerators') transforms with the
parameters a draw would carry, so that each C transform is checked against
an independent implementation.

The input is a [C, D, H, W] = [2, 9, 10, 11] float32 image (and a [9, 10,
11] label map for the affine case); each case writes the expected image
after one transform with the parameters below (the C test sets the same
ones, keep the two in step):

  blur        sigma 0.7 (channel 0) and 1.0 (channel 1):
              scipy.ndimage.gaussian_filter(truncate=4, mode="reflect")
  brightness  multipliers 0.8 and 1.2
  contrast    factors 0.75 and 1.2, clipped to each channel's former range
  lowres      zooms 0.5 (9 x 10 x 11 -> 4 x 5 x 6 with numpy's round half to
              even) and 0.77 (7 x 8 x 8): map_coordinates order 0 down and
              order 1 back, both mode "nearest", at skimage's resize grid
              (i + 0.5) * n_in / n_out - 0.5
  gamma_inv   gammas 0.8 and 1.3 of -x, stats retained, negated back
  gamma       gammas 1.4 and 0.75, stats retained
  affine      a rotation (20, -10, 35 degrees about D, H, W) over a zoom of
              1.15, window 7 x 12 x 9 at corner (1, -2, 3) (partly outside):
              scipy.ndimage.affine_transform, order 1 mode "grid-constant"
              (trilinear, zero outside) for the image, order 0 for labels
  elastic     batchgenerators' elastic_deform_coordinates on the same window:
              per axis uniform noise in [-1, 1] (float32 values), smoothed by
              gaussian_filter(sigma 2, mode "constant", truncate 4) times
              alpha 60 (elastic_field, stored as float32); then the affine
              above applied to the displaced output coordinates, through
              map_coordinates (order 1 / 0, mode "grid-constant") at
              corner + c + M (p - c + field(p)), c = (size - 1) / 2
  elastic2d   in-plane only (axes H, W; nnU-Net's dummy 2D): noise on the
              (1, 12, 9) grid smoothed in 2-D (sigma 1.5, alpha 20), the same
              field for every slice, no displacement along D, identity matrix

Everything is computed in float64 and stored as float32; the matrix is
stored bit for bit as int64 (the fixture writer has no F64)."""
import numpy as np
import torch
from scipy import ndimage

SHAPE = (2, 9, 10, 11)


def _gamma(x, gamma, invert):
    """batchgenerators' augment_gamma with retain_stats=True."""
    x = -x if invert else x
    mean, sd = x.mean(), x.std()
    mn, rng = x.min(), x.max() - x.min()
    y = np.power((x - mn) / (rng + 1e-7), gamma) * rng + mn
    scale = sd / (y.std() + 1e-8)
    assert scale <= 4, "the gamma tolerance in the C test assumes the std is restored by a factor <= 4"
    y = (y - y.mean()) * scale + mean
    return -y if invert else y


def _contrast(x, factor):
    """batchgenerators' augment_contrast, preserve_range=True."""
    mean = x.mean()
    return np.clip((x - mean) * factor + mean, x.min(), x.max())


def _resize_grid(n_in, n_out):
    return (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5


def _lowres(x, zoom):
    small = [max(1, int(np.round(n * zoom))) for n in x.shape]
    down = ndimage.map_coordinates(x, np.meshgrid(*[_resize_grid(n, m) for n, m in zip(x.shape, small)],
                                                  indexing="ij"), order=0, mode="nearest")
    return ndimage.map_coordinates(down, np.meshgrid(*[_resize_grid(m, n) for n, m in zip(x.shape, small)],
                                                     indexing="ij"), order=1, mode="nearest")


def _rotation(axis, angle):
    a, b = (axis + 1) % 3, (axis + 2) % 3
    m = np.eye(3)
    m[a, a] = m[b, b] = np.cos(angle)
    m[a, b], m[b, a] = -np.sin(angle), np.sin(angle)
    return m


def generate(save):
    rng = np.random.default_rng(18)
    image = (rng.normal(0, 1, SHAPE) * np.array([20.0, 3.0])[:, None, None, None] +
             np.array([50.0, -4.0])[:, None, None, None]).astype(np.float32)
    labels = rng.integers(0, 4, SHAPE[1:]).astype(np.int64)
    x = image.astype(np.float64)
    out = {"image": torch.from_numpy(image), "labels": torch.from_numpy(labels)}

    def put(name, channels):
        out[name] = torch.from_numpy(np.stack(channels).astype(np.float32))

    put("blur", [ndimage.gaussian_filter(x[c], s, mode="reflect", truncate=4.0) for c, s in enumerate((0.7, 1.0))])
    put("brightness", [x[c] * m for c, m in enumerate((0.8, 1.2))])
    put("contrast", [_contrast(x[c], f) for c, f in enumerate((0.75, 1.2))])
    put("lowres", [_lowres(x[c], z) for c, z in enumerate((0.5, 0.77))])
    put("gamma_inv", [_gamma(x[c], g, True) for c, g in enumerate((0.8, 1.3))])
    put("gamma", [_gamma(x[c], g, False) for c, g in enumerate((1.4, 0.75))])

    # output p -> input offset + c + M (p - c), c = (size - 1) / 2 (augment.h)
    m = np.eye(3)
    for axis, deg in enumerate((20.0, -10.0, 35.0)):
        m = m @ _rotation(axis, np.deg2rad(deg))
    m = m / 1.15
    size, corner = np.array([7, 12, 9]), np.array([1.0, -2.0, 3.0])
    centre = (size - 1) / 2
    shift = corner + centre - m @ centre
    points = np.einsum("ij,jdhw->idhw", m, np.indices(size).astype(np.float64)) + shift[:, None, None, None]
    frac = np.abs(points - np.floor(points) - 0.5)
    assert frac.min() > 1e-6, "a label sample lies on a rounding tie; nearest-neighbour conventions would differ"
    put("affine", [ndimage.affine_transform(x[c], m, offset=shift, output_shape=tuple(size), order=1,
                                            mode="grid-constant", cval=0.0) for c in range(SHAPE[0])])
    out["affine_labels"] = torch.from_numpy(ndimage.affine_transform(labels, m, offset=shift, output_shape=tuple(size),
                                                                     order=0, mode="grid-constant", cval=0))
    out["affine_matrix"] = torch.from_numpy(m.reshape(-1).copy()).view(torch.int64)

    def warp(matrix, field, name):
        points = (np.indices(size).astype(np.float64) - centre[:, None, None, None]) + field
        points = np.einsum("ij,jdhw->idhw", matrix, points) + (corner + centre)[:, None, None, None]
        frac = np.abs(points - np.floor(points) - 0.5)
        assert frac.min() > 1e-6, "an elastic label sample lies on a rounding tie"
        put(name, [ndimage.map_coordinates(x[c], points, order=1, mode="grid-constant", cval=0.0)
                   for c in range(SHAPE[0])])
        out[name + "_labels"] = torch.from_numpy(ndimage.map_coordinates(labels, points, order=0,
                                                                         mode="grid-constant", cval=0))

    noise = (rng.uniform(0, 1, (3, *size)).astype(np.float32) * 2 - 1).astype(np.float32)
    field = np.stack([ndimage.gaussian_filter(noise[a].astype(np.float64), 2.0, mode="constant", truncate=4.0) * 60.0
                      for a in range(3)]).astype(np.float32)
    out["elastic_noise"], out["elastic_field"] = torch.from_numpy(noise), torch.from_numpy(field)
    warp(m, field.astype(np.float64), "elastic")

    noise2 = (rng.uniform(0, 1, (2, 1, size[1], size[2])).astype(np.float32) * 2 - 1).astype(np.float32)
    field2 = np.stack([ndimage.gaussian_filter(noise2[a, 0].astype(np.float64), 1.5, mode="constant", truncate=4.0)
                       * 20.0 for a in range(2)])[:, None].astype(np.float32)
    out["elastic2d_noise"], out["elastic2d_field"] = torch.from_numpy(noise2), torch.from_numpy(field2)
    full = np.zeros((3, *size))
    full[1:] = np.broadcast_to(field2.astype(np.float64), (2, *size))
    warp(np.eye(3), full, "elastic2d")
    save("augment.safetensors", out)
