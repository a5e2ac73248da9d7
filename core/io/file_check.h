/* core/io - integrity checks of image files before ITK reads their voxels.
 *
 * ITK 5.2's NIfTI reader zero-fills the voxels a truncated file lacks and
 * ignores gzip errors, and its MetaImage reader only prints a warning when the
 * data is short or fails to decompress: a damaged file would read
 * "successfully".  These checks find such files from the header's promise and
 * the bytes (or decompressed bytes) actually there.  Its NIfTI reader also
 * turns NaN and infinite float voxels into 0 without a word, so those are
 * looked for here too. */
#ifndef IE_CORE_IO_FILE_CHECK_H
#define IE_CORE_IO_FILE_CHECK_H

#include "innereye/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The NIfTI-1/-2 (or Analyze) image at `path` holds every voxel its header
 * promises and, when gzip-compressed, its whole stream decompresses with a
 * valid checksum, and that none of its float32/float64 voxels is NaN or
 * infinite.  Compressed files are decompressed in 128 KB pieces (twice for
 * float images).
 * Fails with IE_ERR_IO and a message starting "op: path". */
ie_status ie_nifti_check(const char *op, const char *path);

/* ie_nifti_check less the voxel values: the file is complete (used on files
 * just written, which may hold NaN on purpose). */
ie_status ie_nifti_check_complete(const char *op, const char *path);

/* The header alone (the first 540 bytes): dimensions, voxel size, and
 * finite spacing and orientation fields, which ITK 5.2 aborts the process on
 * (vnl_svd's assert_finite) when they hold a NaN or infinity.  Run before ITK
 * reads the header.  Fails with IE_ERR_IO naming the file and the field. */
ie_status ie_nifti_header_check(const char *op, const char *path);

/* A PNG that libpng decodes without an error, header and pixels: ITK 5.2's
 * PNG reader lets libpng abort the process on a damaged file.  Fails with
 * IE_ERR_IO naming the file and libpng's reason (core/io/png_check.c). */
ie_status ie_png_check(const char *op, const char *path);

/* 2 when `path` (gzip-compressed or not) starts with a NIfTI-2 header, which
 * ITK 5.2 cannot read, else 0. */
int ie_nifti2_header(const char *path);

/* The same for a MetaImage (.mha, or .mhd with one data file): the data holds
 * DimSize x channels x element size bytes, and compressed data is one
 * complete zlib stream.  Lists and patterns of data files are not checked. */
ie_status ie_metaimage_check(const char *op, const char *path);

/* A MetaImage header that ITK 5.2's MetaIO can parse without overflowing its
 * buffers: every field name, and every value before ElementDataFile, under
 * 255 characters, and an ElementDataFile file-name pattern (a '%') given as
 * "PATTERN MIN MAX STEP".  Fails with IE_ERR_IO naming the file and line. */
ie_status ie_metaimage_header_check(const char *op, const char *path);

#ifdef __cplusplus
}
#endif
#endif
