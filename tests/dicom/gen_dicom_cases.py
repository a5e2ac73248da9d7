"""Real cases as DICOM series, for tests/cli/test_dicom.sh (needs python3-pydicom and python3-nibabel).

    gen_dicom_cases.py DATA_DIR OUT_DIR CASE [CASE ...]

CASE is hippocampus_NNN (MR, ../shared/data/hippocampus) or spleen (the CT of
../shared/data/ct_spleen).  For each case and each orientation (axial,
sagittal, coronal) it writes OUT_DIR/<case>_<orientation>/series/*.dcm, one
file per slice, and OUT_DIR/<case>_<orientation>/label.nii.gz, the case's
label map on the grid of that series.

The sagittal and coronal series are the same voxels re-sliced (axes permuted
and flipped, no interpolation), so the label maps are exact on every grid and
a round trip can be compared voxel for voxel; their slices lie along another
patient axis and their direction cosines differ, which is what the DICOM-RT
geometry must get right.  The geometry comes from the NIfTI affine (RAS) turned
into LPS here, independent of ITK.  UIDs derive from fixed strings:
regenerating gives identical files.  Slices are written in shuffled file order.

Also written, for the refusal tests:
  OUT_DIR/<first case>_mixed/series: the axial and coronal series in one folder
    (SeriesDescription "axial" and "coronal");
  OUT_DIR/<first case>_nofor/series: the axial series without FrameOfReferenceUID.
"""
import os
import sys

import nibabel as nib
import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

LPS = np.diag([-1.0, -1.0, 1.0])
# new axis t takes old axis PERM[t], reversed where FLIP[t]: rows run head to
# feet in the sagittal and coronal variants, as scanners write them.
VARIANTS = {
    "axial": ((0, 1, 2), (False, False, False)),
    "sagittal": ((1, 2, 0), (False, True, False)),
    "coronal": ((0, 2, 1), (False, True, False)),
}


def uid(*parts):
    return generate_uid(entropy_srcs=["innereye-c gen_dicom_cases", *map(str, parts)])


def ds_string(v):
    s = "%.10g" % (0.0 if abs(v) < 1e-9 else v)
    assert len(s) <= 16, s
    return s


def reslice(data, label, cols, origin, perm, flip):
    """Volumes and LPS grid (columns = index axes scaled by spacing) of a variant."""
    data = np.transpose(data, perm)
    label = np.transpose(label, perm)
    new_cols = cols[:, list(perm)].copy()
    new_origin = origin.copy()
    for t in range(3):
        if flip[t]:
            data, label = np.flip(data, t), np.flip(label, t)
            new_origin = new_origin + new_cols[:, t] * (data.shape[t] - 1)
            new_cols[:, t] = -new_cols[:, t]
    # ITK orders slices along row x column: make the slice axis point that way.
    if np.dot(np.cross(new_cols[:, 0], new_cols[:, 1]), new_cols[:, 2]) < 0:
        data, label = np.flip(data, 2), np.flip(label, 2)
        new_origin = new_origin + new_cols[:, 2] * (data.shape[2] - 1)
        new_cols[:, 2] = -new_cols[:, 2]
    return np.ascontiguousarray(data), np.ascontiguousarray(label), new_cols, new_origin


def write_series(folder, case, variant, data, cols, origin, modality, description, frame=True, series_key=None):
    os.makedirs(folder, exist_ok=True)
    series_key = series_key or variant
    spacing = np.linalg.norm(cols, axis=0)
    dirs = cols / spacing
    n = data.shape[2]
    rng = np.random.default_rng(len(case) * 31 + n)
    order = rng.permutation(n)
    if modality == "CT":
        stored = np.rint(data).astype(np.int16)
        slope, intercept, sop_class = 1.0, 0.0, CTImageStorage
    else:
        top = float(data.max()) if data.max() > 0 else 1.0
        slope = top / 65535.0
        stored = np.rint(np.clip(data / slope, 0, 65535)).astype(np.uint16)
        intercept, sop_class = 0.0, MRImageStorage
    for file_index, k in enumerate(order):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = uid(case, series_key, "sop", k)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = uid("implementation")
        path = os.path.join(folder, "%s_%03d.dcm" % (series_key, file_index))
        ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = uid(case, "study")
        ds.SeriesInstanceUID = uid(case, series_key, "series")
        if frame:
            ds.FrameOfReferenceUID = uid(case, "frame")
            ds.PositionReferenceIndicator = ""
        ds.Modality = modality
        ds.PatientName = "InnerEye^%s" % case
        ds.PatientID = "IE-%s" % case
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.StudyDate, ds.StudyTime = "20240101", "120000"
        ds.ReferringPhysicianName = ""
        ds.StudyID = "1"
        ds.AccessionNumber = ""
        ds.Manufacturer = "InnerEye-C test generator"
        ds.SeriesNumber = {"axial": 1, "sagittal": 2, "coronal": 3}.get(variant, 9)
        ds.SeriesDescription = description
        ds.InstanceNumber = int(k) + 1
        ds.ImageType = ["DERIVED", "SECONDARY"]
        position = origin + cols[:, 2] * k
        ds.ImagePositionPatient = [ds_string(v) for v in position]
        ds.ImageOrientationPatient = [ds_string(v) for v in list(dirs[:, 0]) + list(dirs[:, 1])]
        ds.PixelSpacing = [ds_string(spacing[1]), ds_string(spacing[0])]
        ds.SliceThickness = ds_string(spacing[2])
        ds.Rows, ds.Columns = data.shape[1], data.shape[0]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1 if stored.dtype == np.int16 else 0
        ds.RescaleIntercept = ds_string(intercept)
        ds.RescaleSlope = ds_string(slope)
        if modality == "CT":
            ds.RescaleType = "HU"
            ds.KVP = ""
        else:
            ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions = "GR", "NONE", ""
            ds.MRAcquisitionType = "3D"
            ds.RepetitionTime = ds.EchoTime = ds.EchoTrainLength = ""
        # pixel (row r, column c) = voxel (i = c, j = r, k)
        ds.PixelData = np.ascontiguousarray(stored[:, :, k].T).astype(stored.dtype.newbyteorder("<")).tobytes()
        ds.save_as(path, write_like_original=False)


def load_case(data_dir, case):
    if case == "spleen":
        img = nib.load(os.path.join(data_dir, "ct_spleen", "image.nii.gz"))
        lab = nib.load(os.path.join(data_dir, "ct_spleen", "label.nii.gz"))
        return img, lab, "CT"
    img = nib.load(os.path.join(data_dir, "hippocampus", "images", case + ".nii.gz"))
    lab = nib.load(os.path.join(data_dir, "hippocampus", "labels", case + ".nii.gz"))
    return img, lab, "MR"


def main():
    data_dir, out_dir, cases = sys.argv[1], sys.argv[2], sys.argv[3:]
    for n, case in enumerate(cases):
        img, lab, modality = load_case(data_dir, case)
        data = np.asarray(img.dataobj, dtype=np.float64)
        label = np.rint(np.asarray(lab.dataobj, dtype=np.float64)).astype(np.uint8)
        affine = img.affine
        cols = LPS @ affine[:3, :3]
        origin = LPS @ affine[:3, 3]
        for variant, (perm, flip) in VARIANTS.items():
            d, l, c, o = reslice(data, label, cols, origin, perm, flip)
            folder = os.path.join(out_dir, "%s_%s" % (case, variant))
            write_series(os.path.join(folder, "series"), case, variant, d, c, o, modality, variant)
            ras = np.eye(4)
            ras[:3, :3] = LPS @ c
            ras[:3, 3] = LPS @ o
            nib.save(nib.Nifti1Image(l, ras), os.path.join(folder, "label.nii.gz"))
            if n == 0 and variant in ("axial", "coronal"):
                write_series(os.path.join(out_dir, case + "_mixed", "series"), case, variant, d, c, o, modality,
                             variant)
            if n == 0 and variant == "axial":
                write_series(os.path.join(out_dir, case + "_nofor", "series"), case, variant, d, c, o, modality,
                             variant, frame=False, series_key="nofor")
    print("wrote %d cases x 3 orientations into %s" % (len(cases), out_dir))


if __name__ == "__main__":
    main()
