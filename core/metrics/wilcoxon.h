/* core/metrics - paired statistics for comparing two models on the same
 * subjects: the Wilcoxon signed-rank test and the mean difference with its
 * confidence interval (`innereye compare`, docs/reports.md).
 *
 * Checked against scipy 1.10 (scipy.stats.wilcoxon with zero_method="wilcox",
 * correction=True, and the method chosen below; scipy.stats.t.ppf) on the
 * cases of tests/reference/gen_wilcoxon.py. */
#ifndef IE_CORE_METRICS_WILCOXON_H
#define IE_CORE_METRICS_WILCOXON_H

#include <stdbool.h>

#include "innereye/status.h"

typedef struct ie_wilcoxon {
    int n;            /* differences that are not zero: the ones ranked */
    int n_zero;       /* zero differences, dropped (Wilcoxon's zero_method) */
    bool ties;        /* some |differences| are equal */
    double w_plus;    /* sum of the ranks of positive differences */
    double statistic; /* min(W+, W-), scipy's two-sided statistic */
    bool exact;       /* exact null distribution: n <= 50, no zeros, no ties (scipy's "exact");
                         otherwise the normal approximation with the tie correction of the
                         variance and a continuity correction of 0.5 (scipy's "approx") */
    double z;         /* the approximation's z (NaN when exact) */
    double p_value;   /* two-sided; NaN when n == 0 */
} ie_wilcoxon;

/* The test on paired differences d[i] = b[i] - a[i] (no NaN; +-inf rank
 * above every finite difference). */
ie_status ie_wilcoxon_signed_rank(const double *d, int n, ie_wilcoxon *out);

/* The largest n for which the exact distribution is used (scipy's rule). */
#define IE_WILCOXON_EXACT_MAX 50

/* Quantile of Student's t distribution with df degrees of freedom. */
double ie_student_t_quantile(double p, double df);

typedef struct ie_mean_ci {
    int n;
    double mean, sd;   /* sample standard deviation (n - 1) */
    double low, high;  /* two-sided 95% confidence interval: mean -+ t(0.975, n - 1) sd / sqrt(n) */
} ie_mean_ci;

/* Over the finite values of d (n < 2: the interval is NaN). */
void ie_mean_ci95(const double *d, int n, ie_mean_ci *out);

#endif
