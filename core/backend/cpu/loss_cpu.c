/* core/backend/cpu - loss kernels.
 *
 * Voxel v of a [batch, classes, spatial] tensor is item v / spatial at
 * position v % spatial; its class values are `spatial` floats apart.  Forward
 * kernels sum fixed chunks of voxels in double into per-chunk partials and
 * add those in chunk order. */
#include <math.h>
#include <string.h>

#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"

#define VOXEL_CHUNK ((int64_t)4096)

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static inline int64_t label_at(const ie_tensor *labels, int64_t i) {
    return labels->dtype == IE_I64 ? ((const int64_t *)ie_tensor_ptr(labels))[i]
                                   : (int64_t)((const int32_t *)ie_tensor_ptr(labels))[i];
}

/* Zeroed per-chunk partials, on the stack when few. */
typedef struct partials {
    double stack[128];
    double *p;
} partials;

static ie_status partials_get(partials *pt, int64_t n, const char *what) {
    pt->p = n <= 128 ? pt->stack : malloc((size_t)n * sizeof(double));
    if (!pt->p)
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory for %lld partial sums", what, (long long)n);
    memset(pt->p, 0, (size_t)n * sizeof(double));
    return IE_OK;
}

static void partials_free(partials *pt) {
    if (pt->p != pt->stack) free(pt->p);
}

/* ---------------- cross-entropy and focal ---------------- */

typedef struct class_job {
    const ie_class_loss_args *a;
    const float *x, *w;
    double *partial; /* [chunks][2]: loss sum, weight sum */
    float *grad;
    double scale, weight_total; /* backward */
} class_job;

/* log-sum-exp of one voxel's class values. */
static inline double voxel_lse(const float *x, int64_t classes, int64_t stride) {
    float m = -INFINITY;
    for (int64_t c = 0; c < classes; c++) m = x[c * stride] > m ? x[c * stride] : m;
    double s = 0;
    for (int64_t c = 0; c < classes; c++) s += exp((double)x[c * stride] - m);
    return m + log(s);
}

/* Per voxel, with nll_c = lse - x_c:
 *   cross-entropy: (1-eps) w_y nll_y + eps/C sum_c w_c nll_c  (torch 1.13)
 *   focal:         w_y (1 - p_y)^gamma nll_y */
static void class_loss_chunk(void *ctx, int64_t chunk) {
    const class_job *j = ctx;
    const ie_class_loss_args *a = j->a;
    int64_t lo = chunk * VOXEL_CHUNK, hi = min64(lo + VOXEL_CHUNK, a->batch * a->spatial);
    double eps = a->label_smoothing, loss = 0, wsum = 0;
    for (int64_t v = lo; v < hi; v++) {
        int64_t n = v / a->spatial, s = v % a->spatial, y = label_at(a->labels, v);
        const float *x = j->x + n * a->classes * a->spatial + s;
        double lse = voxel_lse(x, a->classes, a->spatial);
        double wy = j->w ? j->w[y] : 1.0, nll = lse - x[y * a->spatial];
        if (a->kind == IE_CLASS_LOSS_FOCAL) {
            loss += wy * pow(-expm1(-nll), a->gamma) * nll; /* -expm1 keeps 1 - p_y exact near p_y = 1 */
        } else {
            double l = (1.0 - eps) * wy * nll;
            if (eps != 0) {
                double smooth = 0;
                for (int64_t c = 0; c < a->classes; c++)
                    smooth += (j->w ? j->w[c] : 1.0) * (lse - x[c * a->spatial]);
                l += eps / (double)a->classes * smooth;
            }
            loss += l;
        }
        wsum += wy;
    }
    j->partial[2 * chunk] = loss;
    j->partial[2 * chunk + 1] = wsum;
}

static ie_status cpu_class_loss(ie_device_ctx *ctx, const ie_class_loss_args *a, ie_tensor *out,
                                ie_tensor *weight_sum) {
    (void)ctx;
    int64_t chunks = ceil_div(a->batch * a->spatial, VOXEL_CHUNK);
    partials pt;
    IE_TRY(partials_get(&pt, 2 * chunks, "loss"));
    class_job j = {a, ie_f32(a->logits), a->weights ? ie_f32(a->weights) : NULL, pt.p, NULL, 0, 0};
    ie_parallel_for(chunks, class_loss_chunk, &j);
    double loss = 0, wsum = 0;
    for (int64_t c = 0; c < chunks; c++) loss += j.partial[2 * c], wsum += j.partial[2 * c + 1];
    partials_free(&pt);
    memcpy(ie_tensor_ptr(weight_sum), &wsum, sizeof wsum);
    ie_f32(out)[0] = (float)(loss / wsum);
    return IE_OK;
}

/* d(loss_v)/d x_c for one voxel, written scaled into g (stride apart):
 *   cross-entropy: (1-eps) w_y (p_c - [c=y]) + eps/C (p_c sum(w) - w_c)
 *   focal:         w_y (gamma a^(gamma-1) q log q - a^gamma) ([c=y] - p_c),
 *                  q = p_y, a = 1 - q. */
static void class_loss_backward_chunk(void *ctx, int64_t chunk) {
    const class_job *j = ctx;
    const ie_class_loss_args *a = j->a;
    int64_t lo = chunk * VOXEL_CHUNK, hi = min64(lo + VOXEL_CHUNK, a->batch * a->spatial);
    double eps = a->label_smoothing, gamma = a->gamma;
    for (int64_t v = lo; v < hi; v++) {
        int64_t n = v / a->spatial, s = v % a->spatial, y = label_at(a->labels, v);
        int64_t base = n * a->classes * a->spatial + s;
        const float *x = j->x + base;
        float *g = j->grad + base;
        double lse = voxel_lse(x, a->classes, a->spatial);
        double wy = j->w ? j->w[y] : 1.0;
        if (a->kind == IE_CLASS_LOSS_FOCAL) {
            double lq = x[y * a->spatial] - lse, q = exp(lq), one_minus = -expm1(lq);
            double k = -pow(one_minus, gamma);
            /* At q = 1 the first term's limit is 0 (a^(gamma-1) log q ~ -a^gamma). */
            if (gamma != 0 && one_minus > 0) k += gamma * pow(one_minus, gamma - 1) * lq * q;
            k *= wy * j->scale;
            for (int64_t c = 0; c < a->classes; c++) {
                double p = exp(x[c * a->spatial] - lse);
                g[c * a->spatial] = (float)(k * ((c == y) - p));
            }
        } else {
            for (int64_t c = 0; c < a->classes; c++) {
                double p = exp(x[c * a->spatial] - lse), wc = j->w ? j->w[c] : 1.0;
                double d = (1.0 - eps) * wy * (p - (c == y));
                if (eps != 0) d += eps / (double)a->classes * (p * j->weight_total - wc);
                g[c * a->spatial] = (float)(d * j->scale);
            }
        }
    }
}

static ie_status cpu_class_loss_backward(ie_device_ctx *ctx, const ie_class_loss_args *a, const ie_tensor *g,
                                         const ie_tensor *weight_sum, ie_tensor *grad_logits) {
    (void)ctx;
    double wsum;
    memcpy(&wsum, ie_tensor_ptr(weight_sum), sizeof wsum);
    class_job j = {a, ie_f32(a->logits), a->weights ? ie_f32(a->weights) : NULL, NULL, ie_f32(grad_logits),
                   ie_f32(g)[0] / wsum, (double)a->classes};
    if (j.w) {
        j.weight_total = 0;
        for (int64_t c = 0; c < a->classes; c++) j.weight_total += j.w[c];
    }
    ie_parallel_for(ceil_div(a->batch * a->spatial, VOXEL_CHUNK), class_loss_backward_chunk, &j);
    return IE_OK;
}

/* ---------------- soft Dice ---------------- */

#define DICE_EPS 1e-10

typedef struct dice_job {
    const float *x, *w;
    const ie_tensor *labels;
    int64_t batch, classes, spatial, blocks; /* blocks of VOXEL_CHUNK per item */
    double *partial;                         /* [batch * blocks][classes][3] */
    const double *coef;                      /* backward: [batch][classes][2] */
    float *grad;
} dice_job;

static void dice_chunk(void *ctx, int64_t task) {
    const dice_job *j = ctx;
    int64_t n = task / j->blocks, s0 = (task % j->blocks) * VOXEL_CHUNK;
    int64_t s1 = min64(s0 + VOXEL_CHUNK, j->spatial);
    double *acc = j->partial + task * j->classes * 3;
    for (int64_t s = s0; s < s1; s++) {
        const float *x = j->x + n * j->classes * j->spatial + s;
        double lse = voxel_lse(x, j->classes, j->spatial);
        int64_t y = label_at(j->labels, n * j->spatial + s);
        for (int64_t c = 0; c < j->classes; c++) {
            double p = exp(x[c * j->spatial] - lse);
            if (c == y) acc[3 * c] += p, acc[3 * c + 2] += 1;
            acc[3 * c + 1] += p * p;
        }
    }
}

/* Sums each item's blocks in block order into stats [batch][classes][3]. */
static ie_status dice_stats(dice_job *j, ie_tensor *stats) {
    partials pt;
    j->blocks = ceil_div(j->spatial, VOXEL_CHUNK);
    int64_t tasks = j->batch * j->blocks;
    IE_TRY(partials_get(&pt, tasks * j->classes * 3, "soft_dice_loss"));
    j->partial = pt.p;
    ie_parallel_for(tasks, dice_chunk, j);
    float *st = ie_f32(stats);
    for (int64_t n = 0; n < j->batch; n++)
        for (int64_t k = 0; k < j->classes * 3; k++) {
            double s = 0;
            for (int64_t b = 0; b < j->blocks; b++) s += j->partial[(n * j->blocks + b) * j->classes * 3 + k];
            st[n * j->classes * 3 + k] = (float)s;
        }
    partials_free(&pt);
    return IE_OK;
}

/* I and S of one (item, class) from its stats, with eps once per voxel. */
static inline void dice_terms(const float *st, int64_t spatial, double *I, double *S) {
    double veps = (double)spatial * DICE_EPS;
    *I = st[0] + veps;
    *S = st[1] + st[2] + 2 * veps; /* t^2 = t for one-hot targets */
}

static double dice_weight_norm(const float *w, int64_t batch, int64_t classes) {
    double total = 0;
    for (int64_t c = 0; c < classes; c++) total += w ? w[c] : 1.0;
    return (double)batch * total;
}

static ie_status cpu_dice(ie_device_ctx *ctx, const ie_tensor *logits, const ie_tensor *labels,
                          const ie_tensor *weights, int64_t batch, int64_t classes, int64_t spatial,
                          ie_tensor *stats, ie_tensor *out) {
    (void)ctx;
    dice_job j = {ie_f32(logits), weights ? ie_f32(weights) : NULL, labels, batch, classes, spatial, 0, NULL,
                  NULL, NULL};
    IE_TRY(dice_stats(&j, stats));
    const float *st = ie_f32(stats);
    double ratio = 0, I, S;
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < classes; c++) {
            dice_terms(st + (n * classes + c) * 3, spatial, &I, &S);
            ratio += (j.w ? j.w[c] : 1.0) * I / S;
        }
    ie_f32(out)[0] = (float)(1.0 - 2.0 * ratio / dice_weight_norm(j.w, batch, classes));
    return IE_OK;
}

/* dL/dp_c = coef0 * t_c + coef1 * p_c, then the softmax Jacobian:
 * dL/dx_c = p_c (dL/dp_c - sum_k p_k dL/dp_k). */
static void dice_backward_chunk(void *ctx, int64_t chunk) {
    const dice_job *j = ctx;
    int64_t lo = chunk * VOXEL_CHUNK, hi = min64(lo + VOXEL_CHUNK, j->batch * j->spatial);
    for (int64_t v = lo; v < hi; v++) {
        int64_t n = v / j->spatial, s = v % j->spatial, y = label_at(j->labels, v);
        int64_t base = n * j->classes * j->spatial + s;
        const float *x = j->x + base;
        const double *coef = j->coef + n * j->classes * 2;
        double lse = voxel_lse(x, j->classes, j->spatial), dot = 0;
        for (int64_t c = 0; c < j->classes; c++) {
            double p = exp(x[c * j->spatial] - lse);
            dot += p * (coef[2 * c] * (c == y) + coef[2 * c + 1] * p);
        }
        for (int64_t c = 0; c < j->classes; c++) {
            double p = exp(x[c * j->spatial] - lse);
            double dp = coef[2 * c] * (c == y) + coef[2 * c + 1] * p;
            j->grad[base + c * j->spatial] = (float)(p * (dp - dot));
        }
    }
}

static ie_status cpu_dice_backward(ie_device_ctx *ctx, const ie_tensor *logits, const ie_tensor *labels,
                                   const ie_tensor *weights, int64_t batch, int64_t classes, int64_t spatial,
                                   const ie_tensor *stats, const ie_tensor *g, ie_tensor *grad_logits) {
    (void)ctx;
    const float *w = weights ? ie_f32(weights) : NULL, *st = ie_f32(stats);
    partials pt;
    IE_TRY(partials_get(&pt, batch * classes * 2, "soft_dice_loss backward"));
    double *coef = pt.p;
    /* L = 1 - k sum w_c I/S, k = 2 / (N sum w): dL/dp = -k w_c (t/S - 2 p I / S^2). */
    double k = 2.0 * ie_f32(g)[0] / dice_weight_norm(w, batch, classes), I, S;
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < classes; c++) {
            int64_t i = n * classes + c;
            dice_terms(st + i * 3, spatial, &I, &S);
            double wc = w ? w[c] : 1.0;
            coef[2 * i] = -k * wc / S;
            coef[2 * i + 1] = k * wc * 2.0 * I / (S * S);
        }
    dice_job j = {ie_f32(logits), w, labels, batch, classes, spatial, 0, NULL, coef, ie_f32(grad_logits)};
    ie_parallel_for(ceil_div(batch * spatial, VOXEL_CHUNK), dice_backward_chunk, &j);
    partials_free(&pt);
    return IE_OK;
}

/* ---------------- elementwise losses ---------------- */

typedef struct pair_job {
    ie_pair_loss_kind kind;
    const float *a, *b, *pw;
    int64_t n, pw_len;
    double *partial;
    float *ga, *gb;
    double scale;
} pair_job;

/* log(1 + exp(-x)) without overflow. */
static inline double softplus_neg(double x) { return log1p(exp(-fabs(x))) + (x < 0 ? -x : 0); }

/* BCE as torch: (1 - t) x + (1 + (pw - 1) t) log(1 + exp(-x)). */
static void pair_chunk(void *ctx, int64_t chunk) {
    const pair_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = min64(lo + IE_CPU_CHUNK, j->n);
    double s = 0;
    for (int64_t i = lo; i < hi; i++) {
        double a = j->a[i], b = j->b[i], d = a - b;
        switch (j->kind) {
        case IE_PAIR_LOSS_MSE: s += d * d; break;
        case IE_PAIR_LOSS_L1: s += fabs(d); break;
        case IE_PAIR_LOSS_BCE: {
            double lw = j->pw ? 1.0 + (j->pw[i % j->pw_len] - 1.0) * b : 1.0;
            s += (1.0 - b) * a + lw * softplus_neg(a);
            break;
        }
        }
    }
    j->partial[chunk] = s;
}

static ie_status cpu_pair_loss(ie_device_ctx *ctx, ie_pair_loss_kind kind, const ie_tensor *a,
                               const ie_tensor *b, const ie_tensor *pos_weight, ie_tensor *out) {
    (void)ctx;
    int64_t chunks = ie_cpu_chunks(a->numel);
    partials pt;
    IE_TRY(partials_get(&pt, chunks, "loss"));
    pair_job j = {kind, ie_f32(a), ie_f32(b), pos_weight ? ie_f32(pos_weight) : NULL, a->numel,
                  pos_weight ? pos_weight->numel : 0, pt.p, NULL, NULL, 0};
    ie_parallel_for(chunks, pair_chunk, &j);
    double s = 0;
    for (int64_t c = 0; c < chunks; c++) s += j.partial[c];
    partials_free(&pt);
    ie_f32(out)[0] = (float)(s / (double)a->numel);
    return IE_OK;
}

static void pair_backward_chunk(void *ctx, int64_t chunk) {
    const pair_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = min64(lo + IE_CPU_CHUNK, j->n);
    for (int64_t i = lo; i < hi; i++) {
        double a = j->a[i], b = j->b[i], d = a - b, da = 0, db = 0;
        switch (j->kind) {
        case IE_PAIR_LOSS_MSE: da = 2 * d, db = -2 * d; break;
        case IE_PAIR_LOSS_L1: da = (d > 0) - (d < 0), db = -da; break; /* sign(0) = 0 as torch */
        case IE_PAIR_LOSS_BCE: {
            double pw = j->pw ? j->pw[i % j->pw_len] : 1.0, lw = 1.0 + (pw - 1.0) * b;
            double sig_neg = a >= 0 ? exp(-a) / (1.0 + exp(-a)) : 1.0 / (1.0 + exp(a)); /* sigmoid(-a) */
            da = (1.0 - b) - lw * sig_neg;
            db = -a + (pw - 1.0) * softplus_neg(a);
            break;
        }
        }
        if (j->ga) j->ga[i] = (float)(da * j->scale);
        if (j->gb) j->gb[i] = (float)(db * j->scale);
    }
}

static ie_status cpu_pair_loss_backward(ie_device_ctx *ctx, ie_pair_loss_kind kind, const ie_tensor *a,
                                        const ie_tensor *b, const ie_tensor *pos_weight, const ie_tensor *g,
                                        ie_tensor *grad_a, ie_tensor *grad_b) {
    (void)ctx;
    pair_job j = {kind, ie_f32(a), ie_f32(b), pos_weight ? ie_f32(pos_weight) : NULL, a->numel,
                  pos_weight ? pos_weight->numel : 0, NULL, grad_a ? ie_f32(grad_a) : NULL,
                  grad_b ? ie_f32(grad_b) : NULL, ie_f32(g)[0] / (double)a->numel};
    ie_parallel_for(ie_cpu_chunks(a->numel), pair_backward_chunk, &j);
    return IE_OK;
}

const struct ie_loss_kernels ie_cpu_loss_kernels = {
    .class_loss = cpu_class_loss,
    .class_loss_backward = cpu_class_loss_backward,
    .dice = cpu_dice,
    .dice_backward = cpu_dice_backward,
    .pair_loss = cpu_pair_loss,
    .pair_loss_backward = cpu_pair_loss_backward,
};
