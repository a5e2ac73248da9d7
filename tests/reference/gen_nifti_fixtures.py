"""Small NIfTI files written by nibabel (python3-nibabel), an independent
writer, for tests/unit/test_image_io.c:

nifti_oblique.nii.gz  int16 8x6x5, the oblique grid of gen_dicom_series.py
                      (LPS axes x = (0.6, 0.8, 0), y = (-0.48, 0.36, 0.8),
                      z = (0.64, -0.48, 0.6), spacing 0.7, 0.9, 2.5, origin
                      (-12.5, 30.25, 100)), stored as nibabel's RAS affine in
                      both qform and sform; voxel [k][r][c] = -1000 + 100k + 10r + c.
nifti_scaled.nii.gz   int16 4x3x2 with scl_slope 0.5, scl_inter -10: stored
                      s = 0..23 in x-fastest order, value 0.5 s - 10.
nifti_pair.hdr/.img   the same 24 values unscaled as a two-file NIfTI pair,
                      affine diag(2, 3, 4): spacing 2, 3, 4 mm, origin 0.
nifti2.nii.gz         the same as NIfTI-2, which ITK 5.2 cannot read.
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def generate(save):
    del save  # NIfTI, not safetensors
    import nibabel as nib
    out = os.path.join(HERE, "fixtures")
    os.makedirs(out, exist_ok=True)

    axes = np.array([[0.6, 0.8, 0.0], [-0.48, 0.36, 0.8], [0.64, -0.48, 0.6]]).T  # columns x, y, z (LPS)
    spacing = np.array([0.7, 0.9, 2.5])
    origin = np.array([-12.5, 30.25, 100.0])
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    affine = np.eye(4)
    affine[:3, :3] = lps_to_ras @ axes @ np.diag(spacing)
    affine[:3, 3] = lps_to_ras @ origin
    k, r, c = np.meshgrid(np.arange(5), np.arange(6), np.arange(8), indexing="ij")
    zyx = (-1000 + 100 * k + 10 * r + c).astype(np.int16)
    img = nib.Nifti1Image(np.ascontiguousarray(zyx.transpose(2, 1, 0)), affine)  # nibabel indexes [x, y, z]
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, os.path.join(out, "nifti_oblique.nii.gz"))

    stored = np.arange(24, dtype=np.int16).reshape(2, 3, 4).transpose(2, 1, 0)
    img = nib.Nifti1Image(np.ascontiguousarray(stored), np.eye(4))
    img.header.set_slope_inter(0.5, -10.0)
    img.set_qform(np.eye(4), code=1)
    nib.save(img, os.path.join(out, "nifti_scaled.nii.gz"))

    pair = nib.Nifti1Pair(np.ascontiguousarray(stored), np.diag([2.0, 3.0, 4.0, 1.0]))
    pair.set_qform(pair.affine, code=1)
    nib.save(pair, os.path.join(out, "nifti_pair.hdr"))

    nib.save(nib.Nifti2Image(np.ascontiguousarray(stored), np.eye(4)), os.path.join(out, "nifti2.nii.gz"))


if __name__ == "__main__":
    generate(None)
