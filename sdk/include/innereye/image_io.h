/* innereye/image_io.h - reading and writing medical images (2-D and 3-D).
 *
 * Any scalar image ITK reads: NIfTI (.nii, .nii.gz, .hdr/.img), NRRD (.nrrd,
 * .nhdr), MetaImage (.mha, .mhd), a single DICOM file, and a DICOM series when
 * the path is a folder.  Voxels become a CPU tensor [D, H, W] (3-D) or [H, W]
 * (2-D): the tensor's last dimension is ITK's x (index 0), so tensor element
 * [z][y][x] is voxel index (x, y, z).  Where the voxels lie in the patient is
 * described by an ie_image_geometry, in ITK's (DICOM's) LPS physical space.
 *
 * Writes are atomic: the image is written to a temporary file next to the
 * destination and renamed over it, so a crash never leaves a half-written
 * image under the final name.  See docs/io.md for the details. */
#ifndef INNEREYE_IMAGE_IO_H
#define INNEREYE_IMAGE_IO_H

#include "innereye/api.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "innereye/status.h"
#include "innereye/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where an image's voxels are.  Physical point (mm, LPS) of voxel index
 * (i, j, k) = origin + direction * diag(spacing) * (i, j, k).  For 2-D images
 * size[2] = 1, spacing[2] = 1, origin[2] = 0 and the third row and column of
 * direction are those of the identity. */
typedef struct ie_image_geometry {
    int ndim;            /* 2 or 3 */
    int64_t size[3];     /* voxels along x, y, z (ITK index order) */
    double spacing[3];   /* mm between voxel centres along x, y, z */
    double origin[3];    /* mm, LPS position of the centre of voxel (0, 0, 0) */
    double direction[9]; /* row-major 3x3; column j is index axis j's unit vector */
} ie_image_geometry;

/* ITK's default tolerance for "same image grid" (itk::ImageToImageFilter). */
#define IE_GEOMETRY_TOLERANCE 1e-6

/* Reads the image at `path` (a file, or a folder holding a DICOM series) as a
 * CPU tensor of `dtype`:
 *   IE_F32             intensities, converted from any stored voxel type;
 *   IE_I64/IE_I32/IE_U8 label maps: every voxel must be an integer that fits
 *                      the type, else IE_ERR_IO names the file, the voxel and
 *                      its value (a label resampled with linear interpolation
 *                      is the usual cause).
 * Multi-component images (RGB, vectors) and images with more than 3
 * dimensions (unless the extra ones have size 1) are refused with
 * IE_ERR_UNSUPPORTED.  A folder holds one DICOM series (a folder with several
 * series is refused with IE_ERR_UNSUPPORTED, listing their UIDs), its slices
 * sorted by position along the slice normal.  `geometry` may be NULL.  On failure *out is NULL. */
IE_API ie_status ie_image_read(const char *path, ie_dtype dtype, ie_tensor **out,
                        ie_image_geometry *geometry);

/* Which series ie_image_read takes from a DICOM folder (config key
 * data.dicom_series): "" (the default) needs exactly one series in the
 * folder; "uid=<Series Instance UID>", "modality=<CT, MR, ...>" or
 * "description=<Series Description>" (case-insensitive) picks the one series
 * that matches, and a folder where none or several match is refused with a
 * list of its series.  Process-wide: the host sets it from the config before
 * any image is read, so plugins' reads follow it too.  IE_ERR_CONFIG for a
 * selector of another form. */
IE_API ie_status ie_image_dicom_series_select(const char *selector);
IE_API const char *ie_image_dicom_series_selector(void);

/* Reads only the header: the geometry of the image at `path`. */
IE_API ie_status ie_image_read_geometry(const char *path, ie_image_geometry *geometry);

/* Writes `t` ([D, H, W] or [H, W], CPU, matching geometry->size in reverse)
 * to `path`, the format chosen by the extension: .nii, .nii.gz, .nrrd, .mha
 * (single-file formats only, so the write can be atomic).  Voxel types:
 *   f32 -> float32; u8 -> uint8;
 *   i64/i32 -> uint8 when every value is in 0..255, else int32 (values
 *   outside int32 are refused).
 * .nrrd and .mha data are gzip-compressed; .nii is not, .nii.gz is.  The
 * geometry is stored exactly as far as the format allows (NIfTI keeps it in
 * float32). */
/* Version of the image library behind this API ("ITK 5.2.1"), for run records. */
IE_API const char *ie_image_io_version(void);

IE_API ie_status ie_image_write(const char *path, const ie_tensor *t,
                         const ie_image_geometry *geometry);

/* Identity geometry for a tensor shape ([D, H, W] or [H, W]): 1 mm spacing,
 * origin 0, identity direction. */
IE_API ie_status ie_image_geometry_from_shape(int ndim, const int64_t *shape,
                                       ie_image_geometry *geometry);

/* The tensor shape ([D, H, W] or [H, W]) of an image with this geometry;
 * returns its number of dimensions. */
IE_API int ie_image_geometry_shape(const ie_image_geometry *geometry, int64_t shape[3]);

/* True when a and b describe the same voxel grid, within ITK's conventions:
 * sizes equal; spacings equal to `tolerance` relative; origins within
 * `tolerance` * (smallest spacing of a) mm; direction cosines within
 * `tolerance`.  When they differ and `why` is not NULL, the first difference
 * is written there ("spacing 1x1x1 mm vs 1x1x1.2 mm"). */
IE_API bool ie_image_geometry_equal(const ie_image_geometry *a, const ie_image_geometry *b,
                             double tolerance, char *why, size_t why_size);

/* ---- resampling (ITK's ResampleImageFilter) ---- */

typedef enum ie_interpolation {
    IE_INTERP_NEAREST = 0, /* label maps: values stay in the input's set */
    IE_INTERP_LINEAR = 1   /* intensities: trilinear (bilinear in 2-D) */
} ie_interpolation;

/* The grid `geometry` has when resampled to `spacing` (mm along x, y, z; the
 * z value is ignored for 2-D images): the same origin (centre of voxel 0) and
 * direction, size[j] = max(1, round(size[j] * spacing_old[j] / spacing[j])),
 * so the grid covers the same extent to within half a new voxel. */
IE_API ie_status ie_image_resampled_geometry(const ie_image_geometry *geometry, const double spacing[3],
                                      ie_image_geometry *out);

/* Resamples t ([D, H, W] or [H, W], CPU, on the grid `geometry`) onto the
 * grid `target`: every output voxel takes the input's value at the same
 * physical point.  LINEAR needs f32 (ITK's LinearInterpolateImageFunction,
 * computed in double, rounded to float); NEAREST keeps any dtype.  Points
 * outside the input take the nearest input voxel's value (ITK's
 * NearestNeighborExtrapolateImageFunction), so a constant image stays
 * constant and no zero border appears.  Runs on the calling thread. */
IE_API ie_status ie_image_resample_to(const ie_tensor *t, const ie_image_geometry *geometry,
                               const ie_image_geometry *target, ie_interpolation interpolation,
                               ie_tensor **out);

/* ie_image_resampled_geometry, then ie_image_resample_to; out_geometry (may be
 * NULL) receives the new grid. */
IE_API ie_status ie_image_resample(const ie_tensor *t, const ie_image_geometry *geometry, const double spacing[3],
                            ie_interpolation interpolation, ie_tensor **out, ie_image_geometry *out_geometry);

/* "35x51x35 voxels, spacing 1x1x1 mm, origin (-1, -1, 1) mm, direction
 * [-1 0 0; 0 -1 0; 0 0 1]" into buf. Returns buf. */
IE_API const char *ie_image_geometry_describe(const ie_image_geometry *geometry, char *buf,
                                       size_t size);

#ifdef __cplusplus
}
#endif
#endif
