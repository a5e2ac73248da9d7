/* core/inference - sliding-window inference (rules in sliding_window.h). */
#include "core/inference/sliding_window.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor/tensor_impl.h"
#include "innereye/autograd.h"
#include "innereye/threads.h"

void ie_window_opts_init(ie_window_opts *o) {
    memset(o, 0, sizeof *o);
    for (int a = 0; a < 3; a++) o->window[a] = 32, o->multiple[a] = 1;
    o->overlap = 0.5;
    o->batch_size = 2;
    o->blend = IE_BLEND_GAUSSIAN;
    o->sigma_scale = 0.125;
}

static int64_t round_up(int64_t n, int64_t m) { return m > 1 ? (n + m - 1) / m * m : n; }

static const char *const axis_name[3] = {"D", "H", "W"};

static ie_status check_opts(const ie_window_opts *o) {
    if (!o) return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: options are NULL");
    for (int a = 0; a < 3; a++) {
        if (o->window[a] < 1)
            return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: the window's %s size is %lld; it must be >= 1",
                                axis_name[a], (long long)o->window[a]);
        if (o->stride[a] < 0)
            return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: the %s stride is %lld; it must be >= 1 (or 0: "
                                "use the overlap)", axis_name[a], (long long)o->stride[a]);
    }
    if (!(o->overlap >= 0 && o->overlap < 1))
        return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: overlap %g is outside [0, 1)", o->overlap);
    if (o->batch_size < 1)
        return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: batch size %d; it must be >= 1", o->batch_size);
    if (o->blend == IE_BLEND_GAUSSIAN && !(o->sigma_scale > 0 && isfinite(o->sigma_scale)))
        return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: Gaussian sigma scale %g; it must be > 0",
                            o->sigma_scale);
    return IE_OK;
}

/* ---------------------------------------------------------------- plan */

void ie_window_plan_free(ie_window_plan *p) {
    if (!p) return;
    for (int a = 0; a < 3; a++) free(p->steps[a]);
    memset(p, 0, sizeof *p);
}

static ie_status axis_steps(ie_window_plan *p, int a, const ie_window_opts *o) {
    int64_t P = p->padded[a], w = p->window[a], span = P - w;
    int64_t n;
    if (span == 0) {
        n = 1;
    } else if (o->stride[a] > 0) {
        if (o->stride[a] > w)
            return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: the %s stride %lld is larger than the window "
                                "(%lld), which would leave voxels without a prediction", axis_name[a],
                                (long long)o->stride[a], (long long)w);
        n = (span + o->stride[a] - 1) / o->stride[a] + 1;
    } else {
        /* nnU-Net's compute_steps_for_sliding_window, in the same arithmetic,
         * except that a step is at least one voxel (a 1-voxel window, as a 2-D
         * model's, would otherwise visit every slice twice). */
        double target = (double)w * (1.0 - o->overlap);
        if (target < 1) target = 1;
        double steps = ceil((double)span / target);
        n = steps > IE_WINDOW_MAX_STEPS ? IE_WINDOW_MAX_STEPS + 1 : (int64_t)steps + 1;
    }
    if (n > IE_WINDOW_MAX_STEPS)
        return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: more than %d windows along %s (size %lld, window "
                            "%lld); lower the overlap or raise the stride", IE_WINDOW_MAX_STEPS, axis_name[a],
                            (long long)P, (long long)w);
    p->steps[a] = malloc((size_t)n * sizeof *p->steps[a]);
    if (!p->steps[a]) return ie_error_set(IE_ERR_NOMEM, "sliding window: out of memory");
    p->n_steps[a] = (int)n;
    for (int64_t i = 0; i < n; i++) {
        if (n == 1) p->steps[a][i] = 0;
        else if (o->stride[a] > 0) p->steps[a][i] = i * o->stride[a] < span ? i * o->stride[a] : span;
        else p->steps[a][i] = (int64_t)nearbyint((double)span / (double)(n - 1) * (double)i); /* np.round */
    }
    return IE_OK;
}

ie_status ie_window_plan_make(const int64_t size[3], const ie_window_opts *o, ie_window_plan *p) {
    if (!size || !p) return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: NULL argument");
    memset(p, 0, sizeof *p);
    IE_TRY(check_opts(o));
    p->count = 1;
    for (int a = 0; a < 3; a++) {
        if (size[a] < 1)
            return ie_error_set(IE_ERR_SHAPE, "sliding window: the volume's %s size is %lld", axis_name[a],
                                (long long)size[a]);
        int64_t m = o->multiple[a] > 1 ? o->multiple[a] : 1, w = round_up(o->window[a], m),
                fit = round_up(size[a], m);
        p->size[a] = size[a];
        p->window[a] = w < fit ? w : fit;
        p->padded[a] = size[a] > p->window[a] ? size[a] : p->window[a];
        p->before[a] = (p->padded[a] - size[a]) / 2;
        ie_status st = axis_steps(p, a, o);
        if (st != IE_OK) {
            ie_window_plan_free(p);
            return st;
        }
        p->count *= p->n_steps[a];
    }
    return IE_OK;
}

/* Start of window i in volume coordinates (negative inside the padding). */
static void window_start(const ie_window_plan *p, int64_t i, int64_t start[3]) {
    int64_t idx[3] = {i / ((int64_t)p->n_steps[1] * p->n_steps[2]), (i / p->n_steps[2]) % p->n_steps[1],
                      i % p->n_steps[2]};
    for (int a = 0; a < 3; a++) start[a] = p->steps[a][idx[a]] - p->before[a];
}

/* ------------------------------------------------------------- weights */

ie_status ie_window_weights(const int64_t w[3], ie_blend blend, double sigma_scale, ie_tensor **out) {
    if (!w || !out) return ie_error_set(IE_ERR_INVALID_ARG, "window weights: NULL argument");
    IE_TRY(ie_tensor_empty(IE_F32, 3, w, IE_CPU, out));
    float *g = ie_f32(*out);
    int64_t n = w[0] * w[1] * w[2];
    if (blend == IE_BLEND_UNIFORM) {
        for (int64_t i = 0; i < n; i++) g[i] = 1.0f;
        return IE_OK;
    }
    double *f[3] = {NULL, NULL, NULL};
    for (int a = 0; a < 3; a++) {
        f[a] = malloc((size_t)w[a] * sizeof(double));
        if (!f[a]) {
            for (int b = 0; b < a; b++) free(f[b]);
            ie_tensor_release(*out);
            *out = NULL;
            return ie_error_set(IE_ERR_NOMEM, "window weights: out of memory");
        }
        double c = (double)(w[a] / 2), s = sigma_scale * (double)w[a];
        for (int64_t x = 0; x < w[a]; x++) f[a][x] = exp(-((double)x - c) * ((double)x - c) / (2 * s * s));
    }
    float smallest = FLT_MAX;
    for (int64_t z = 0, i = 0; z < w[0]; z++)
        for (int64_t y = 0; y < w[1]; y++)
            for (int64_t x = 0; x < w[2]; x++, i++) {
                g[i] = (float)(f[0][z] * f[1][y] * f[2][x]); /* the centre's factors are exactly 1 */
                if (g[i] > 0 && g[i] < smallest) smallest = g[i];
            }
    for (int64_t i = 0; i < n; i++)
        if (g[i] == 0) g[i] = smallest;
    for (int a = 0; a < 3; a++) free(f[a]);
    return IE_OK;
}

/* -------------------------------------------------- windows in and out */

typedef struct extract_job {
    const float *src;
    float *dst;
    const ie_window_plan *plan;
    int64_t first, C, size[3];
} extract_job;

/* Task = (window j, channel c, window slice z): copies the rows that lie in
 * the volume (the rest stays zero: padding). */
static void extract_task(void *ctx, int64_t task) {
    const extract_job *e = ctx;
    const int64_t *w = e->plan->window, *S = e->size;
    int64_t z = task % w[0], c = (task / w[0]) % e->C, j = task / (w[0] * e->C), start[3];
    window_start(e->plan, e->first + j, start);
    int64_t sz = start[0] + z;
    if (sz < 0 || sz >= S[0]) return;
    int64_t x0 = start[2] < 0 ? -start[2] : 0, x1 = S[2] - start[2] < w[2] ? S[2] - start[2] : w[2];
    if (x1 <= x0) return;
    for (int64_t y = 0; y < w[1]; y++) {
        int64_t sy = start[1] + y;
        if (sy < 0 || sy >= S[1]) continue;
        const float *srow = e->src + ((c * S[0] + sz) * S[1] + sy) * S[2] + start[2];
        float *drow = e->dst + (((j * e->C + c) * w[0] + z) * w[1] + y) * w[2];
        memcpy(drow + x0, srow + x0, (size_t)(x1 - x0) * sizeof(float));
    }
}

static ie_status extract(const ie_tensor *image, const ie_window_plan *p, int64_t first, int64_t n, ie_tensor **out) {
    int64_t C = ie_tensor_dim(image, 0), shape[5] = {n, C, p->window[0], p->window[1], p->window[2]};
    IE_TRY(ie_tensor_zeros(IE_F32, 5, shape, IE_CPU, out));
    extract_job e = {.src = ie_f32(image), .dst = ie_f32(*out), .plan = p, .first = first, .C = C,
                     .size = {p->size[0], p->size[1], p->size[2]}};
    ie_parallel_for(n * C * p->window[0], extract_task, &e);
    return IE_OK;
}

typedef struct flip_job {
    const float *src;
    float *dst;
    int64_t d, h, w;
    int mask; /* bit a: flip spatial axis a */
} flip_job;

static void flip_task(void *ctx, int64_t task) { /* task = (n, c, z) slice of the output */
    const flip_job *f = ctx;
    int64_t z = task % f->d, nc = task / f->d, sz = (f->mask & 1) ? f->d - 1 - z : z;
    for (int64_t y = 0; y < f->h; y++) {
        int64_t sy = (f->mask & 2) ? f->h - 1 - y : y;
        const float *s = f->src + ((nc * f->d + sz) * f->h + sy) * f->w;
        float *o = f->dst + ((nc * f->d + z) * f->h + y) * f->w;
        if (f->mask & 4)
            for (int64_t x = 0; x < f->w; x++) o[x] = s[f->w - 1 - x];
        else
            memcpy(o, s, (size_t)f->w * sizeof(float));
    }
}

/* t [N, C, d, h, w] mirrored along the spatial axes in `mask`. */
static ie_status flip(const ie_tensor *t, int mask, ie_tensor **out) {
    IE_TRY(ie_tensor_empty(IE_F32, 5, ie_tensor_shape(t), IE_CPU, out));
    flip_job f = {.src = ie_f32(t), .dst = ie_f32(*out), .d = ie_tensor_dim(t, 2), .h = ie_tensor_dim(t, 3),
                  .w = ie_tensor_dim(t, 4), .mask = mask};
    ie_parallel_for(ie_tensor_dim(t, 0) * ie_tensor_dim(t, 1) * f.d, flip_task, &f);
    return IE_OK;
}

/* ------------------------------------------------------------ network */

static ie_status check_output(const ie_tensor *y, const ie_tensor *windows, int K) {
    char a[96], b[96];
    bool ok = y && ie_tensor_dtype(y) == IE_F32 && ie_tensor_device(y) == IE_CPU && ie_tensor_ndim(y) == 5 &&
              ie_tensor_dim(y, 0) == ie_tensor_dim(windows, 0) && ie_tensor_dim(y, 1) == K;
    for (int d = 2; ok && d < 5; d++) ok = ie_tensor_dim(y, d) == ie_tensor_dim(windows, d);
    if (ok) return IE_OK;
    return ie_error_set(IE_ERR_SHAPE, "the network returned %s for windows %s; expected [N, %d, window] f32 on the "
                        "CPU (one output per class, data.classes lists %d, at the window's size)",
                        y ? ie_tensor_describe(y, a, sizeof a) : "NULL", ie_tensor_describe(windows, b, sizeof b), K,
                        K);
}

typedef struct scale_job {
    float *x;
    int64_t n;
    float divisor;
} scale_job;

static void scale_task(void *ctx, int64_t task) {
    const scale_job *s = ctx;
    int64_t lo = task * 16384, hi = lo + 16384 < s->n ? lo + 16384 : s->n;
    for (int64_t i = lo; i < hi; i++) s->x[i] /= s->divisor;
}

/* The averaged posteriors of one batch over every mirroring pass. */
static ie_status run_network(ie_window_fn fn, void *ctx, ie_tensor *windows, int K, const int *flips, int n_flips,
                             ie_tensor **out) {
    *out = NULL;
    ie_tensor *sum = NULL;
    ie_status st = IE_OK;
    for (int f = 0; st == IE_OK && f < n_flips; f++) {
        ie_tensor *in = NULL, *y = NULL, *back = NULL;
        if (flips[f]) st = flip(windows, flips[f], &in);
        else in = ie_tensor_retain(windows);
        if (st == IE_OK) st = fn(ctx, in, &y);
        if (st == IE_OK) st = check_output(y, in, K);
        if (st == IE_OK && flips[f]) st = flip(y, flips[f], &back);
        if (st == IE_OK && !back) back = ie_tensor_retain(y);
        if (st == IE_OK && n_flips == 1) {
            sum = ie_tensor_retain(back);
        } else if (st == IE_OK) {
            /* A private sum: the network's output may share storage with
             * something it still needs. */
            if (!sum) st = ie_tensor_zeros(IE_F32, 5, ie_tensor_shape(back), IE_CPU, &sum);
            if (st == IE_OK) {
                float *s = ie_f32(sum);
                const float *b = ie_f32(back);
                for (int64_t i = 0, n = ie_tensor_numel(sum); i < n; i++) s[i] += b[i];
            }
        }
        ie_tensor_release(in);
        ie_tensor_release(y);
        ie_tensor_release(back);
    }
    if (st == IE_OK && n_flips > 1) {
        scale_job s = {.x = ie_f32(sum), .n = ie_tensor_numel(sum), .divisor = (float)n_flips};
        ie_parallel_for((s.n + 16383) / 16384, scale_task, &s);
    }
    if (st != IE_OK) ie_tensor_release(sum);
    else *out = sum;
    return st;
}

/* --------------------------------------------------------- accumulate */

typedef struct accumulate_job {
    float *acc, *wsum;
    const float *post, *weight;
    const ie_window_plan *plan;
    int64_t window, K; /* window index; classes */
    int64_t j;         /* its place in the batch */
} accumulate_job;

/* Task = one row (z, y) of the window: every voxel of it maps to a distinct
 * voxel of the volume, so tasks never write the same memory. */
static void accumulate_task(void *ctx, int64_t task) {
    const accumulate_job *a = ctx;
    const int64_t *w = a->plan->window, *S = a->plan->size;
    int64_t z = task / w[1], y = task % w[1], start[3];
    window_start(a->plan, a->window, start);
    int64_t oz = start[0] + z, oy = start[1] + y;
    if (oz < 0 || oz >= S[0] || oy < 0 || oy >= S[1]) return;
    int64_t x0 = start[2] < 0 ? -start[2] : 0, x1 = S[2] - start[2] < w[2] ? S[2] - start[2] : w[2];
    int64_t V = S[0] * S[1] * S[2], wv = w[0] * w[1] * w[2];
    int64_t orow = (oz * S[1] + oy) * S[2] + start[2], wrow = (z * w[1] + y) * w[2];
    const float *g = a->weight + wrow;
    for (int64_t x = x0; x < x1; x++) a->wsum[orow + x] += g[x];
    for (int64_t k = 0; k < a->K; k++) {
        float *acc = a->acc + k * V + orow;
        const float *p = a->post + (a->j * a->K + k) * wv + wrow;
        for (int64_t x = x0; x < x1; x++) acc[x] += g[x] * p[x];
    }
}

typedef struct normalise_job {
    float *acc;
    const float *wsum;
    int64_t V, K;
} normalise_job;

static void normalise_task(void *ctx, int64_t task) {
    const normalise_job *n = ctx;
    int64_t lo = task * 16384, hi = lo + 16384 < n->V ? lo + 16384 : n->V;
    for (int64_t k = 0; k < n->K; k++)
        for (int64_t i = lo; i < hi; i++) n->acc[k * n->V + i] /= n->wsum[i];
}

/* --------------------------------------------------------------- main */

ie_status ie_sliding_window(const ie_tensor *image, int n_classes, const ie_window_opts *opts, ie_window_fn fn,
                            void *ctx, ie_tensor **posteriors) {
    if (!image || !fn || !posteriors) return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: NULL argument");
    *posteriors = NULL;
    char d[96];
    if (ie_tensor_dtype(image) != IE_F32 || ie_tensor_device(image) != IE_CPU || ie_tensor_ndim(image) != 4)
        return ie_error_set(IE_ERR_SHAPE, "sliding window: the image is %s; expected [C, D, H, W] f32 on the CPU",
                            ie_tensor_describe(image, d, sizeof d));
    if (n_classes < 1)
        return ie_error_set(IE_ERR_INVALID_ARG, "sliding window: %d classes; at least 1 is needed", n_classes);
    int64_t size[3] = {ie_tensor_dim(image, 1), ie_tensor_dim(image, 2), ie_tensor_dim(image, 3)};
    ie_window_plan plan;
    IE_TRY(ie_window_plan_make(size, opts, &plan));
    int flips[8], n_flips = 0, mirror = 0;
    for (int a = 0; a < 3; a++) mirror |= opts->mirror[a] ? 1 << a : 0;
    for (int m = 0; m < 8; m++)
        if ((m & ~mirror) == 0) flips[n_flips++] = m; /* 0 (no flip) first */

    int64_t V = size[0] * size[1] * size[2], acc_shape[4] = {n_classes, size[0], size[1], size[2]};
    ie_tensor *weights = NULL, *acc = NULL, *wsum = NULL;
    ie_status st = ie_window_weights(plan.window, opts->blend, opts->sigma_scale, &weights);
    if (st == IE_OK) st = ie_tensor_zeros(IE_F32, 4, acc_shape, IE_CPU, &acc);
    if (st == IE_OK) st = ie_tensor_zeros(IE_F32, 3, size, IE_CPU, &wsum);
    bool was = ie_grad_set_enabled(false);
    for (int64_t first = 0; st == IE_OK && first < plan.count; first += opts->batch_size) {
        int64_t n = plan.count - first < opts->batch_size ? plan.count - first : opts->batch_size;
        ie_tensor *windows = NULL, *post = NULL;
        st = extract(image, &plan, first, n, &windows);
        if (st == IE_OK) st = run_network(fn, ctx, windows, n_classes, flips, n_flips, &post);
        if (st != IE_OK) {
            int64_t s[3];
            window_start(&plan, first, s);
            ie_error_wrap(st, "sliding window: windows %lld-%lld of %lld (window %lldx%lldx%lld, the first at D %lld, "
                          "H %lld, W %lld)", (long long)first + 1, (long long)(first + n), (long long)plan.count,
                          (long long)plan.window[0], (long long)plan.window[1], (long long)plan.window[2],
                          (long long)s[0], (long long)s[1], (long long)s[2]);
        }
        for (int64_t j = 0; st == IE_OK && j < n; j++) {
            accumulate_job a = {.acc = ie_f32(acc), .wsum = ie_f32(wsum), .post = ie_f32(post),
                                .weight = ie_f32(weights), .plan = &plan, .window = first + j, .K = n_classes, .j = j};
            ie_parallel_for(plan.window[0] * plan.window[1], accumulate_task, &a);
        }
        ie_tensor_release(windows);
        ie_tensor_release(post);
    }
    ie_grad_set_enabled(was);
    if (st == IE_OK) {
        normalise_job nj = {.acc = ie_f32(acc), .wsum = ie_f32(wsum), .V = V, .K = n_classes};
        ie_parallel_for((V + 16383) / 16384, normalise_task, &nj);
        *posteriors = acc;
        acc = NULL;
    }
    ie_tensor_release(acc);
    ie_tensor_release(wsum);
    ie_tensor_release(weights);
    ie_window_plan_free(&plan);
    return st;
}
