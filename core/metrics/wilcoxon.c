/* core/metrics - Wilcoxon signed-rank test, Student's t quantiles. */
#include "core/metrics/wilcoxon.h"

#include <math.h>
#include <stdlib.h>

typedef struct absdiff {
    double a;
    int positive;
} absdiff;

static int by_abs(const void *x, const void *y) {
    double a = ((const absdiff *)x)->a, b = ((const absdiff *)y)->a;
    return a < b ? -1 : a > b;
}

/* Two-sided exact p-value of W+ = w (an integer) for n untied ranks, as
 * scipy 1.10 computes it: 2 min(P(W <= w), P(W >= w)), 1 at the centre. */
static double exact_p(int n, double w, bool *ok) {
    int max = n * (n + 1) / 2;
    double *count = calloc((size_t)max + 1, sizeof *count);
    *ok = count != NULL;
    if (!count) return NAN;
    count[0] = 1; /* subsets of {1..n} by their sum: exact in doubles up to 2^53 */
    for (int r = 1; r <= n; r++)
        for (int s = max; s >= r; s--) count[s] += count[s - r];
    int k = (int)w;
    double total = ldexp(1.0, n), less = 0, greater = 0;
    for (int s = 0; s <= max; s++) {
        if (s <= k) less += count[s];
        if (s >= k) greater += count[s];
    }
    free(count);
    if (k == max / 2) return 1.0;
    double p = 2.0 * fmin(less, greater) / total;
    return p > 1 ? 1 : p;
}

ie_status ie_wilcoxon_signed_rank(const double *d, int n, ie_wilcoxon *out) {
    *out = (ie_wilcoxon){.statistic = NAN, .w_plus = NAN, .z = NAN, .p_value = NAN};
    absdiff *v = malloc(sizeof *v * (size_t)(n + 1));
    if (!v) return ie_error_set(IE_ERR_NOMEM, "Wilcoxon test: out of memory for %d differences", n);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(d[i])) {
            free(v);
            return ie_error_set(IE_ERR_INVALID_ARG, "Wilcoxon test: difference %d is NaN", i);
        }
        if (d[i] == 0) out->n_zero++;
        else v[m++] = (absdiff){fabs(d[i]), d[i] > 0};
    }
    out->n = m;
    if (m == 0) {
        free(v);
        return IE_OK;
    }
    qsort(v, (size_t)m, sizeof *v, by_abs);
    /* Average ranks of tied |d|; the tie term sum(t^3 - t) for the variance. */
    double w_plus = 0, w_minus = 0, tie_term = 0;
    for (int i = 0; i < m;) {
        int j = i;
        while (j < m && v[j].a == v[i].a) j++;
        double rank = (i + 1 + j) / 2.0, t = j - i;
        if (t > 1) out->ties = true, tie_term += t * (t * t - 1);
        for (int k = i; k < j; k++) {
            if (v[k].positive) w_plus += rank;
            else w_minus += rank;
        }
        i = j;
    }
    free(v);
    out->w_plus = w_plus;
    out->statistic = fmin(w_plus, w_minus);
    out->exact = m <= IE_WILCOXON_EXACT_MAX && out->n_zero == 0 && !out->ties;
    if (out->exact) {
        bool ok;
        out->p_value = exact_p(m, w_plus, &ok);
        if (!ok) return ie_error_set(IE_ERR_NOMEM, "Wilcoxon test: out of memory");
        return IE_OK;
    }
    double mean = m * (m + 1.0) / 4.0;
    double se = sqrt((m * (m + 1.0) * (2.0 * m + 1.0) - 0.5 * tie_term) / 24.0);
    double t = out->statistic, correction = 0.5 * ((t > mean) - (t < mean));
    out->z = se > 0 ? (t - mean - correction) / se : 0;
    out->p_value = erfc(fabs(out->z) / sqrt(2.0)); /* 2 * normal sf(|z|) */
    return IE_OK;
}

/* Regularised incomplete beta I_x(a, b) by its continued fraction
 * (Numerical Recipes' betacf, Lentz's method). */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, dd = 1 - qab * x / qap;
    if (fabs(dd) < tiny) dd = tiny;
    dd = 1 / dd;
    double h = dd;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        dd = 1 + aa * dd, c = 1 + aa / c;
        if (fabs(dd) < tiny) dd = tiny;
        if (fabs(c) < tiny) c = tiny;
        dd = 1 / dd, h *= dd * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        dd = 1 + aa * dd, c = 1 + aa / c;
        if (fabs(dd) < tiny) dd = tiny;
        if (fabs(c) < tiny) c = tiny;
        dd = 1 / dd;
        double del = dd * c;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return h;
}

static double beta_inc(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
    return 1 - front * beta_cf(b, a, 1 - x) / b;
}

/* P(T <= t) for Student's t with df degrees of freedom. */
static double t_cdf(double t, double df) {
    double tail = 0.5 * beta_inc(df / 2, 0.5, df / (df + t * t));
    return t > 0 ? 1 - tail : tail;
}

double ie_student_t_quantile(double p, double df) {
    if (!(p > 0 && p < 1) || !(df > 0)) return NAN;
    if (p == 0.5) return 0;
    if (p < 0.5) return -ie_student_t_quantile(1 - p, df);
    double lo = 0, hi = 1;
    while (t_cdf(hi, df) < p && hi < 1e12) hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) { /* bisection: the CDF is monotone */
        double mid = 0.5 * (lo + hi);
        if (t_cdf(mid, df) < p) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

void ie_mean_ci95(const double *d, int n, ie_mean_ci *out) {
    *out = (ie_mean_ci){.mean = NAN, .sd = NAN, .low = NAN, .high = NAN};
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(d[i])) sum += d[i], out->n++;
    if (out->n == 0) return;
    out->mean = sum / out->n;
    if (out->n < 2) return;
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(d[i])) ss += (d[i] - out->mean) * (d[i] - out->mean);
    out->sd = sqrt(ss / (out->n - 1));
    double half = ie_student_t_quantile(0.975, out->n - 1) * out->sd / sqrt((double)out->n);
    out->low = out->mean - half, out->high = out->mean + half;
}
