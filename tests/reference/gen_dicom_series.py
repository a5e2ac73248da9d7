"""A tiny oblique CT series for tests/unit/test_image_io.c (needs python3-pydicom).

Written slice by slice with pydicom, so the geometry the C test expects comes
from the DICOM tags set here, not from ITK.  The file names are shuffled so a
reader that sorts by name (instead of by position along the slice normal) puts
the slices in the wrong order.  Everything is deterministic: UIDs are derived
from fixed strings, so regenerating gives byte-identical files.

Geometry (LPS, mm), restated in test_image_io.c:
  row direction (x)  = (0.6, 0.8, 0)       column direction (y) = (-0.48, 0.36, 0.8)
  slice normal (z)   = row x column = (0.64, -0.48, 0.6)
  PixelSpacing       = 0.9 (between rows, y) \\ 0.7 (between columns, x)
  slice k at         = (-12.5, 30.25, 100) + 2.5 * k * normal, k = 0..4
  voxel [k][r][c]    = stored 24 + 100k + 10r + c, RescaleIntercept -1024
                     -> -1000 + 100k + 10r + c Hounsfield units
"""
import os

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

ROWS, COLS, SLICES = 6, 8, 5
ROW_DIR = np.array([0.6, 0.8, 0.0])
COL_DIR = np.array([-0.48, 0.36, 0.8])
NORMAL = np.cross(ROW_DIR, COL_DIR)
ORIGIN = np.array([-12.5, 30.25, 100.0])
SLICE_GAP = 2.5
# File i holds slice FILE_ORDER[i]: name order is neither slice order nor its reverse.
FILE_ORDER = [3, 0, 4, 1, 2]


def uid(*parts):
    return generate_uid(entropy_srcs=["innereye-c dicom_series fixture", *map(str, parts)])


def ds_string(v):
    """DICOM decimal string (at most 16 characters)."""
    s = "%.10g" % (0.0 if abs(v) < 1e-12 else v)
    assert len(s) <= 16
    return s


def write_slice(path, k):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = uid("sop", k)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = uid("implementation")
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid("series")
    ds.FrameOfReferenceUID = uid("frame")
    ds.Modality = "CT"
    ds.PatientName = "Fixture^InnerEye"
    ds.PatientID = "IE-FIXTURE"
    ds.StudyDate = "20240101"
    ds.SeriesNumber = 1
    ds.InstanceNumber = k + 1
    position = ORIGIN + SLICE_GAP * k * NORMAL
    ds.ImagePositionPatient = [ds_string(v) for v in position]
    ds.ImageOrientationPatient = [ds_string(v) for v in list(ROW_DIR) + list(COL_DIR)]
    ds.PixelSpacing = ["0.9", "0.7"]
    ds.SliceThickness = "2.5"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    r, c = np.meshgrid(np.arange(ROWS), np.arange(COLS), indexing="ij")
    stored = (24 + 100 * k + 10 * r + c).astype("<u2")
    ds.PixelData = stored.tobytes()
    ds.save_as(path, write_like_original=False)


def generate(save):
    del save  # DICOM files, not safetensors
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "dicom_series")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.remove(os.path.join(out, name))
    for i, k in enumerate(FILE_ORDER):
        write_slice(os.path.join(out, "IM%04d.dcm" % (i + 1)), k)


if __name__ == "__main__":
    generate(None)
