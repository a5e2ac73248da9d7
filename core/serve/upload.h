/* core/serve - what a client uploads to POST /v1/segment, checked and put
 * on disk for the image reader: a NIfTI file (.nii, .nii.gz), a single-file
 * NRRD, a zip of one DICOM series, or a PNG (2-D images of classification
 * models, such as Fashion-MNIST's).  The kind is found from the bytes, not
 * from a name or a header the client sends.  Every limit is checked before
 * anything large is written or decompressed: the size of the upload, the
 * size of what it decompresses to (a gzip stream, every zip entry, a PNG's
 * pixels as its header declares them), and the number of zip entries; zip
 * entries whose names could escape the folder (absolute, "..", backslashes)
 * are refused, not renamed.  A PNG's pixels are decoded, and a damaged one
 * refused, by the image reader (core/io/png_check.c). */
#ifndef IE_CORE_SERVE_UPLOAD_H
#define IE_CORE_SERVE_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/status.h"

typedef enum ie_upload_kind {
    IE_UPLOAD_NIFTI,
    IE_UPLOAD_NIFTI_GZ,
    IE_UPLOAD_NRRD,
    IE_UPLOAD_DICOM_ZIP,
    IE_UPLOAD_PNG
} ie_upload_kind;

/* Most entries a DICOM zip may hold (a CT series has a few hundred slices). */
#define IE_UPLOAD_MAX_ZIP_ENTRIES 20000

/* Writes the upload into `dir` (an existing empty folder) and sets `image`
 * to what the image reader should read: dir/upload.nii, upload.nii.gz,
 * upload.nrrd, upload.png, or the folder dir/series holding the zip's files
 * (numbered, subfolders flattened; hidden files and __MACOSX/ left out).
 * max_decompressed bounds the bytes a gzip stream or the zip's entries
 * (together) decompress to, and a PNG's decoded pixels (width x height x
 * channels x bytes per sample, from its header).  Refusals say what is wrong and what is
 * accepted: IE_ERR_UNSUPPORTED (not an image kind served), IE_ERR_IO (a
 * damaged or truncated file, an unsafe zip entry name, a limit passed:
 * then *over_limit is set and the message names the limit). */
ie_status ie_upload_unpack(const void *data, size_t size, size_t max_decompressed, const char *dir,
                           ie_upload_kind *kind, char *image, size_t image_size, bool *over_limit);

#endif
