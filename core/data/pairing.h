/* core/data - a dataset.csv from two folders: images and label maps paired
 * by file name (the Medical Segmentation Decathlon layout,
 * images/case_001.nii.gz + labels/case_001.nii.gz).
 *
 * A file is an image when its name ends in .nii.gz, .nii, .hdr, .nrrd, .nhdr,
 * .mha or .mhd (hidden files are skipped); its subject is the name without
 * that ending, so case_001.nii.gz pairs with case_001.nii as well.  Subjects
 * come in byte order of their names.  Used by `innereye dataset create` and by
 * the trainer's data.images_dir + data.labels_dir source. */
#ifndef IE_CORE_DATA_PAIRING_H
#define IE_CORE_DATA_PAIRING_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/status.h"

typedef struct ie_pairing {
    int n_pairs;
    char **subjects;         /* n_pairs names */
    char **images, **labels; /* n_pairs absolute paths */
    int n_unpaired_images, n_unpaired_labels;
    char **unpaired_images;  /* file names without a partner, sorted */
    char **unpaired_labels;
} ie_pairing;

/* Pairs every image of images_dir with the label of the same subject in
 * labels_dir; max_subjects > 0 keeps the first N pairs.  Fails (naming the
 * folder) when a folder cannot be read, when two files of one folder have
 * the same subject (case_001.nii and case_001.nii.gz) or when nothing pairs. */
ie_status ie_pairing_find(const char *images_dir, const char *labels_dir, int max_subjects, ie_pairing *out);
void ie_pairing_free(ie_pairing *p);

/* The CSV text `subject,filePath,channel`, two rows per subject (image, then
 * label).  With relative_to (a folder) set, paths of files inside that
 * folder are written relative to it, others absolute.  Free *text. */
ie_status ie_pairing_csv(const ie_pairing *p, const char *image_channel, const char *label_channel,
                         const char *relative_to, char **text, size_t *length);

/* Writes ie_pairing_csv to `path` (relative to the CSV's own folder)
 * through a temporary file; the final name is created exclusively, so an
 * existing file is never overwritten (IE_ERR_IO saying so). */
ie_status ie_pairing_write_csv(const ie_pairing *p, const char *image_channel, const char *label_channel,
                               const char *path);

/* "2 images without a label (a.nii.gz, b.nii.gz); 1 label without an image
 * (c.nii.gz)", at most `show` names per side; "" when everything paired. */
void ie_pairing_describe_unpaired(const ie_pairing *p, int show, char *buf, size_t size);

/* True for the file names ie_pairing_find takes as images. */
bool ie_pairing_is_image_name(const char *name);

#endif
