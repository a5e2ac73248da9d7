/* core/backend/cpu - batch and group normalisation kernels.
 *
 * Every kernel is built from four passes over a "unit layout": a unit is the
 * set of elements one statistic covers (a channel across the batch for batch
 * norm, a contiguous (n, group) block or (n, c) plane for group norm).  Each
 * unit is cut into fixed chunks of IE_CPU_CHUNK elements; a task is one
 * (unit, chunk).  A chunk sums in float over 64-element blocks and in double
 * across them; the chunk partials are combined serially in chunk order, so
 * results do not depend on the thread count.  Forward reads x twice (statistics, then normalise) and
 * writes y once; backward likewise reads (x, dy) twice and writes dx once.
 * Batch norm followed by relu (training's conv-BN-ReLU) does relu in the same
 * passes: its forward writes relu(y) directly, and its backward recomputes y
 * in the sums pass to mask dy there, so neither y nor relu's backward gets a
 * pass of its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"
#include "core/backend/cpu/cpu_sync_norm.h"

/* Unit u's element j lives at u*ubase + (j/seg)*segstride + j%seg. */
typedef struct layout {
    int64_t units, len;    /* number of units, elements per unit */
    int64_t ubase;         /* offset between the first elements of consecutive units */
    int64_t seg;           /* contiguous run length inside a unit */
    int64_t segstride;     /* offset between consecutive runs */
    int64_t chunks;        /* chunks per unit */
} layout;

static layout layout_make(int64_t units, int64_t len, int64_t ubase, int64_t seg, int64_t segstride) {
    layout l = {units, len, ubase, seg, segstride, ie_cpu_chunks(len)};
    if (l.chunks < 1) l.chunks = 1;
    return l;
}

/* Batch norm: unit = channel, its runs are the N planes [n, c, :]. */
static layout layout_channels(ie_norm_shape sh) {
    return layout_make(sh.c, sh.n * sh.s, sh.s, sh.s, sh.c * sh.s);
}

/* `units` contiguous blocks of `len` elements. */
static layout layout_blocks(int64_t units, int64_t len) {
    return layout_make(units, len, len, len, len);
}

typedef struct span {
    int64_t u, j, hi;
} span;

static span span_of(const layout *l, int64_t task) {
    span sp = {task / l->chunks, (task % l->chunks) * IE_CPU_CHUNK, 0};
    sp.hi = sp.j + IE_CPU_CHUNK < l->len ? sp.j + IE_CPU_CHUNK : l->len;
    return sp;
}

/* Next contiguous run of the span: offset and length. */
static bool span_next(const layout *l, span *sp, int64_t *off, int64_t *n) {
    if (sp->j >= sp->hi) return false;
    int64_t k = sp->j / l->seg, s = sp->j % l->seg;
    *n = l->seg - s < sp->hi - sp->j ? l->seg - s : sp->hi - sp->j;
    *off = sp->u * l->ubase + k * l->segstride + s;
    sp->j += *n;
    return true;
}

/* Sums run in float over blocks of 64 elements (eight independent lanes, so
 * the compiler can use vector registers without reassociating anything) and
 * in double across blocks: float rounding stays at a few ulps of a 8-term
 * sum while the long sums keep double precision.  The order is fixed by the
 * data layout alone. */
#define LANES 8
#define BLOCK 64

/* acc += (sum(x - k), sum((x - k)^2)) */
static void sums_centered(const float *x, int64_t n, float k, double acc[2]) {
    double a[LANES] = {0}, b[LANES] = {0};
    int64_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        float fa[LANES] = {0}, fb[LANES] = {0};
        for (int64_t q = i; q < i + BLOCK; q += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = x[q + l] - k;
                fa[l] += d;
                fb[l] += d * d;
            }
        for (int l = 0; l < LANES; l++) {
            a[l] += fa[l];
            b[l] += fb[l];
        }
    }
    for (; i < n; i++) {
        double d = (double)x[i] - k;
        a[0] += d;
        b[0] += d * d;
    }
    for (int l = 0; l < LANES; l++) {
        acc[0] += a[l];
        acc[1] += b[l];
    }
}

/* acc += (sum(g), sum(g * (x - mu))), mu = hi + lo */
static void sums_grad(const float *g, const float *x, int64_t n, float hi, float lo, double acc[2]) {
    double a[LANES] = {0}, b[LANES] = {0};
    int64_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        float fa[LANES] = {0}, fb[LANES] = {0};
        for (int64_t q = i; q < i + BLOCK; q += LANES)
            for (int l = 0; l < LANES; l++) {
                fa[l] += g[q + l];
                fb[l] += g[q + l] * ((x[q + l] - hi) - lo);
            }
        for (int l = 0; l < LANES; l++) {
            a[l] += fa[l];
            b[l] += fb[l];
        }
    }
    for (; i < n; i++) {
        a[0] += g[i];
        b[0] += (double)g[i] * (double)((x[i] - hi) - lo);
    }
    for (int l = 0; l < LANES; l++) {
        acc[0] += a[l];
        acc[1] += b[l];
    }
}

/* ---------------- the four passes ---------------- */

typedef struct pass_job {
    layout l;
    const float *x, *g;
    float *out;
    const float *mu, *mu_lo, *a, *b, *c; /* per unit */
    double *partial;             /* [units * chunks][2] */
} pass_job;

/* Shifting by the unit's first element keeps the variance accurate when the
 * mean is large compared with the spread. */
static void task_moments(void *ctx, int64_t task) {
    const pass_job *j = ctx;
    span sp = span_of(&j->l, task);
    float k = j->x[sp.u * j->l.ubase];
    double acc[2] = {0, 0};
    int64_t off, n;
    while (span_next(&j->l, &sp, &off, &n)) sums_centered(j->x + off, n, k, acc);
    j->partial[2 * task] = acc[0];
    j->partial[2 * task + 1] = acc[1];
}

/* out = (x - mu) * a + b.  mu is carried as hi + lo: x - hi is exact when x
 * is near the mean, so a mean of 1000 does not cost the output its digits. */
IE_CPU_CLONES static void task_affine(void *ctx, int64_t task) {
    const pass_job *j = ctx;
    span sp = span_of(&j->l, task);
    const float hi = j->mu[sp.u], lo = j->mu_lo[sp.u], a = j->a[sp.u], b = j->b[sp.u];
    int64_t off, n;
    while (span_next(&j->l, &sp, &off, &n)) {
        const float *x = j->x + off;
        float *y = j->out + off;
#pragma GCC ivdep
        for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - hi) - lo) * a + b;
    }
}

/* The same, then relu's x > 0 ? x : 0. */
IE_CPU_CLONES static void task_affine_relu(void *ctx, int64_t task) {
    const pass_job *j = ctx;
    span sp = span_of(&j->l, task);
    const float hi = j->mu[sp.u], lo = j->mu_lo[sp.u], a = j->a[sp.u], b = j->b[sp.u];
    int64_t off, n;
    while (span_next(&j->l, &sp, &off, &n)) {
        const float *x = j->x + off;
        float *y = j->out + off;
#pragma GCC ivdep
        for (int64_t i = 0; i < n; i++) {
            float v = ((x[i] - hi) - lo) * a + b;
            y[i] = v > 0.0f ? v : 0.0f;
        }
    }
}

static void task_grad_sums(void *ctx, int64_t task) {
    const pass_job *j = ctx;
    span sp = span_of(&j->l, task);
    double acc[2] = {0, 0};
    int64_t off, n;
    while (span_next(&j->l, &sp, &off, &n)) sums_grad(j->g + off, j->x + off, n, j->mu[sp.u], j->mu_lo[sp.u], acc);
    j->partial[2 * task] = acc[0];
    j->partial[2 * task + 1] = acc[1];
}

/* relu's backward on the recomputed batch norm output, then task_grad_sums:
 * out = (((x - hi) - lo) * a + b) > 0 ? g : 0 (task_affine's output, relu's
 * mask), and with `partial` the sums of task_grad_sums over out, run by run
 * in the same order (each run is summed while it is still in cache). */
IE_CPU_CLONES static void task_relu_grad_sums(void *ctx, int64_t task) {
    const pass_job *j = ctx;
    span sp = span_of(&j->l, task);
    const float hi = j->mu[sp.u], lo = j->mu_lo[sp.u], a = j->a[sp.u], b = j->b[sp.u];
    double acc[2] = {0, 0};
    int64_t off, n;
    while (span_next(&j->l, &sp, &off, &n)) {
        const float *x = j->x + off, *g = j->g + off;
        float *m = j->out + off;
#pragma GCC ivdep
        for (int64_t i = 0; i < n; i++) m[i] = ((x[i] - hi) - lo) * a + b > 0.0f ? g[i] : 0.0f;
        if (j->partial) sums_grad(m, x, n, hi, lo, acc);
    }
    if (j->partial) {
        j->partial[2 * task] = acc[0];
        j->partial[2 * task + 1] = acc[1];
    }
}

/* dx = a * dy + b * (x - mu) + c; dx may be dy (each element reads only its
 * own). */
IE_CPU_CLONES static void task_grad_input(void *ctx, int64_t task) {
    const pass_job *j = ctx;
    span sp = span_of(&j->l, task);
    const float hi = j->mu[sp.u], lo = j->mu_lo[sp.u], a = j->a[sp.u], b = j->b[sp.u], c = j->c[sp.u];
    int64_t off, n;
    while (span_next(&j->l, &sp, &off, &n)) {
        const float *x = j->x + off, *g = j->g + off;
        float *dx = j->out + off;
#pragma GCC ivdep
        for (int64_t i = 0; i < n; i++) dx[i] = a * g[i] + b * ((x[i] - hi) - lo) + c;
    }
}

static void run(const layout *l, void (*fn)(void *, int64_t), pass_job *j) {
    j->l = *l;
    ie_parallel_for(l->units * l->chunks, fn, j);
}

/* Sums the chunk partials of unit u in chunk order. */
static void unit_total(const layout *l, const double *partial, int64_t u, double out[2]) {
    out[0] = out[1] = 0;
    for (int64_t q = 0; q < l->chunks; q++) {
        out[0] += partial[2 * (u * l->chunks + q)];
        out[1] += partial[2 * (u * l->chunks + q) + 1];
    }
}

/* Mean and biased variance of every unit, in double. */
static void unit_moments(const layout *l, const float *x, const double *partial, int64_t u,
                         double *mean, double *var) {
    double t[2];
    unit_total(l, partial, u, t);
    double m = t[0] / (double)l->len;
    *mean = x[u * l->ubase] + m;
    *var = t[1] / (double)l->len - m * m;
    if (*var < 0) *var = 0;
}

static ie_status scratch(const char *op, size_t n_double, size_t n_float, double **d, float **f) {
    *d = malloc((n_double ? n_double : 1) * sizeof **d);
    *f = malloc((n_float ? n_float : 1) * sizeof **f);
    if (!*d || !*f) {
        free(*d);
        free(*f);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory for %zu bytes of scratch", op,
                            n_double * sizeof(double) + n_float * sizeof(float));
    }
    return IE_OK;
}

static float opt(const ie_tensor *t, int64_t i, float dflt) { return t ? ie_f32(t)[i] : dflt; }

/* m as a float pair hi + lo (the saved-mean layout: all hi, then all lo). */
static void split_mean(double m, float *hi, float *lo) {
    *hi = (float)m;
    *lo = (float)(m - (double)*hi);
}

/* ---------------- batch norm ---------------- */

/* a[c] = invstd * weight, b[c] = bias: the forward's affine map. */
static void affine_coefficients(ie_norm_shape sh, const ie_tensor *weight, const ie_tensor *bias,
                                const ie_tensor *save_invstd, float *coef) {
    const float *invstd = ie_f32(save_invstd);
    for (int64_t c = 0; c < sh.c; c++) {
        coef[c] = invstd[c] * opt(weight, c, 1.0f);
        coef[sh.c + c] = opt(bias, c, 0.0f);
    }
}

/* y = ((x - hi) - lo) * (invstd * weight) + bias per channel: the forward's
 * last pass, and the whole of batch_apply (so a recomputed output equals the
 * forward's bit for bit). */
static ie_status apply_affine(const layout *l, const ie_tensor *x, ie_norm_shape sh, const ie_tensor *weight,
                              const ie_tensor *bias, const ie_tensor *save_mean, const ie_tensor *save_invstd,
                              bool relu, ie_tensor *y) {
    float *coef = malloc((size_t)(2 * (sh.c ? sh.c : 1)) * sizeof *coef); /* a[C], b[C] */
    if (!coef) return ie_error_set(IE_ERR_NOMEM, "batch_norm: out of memory for the channel coefficients");
    const float *mean = ie_f32(save_mean);
    affine_coefficients(sh, weight, bias, save_invstd, coef);
    pass_job j = {.l = *l, .x = ie_f32(x), .out = ie_f32(y), .mu = mean, .mu_lo = mean + sh.c, .a = coef,
                  .b = coef + sh.c};
    run(l, relu ? task_affine_relu : task_affine, &j);
    free(coef);
    return IE_OK;
}

static ie_status batch_forward(const ie_tensor *x, ie_norm_shape sh, const ie_tensor *weight,
                               const ie_tensor *bias, ie_tensor *running_mean, ie_tensor *running_var,
                               ie_tensor *num_batches_tracked, bool training, float momentum, float eps,
                               bool relu, ie_tensor *y, ie_tensor *save_mean, ie_tensor *save_invstd) {
    layout l = layout_channels(sh);
    double *partial;
    float *coef; /* a[C], b[C] */
    IE_TRY(scratch("batch_norm", training ? (size_t)(2 * l.units * l.chunks) : 0, (size_t)(2 * sh.c),
                   &partial, &coef));
    float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    pass_job j = {.x = ie_f32(x), .out = ie_f32(y), .partial = partial};
    if (training) {
        run(&l, task_moments, &j);
        double unbias = (double)l.len / (double)(l.len - 1);
        for (int64_t c = 0; c < sh.c; c++) {
            double m, v;
            unit_moments(&l, j.x, partial, c, &m, &v);
            split_mean(m, &mean[c], &mean[sh.c + c]);
            invstd[c] = (float)(1.0 / sqrt(v + (double)eps));
            if (running_mean) {
                float *rm = ie_f32(running_mean) + c;
                *rm = (float)((1.0 - momentum) * *rm + (double)momentum * m);
            }
            if (running_var) {
                float *rv = ie_f32(running_var) + c;
                *rv = (float)((1.0 - momentum) * *rv + (double)momentum * v * unbias);
            }
        }
        if (num_batches_tracked) (*(int64_t *)ie_tensor_ptr(num_batches_tracked))++;
    } else {
        for (int64_t c = 0; c < sh.c; c++) {
            mean[c] = ie_f32(running_mean)[c];
            mean[sh.c + c] = 0.0f;
            invstd[c] = (float)(1.0 / sqrt((double)ie_f32(running_var)[c] + (double)eps));
        }
    }
    free(partial);
    free(coef);
    return apply_affine(&l, x, sh, weight, bias, save_mean, save_invstd, relu, y);
}

static ie_status cpu_batch_forward(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh,
                                   const ie_tensor *weight, const ie_tensor *bias, ie_tensor *running_mean,
                                   ie_tensor *running_var, ie_tensor *num_batches_tracked, bool training,
                                   float momentum, float eps, ie_tensor *y, ie_tensor *save_mean,
                                   ie_tensor *save_invstd) {
    (void)ctx;
    return batch_forward(x, sh, weight, bias, running_mean, running_var, num_batches_tracked, training, momentum,
                         eps, false, y, save_mean, save_invstd);
}

/* task_affine_relu computes relu's x > 0 ? x : 0 on task_affine's value, so
 * this is batch_forward and the relu kernel, one pass over y fewer. */
static ie_status cpu_batch_forward_relu(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh,
                                        const ie_tensor *weight, const ie_tensor *bias, ie_tensor *running_mean,
                                        ie_tensor *running_var, ie_tensor *num_batches_tracked, bool training,
                                        float momentum, float eps, ie_tensor *y, ie_tensor *save_mean,
                                        ie_tensor *save_invstd) {
    (void)ctx;
    return batch_forward(x, sh, weight, bias, running_mean, running_var, num_batches_tracked, training, momentum,
                         eps, true, y, save_mean, save_invstd);
}

static ie_status cpu_batch_apply(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh, const ie_tensor *weight,
                                 const ie_tensor *bias, const ie_tensor *save_mean, const ie_tensor *save_invstd,
                                 bool relu, ie_tensor *y) {
    (void)ctx;
    layout l = layout_channels(sh);
    return apply_affine(&l, x, sh, weight, bias, save_mean, save_invstd, relu, y);
}

/* relu: dy is the gradient of relu(y), y = the forward's affine map (bias
 * used only then).  Its masked copy, the gradient of y, is written to dx
 * (or to scratch when dx is not wanted) together with the sums, and dx is
 * then computed over it in place. */
static ie_status batch_backward(const ie_tensor *x, const ie_tensor *dy, ie_norm_shape sh, const ie_tensor *weight,
                                const ie_tensor *bias, const ie_tensor *save_mean, const ie_tensor *save_invstd,
                                bool relu, bool training, ie_tensor *dx, ie_tensor *dweight, ie_tensor *dbias) {
    layout l = layout_channels(sh);
    bool need_sums = training || dweight || dbias;
    if (relu && !dx && !need_sums) return IE_OK;
    double *partial;
    float *coef; /* a[C], b[C], c[C] */
    IE_TRY(scratch("batch_norm backward", need_sums ? (size_t)(2 * l.units * l.chunks) : 0,
                   (size_t)(3 * sh.c), &partial, &coef));
    const float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    pass_job j = {.x = ie_f32(x), .g = ie_f32(dy), .mu = mean, .mu_lo = mean + sh.c, .partial = partial};
    float *masked = NULL; /* owned scratch for the masked gradient when dx is NULL */
    if (relu) {
        float *gm = dx ? ie_f32(dx) : (masked = malloc((size_t)(x->numel ? x->numel : 1) * sizeof *masked));
        if (!gm) {
            free(partial);
            free(coef);
            return ie_error_set(IE_ERR_NOMEM, "batch_norm_relu backward: out of memory for %lld floats of scratch",
                                (long long)x->numel);
        }
        affine_coefficients(sh, weight, bias, save_invstd, coef);
        j.out = gm;
        j.a = coef;
        j.b = coef + sh.c;
        if (!need_sums) j.partial = NULL;
        run(&l, task_relu_grad_sums, &j);
        j.g = gm;
    } else if (need_sums) {
        run(&l, task_grad_sums, &j);
    }
    for (int64_t c = 0; c < sh.c; c++) {
        double t[2] = {0, 0}; /* sum dy, sum dy * (x - mean) */
        if (need_sums) unit_total(&l, partial, c, t);
        double r = invstd[c], w = opt(weight, c, 1.0f), n = (double)l.len;
        if (dweight) ie_f32(dweight)[c] = (float)(r * t[1]);
        if (dbias) ie_f32(dbias)[c] = (float)t[0];
        coef[c] = (float)(r * w);
        coef[sh.c + c] = training ? (float)(-r * w * r * r * t[1] / n) : 0.0f;
        coef[2 * sh.c + c] = training ? (float)(-r * w * t[0] / n) : 0.0f;
    }
    if (dx) {
        j.out = ie_f32(dx);
        j.a = coef;
        j.b = coef + sh.c;
        j.c = coef + 2 * sh.c;
        run(&l, task_grad_input, &j);
    }
    free(masked);
    free(partial);
    free(coef);
    return IE_OK;
}

static ie_status cpu_batch_backward(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *dy,
                                    ie_norm_shape sh, const ie_tensor *weight, const ie_tensor *save_mean,
                                    const ie_tensor *save_invstd, bool training, ie_tensor *dx,
                                    ie_tensor *dweight, ie_tensor *dbias) {
    (void)ctx;
    return batch_backward(x, dy, sh, weight, NULL, save_mean, save_invstd, false, training, dx, dweight, dbias);
}

static ie_status cpu_batch_relu_backward(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *dy,
                                         ie_norm_shape sh, const ie_tensor *weight, const ie_tensor *bias,
                                         const ie_tensor *save_mean, const ie_tensor *save_invstd, bool training,
                                         ie_tensor *dx, ie_tensor *dweight, ie_tensor *dbias) {
    (void)ctx;
    return batch_backward(x, dy, sh, weight, bias, save_mean, save_invstd, true, training, dx, dweight, dbias);
}

/* ---------------- synchronised batch norm (cpu_sync_norm.h) ---------------- */

ie_status ie_cpu_batch_moments(const ie_tensor *x, ie_norm_shape sh, double *out) {
    layout l = layout_channels(sh);
    double *partial;
    float *unused;
    IE_TRY(scratch("batch_norm", (size_t)(2 * l.units * l.chunks), 0, &partial, &unused));
    pass_job j = {.x = ie_f32(x), .partial = partial};
    run(&l, task_moments, &j);
    for (int64_t c = 0; c < sh.c; c++) {
        double t[2], n = (double)l.len, shift = j.x[c * l.ubase]; /* task_moments' shift */
        unit_total(&l, partial, c, t);
        double m2 = t[1] - t[0] * t[0] / n;
        out[3 * c] = n;
        out[3 * c + 1] = shift + t[0] / n;
        out[3 * c + 2] = m2 > 0 ? m2 : 0;
    }
    free(partial);
    free(unused);
    return IE_OK;
}

ie_status ie_cpu_batch_grad_sums(const ie_tensor *x, const ie_tensor *dy, ie_norm_shape sh,
                                 const ie_tensor *save_mean, double *out) {
    layout l = layout_channels(sh);
    double *partial;
    float *unused;
    IE_TRY(scratch("batch_norm backward", (size_t)(2 * l.units * l.chunks), 0, &partial, &unused));
    const float *mean = ie_f32(save_mean);
    pass_job j = {.x = ie_f32(x), .g = ie_f32(dy), .mu = mean, .mu_lo = mean + sh.c, .partial = partial};
    run(&l, task_grad_sums, &j);
    for (int64_t c = 0; c < sh.c; c++) unit_total(&l, partial, c, out + 2 * c);
    free(partial);
    free(unused);
    return IE_OK;
}

ie_status ie_cpu_batch_grad_input(const ie_tensor *x, const ie_tensor *dy, ie_norm_shape sh,
                                  const ie_tensor *save_mean, const float *a, const float *b, const float *c,
                                  ie_tensor *dx) {
    layout l = layout_channels(sh);
    const float *mean = ie_f32(save_mean);
    pass_job j = {.x = ie_f32(x), .g = ie_f32(dy), .out = ie_f32(dx), .mu = mean, .mu_lo = mean + sh.c, .a = a,
                  .b = b, .c = c};
    run(&l, task_grad_input, &j);
    return IE_OK;
}

/* ---------------- group norm ---------------- */

static ie_status cpu_group_forward(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh,
                                   const ie_tensor *weight, const ie_tensor *bias, float eps, ie_tensor *y,
                                   ie_tensor *save_mean, ie_tensor *save_invstd) {
    (void)ctx;
    int64_t cpg = sh.c / sh.groups, planes = sh.n * sh.c;
    layout groups = layout_blocks(sh.n * sh.groups, cpg * sh.s), pl = layout_blocks(planes, sh.s);
    double *partial;
    float *coef; /* mean hi, mean lo, a, b per plane */
    IE_TRY(scratch("group_norm", (size_t)(2 * groups.units * groups.chunks), (size_t)(4 * planes),
                   &partial, &coef));
    float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    pass_job j = {.x = ie_f32(x), .out = ie_f32(y), .partial = partial};
    run(&groups, task_moments, &j);
    for (int64_t u = 0; u < groups.units; u++) {
        double m, v;
        unit_moments(&groups, j.x, partial, u, &m, &v);
        split_mean(m, &mean[u], &mean[groups.units + u]);
        invstd[u] = (float)(1.0 / sqrt(v + (double)eps));
    }
    for (int64_t p = 0; p < planes; p++) {
        int64_t c = p % sh.c, u = (p / sh.c) * sh.groups + c / cpg;
        coef[p] = mean[u];
        coef[planes + p] = mean[groups.units + u];
        coef[2 * planes + p] = invstd[u] * opt(weight, c, 1.0f);
        coef[3 * planes + p] = opt(bias, c, 0.0f);
    }
    j.mu = coef;
    j.mu_lo = coef + planes;
    j.a = coef + 2 * planes;
    j.b = coef + 3 * planes;
    run(&pl, task_affine, &j);
    free(partial);
    free(coef);
    return IE_OK;
}

static ie_status cpu_group_backward(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *dy,
                                    ie_norm_shape sh, const ie_tensor *weight, const ie_tensor *save_mean,
                                    const ie_tensor *save_invstd, ie_tensor *dx, ie_tensor *dweight,
                                    ie_tensor *dbias) {
    (void)ctx;
    int64_t cpg = sh.c / sh.groups, planes = sh.n * sh.c;
    layout pl = layout_blocks(planes, sh.s);
    double *partial;
    float *coef; /* mean hi, mean lo, a, b, c per plane */
    IE_TRY(scratch("group_norm backward", (size_t)(2 * pl.units * pl.chunks + 2 * planes),
                   (size_t)(5 * planes), &partial, &coef));
    double *plane_sum = partial + 2 * pl.units * pl.chunks; /* [planes][2] */
    const float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    int64_t n_stats = sh.n * sh.groups;
    for (int64_t p = 0; p < planes; p++) {
        int64_t u = (p / sh.c) * sh.groups + (p % sh.c) / cpg;
        coef[p] = mean[u];
        coef[planes + p] = mean[n_stats + u];
    }
    pass_job j = {.x = ie_f32(x), .g = ie_f32(dy), .mu = coef, .mu_lo = coef + planes, .partial = partial};
    run(&pl, task_grad_sums, &j);
    for (int64_t p = 0; p < planes; p++) unit_total(&pl, partial, p, plane_sum + 2 * p);
    /* Parameter gradients: per channel, summed over the batch in order. */
    for (int64_t c = 0; c < sh.c; c++) {
        double gw = 0, gb = 0;
        for (int64_t n = 0; n < sh.n; n++) {
            const double *t = plane_sum + 2 * (n * sh.c + c);
            gb += t[0];
            gw += invstd[n * sh.groups + c / cpg] * t[1];
        }
        if (dweight) ie_f32(dweight)[c] = (float)gw;
        if (dbias) ie_f32(dbias)[c] = (float)gb;
    }
    if (dx) {
        double count = (double)(cpg * sh.s);
        for (int64_t u = 0; u < n_stats; u++) {
            int64_t n = u / sh.groups, c0 = (u % sh.groups) * cpg;
            double r = invstd[u], m1 = 0, m2 = 0;
            for (int64_t c = c0; c < c0 + cpg; c++) {
                const double *t = plane_sum + 2 * (n * sh.c + c);
                double w = opt(weight, c, 1.0f);
                m1 += w * t[0];
                m2 += w * r * t[1];
            }
            m1 /= count;
            m2 /= count;
            for (int64_t c = c0; c < c0 + cpg; c++) {
                int64_t p = n * sh.c + c;
                coef[2 * planes + p] = (float)(r * opt(weight, c, 1.0f));
                coef[3 * planes + p] = (float)(-r * r * m2);
                coef[4 * planes + p] = (float)(-r * m1);
            }
        }
        j.out = ie_f32(dx);
        j.a = coef + 2 * planes;
        j.b = coef + 3 * planes;
        j.c = coef + 4 * planes;
        run(&pl, task_grad_input, &j);
    }
    free(partial);
    free(coef);
    return IE_OK;
}

const struct ie_norm_kernels ie_cpu_norm_kernels = {
    .batch_forward = cpu_batch_forward,
    .batch_apply = cpu_batch_apply,
    .batch_backward = cpu_batch_backward,
    .batch_forward_relu = cpu_batch_forward_relu,
    .batch_relu_backward = cpu_batch_relu_backward,
    .group_forward = cpu_group_forward,
    .group_backward = cpu_group_backward,
};
