"""Independent checks of InnerEye's DICOM outputs with pydicom, numpy and nibabel (no ITK, no DCMTK).

    check_dicom.py rtstruct FILE SERIES_DIR TRUTH.nii.gz NAME,NAME,... MIN_DICE
    check_dicom.py seg      FILE SERIES_DIR TRUTH.nii.gz NAME,NAME,...
    check_dicom.py dice     TRUTH.nii.gz OTHER.nii.gz MIN_DICE

rtstruct: the file is an RT Structure Set on the series' Frame of Reference
  and study, referencing the series and, per contour, one of its slices; ROI i
  is named NAME i; every contour point lies in the plane of the slice it
  references (from that slice's own Image Position/Orientation); the contours,
  filled here by the even-odd rule in each slice's pixel grid, give each
  structure's voxels of TRUTH (the label map on the series grid) with Dice >=
  MIN_DICE.
seg: a DICOM Segmentation on the series' Frame of Reference whose frames,
  placed by their Plane Position, rebuild TRUTH exactly; segment i is NAME i and
  each frame derives from the slice at its position.
dice: Dice per label of two label maps on one grid, each >= MIN_DICE.
Prints one line per check; exits 1 on any failure.
"""
import glob
import os
import sys

import nibabel as nib
import numpy as np
import pydicom

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def load_series(folder):
    slices = {}
    for path in glob.glob(os.path.join(folder, "*")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        slices[ds.SOPInstanceUID] = ds
    return slices


class Grid:
    """The truth's voxel grid in LPS, from its NIfTI affine."""

    def __init__(self, path):
        img = nib.load(path)
        self.labels = np.rint(np.asarray(img.dataobj)).astype(np.int64)  # [i, j, k]
        lps = np.diag([-1.0, -1.0, 1.0])
        self.cols = lps @ img.affine[:3, :3]
        self.origin = lps @ img.affine[:3, 3]

    def slice_of(self, position):
        idx = np.linalg.solve(self.cols, np.asarray(position, dtype=float) - self.origin)
        return int(round(idx[2])), idx


def dice(a, b):
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else 2.0 * np.logical_and(a, b).sum() / total


def fill_even_odd(shape, polygon):
    """Pixels (r, c) whose centre lies inside `polygon` ([n, 2] of (c, r)), crossing-number rule."""
    rows, cols = shape
    cc, rr = np.meshgrid(np.arange(cols, dtype=float), np.arange(rows, dtype=float))
    inside = np.zeros(shape, dtype=bool)
    x, y = polygon[:, 0], polygon[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    for x0, y0, x1, y1 in zip(x, y, xn, yn):
        if y0 == y1:
            continue
        crosses = (y0 <= rr) != (y1 <= rr)
        xc = x0 + (rr - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (cc < xc)
    return inside


def common(ds, series, grid):
    one = next(iter(series.values()))
    check(ds.FrameOfReferenceUID == one.FrameOfReferenceUID, "Frame of Reference UID is the series' own")
    check(ds.StudyInstanceUID == one.StudyInstanceUID, "same study as the series")
    check(ds.PatientID == one.PatientID, "same patient")


def check_rtstruct(path, folder, truth, names, min_dice):
    ds = pydicom.dcmread(path)
    series = load_series(folder)
    grid = Grid(truth)
    check(ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.481.3" and ds.Modality == "RTSTRUCT", "an RT Structure Set")
    common(ds, series, grid)
    ref = ds.ReferencedFrameOfReferenceSequence[0]
    rseries = ref.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    one = next(iter(series.values()))
    check(rseries.SeriesInstanceUID == one.SeriesInstanceUID, "references the source series")
    listed = {item.ReferencedSOPInstanceUID for item in rseries.ContourImageSequence}
    check(listed == set(series), "lists every slice of the series (%d)" % len(series))
    rois = {r.ROINumber: r for r in ds.StructureSetROISequence}
    check([rois[c.ReferencedROINumber].ROIName for c in ds.ROIContourSequence] == names,
          "ROI names in order: %s" % ",".join(names))
    worst, off_plane, bad_refs = 1.0, 0.0, 0
    for label, rc in enumerate(ds.ROIContourSequence, start=1):
        check(len(rc.ROIDisplayColor) == 3, "ROI %s has a display colour %s" % (names[label - 1], list(rc.ROIDisplayColor)))
        mask = np.zeros(grid.labels.shape, dtype=bool)
        per_slice = {}
        for contour in getattr(rc, "ContourSequence", []):
            sop = contour.ContourImageSequence[0].ReferencedSOPInstanceUID
            if sop not in series:
                bad_refs += 1
                continue
            img = series[sop]
            row = np.array(img.ImageOrientationPatient[:3], dtype=float)
            col = np.array(img.ImageOrientationPatient[3:], dtype=float)
            normal = np.cross(row, col)
            ipp = np.array(img.ImagePositionPatient, dtype=float)
            spacing = np.array(img.PixelSpacing, dtype=float)  # row spacing, column spacing
            pts = np.array(contour.ContourData, dtype=float).reshape(-1, 3)
            check_len = int(contour.NumberOfContourPoints) == len(pts)
            if not check_len:
                check(False, "NumberOfContourPoints matches ContourData")
            off_plane = max(off_plane, float(np.abs((pts - ipp) @ normal).max()))
            poly = np.stack([(pts - ipp) @ row / spacing[1], (pts - ipp) @ col / spacing[0]], axis=1)
            per_slice.setdefault(sop, []).append(poly)
        for sop, polys in per_slice.items():
            img = series[sop]
            k, _ = grid.slice_of(img.ImagePositionPatient)
            filled = np.zeros((int(img.Rows), int(img.Columns)), dtype=bool)
            for poly in polys:
                filled ^= fill_even_odd(filled.shape, poly)
            mask[:, :, k] |= filled.T  # pixel (r, c) is voxel (i = c, j = r)
        d = dice(mask, grid.labels == label)
        print("      Dice %s = %.6f (%d voxels in truth, %d filled)" % (names[label - 1], d,
                                                                        (grid.labels == label).sum(), mask.sum()))
        worst = min(worst, d)
    check(bad_refs == 0, "every contour references a slice of the series")
    check(off_plane < 1e-3, "every contour lies in its slice's plane (max %.2e mm off)" % off_plane)
    check(worst >= min_dice, "Dice >= %g for every structure, by an independent fill (lowest %.6f)" % (min_dice, worst))


def check_seg(path, folder, truth, names):
    ds = pydicom.dcmread(path)
    series = load_series(folder)
    grid = Grid(truth)
    check(ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4" and ds.Modality == "SEG", "a DICOM Segmentation")
    common(ds, series, grid)
    check([s.SegmentLabel for s in ds.SegmentSequence] == names, "segment labels in order: %s" % ",".join(names))
    frames = ds.pixel_array
    if frames.ndim == 2:
        frames = frames[None]
    rebuilt = np.zeros(grid.labels.shape, dtype=np.int64)
    by_position = {}
    for img in series.values():
        k, _ = grid.slice_of(img.ImagePositionPatient)
        by_position[k] = img.SOPInstanceUID
    wrong_source = 0
    for f, fg in enumerate(ds.PerFrameFunctionalGroupsSequence):
        segment = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        k, idx = grid.slice_of(fg.PlanePositionSequence[0].ImagePositionPatient)
        source = fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        wrong_source += source != by_position.get(k)
        rebuilt[:, :, k][frames[f].T > 0] = segment
    check(wrong_source == 0, "every frame derives from the slice at its position")
    equal = np.array_equal(rebuilt, grid.labels)
    check(equal, "frames rebuild the label map exactly (%d frames, %d voxels differ)"
          % (len(frames), int((rebuilt != grid.labels).sum())))


def main():
    mode = sys.argv[1]
    if mode == "rtstruct":
        check_rtstruct(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split(","), float(sys.argv[6]))
    elif mode == "seg":
        check_seg(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split(","))
    elif mode == "dice":
        a, b = Grid(sys.argv[2]), Grid(sys.argv[3])
        check(a.labels.shape == b.labels.shape and np.allclose(a.cols, b.cols) and np.allclose(a.origin, b.origin),
              "same grid")
        labels = [v for v in np.unique(a.labels) if v > 0]
        scores = [dice(a.labels == v, b.labels == v) for v in labels]
        print("      Dice per label: " + ", ".join("%d: %.6f" % (v, s) for v, s in zip(labels, scores)))
        check(min(scores) >= float(sys.argv[4]), "Dice >= %s for every label" % sys.argv[4])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
