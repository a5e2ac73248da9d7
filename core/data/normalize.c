/* core/data - photometric normalisation (rules in normalize.h).
 *
 * The statistics follow numpy's and scikit-image's arithmetic step by step
 * (float32 where numpy computes in float32, the same summation order), so
 * the thresholds InnerEye would pick are picked here too, and the outputs
 * agree with a numpy run to float32 rounding. */
#include "core/data/normalize.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void ie_norm_params_init(ie_norm_params *p) {
    p->level = 50;
    p->window = 600;
    p->output_range[0] = -1;
    p->output_range[1] = 1;
    p->sharpen = 0.9;
    p->tail = 1;
    p->trim_percentiles[0] = 1;
    p->trim_percentiles[1] = 99;
}

static const struct {
    const char *name, *alias;
    ie_seg_norm method;
} names[] = {
    {"None", "Unchanged", IE_SEG_NORM_NONE},         {"SimpleNorm", "Simple Norm", IE_SEG_NORM_SIMPLE},
    {"CtWindow", "CT Window", IE_SEG_NORM_CT_WINDOW}, {"MriWindow", "MRI Window", IE_SEG_NORM_MRI_WINDOW},
    {"TrimmedNorm", "Trimmed Norm", IE_SEG_NORM_TRIMMED},
};

ie_status ie_norm_parse(const char *name, ie_seg_norm *out) {
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name) || !strcmp(name, names[i].alias)) {
            *out = names[i].method;
            return IE_OK;
        }
    return ie_error_set(IE_ERR_CONFIG, "data.normalization \"%s\" is unknown; use None, SimpleNorm, CtWindow, "
                        "MriWindow or TrimmedNorm", name ? name : "(null)");
}

const char *ie_norm_name(ie_seg_norm method) {
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].method == method) return names[i].name;
    return "?";
}

/* ---- order statistics ---- */

static inline void swap(float *a, float *b) {
    float t = *a;
    *a = *b;
    *b = t;
}

/* Reorders v[0..n) so that v[k] is the k-th smallest, smaller-or-equal values
 * before it and greater-or-equal after (quickselect, median-of-three pivot,
 * Hoare partition: runs of equal values split evenly). */
static void select_kth(float *v, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        int64_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo]) swap(&v[mid], &v[lo]);
        if (v[hi] < v[lo]) swap(&v[hi], &v[lo]);
        if (v[hi] < v[mid]) swap(&v[hi], &v[mid]);
        float pivot = v[mid];
        int64_t i = lo - 1, j = hi + 1;
        for (;;) {
            do i++; while (v[i] < pivot);
            do j--; while (v[j] > pivot);
            if (i >= j) break;
            swap(&v[i], &v[j]);
        }
        /* v[lo..j] <= pivot <= v[j+1..hi] */
        if (k <= j) hi = j;
        else lo = j + 1;
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(v, q[i], method="midpoint") for i < count, reordering v.
 * numpy subtracts the two neighbours in the array's type: float32 for a
 * float32 array (f32_diff), double for InnerEye's `.astype(float)` copies. */
static void percentiles_midpoint(float *v, int64_t n, const double *q, int count, bool f32_diff, double *out) {
    int64_t idx[32];
    int m = 0;
    for (int i = 0; i < count; i++) {
        double virt = (double)(n - 1) * (q[i] / 100.0);
        idx[m++] = (int64_t)floor(virt);
        idx[m++] = (int64_t)ceil(virt);
    }
    qsort(idx, (size_t)m, sizeof idx[0], cmp_i64);
    int64_t done = 0; /* v[0..done) holds the smallest values, placed */
    for (int i = 0; i < m; i++) {
        if (idx[i] < done) continue;
        select_kth(v + done, n - done, idx[i] - done);
        done = idx[i] + 1;
    }
    for (int i = 0; i < count; i++) {
        double virt = (double)(n - 1) * (q[i] / 100.0);
        int64_t a = (int64_t)floor(virt), b = (int64_t)ceil(virt);
        if (a == b) {
            out[i] = v[a];
        } else {
            double d = f32_diff ? (double)(v[b] - v[a]) : (double)v[b] - (double)v[a];
            out[i] = (double)v[b] - d * 0.5; /* numpy's lerp for gamma >= 0.5 */
        }
    }
}

/* InnerEye's robust_mean_std: median, (q75 - q25) / (2 * 0.67448975), min,
 * max, with numpy's midpoint percentiles.  n >= 1. */
static void robust_mean_std(float *v, int64_t n, bool f32_diff, double *median, double *std, double *min,
                            double *max) {
    static const double q[5] = {0, 25, 50, 75, 100};
    double p[5];
    percentiles_midpoint(v, n, q, 5, f32_diff, p);
    *min = p[0];
    *median = p[2];
    *max = p[4];
    *std = (p[3] - p[1]) / (2 * 0.67448975);
}

/* ---- Otsu ---- */

float ie_otsu_threshold(const float *x, int64_t n) {
    enum { NBINS = 256 };
    if (n <= 0) return 0;
    float mn = x[0], mx = x[0];
    bool constant = true;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
        constant = constant && x[i] == x[0];
    }
    if (constant) return x[0]; /* scikit-image returns the single value */
    /* numpy.histogram(x, 256): edges = float32(linspace(min, max, 257)) */
    float edges[NBINS + 1], centres[NBINS];
    double first = mn, last = mx, step = (last - first) / NBINS;
    for (int i = 0; i < NBINS; i++) edges[i] = (float)((double)i * step + first);
    edges[NBINS] = mx;
    for (int i = 0; i < NBINS; i++) centres[i] = (edges[i] + edges[i + 1]) / 2.0f;
    double *counts = calloc(NBINS, sizeof *counts);
    if (!counts) return mn; /* cannot happen for 2 KB; keeps the function total */
    const float denom = (float)(last - first);
    for (int64_t i = 0; i < n; i++) {
        /* numpy's float32 index estimate, then its one-step corrections */
        float f = ((x[i] - mn) / denom) * (float)NBINS;
        int64_t b = (int64_t)f;
        if (b >= NBINS) b = NBINS - 1;
        if (x[i] < edges[b]) b--;
        if (b != NBINS - 1 && x[i] >= edges[b + 1]) b++;
        counts[b] += 1;
    }
    /* threshold_otsu: between-class variance for every cut, first maximum */
    double w1[NBINS], w2[NBINS], m1[NBINS], m2[NBINS], acc = 0, accw = 0;
    for (int i = 0; i < NBINS; i++) {
        accw += counts[i];
        acc += counts[i] * (double)centres[i];
        w1[i] = accw;
        m1[i] = acc / accw;
    }
    acc = accw = 0;
    for (int i = NBINS - 1; i >= 0; i--) {
        accw += counts[i];
        acc += counts[i] * (double)centres[i];
        w2[i] = accw;
        m2[i] = acc / accw;
    }
    free(counts);
    int best = 0;
    double best_v = -INFINITY;
    for (int i = 0; i < NBINS - 1; i++) {
        double d = m1[i] - m2[i + 1];
        double v = w1[i] * w2[i + 1] * (d * d);
        if (v > best_v) { /* NaN never wins: weights are >= 1 here, so none arises */
            best_v = v;
            best = i;
        }
    }
    return centres[best];
}

/* ---- the methods ---- */

/* InnerEye's LinearTransform on float32 data. */
static void linear_map(float *x, int64_t n, const double in[2], const double out[2]) {
    double g = (out[1] - out[0]) / (in[1] - in[0]);
    double c = out[1] - g * in[1];
    float gf = (float)g, cf = (float)c, lo = (float)out[0], hi = (float)out[1];
    for (int64_t i = 0; i < n; i++) {
        float y = x[i] * gf;
        y = y + cf;
        x[i] = y < lo ? lo : y > hi ? hi : y;
    }
}

static ie_status check_window(const char *method, const double in[2]) {
    if (in[1] > in[0] && isfinite(in[0]) && isfinite(in[1])) return IE_OK;
    return ie_error_set(IE_ERR_NUMERIC, "%s: the intensity window is empty ([%g, %g]): the channel has (nearly) a "
                        "single value; use SimpleNorm or None for such images", method, in[0], in[1]);
}

static ie_status mri_window(const ie_norm_params *p, float *x, int64_t n, ie_norm_info *info) {
    float t = ie_otsu_threshold(x, n);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) m += x[i] > t;
    if (m == 0)
        return ie_error_set(IE_ERR_NUMERIC, "MriWindow: no voxel lies above Otsu's threshold %g (the channel has a "
                            "single value); use SimpleNorm or None for such images", (double)t);
    float *fg = malloc((size_t)m * sizeof *fg);
    if (!fg) return ie_error_set(IE_ERR_NOMEM, "MriWindow: out of memory for %lld voxels", (long long)m);
    for (int64_t i = 0, k = 0; i < n; i++)
        if (x[i] > t) fg[k++] = x[i];
    double level, s, mn, mx;
    robust_mean_std(fg, m, true, &level, &s, &mn, &mx);
    free(fg);
    double in[2] = {level - s * p->sharpen, level + p->tail * s * p->sharpen};
    if (!(in[0] > (double)t)) in[0] = t;
    if (mx < in[1]) in[1] = mx;
    info->threshold = t;
    info->input_range[0] = in[0];
    info->input_range[1] = in[1];
    IE_TRY(check_window("MriWindow", in));
    for (int64_t i = 0; i < n; i++)
        if (x[i] < t) x[i] = 0;
    linear_map(x, n, in, p->output_range);
    return IE_OK;
}

static ie_status trimmed_norm(const ie_norm_params *p, float *x, int64_t n, ie_norm_info *info) {
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return ie_error_set(IE_ERR_NOMEM, "TrimmedNorm: out of memory for %lld voxels", (long long)n);
    memcpy(v, x, (size_t)n * sizeof *v);
    double th[2];
    percentiles_midpoint(v, n, p->trim_percentiles, 2, false, th);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if ((double)x[i] > th[0] && (double)x[i] < th[1]) v[m++] = x[i];
    if (m == 0) {
        free(v);
        return ie_error_set(IE_ERR_NUMERIC, "TrimmedNorm: no voxel lies strictly between the %g and %g percentiles "
                            "(%g and %g); the channel has too few distinct values, use SimpleNorm or None",
                            p->trim_percentiles[0], p->trim_percentiles[1], th[0], th[1]);
    }
    double median, s, mn, mx;
    robust_mean_std(v, m, false, &median, &s, &mn, &mx);
    free(v);
    double in[2] = {median - s * p->sharpen, median + s * p->sharpen};
    if (!(in[0] > mn)) in[0] = mn;
    if (mx < in[1]) in[1] = mx;
    info->input_range[0] = in[0];
    info->input_range[1] = in[1];
    IE_TRY(check_window("TrimmedNorm", in));
    linear_map(x, n, in, p->output_range);
    return IE_OK;
}

static void simple_norm(float *x, int64_t n) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    double mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++) sq += ((double)x[i] - mean) * ((double)x[i] - mean);
    double sd = sqrt(sq / (double)n), scale = 1.0 / (sd > 1e-6 ? sd : 1e-6);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(((double)x[i] - mean) * scale);
}

ie_status ie_normalize(ie_seg_norm method, const ie_norm_params *params, float *x, int64_t n, ie_norm_info *info) {
    ie_norm_params defaults;
    ie_norm_info ignored;
    if (!params) {
        ie_norm_params_init(&defaults);
        params = &defaults;
    }
    if (!info) info = &ignored;
    memset(info, 0, sizeof *info);
    if (method == IE_SEG_NORM_NONE || n <= 0) return IE_OK;
    if (!x) return ie_error_set(IE_ERR_INVALID_ARG, "normalize: no data");
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return ie_error_set(IE_ERR_NUMERIC, "%s: voxel %lld is %g; images must hold finite values",
                                ie_norm_name(method), (long long)i, (double)x[i]);
    const double *out = params->output_range;
    if (method != IE_SEG_NORM_SIMPLE && !(out[1] > out[0]))
        return ie_error_set(IE_ERR_CONFIG, "data.output_range must be increasing, got [%g, %g]", out[0], out[1]);
    switch (method) {
    case IE_SEG_NORM_SIMPLE:
        simple_norm(x, n);
        return IE_OK;
    case IE_SEG_NORM_CT_WINDOW: {
        double in[2] = {params->level - params->window / 2, params->level + params->window / 2};
        info->input_range[0] = in[0];
        info->input_range[1] = in[1];
        IE_TRY(check_window("CtWindow", in));
        linear_map(x, n, in, out);
        return IE_OK;
    }
    case IE_SEG_NORM_MRI_WINDOW: return mri_window(params, x, n, info);
    case IE_SEG_NORM_TRIMMED: return trimmed_norm(params, x, n, info);
    case IE_SEG_NORM_NONE: break;
    }
    return ie_error_set(IE_ERR_INVALID_ARG, "normalize: unknown method %d", (int)method);
}
