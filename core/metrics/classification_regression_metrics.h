/* core/metrics - metrics of scalar predictions: binary (and multi-label)
 * classification, multi-class classification and regression, with
 * InnerEye's definitions (InnerEye/ML/metrics_dict.py, metrics_util.py),
 * which are scikit-learn's where InnerEye calls scikit-learn.
 *
 * Binary, one target: predictions are probabilities of the positive class,
 * labels 0 or 1.
 *   area_under_roc_curve   trapezoid area under the ROC curve whose points
 *                          are the distinct prediction values taken as
 *                          thresholds (predicted positive: prediction >=
 *                          threshold); sklearn.metrics.roc_auc_score.
 *   area_under_pr_curve    InnerEye's AUPRC: the trapezoid rule on the full
 *                          precision-recall curve, auc(recall, precision)
 *                          with sklearn's precision_recall_curve (points at
 *                          every distinct threshold, plus precision 1 at
 *                          recall 0).  Not average precision.  InnerEye's
 *                          unit case: predictions [0.5, 0.6, 0.1, 0.8, 0.2,
 *                          0.9], labels [0, 1, 0, 0, 1, 1] give 0.7111111.
 *   cross_entropy          mean of -(y log p + (1 - y) log(1 - p)) with p
 *                          clipped to [eps, 1 - eps], eps = DBL_EPSILON
 *                          (sklearn.metrics.log_loss, sklearn 1.2).
 *   accuracy_at_threshold_05
 *                          fraction of subjects with (p > 0.5) == y.
 *   optimal_threshold      the threshold of the ROC point with the largest
 *                          TPR - FPR (Youden's J), the first such point in
 *                          order of decreasing threshold; the ROC curve
 *                          starts, as sklearn 1.2's, at (0, 0) with threshold
 *                          max(p) + 1.
 *   false_positive_rate_at_optimal_threshold, false_negative_rate_at_optimal_threshold
 *                          FPR and 1 - TPR of that ROC point (>= threshold).
 *   accuracy_at_optimal_threshold
 *                          fraction with (p > threshold) == y: strictly
 *                          greater, as InnerEye's binary_classification_accuracy
 *                          (so ties at the threshold count as negative here
 *                          while the ROC point counts them positive).
 * When all labels are equal, both areas are 1.0 (InnerEye's convention: some
 * threshold always separates them) and the optimal-threshold values are NaN
 * (one of the rates is undefined).
 *
 * Multi-class: per subject a probability per class and the true class; the
 * predicted class is the first largest probability.  Accuracy and the
 * confusion matrix (rows: true class, columns: predicted class).
 *
 * Regression, one target:
 *   mean_squared_error, mean_absolute_error;
 *   r2_score               1 - SS_res / SS_tot (sklearn.metrics.r2_score;
 *                          when SS_tot = 0: 1 if SS_res = 0, else 0);
 *   explained_variance     1 - Var(y - p) / Var(y), the same rule when
 *                          Var(y) = 0 (sklearn.metrics.explained_variance_score).
 *
 * Every sum runs in double, in input order: results do not depend on
 * threads.  No metric is defined for 0 subjects: every value is NaN. */
#ifndef IE_CORE_METRICS_SCALAR_METRICS_H
#define IE_CORE_METRICS_SCALAR_METRICS_H

#include <stdint.h>

#include "innereye/status.h"

typedef struct ie_binary_metrics {
    int count, positives;
    double auroc, auprc, cross_entropy, accuracy_05;
    double optimal_threshold, accuracy_optimal, fpr_optimal, fnr_optimal;
} ie_binary_metrics;

typedef struct ie_regression_metrics {
    int count;
    double mse, mae, r2, explained_variance;
} ie_regression_metrics;

/* prediction[i] in [0, 1], label[i] 0 or 1 (else IE_ERR_INVALID_ARG naming
 * the index and value). */
ie_status ie_binary_metrics_compute(const double *prediction, const double *label, int n, ie_binary_metrics *out);

void ie_regression_metrics_compute(const double *prediction, const double *label, int n,
                                   ie_regression_metrics *out);

/* probabilities: n x k, row-major; true_class[i] in 0..k-1.  confusion
 * (k x k, may be NULL) receives counts; returns the accuracy (NaN for n = 0). */
double ie_multiclass_accuracy(const double *probabilities, const int *true_class, int n, int k, int64_t *confusion);

/* Index of the first largest of k values. */
int ie_argmax_first(const double *values, int k);

#endif
