/* core/plan - the dataset fingerprint: what `innereye plan` needs to know
 * about a segmentation dataset, measured once (nnU-Net's
 * DatasetFingerprintExtractor).
 *
 * Per case: grid size and spacing (x, y, z, as ITK reports them), the
 * orientation code, per image channel the intensity statistics over the
 * foreground (label > 0: percentiles 0.5 / 50 / 99.5, mean, population std,
 * min, max), the voxel count and volume of every class, its centroid (mean
 * voxel index) and the number of 6-connected components of each foreground
 * class.  The summary counts, for each pair of foreground classes, along
 * which axes they keep one order (the plan's mirroring rule).
 *
 * Dataset intensities, as nnU-Net: from each case a fixed number of
 * foreground voxels is drawn with replacement, and the statistics of all
 * draws together describe the channel (so every case weighs the same,
 * whatever its size).  Draw j of case i is the foreground voxel
 * floor(u * n / 2^32), u = Philox(seed 1234, IE_STREAM_SAMPLING, epoch 0,
 * item i) element j: a pure function of (case, j), so the fingerprint is the
 * same bytes for any number of threads.  Percentiles are numpy's default
 * (linear); sums run in double in case and voxel order.
 *
 * Cases are read in parallel on the compute pool, one task per case. */
#ifndef IE_CORE_PLAN_FINGERPRINT_H
#define IE_CORE_PLAN_FINGERPRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "innereye/status.h"

#define IE_FP_MAX_CHANNELS 16
#define IE_FP_MAX_CLASSES 256
#define IE_FP_SEED 1234

typedef struct ie_fp_options {
    const char *dataset_csv;
    const char *label_channel;           /* default "label" */
    int n_channels;                      /* 0: every channel of the first subject but the label */
    const char *channels[IE_FP_MAX_CHANNELS];
    const char *modalities[IE_FP_MAX_CHANNELS]; /* NULL: guessed from the channel name (see .c) */
    bool progress;                       /* print progress on stderr */
    bool tty;                            /* progress as one redrawn line (else plain lines) */
} ie_fp_options;

/* Runs the fingerprint and returns its JSON text (free()).  Errors name the
 * subject, channel and file. */
ie_status ie_fingerprint_run(const ie_fp_options *opts, char **json_out);

/* numpy.percentile(v, q) with linear interpolation of sorted v (n > 0). */
double ie_fp_percentile_sorted(const double *v, int64_t n, double q);

/* The orientation code of a direction matrix (row-major, column j = axis j):
 * for each index axis the letter of the LPS world direction it points to
 * most (L/R, P/A, S/I), e.g. "LPS" for the identity, as nibabel's
 * aff2axcodes reads an LPS affine.  out holds 4 bytes. */
void ie_fp_orientation(const double direction[9], char out[4]);

#endif
