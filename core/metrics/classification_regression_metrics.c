/* core/metrics - classification and regression metrics (definitions in
 * classification_regression_metrics.h). */
#include "core/metrics/classification_regression_metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

typedef struct ranked {
    double p;
    int positive;
} ranked;

/* Decreasing prediction; ties in any order (they form one ROC point). */
static int by_prediction_desc(const void *a, const void *b) {
    double x = ((const ranked *)a)->p, y = ((const ranked *)b)->p;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void fill_nan(ie_binary_metrics *m) {
    m->auroc = m->auprc = m->cross_entropy = m->accuracy_05 = NAN;
    m->optimal_threshold = m->accuracy_optimal = m->fpr_optimal = m->fnr_optimal = NAN;
}

static double accuracy_above(const double *p, const double *y, int n, double threshold) {
    int right = 0;
    for (int i = 0; i < n; i++) right += (p[i] > threshold) == (y[i] > 0.5);
    return (double)right / n;
}

ie_status ie_binary_metrics_compute(const double *p, const double *y, int n, ie_binary_metrics *m) {
    m->count = n;
    m->positives = 0;
    fill_nan(m);
    for (int i = 0; i < n; i++) {
        if (!(y[i] == 0.0 || y[i] == 1.0))
            return ie_error_set(IE_ERR_INVALID_ARG, "binary metrics: label %d is %g; labels must be 0 or 1", i, y[i]);
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "binary metrics: prediction %d is %g; predictions must be probabilities in [0, 1]", i,
                                p[i]);
        m->positives += y[i] == 1.0;
    }
    if (n == 0) return IE_OK;
    double ce = 0;
    for (int i = 0; i < n; i++) {
        double q = fmin(fmax(p[i], DBL_EPSILON), 1.0 - DBL_EPSILON);
        /* log_loss renormalises the pair (1 - q, q); keep its arithmetic. */
        double s = (1.0 - q) + q;
        ce -= y[i] == 1.0 ? log(q / s) : log((1.0 - q) / s);
    }
    m->cross_entropy = ce / n;
    m->accuracy_05 = accuracy_above(p, y, n, 0.5);
    int pos = m->positives, neg = n - pos;
    if (pos == 0 || neg == 0) { /* InnerEye: a single class is perfectly separable */
        m->auroc = m->auprc = 1.0;
        return IE_OK;
    }
    ranked *r = malloc((size_t)n * sizeof *r);
    if (!r) return ie_error_set(IE_ERR_NOMEM, "binary metrics: out of memory for %d predictions", n);
    for (int i = 0; i < n; i++) r[i] = (ranked){p[i], y[i] == 1.0};
    qsort(r, (size_t)n, sizeof *r, by_prediction_desc);
    /* Walk the thresholds from high to low: one ROC / PR point per distinct value. */
    double roc_area = 0, pr_area = 0;
    double prev_fpr = 0, prev_tpr = 0, prev_recall = 0, prev_precision = 1;
    double best_j = 0, best_threshold = r[0].p + 1.0, best_fpr = 0, best_tpr = 0;
    int tp = 0, fp = 0;
    for (int i = 0; i < n;) {
        double v = r[i].p;
        for (; i < n && r[i].p == v; i++) r[i].positive ? tp++ : fp++;
        double fpr = (double)fp / neg, tpr = (double)tp / pos;
        double recall = tpr, precision = (double)tp / (tp + fp);
        roc_area += (fpr - prev_fpr) * (tpr + prev_tpr) / 2.0;
        pr_area += (recall - prev_recall) * (precision + prev_precision) / 2.0;
        if (tpr - fpr > best_j) {
            best_j = tpr - fpr;
            best_threshold = v;
            best_fpr = fpr;
            best_tpr = tpr;
        }
        prev_fpr = fpr, prev_tpr = tpr, prev_recall = recall, prev_precision = precision;
    }
    free(r);
    m->auroc = roc_area;
    m->auprc = pr_area;
    m->optimal_threshold = best_threshold;
    m->fpr_optimal = best_fpr;
    m->fnr_optimal = 1.0 - best_tpr;
    m->accuracy_optimal = accuracy_above(p, y, n, best_threshold);
    return IE_OK;
}

/* 1 - num / den with sklearn's rule for a constant target. */
static double one_minus_ratio(double num, double den) {
    if (den == 0.0) return num == 0.0 ? 1.0 : 0.0;
    return 1.0 - num / den;
}

void ie_regression_metrics_compute(const double *p, const double *y, int n, ie_regression_metrics *m) {
    m->count = n;
    m->mse = m->mae = m->r2 = m->explained_variance = NAN;
    if (n == 0) return;
    double se = 0, ae = 0, y_sum = 0, diff_sum = 0;
    for (int i = 0; i < n; i++) {
        double d = y[i] - p[i];
        se += d * d;
        ae += fabs(d);
        y_sum += y[i];
        diff_sum += d;
    }
    double y_mean = y_sum / n, diff_mean = diff_sum / n, ss_tot = 0, ss_diff = 0;
    for (int i = 0; i < n; i++) {
        double a = y[i] - y_mean, b = y[i] - p[i] - diff_mean;
        ss_tot += a * a;
        ss_diff += b * b;
    }
    m->mse = se / n;
    m->mae = ae / n;
    m->r2 = one_minus_ratio(se, ss_tot);
    m->explained_variance = one_minus_ratio(ss_diff / n, ss_tot / n);
}

int ie_argmax_first(const double *v, int k) {
    int best = 0;
    for (int c = 1; c < k; c++)
        if (v[c] > v[best]) best = c;
    return best;
}

double ie_multiclass_accuracy(const double *prob, const int *truth, int n, int k, int64_t *confusion) {
    if (confusion)
        for (int i = 0; i < k * k; i++) confusion[i] = 0;
    if (n == 0) return NAN;
    int right = 0;
    for (int i = 0; i < n; i++) {
        int pred = ie_argmax_first(prob + (size_t)i * k, k);
        right += pred == truth[i];
        if (confusion && truth[i] >= 0 && truth[i] < k) confusion[truth[i] * k + pred]++;
    }
    return (double)right / n;
}
