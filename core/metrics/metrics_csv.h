/* core/metrics - the metrics files of a segmentation evaluation:
 *
 *   metrics.csv             Patient,Structure,Dice,HausdorffDistance_mm,HD95_mm,MeanDistance_mm
 *                           one row per subject and foreground structure, in
 *                           the order added; values "%.6f", or "nan" / "inf";
 *   metrics_aggregates.csv  Structure,Metric,count,nan_count,inf_count,mean,std,min,max
 *                           one row per structure (first-seen order) and
 *                           metric column (file order).
 *
 * Both are written to a temporary file in the destination folder and moved
 * into place only when complete, so a crash never leaves a half-written file
 * under the final name; without `overwrite` an existing file is never
 * replaced.  docs/metrics.md describes the columns. */
#ifndef IE_CORE_METRICS_METRICS_CSV_H
#define IE_CORE_METRICS_METRICS_CSV_H

#include <stdbool.h>

#include "core/metrics/segmentation_metrics.h"

/* Summary of one metric over subjects:
 *   count      values that are not NaN (finite and +inf);
 *   nan_count  NaN values (structure absent from both maps: nothing to score);
 *   inf_count  +inf (or -inf) values (structure absent from exactly one map);
 *   mean, std  over the finite values only; std is the sample standard
 *              deviation (n - 1, as pandas); NaN when there are no finite
 *              values (mean) or fewer than two (std);
 *   min, max   over all non-NaN values, so max is +inf when inf_count > 0;
 *              NaN when count is 0. */
typedef struct ie_metric_stats {
    int count, nan_count, inf_count;
    double mean, std, min, max;
} ie_metric_stats;

/* Stats of values[0 .. n), summed in index order (deterministic). */
void ie_metric_stats_compute(const double *values, int n, ie_metric_stats *out);

typedef struct ie_metrics_writer ie_metrics_writer;

/* Starts metrics.csv at `path` (the folder must exist): writes the header to a
 * temporary file next to it.  Without `overwrite`, fails at once when `path`
 * exists (and again at commit, should it appear meanwhile). */
ie_status ie_metrics_writer_open(const char *path, bool overwrite, ie_metrics_writer **out);

/* Appends one row. */
ie_status ie_metrics_writer_add(ie_metrics_writer *w, const char *patient, const char *structure,
                                const ie_seg_metrics *m);

/* Computes the metrics of classes 1 .. n_classes-1 between two label maps
 * (ie_seg_metrics_labels) and appends one row per class, named
 * class_names[c] (class_names[0], the background, is not used).  When
 * `metrics` is not NULL it receives the n_classes - 1 results. */
ie_status ie_metrics_writer_add_subject(ie_metrics_writer *w, const char *patient, const ie_tensor *prediction,
                                        const ie_tensor *truth, const ie_image_geometry *geometry, int n_classes,
                                        const char *const *class_names, ie_seg_metrics *metrics);

/* Completes the file and moves it to its path; frees w, also on failure (the
 * temporary file is then removed). */
ie_status ie_metrics_writer_commit(ie_metrics_writer *w);

/* Abandons the file: removes the temporary file and frees w (NULL is fine). */
void ie_metrics_writer_discard(ie_metrics_writer *w);

/* Reads a metrics.csv (`Structure` column required; every column other than
 * Patient and Structure is a metric; empty cells, "nan" and "inf" are
 * accepted) and writes metrics_aggregates.csv at `aggregates_path` with
 * ie_metric_stats per structure and metric (values "%.6f", "nan", "inf"). */
ie_status ie_metrics_aggregates_write(const char *metrics_path, const char *aggregates_path, bool overwrite);

#endif
