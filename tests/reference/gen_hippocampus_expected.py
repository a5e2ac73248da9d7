"""Expected headers and voxel statistics of the 200 hippocampus cases, read by
nibabel (python3-nibabel), an image reader independent of ITK.

Writes fixtures/hippocampus_nibabel.csv, used by tests/unit/test_image_io_data.c.
Geometry is converted from nibabel's RAS affine to ITK's LPS convention:
spacing = column norms of the affine, direction = normalised columns with the
x and y rows negated, origin = translation with x and y negated.  Skipped (the
committed file stays) when ../shared/data is absent."""
import csv
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "hippocampus"))


def lps_geometry(img):
    a = np.diag([-1.0, -1.0, 1.0]) @ img.affine[:3, :]
    spacing = np.linalg.norm(a[:, :3], axis=0)
    direction = a[:, :3] / spacing
    return spacing, a[:, 3], direction


def generate(save):
    del save  # a CSV, not safetensors
    import nibabel as nib
    if not os.path.isdir(DATA):
        print("gen_hippocampus_expected: %s not found, keeping the committed CSV" % DATA)
        return
    rows = []
    for name in sorted(os.listdir(os.path.join(DATA, "images"))):
        img = nib.load(os.path.join(DATA, "images", name))
        lab = nib.load(os.path.join(DATA, "labels", name))
        spacing, origin, direction = lps_geometry(img)
        assert np.allclose(lps_geometry(lab)[0], spacing) and lab.shape == img.shape
        voxels = np.asanyarray(img.dataobj).astype(np.float64)
        labels = np.asanyarray(lab.dataobj)
        counts = [int((labels == k).sum()) for k in range(3)]
        assert sum(counts) == labels.size, name
        rows.append([name, *img.shape, str(img.get_data_dtype()), str(lab.get_data_dtype()),
                     *("%.17g" % v for v in spacing), *("%.17g" % v for v in origin),
                     *("%.17g" % (v + 0.0) for v in direction.reshape(-1)),
                     "%.17g" % math.fsum(voxels.reshape(-1)), *counts])
    out = os.path.join(HERE, "fixtures", "hippocampus_nibabel.csv")
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "nx", "ny", "nz", "image_dtype", "label_dtype", "sx", "sy", "sz", "ox", "oy", "oz",
                    *("d%d" % i for i in range(9)), "image_sum", "label0", "label1", "label2"])
        w.writerows(rows)


if __name__ == "__main__":
    generate(None)
