/* core/plan - what fingerprint_case.c measures and fingerprint.c sums up. */
#ifndef IE_CORE_PLAN_FINGERPRINT_IMPL_H
#define IE_CORE_PLAN_FINGERPRINT_IMPL_H

#include "core/plan/fingerprint.h"

typedef struct fp_stats {
    double p005, p50, p995, mean, std, min, max;
} fp_stats;

typedef struct fp_case {
    const char *subject;                     /* borrowed from the dataset */
    char *paths[IE_FP_MAX_CHANNELS + 1];     /* image channels, then the label map */
    int64_t size[3];                         /* x, y, z */
    double spacing[3];
    char orientation[4];
    int64_t n_foreground;
    fp_stats channel[IE_FP_MAX_CHANNELS];
    float *samples;                          /* n_channels x n_samples draws, NULL without foreground */
    int n_labels;                            /* largest label value + 1 */
    int64_t class_voxels[IE_FP_MAX_CLASSES];
    int32_t components[IE_FP_MAX_CLASSES];
    double centroid[IE_FP_MAX_CLASSES][3];   /* mean voxel index (x, y, z) of each present class */
    ie_status status;
    char *error;                             /* set when status != IE_OK */
} fp_case;

/* Reads and measures one case (paths already set); fills status/error
 * instead of returning them, so that cases can run on any thread. */
void ie_fp_measure_case(fp_case *c, int index, int n_channels, int64_t n_samples);

/* Statistics of v (n > 0 values, sorted in place). */
void ie_fp_stats_of(double *v, int64_t n, fp_stats *out);

#endif
