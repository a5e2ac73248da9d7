/* core/data - a dataset: the rows of a CSV file grouped by subject.
 *
 * InnerEye's segmentation layout is one row per image channel:
 *
 *     subject,filePath,channel[,institutionId,seriesId,tags,groupID]
 *     1,ct/1.nii.gz,ct
 *     1,masks/1_liver.nii.gz,liver
 *
 * Rows are grouped by the subject column into ie_dataset_item records
 * (innereye/plugin.h), in order of each subject's first appearance; a
 * subject's rows keep their file order.  Every string, `values` array and
 * item stays valid, unchanged, until ie_dataset_free.  Items' `root` is the
 * folder of the CSV file (absolute when the folder exists), so relative file
 * paths in the CSV work from any working directory.
 *
 * CSV syntax: see csv.h.  Errors name the file and line: ragged rows,
 * unterminated quotes, an empty file, a header without rows, duplicate or
 * empty header names, a missing subject column, an empty subject value. */
#ifndef IE_CORE_DATA_DATASET_H
#define IE_CORE_DATA_DATASET_H

/* Layer exception (docs/architecture.md): the plugin ABI's data types
 * (ie_dataset_item, ie_sample); nothing of core/plugin is called. */
#include "innereye/plugin.h"

typedef struct ie_dataset ie_dataset;

#define IE_DATASET_DEFAULT_SUBJECT_COLUMN "subject"

/* subject_column NULL or "" selects "subject". */
ie_status ie_dataset_load(const char *path, const char *subject_column, ie_dataset **out);
/* The same from CSV text in memory; `name` is what messages call it and
 * `root` (NULL: ".") is the items' root folder. */
ie_status ie_dataset_parse(const char *text, size_t len, const char *name, const char *root,
                           const char *subject_column, ie_dataset **out);
void ie_dataset_free(ie_dataset *ds);

/* Number of subjects. */
int ie_dataset_count(const ie_dataset *ds);
/* Item i (0 <= i < count; NULL otherwise), borrowed. */
const ie_dataset_item *ie_dataset_item_at(const ie_dataset *ds, int i);
/* Index of the subject's item, or -1. */
int ie_dataset_find(const ie_dataset *ds, const char *subject);

/* Makes relative file paths start at `root` instead of the CSV's folder
 * (InnerEye's local_dataset); every item's root changes. */
ie_status ie_dataset_set_root(ie_dataset *ds, const char *root);

/* Where a file named in one of the item's cells is: `file` itself when it is
 * absolute or the item has no root, else root/file; IE_ERR_IO naming the
 * path when it does not fit `size` (core/util/path.h). */
ie_status ie_dataset_item_file(const ie_dataset_item *item, const char *file, char *out, size_t size);

/* The CSV, with the files beside it, was moved to `path` (a new run's
 * folder renamed into place): messages name it there, and paths relative to
 * its folder start at its new folder. */
ie_status ie_dataset_moved(ie_dataset *ds, const char *path);

/* The CSV's path (or name), its root folder and its columns. */
const char *ie_dataset_path(const ie_dataset *ds);
const char *ie_dataset_root(const ie_dataset *ds);
int ie_dataset_column_count(const ie_dataset *ds);
const char *const *ie_dataset_columns(const ie_dataset *ds);
/* Index of a column, or -1. */
int ie_dataset_column(const ie_dataset *ds, const char *name);
/* File line of row `row` of item i (for messages), or 0. */
int ie_dataset_line(const ie_dataset *ds, int i, int row);

/* Outputs are named after subjects (predictions/<subject>_segmentation.nii.gz,
 * <out>/<subject>/), so a subject name must be one file name: not empty, not
 * "." or "..", no '/' or control characters, at most
 * IE_SUBJECT_NAME_MAX bytes (room for the suffixes and temporary names
 * within the 255 bytes a file name may have).  ie_subject_name_problem says
 * what is wrong with `subject` (NULL when nothing is); ie_dataset_check_names
 * fails (IE_ERR_CONFIG) at the first subject that cannot be a name, naming
 * it, its line and what to do. */
#define IE_SUBJECT_NAME_MAX 200
const char *ie_subject_name_problem(const char *subject);
ie_status ie_dataset_check_names(const ie_dataset *ds);

#endif
