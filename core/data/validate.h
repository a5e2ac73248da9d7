/* core/data - checking a segmentation dataset before training: every
 * problem ie_seg_load would stop at (hours into a run, one at a time) is
 * found up front and listed at once.
 *
 * For each subject: every configured channel (image channels, then the
 * label map or each mask) has exactly one row with a non-empty path; the
 * file exists and reads in full (so a truncated or damaged file of a
 * validation or test subject is found before training, not after it);
 * image voxels are finite; an image is 3-D unless the model's crops are
 * one slice thick (data.crop_size [1, H, W]); every channel has the grid of
 * the first image channel (ie_image_geometry_equal with ITK's tolerance);
 * label maps' and masks' voxels must be whole numbers >= 0, label maps'
 * below n_classes (when > 0); and with allow_empty_truth false the truth
 * must hold a foreground voxel.
 *
 * Subjects are checked in parallel (ie_parallel_for); the report lists them
 * in dataset order, so it is the same for any thread count. */
#ifndef IE_CORE_DATA_VALIDATE_H
#define IE_CORE_DATA_VALIDATE_H

#include <stdbool.h>

#include "core/data/segmentation_hooks.h"

typedef struct ie_validate_result {
    int subjects;      /* checked */
    int problems;      /* lines in report */
    int bad_subjects;  /* subjects with at least one problem */
    char *report;      /* one problem per line ("subject 'x', channel 'y' (path): ..."); NULL when none */
} ie_validate_result;

/* Checks the subjects `items` (NULL: all) of ds against cfg.  Returns IE_OK
 * whether or not problems were found (see out->problems); fails only when
 * the check itself cannot run (no memory, a config without channels).
 * Free with ie_validate_result_free. */
ie_status ie_seg_validate(const ie_seg_config *cfg, const ie_dataset *ds, const int *items, int n_items,
                          bool allow_empty_truth, ie_validate_result *out);
void ie_validate_result_free(ie_validate_result *r);

#endif
