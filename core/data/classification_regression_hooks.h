/* core/data - the host's default data for classification and regression:
 * a scalar dataset CSV checked and turned into samples.
 *
 * Layout: one row per subject (InnerEye's scalar datasets, wide form):
 *
 *     subject,filePath,label,age,sex,split
 *     c001,images/c001.png,1,63,F,train
 *
 * Columns, all named in the config (data.scalar.*):
 *   label columns   binary / multi-label: 0 or 1 per column, one output each;
 *                   multi-class: one column holding a class index 0..K-1 or
 *                   a class name of data.classes; regression: numbers.
 *   image columns   file paths (relative to the CSV's folder), one channel
 *                   each: 2-D images (PNG or anything ITK reads) become
 *                   [C, 1, H, W], volumes [C, D, H, W].  Each channel is
 *                   normalised (data.normalization: None or SimpleNorm, the
 *                   z-score of the image) and, with data.scalar.image_size,
 *                   centre-cropped or zero-padded to that size (before =
 *                   floor((target - size) / 2) along each axis, as the
 *                   segmentation crops).
 *   numerical       numbers, standardised with the training split's mean and
 *                   population standard deviation (a constant column gives 0).
 *   categorical     text, one-hot over the values the training split holds
 *                   (in sorted order).
 * Features are [numerical..., one-hot of each categorical column...].
 *
 * Checks (ie_scalar_data_prepare), over every subject of the dataset before
 * anything trains, all problems listed at once with subject, column and CSV
 * line: a subject with several rows; a missing or malformed label; an empty
 * image path or a file that does not exist; a missing or malformed number; a
 * missing category; a category the training split never saw.  With
 * data.scalar.impute_missing, missing numbers become the training mean (0
 * after standardising) and missing or unseen categories an all-zero one-hot,
 * and the number of imputed values is reported instead.  Labels are never
 * imputed.
 *
 * Regression targets are standardised with the training split's mean and
 * standard deviation when data.scalar.standardize_targets is on; the trainer
 * maps predictions back (ie_scalar_data_target_scale).
 *
 * The statistics (means, standard deviations, vocabularies, target scales)
 * are saved in a run's data_statistics.json, and data for any other CSV can
 * be built from them with the same checks (classification_regression_statistics.h).
 *
 * Samples: image [C, D, H, W] f32 (or none), features [F] f32 (or none),
 * labels [K] f32 (binary, regression) or a 0-dimensional i64 class
 * (multi-class), so batches hold [N, K] f32 or [N] i64.  Augmentation: flips
 * along data.flip_axes (0 = D, 1 = H, 2 = W), each with probability 0.5,
 * decided by ie_rng_uniform_at(rng, 64 + axis) as the segmentation flips. */
#ifndef IE_CORE_DATA_SCALAR_HOOKS_H
#define IE_CORE_DATA_SCALAR_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/data/loader.h"
#include "core/data/segmentation_hooks.h"

typedef enum ie_scalar_target {
    IE_TARGET_BINARY = 0,     /* one logit per label column (multi-label when several) */
    IE_TARGET_MULTICLASS = 1, /* one logit per class, softmax */
    IE_TARGET_REGRESSION = 2  /* one value per label column */
} ie_scalar_target;

/* Borrowed strings; they must outlive the ie_scalar_data built from it. */
typedef struct ie_scalar_config {
    ie_scalar_target target;
    int n_labels;
    const char *const *label_columns;
    int n_classes; /* multi-class: class names */
    const char *const *class_names;
    int n_images;
    const char *const *image_columns;
    ie_seg_norm norm;
    int64_t image_size[3]; /* D, H, W; all 0: as read */
    bool flip[3];
    int n_numerical;
    const char *const *numerical_columns;
    int n_categorical;
    const char *const *categorical_columns;
    bool impute_missing;
    bool standardize_targets;
} ie_scalar_config;

typedef struct ie_scalar_data ie_scalar_data;

/* "binary", "multiclass", "regression" */
const char *ie_scalar_target_name(ie_scalar_target t);

/* Checks the whole dataset and takes statistics from the training items
 * (dataset indices).  A note on imputation, if any, is printed to stdout. */
ie_status ie_scalar_data_prepare(const ie_scalar_config *cfg, const ie_dataset *ds, const int *train, int n_train,
                                 ie_scalar_data **out);
void ie_scalar_data_free(ie_scalar_data *d);

/* Number of network outputs (label columns, or classes) and their names. */
int ie_scalar_data_output_count(const ie_scalar_data *d);
const char *ie_scalar_data_output_name(const ie_scalar_data *d, int k);
int ie_scalar_data_feature_count(const ie_scalar_data *d);
/* Name of feature f ("age", "sex=F"). */
const char *ie_scalar_data_feature_name(const ie_scalar_data *d, int f);
const ie_scalar_config *ie_scalar_data_config(const ie_scalar_data *d);

/* Output k of a standardised regression is prediction * scale + offset in
 * the label's units (1 and 0 otherwise). */
void ie_scalar_data_target_scale(const ie_scalar_data *d, int k, double *scale, double *offset);
/* The subject's label k as in the CSV (multi-class: 1 for its class, else
 * 0); NaN when the data has no labels. */
double ie_scalar_data_label(const ie_scalar_data *d, int dataset_index, int k);
/* False only for data built from saved statistics on a CSV without the label
 * columns (classification_regression_statistics.h): samples then have no labels. */
bool ie_scalar_data_has_labels(const ie_scalar_data *d);
const ie_dataset *ie_scalar_data_dataset(const ie_scalar_data *d);

/* load_item / augment / collate with the data as their context. */
ie_data_hooks ie_scalar_hooks(const ie_scalar_data *d);
ie_status ie_scalar_load(const ie_scalar_data *d, const ie_dataset_item *item, const ie_host *host, ie_sample *out);

#endif
