/* core/dicom - DICOM objects beyond reading an image series: the identity
 * of a series' slices (which SOP instance is which slice of the voxel grid),
 * RT structure sets (write and read) and DICOM segmentations (write), all
 * through DCMTK behind this C API.  The dcmtk_*.cxx files are the only C++
 * here and the only DCMTK users in libinnereye: no C++ type or exception
 * crosses this header, as in core/io's ITK wrapper.  The geometry of
 * contours (tracing a label map, filling polygons) is plain C in
 * contour.c and structure_set.c.  docs/io.md ("DICOM-RT and DICOM-SEG")
 * is the user's guide. */
#ifndef IE_CORE_DICOM_DICOM_H
#define IE_CORE_DICOM_DICOM_H

#include <stddef.h>
#include <stdint.h>

#include "innereye/image_io.h"
#include "innereye/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IE_DICOM_UID_MAX 65 /* 64 characters + NUL */

/* One series as the image reader saw it: for every slice k of the voxel
 * grid (ITK's z index), the file and its SOP instance.  Patient, study and
 * equipment attributes are copied from `files[0]` by the writers. */
typedef struct ie_dicom_series {
    char dir[4096];
    char study_uid[IE_DICOM_UID_MAX];
    char series_uid[IE_DICOM_UID_MAX];
    char frame_of_reference_uid[IE_DICOM_UID_MAX];
    char modality[17];
    int n_slices;
    char **files;                            /* [n_slices], slice k */
    char (*sop_class_uids)[IE_DICOM_UID_MAX];    /* [n_slices] */
    char (*sop_instance_uids)[IE_DICOM_UID_MAX]; /* [n_slices] */
    ie_image_geometry geometry;              /* as ie_image_read gave it */
} ie_dicom_series;

/* The series of a folder, one entry per Series Instance UID, in order of
 * Series Number then UID; files that are not DICOM, and hidden files, are
 * skipped.  *out is malloc'd (free() it); an empty folder gives n = 0. */
typedef struct ie_dicom_series_entry {
    char uid[IE_DICOM_UID_MAX];
    char modality[17];
    char description[65];
    char number[13];
    int n_files;
} ie_dicom_series_entry;
ie_status ie_dicom_list_series(const char *dir, ie_dicom_series_entry **out, int *n);

/* Maps the files of the series in `dir` (the one ie_image_read picks, see
 * ie_image_dicom_series_select) onto the slices of `geometry` by their Image
 * Position (Patient) along the slice normal.  Refuses, naming the file and
 * the attribute: a file that is not DICOM, a slice without SOP Instance
 * UID or position, a series without Frame of Reference UID, a slice that
 * lies off the grid or two files on one slice. */
ie_status ie_dicom_series_load(const char *dir, const ie_image_geometry *geometry, ie_dicom_series *out);
void ie_dicom_series_free(ie_dicom_series *s);

/* ---- RT structure sets ---- */

/* A closed planar contour: n_points points (x, y, z in mm, LPS patient
 * coordinates), on slice `slice` of the series (-1 when unknown). */
typedef struct ie_dicom_contour {
    int slice;
    int n_points;
    double *points; /* [3 * n_points] */
    char referenced_sop_uid[IE_DICOM_UID_MAX]; /* reading: the Contour Image Sequence's, "" if none */
} ie_dicom_contour;

typedef struct ie_dicom_roi {
    char name[65];
    uint8_t colour[3]; /* ROI Display Color, RGB */
    int number;        /* ROI Number */
    int n_contours;
    ie_dicom_contour *contours;
} ie_dicom_roi;

typedef struct ie_dicom_structure_set {
    char frame_of_reference_uid[IE_DICOM_UID_MAX];
    char referenced_series_uid[IE_DICOM_UID_MAX]; /* "" when the file names none */
    int n_rois;
    ie_dicom_roi *rois;
} ie_dicom_structure_set;

void ie_dicom_structure_set_free(ie_dicom_structure_set *s);

/* Writes an RT Structure Set that references `series` (its study, Frame of
 * Reference and, per contour, the SOP instance of the contour's slice) to
 * `path` atomically (temporary file, fsync, rename).  `software` names the
 * producer (Manufacturer's Model Name, ROI Generation Algorithm). */
ie_status ie_dicom_rtstruct_write(const char *path, const ie_dicom_series *series, const ie_dicom_structure_set *set,
                                  const char *software);

/* Reads the ROIs and their closed planar contours of an RT Structure Set.
 * Refuses a file that is not an RT Structure Set, or one without a Frame of
 * Reference for its ROIs, naming the file and the attribute. */
ie_status ie_dicom_rtstruct_read(const char *path, ie_dicom_structure_set *out);

/* ---- DICOM segmentations ---- */

typedef struct ie_dicom_segment {
    const char *name;
    uint8_t colour[3];
} ie_dicom_segment;

/* Writes a binary DICOM Segmentation of `labels` ([D, H, W] u8 on the
 * series' grid; value s in 1..n_segments is segment s): one frame per
 * segment and slice holding it, each frame with its plane position and the
 * source slice it derives from.  Atomic as above. */
ie_status ie_dicom_seg_write(const char *path, const ie_dicom_series *series, const uint8_t *labels,
                             const ie_dicom_segment *segments, int n_segments, const char *software);

/* Version of DCMTK behind this API ("DCMTK 3.6.7"), for run records. */
const char *ie_dicom_version(void);

#ifdef __cplusplus
}
#endif
#endif
