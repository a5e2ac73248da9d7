/* core/inference - post-processing of posteriors into a segmentation (the
 * steps and their InnerEye sources are in postprocess.h). */
#include "core/inference/postprocess.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/inference/components.h"
#include "core/tensor/tensor_impl.h"
#include "innereye/threads.h"

void ie_postprocess_opts_init(ie_postprocess_opts *o) {
    memset(o, 0, sizeof *o);
    o->connectivity = 6;
}

static ie_status check_posteriors(const char *op, const ie_tensor *p) {
    char d[96];
    if (!p || ie_tensor_dtype(p) != IE_F32 || ie_tensor_device(p) != IE_CPU || ie_tensor_ndim(p) != 4 ||
        ie_tensor_dim(p, 0) < 1 || ie_tensor_dim(p, 0) > IE_POSTPROCESS_MAX_CLASSES)
        return ie_error_set(IE_ERR_SHAPE, "%s: posteriors are %s; expected [K, D, H, W] f32 on the CPU with 1 to %d "
                            "classes", op, p ? ie_tensor_describe(p, d, sizeof d) : "NULL",
                            IE_POSTPROCESS_MAX_CLASSES);
    return IE_OK;
}

static ie_status check_segmentation(const char *op, const ie_tensor *s, const ie_tensor *posteriors) {
    char d[96], e[96];
    bool ok = s && ie_tensor_dtype(s) == IE_U8 && ie_tensor_device(s) == IE_CPU && ie_tensor_ndim(s) == 3;
    for (int a = 0; ok && posteriors && a < 3; a++) ok = ie_tensor_dim(s, a) == ie_tensor_dim(posteriors, a + 1);
    if (ok) return IE_OK;
    return ie_error_set(IE_ERR_SHAPE, "%s: segmentation is %s; expected [D, H, W] u8%s%s", op,
                        s ? ie_tensor_describe(s, d, sizeof d) : "NULL", posteriors ? " matching posteriors " : "",
                        posteriors ? ie_tensor_describe(posteriors, e, sizeof e) : "");
}

static bool valid_class(int c, int K) { return c >= 0 && c < K; }

/* ------------------------------------------------------------------ mask */

static bool inside(const ie_tensor *m, int64_t i) {
    const void *p = ie_tensor_data(m);
    switch (ie_tensor_dtype(m)) {
    case IE_F32: return ((const float *)p)[i] != 0;
    case IE_I64: return ((const int64_t *)p)[i] != 0;
    case IE_I32: return ((const int32_t *)p)[i] != 0;
    case IE_U8: return ((const uint8_t *)p)[i] != 0;
    }
    return true;
}

ie_status ie_posteriors_apply_mask(ie_tensor *post, const ie_tensor *mask) {
    IE_TRY(check_posteriors("mask", post));
    char a[96], b[96];
    bool ok = mask && ie_tensor_device(mask) == IE_CPU && ie_tensor_ndim(mask) == 3;
    for (int d = 0; ok && d < 3; d++) ok = ie_tensor_dim(mask, d) == ie_tensor_dim(post, d + 1);
    if (!ok)
        return ie_error_set(IE_ERR_SHAPE, "mask: the mask is %s but the posteriors are %s; the mask must have the "
                            "image's size [D, H, W]", mask ? ie_tensor_describe(mask, a, sizeof a) : "NULL",
                            ie_tensor_describe(post, b, sizeof b));
    int64_t K = ie_tensor_dim(post, 0), V = ie_tensor_numel(mask);
    float *p = ie_f32(post);
    for (int64_t i = 0; i < V; i++)
        if (!inside(mask, i))
            for (int64_t k = 0; k < K; k++) p[k * V + i] = k == 0 ? 1.0f : 0.0f;
    return IE_OK;
}

/* ------------------------------------------------------------- smoothing */

#define LINES_PER_TASK 64

typedef struct smooth_job {
    float *x;            /* one class: [D, H, W] */
    int64_t n, inner;    /* line length and stride */
    int64_t lines;
    const double *kernel; /* kernel[0..radius], symmetric */
    int64_t radius;
    atomic_int failed;
} smooth_job;

/* scipy's "reflect" extension (d c b a | a b c d | d c b a), periodic with
 * period 2n for offsets longer than the line. */
static int64_t reflect(int64_t i, int64_t n) {
    int64_t period = 2 * n, m = i % period;
    if (m < 0) m += period;
    return m < n ? m : period - 1 - m;
}

static void smooth_task(void *ctx, int64_t task) {
    smooth_job *s = ctx;
    int64_t n = s->n, r = s->radius;
    double *buf = malloc((size_t)(n + 2 * r) * sizeof *buf);
    if (!buf) {
        atomic_store(&s->failed, 1);
        return;
    }
    double *line = buf + r; /* line[-r .. n + r - 1] */
    for (int64_t l = task * LINES_PER_TASK; l < s->lines && l < (task + 1) * LINES_PER_TASK; l++) {
        float *base = s->x + (l / s->inner) * n * s->inner + l % s->inner;
        for (int64_t i = -r; i < n + r; i++) line[i] = base[reflect(i, n) * s->inner];
        /* As scipy's correlate1d for a symmetric kernel, in double. */
        for (int64_t i = 0; i < n; i++) {
            double acc = line[i] * s->kernel[0];
            for (int64_t j = r; j >= 1; j--) acc += (line[i + j] + line[i - j]) * s->kernel[j]; /* scipy's order */
            base[i * s->inner] = (float)acc;
        }
    }
    free(buf);
}

ie_status ie_posteriors_smooth(ie_tensor *post, const double sigma[3]) {
    IE_TRY(check_posteriors("smoothing", post));
    if (!sigma) return ie_error_set(IE_ERR_INVALID_ARG, "smoothing: sigma is NULL");
    int64_t K = ie_tensor_dim(post, 0), size[3] = {ie_tensor_dim(post, 1), ie_tensor_dim(post, 2),
                                                    ie_tensor_dim(post, 3)};
    int64_t V = size[0] * size[1] * size[2];
    for (int a = 0; a < 3; a++) {
        if (!(sigma[a] >= 0 && isfinite(sigma[a])))
            return ie_error_set(IE_ERR_INVALID_ARG, "smoothing: sigma %g along axis %d; it must be >= 0", sigma[a],
                                a);
        if (sigma[a] <= 1e-15) continue;
        /* scipy's _gaussian_kernel1d with truncate = 4. */
        int64_t r = (int64_t)(4.0 * sigma[a] + 0.5);
        double *kernel = malloc((size_t)(r + 1) * sizeof *kernel), sum = 0, c = -0.5 / (sigma[a] * sigma[a]);
        if (!kernel) return ie_error_set(IE_ERR_NOMEM, "smoothing: out of memory");
        for (int64_t j = 0; j <= r; j++) kernel[j] = exp(c * (double)(j * j));
        for (int64_t j = -r; j <= r; j++) sum += kernel[j < 0 ? -j : j];
        for (int64_t j = 0; j <= r; j++) kernel[j] /= sum;
        int64_t inner = 1;
        for (int b = a + 1; b < 3; b++) inner *= size[b];
        for (int64_t k = 0; k < K; k++) {
            smooth_job s = {.x = ie_f32(post) + k * V, .n = size[a], .inner = inner, .lines = V / size[a],
                            .kernel = kernel, .radius = r};
            atomic_init(&s.failed, 0);
            ie_parallel_for((s.lines + LINES_PER_TASK - 1) / LINES_PER_TASK, smooth_task, &s);
            if (atomic_load(&s.failed)) {
                free(kernel);
                return ie_error_set(IE_ERR_NOMEM, "smoothing: out of memory");
            }
        }
        free(kernel);
    }
    return IE_OK;
}

/* ---------------------------------------------------------------- argmax */

ie_status ie_posteriors_argmax(const ie_tensor *post, ie_tensor **out) {
    IE_TRY(check_posteriors("argmax", post));
    int64_t K = ie_tensor_dim(post, 0), shape[3] = {ie_tensor_dim(post, 1), ie_tensor_dim(post, 2),
                                                     ie_tensor_dim(post, 3)};
    IE_TRY(ie_tensor_empty(IE_U8, 3, shape, IE_CPU, out));
    int64_t V = shape[0] * shape[1] * shape[2];
    const float *p = ie_f32(post);
    uint8_t *s = ie_tensor_data(*out);
    for (int64_t i = 0; i < V; i++) {
        int64_t best = 0;
        float v = p[i];
        for (int64_t k = 1; k < K; k++)
            if (p[k * V + i] > v) v = p[k * V + i], best = k; /* the first maximum wins, as np.argmax */
        s[i] = (uint8_t)best;
    }
    return IE_OK;
}

/* ----------------------------------------------------- summed probability */

ie_status ie_segmentation_summed_rules(ie_tensor *seg, const ie_tensor *post, const ie_summed_rule *rules,
                                       int count) {
    IE_TRY(check_posteriors("summed probability rules", post));
    IE_TRY(check_segmentation("summed probability rules", seg, post));
    int K = (int)ie_tensor_dim(post, 0);
    int64_t V = ie_tensor_numel(seg);
    const float *p = ie_f32(post);
    uint8_t *s = ie_tensor_data(seg);
    for (int r = 0; r < count; r++) {
        int a = rules[r].first, b = rules[r].second, e = rules[r].external;
        if (!valid_class(a, K) || !valid_class(b, K) || !valid_class(e, K))
            return ie_error_set(IE_ERR_INVALID_ARG, "summed probability rule %d names class %d, %d or %d; the "
                                "posteriors have %d classes", r + 1, a, b, e, K);
        for (int64_t i = 0; i < V; i++) {
            if (s[i] != e) continue;
            float pa = p[(int64_t)a * V + i], pb = p[(int64_t)b * V + i];
            float both = pa + pb; /* float32, as numpy sums float32 posteriors */
            if (p[(int64_t)e * V + i] < both) s[i] = (uint8_t)(pa >= pb ? a : b);
        }
    }
    return IE_OK;
}

/* ------------------------------------------------------------ components */

ie_status ie_segmentation_filter_components(ie_tensor *seg, const ie_postprocess_opts *o, double voxel_mm3) {
    IE_TRY(check_segmentation("connected components", seg, NULL));
    bool any = o->min_component_voxels > 0 || o->min_component_mm3 > 0;
    for (int c = 1; c < IE_POSTPROCESS_MAX_CLASSES; c++)
        any = any || o->largest_component[c] || o->class_min_component_mm3[c] > 0;
    if (!any) return IE_OK;
    int64_t size[3] = {ie_tensor_dim(seg, 0), ie_tensor_dim(seg, 1), ie_tensor_dim(seg, 2)};
    ie_tensor *labels_t = NULL;
    IE_TRY(ie_tensor_empty(IE_I32, 3, size, IE_CPU, &labels_t));
    int32_t *labels = ie_tensor_data(labels_t), n = 0;
    uint8_t *s = ie_tensor_data(seg);
    ie_status st = ie_components_label(s, size, o->connectivity, labels, &n);
    int64_t *count = st == IE_OK ? calloc((size_t)n + 1, sizeof *count) : NULL;
    uint8_t *cls = st == IE_OK ? calloc((size_t)n + 1, 1) : NULL;
    bool *keep = st == IE_OK ? malloc((size_t)n + 1) : NULL;
    if (st == IE_OK && (!count || !cls || !keep))
        st = ie_error_set(IE_ERR_NOMEM, "connected components: out of memory");
    int64_t V = ie_tensor_numel(seg);
    if (st == IE_OK) {
        for (int64_t i = 0; i < V; i++) count[labels[i]]++, cls[labels[i]] = s[i];
        for (int32_t l = 0; l <= n; l++) keep[l] = true;
        for (int c = 1; c < IE_POSTPROCESS_MAX_CLASSES; c++) {
            if (!o->largest_component[c]) continue;
            int64_t total = 0;
            int32_t best = 0;
            for (int32_t l = 1; l <= n; l++)
                if (cls[l] == c) {
                    total += count[l];
                    if (!best || count[l] > count[best]) best = l; /* ties: the earlier component */
                }
            if (!total) continue;
            double f = o->largest_component_fraction;
            bool kept = false;
            for (int32_t l = 1; l <= n; l++) {
                if (cls[l] != c) continue;
                keep[l] = f > 0 && f < 0.5 && (double)count[l] >= f * (double)total;
                kept = kept || keep[l];
            }
            if (!kept) keep[best] = true;
        }
        for (int32_t l = 1; l <= n; l++)
            if (count[l] < o->min_component_voxels ||
                (o->min_component_mm3 > 0 && (double)count[l] * voxel_mm3 < o->min_component_mm3) ||
                (double)count[l] * voxel_mm3 < o->class_min_component_mm3[cls[l]])
                keep[l] = false;
        for (int64_t i = 0; i < V; i++)
            if (!keep[labels[i]]) s[i] = 0;
    }
    free(count);
    free(cls);
    free(keep);
    ie_tensor_release(labels_t);
    return st;
}

/* ------------------------------------------------------- slice exclusion */

ie_status ie_segmentation_slice_rules(ie_tensor *seg, const ie_slice_rule *rules, int count) {
    IE_TRY(check_segmentation("slice exclusion rules", seg, NULL));
    int64_t D = ie_tensor_dim(seg, 0), plane = ie_tensor_dim(seg, 1) * ie_tensor_dim(seg, 2);
    uint8_t *s = ie_tensor_data(seg);
    for (int r = 0; r < count; r++) {
        int hi = rules[r].higher, lo = rules[r].lower;
        if (hi < 0 || hi > 255 || lo < 0 || lo > 255)
            return ie_error_set(IE_ERR_INVALID_ARG, "slice exclusion rule %d names class %d or %d", r + 1, hi, lo);
        int64_t lowest_higher = -1, highest_lower = -1;
        for (int64_t z = 0; z < D; z++)
            for (int64_t i = 0; i < plane; i++) {
                if (s[z * plane + i] == hi && lowest_higher < 0) lowest_higher = z;
                if (s[z * plane + i] == lo) highest_lower = z;
            }
        if (lowest_higher < 0 || highest_lower < 0 || lowest_higher > highest_lower) continue;
        uint8_t dominant = (uint8_t)(rules[r].higher_dominates ? hi : lo),
                replaced = (uint8_t)(rules[r].higher_dominates ? lo : hi);
        for (int64_t i = lowest_higher * plane; i < (highest_lower + 1) * plane; i++)
            if (s[i] == replaced) s[i] = dominant;
    }
    return IE_OK;
}

/* ------------------------------------------------------------- the chain */

ie_status ie_postprocess(const ie_postprocess_opts *o, ie_tensor *post, const ie_tensor *mask,
                         const double spacing[3], ie_tensor **out) {
    if (!o || !out) return ie_error_set(IE_ERR_INVALID_ARG, "postprocess: NULL argument");
    *out = NULL;
    IE_TRY(check_posteriors("postprocess", post));
    if (mask) IE_TRY(ie_posteriors_apply_mask(post, mask));
    double sigma[3] = {0, 0, 0}, voxel_mm3 = 1;
    bool smooth = false;
    for (int a = 0; a < 3; a++) {
        double sp = spacing ? spacing[a] : 1.0;
        if (!(sp > 0 && isfinite(sp)))
            return ie_error_set(IE_ERR_INVALID_ARG, "postprocess: voxel spacing %g mm along axis %d", sp, a);
        sigma[a] = o->smoothing_mm[a] / sp;
        smooth = smooth || o->smoothing_mm[a] > 0;
        voxel_mm3 *= sp;
    }
    /* InnerEye takes the argmax, then smooths and takes it again: the first
     * one is overwritten, so it is skipped here. */
    if (smooth) IE_TRY(ie_posteriors_smooth(post, sigma));
    IE_TRY(ie_posteriors_argmax(post, out));
    ie_status st = ie_segmentation_summed_rules(*out, post, o->summed, o->n_summed);
    if (st == IE_OK) st = ie_segmentation_filter_components(*out, o, voxel_mm3);
    if (st == IE_OK) st = ie_segmentation_slice_rules(*out, o->slice, o->n_slice);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}
