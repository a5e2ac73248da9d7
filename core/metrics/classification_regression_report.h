/* core/metrics - metrics of a predictions table (classification_regression_predictions.h), as
 * the trainer writes them after a classification or regression run and
 * `innereye eval --task classification|regression` computes them from any
 * predictions CSV: the same code, so the same numbers.
 *
 * Rows are grouped by (split, epoch), in order of first appearance, and
 * within a group by target.  Per group and target (definitions in
 * classification_regression_metrics.h):
 *   classification: subject_count, area_under_roc_curve, area_under_pr_curve,
 *     cross_entropy, accuracy_at_threshold_05, optimal_threshold,
 *     accuracy_at_optimal_threshold, false_positive_rate_at_optimal_threshold,
 *     false_negative_rate_at_optimal_threshold;
 *   regression: subject_count, mean_squared_error, mean_absolute_error,
 *     r2_score, explained_variance.
 * Multi-class: when, in a classification group, there are at least two
 * targets, every subject has a row for each, and exactly one of its labels
 * is 1, the targets are taken as mutually exclusive classes: the predicted
 * class is the first target with the largest prediction, and the group also
 * gets target "(multiclass)" with subject_count and accuracy, and a confusion
 * matrix.
 *
 * Files (written atomically into out_dir):
 *   metrics.csv           split,epoch,target,metric,value (one row each)
 *   confusion_matrix.csv  split,epoch,true_class,predicted_class,count
 *                         (multi-class groups only; every cell, zeros too)
 *
 * Checks before anything is computed, each naming file, line, subject and
 * target: classification labels must be 0 or 1 and predictions in [0, 1]. */
#ifndef IE_CORE_METRICS_SCALAR_REPORT_H
#define IE_CORE_METRICS_SCALAR_REPORT_H

#include <stdio.h>

#include "core/metrics/classification_regression_predictions.h"

typedef enum ie_scalar_kind { IE_SCALAR_CLASSIFICATION = 0, IE_SCALAR_REGRESSION = 1 } ie_scalar_kind;

#define IE_MULTICLASS_TARGET "(multiclass)"

typedef struct ie_metric_entry {
    const char *split, *epoch, *target; /* borrowed from the predictions table */
    const char *metric;                 /* static */
    double value;
} ie_metric_entry;

typedef struct ie_scalar_report ie_scalar_report;

/* p must outlive the report. */
ie_status ie_scalar_report_compute(const ie_predictions *p, ie_scalar_kind kind, ie_scalar_report **out);
void ie_scalar_report_free(ie_scalar_report *r);

int ie_scalar_report_count(const ie_scalar_report *r);
const ie_metric_entry *ie_scalar_report_entry(const ie_scalar_report *r, int i);
/* The value of one metric, or NaN when the report has none. */
double ie_scalar_report_find(const ie_scalar_report *r, const char *split, const char *target, const char *metric);

ie_status ie_scalar_report_write(const ie_scalar_report *r, const char *out_dir);
/* A readable summary: per group, one line per target and the confusion
 * matrix of multi-class groups (up to 20 classes). */
void ie_scalar_report_print(const ie_scalar_report *r, FILE *f);

#endif
