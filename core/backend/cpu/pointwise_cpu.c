/* core/backend/cpu - elementwise kernels. */
#include <math.h>

#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"

/* GELU and SiLU, written once for forward and backward.  Each is a fixed
 * sequence of float operations and libm calls (erff, tanhf, expf), and libm
 * is the same function on every CPU path, so every path gives the same bits
 * (-ffp-contract=off keeps the compiler from fusing any of it). */
#define GELU_RSQRT2 0.70710678118654752440f  /* 1 / sqrt(2) */
#define GELU_RSQRT2PI 0.39894228040143267794f /* 1 / sqrt(2 pi) */
#define GELU_SQRT2_PI 0.79788456080286535588f /* sqrt(2 / pi) */
#define GELU_C 0.044715f

static inline float gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * GELU_RSQRT2)); }
/* d/dx x Phi(x) = Phi(x) + x phi(x) */
static inline float gelu_erf_grad(float x) {
    return 0.5f * (1.0f + erff(x * GELU_RSQRT2)) + x * GELU_RSQRT2PI * expf(-0.5f * x * x);
}
static inline float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanhf(GELU_SQRT2_PI * (x + GELU_C * x * x * x)));
}
/* With t = tanh(u), u = s (x + c x^3): 0.5 (1 + t) + 0.5 x (1 - t^2) s (1 + 3 c x^2) */
static inline float gelu_tanh_grad(float x) {
    float t = tanhf(GELU_SQRT2_PI * (x + GELU_C * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_SQRT2_PI * (1.0f + 3.0f * GELU_C * x * x);
}
static inline float silu(float x) { return x / (1.0f + expf(-x)); }
/* d/dx x s(x) = s(x) (1 + x (1 - s(x))) */
static inline float silu_grad(float x) {
    float s = 1.0f / (1.0f + expf(-x));
    return s * (1.0f + x * (1.0f - s));
}

typedef struct binary_job {
    ie_binary_op op;
    const float *a, *b;
    float *out;
    ie_broadcast bc;
    int64_t n;
} binary_job;

/* o = a op b over [lo, hi) with b[bi] (bs = 1) or one b value (bs = 0). */
#define BINARY_LOOP(EXPR)                                                                                    \
    _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++) o[i] = (EXPR)

IE_CPU_CLONES static void binary_run(ie_binary_op op, const float *a, const float *b, int64_t bs, float *o,
                                     int64_t lo, int64_t hi) {
    switch (op) {
    case IE_BINARY_ADD: BINARY_LOOP(a[i] + b[i * bs]); break;
    case IE_BINARY_SUB: BINARY_LOOP(a[i] - b[i * bs]); break;
    case IE_BINARY_MUL: BINARY_LOOP(a[i] * b[i * bs]); break;
    }
}

static void binary_chunk(void *ctx, int64_t chunk) {
    const binary_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = lo + IE_CPU_CHUNK < j->n ? lo + IE_CPU_CHUNK : j->n;
    switch (j->bc.kind) {
    case IE_BROADCAST_NONE: binary_run(j->op, j->a, j->b, 1, j->out, lo, hi); break;
    case IE_BROADCAST_SCALAR: binary_run(j->op, j->a, j->b, 0, j->out, lo, hi); break;
    default: /* one b value per run of `inner` elements */
        for (int64_t i = lo; i < hi;) {
            int64_t end = (i / j->bc.inner + 1) * j->bc.inner;
            if (end > hi) end = hi;
            binary_run(j->op, j->a, j->b + (i / j->bc.inner) % j->bc.channels, 0, j->out, i, end);
            i = end;
        }
        break;
    }
}

static ie_status cpu_binary(ie_device_ctx *ctx, ie_binary_op op, const ie_tensor *a, const ie_tensor *b,
                            ie_broadcast bc, ie_tensor *out) {
    (void)ctx;
    binary_job j = {op, ie_f32(a), ie_f32(b), ie_f32(out), bc, a->numel};
    ie_parallel_for(ie_cpu_chunks(a->numel), binary_chunk, &j);
    return IE_OK;
}

typedef struct unary_job {
    ie_unary_op op;
    const float *x, *g;
    float *out;
    float param, param2;
    int64_t n;
} unary_job;

IE_CPU_CLONES static void unary_chunk(void *ctx, int64_t chunk) {
    const unary_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = lo + IE_CPU_CHUNK < j->n ? lo + IE_CPU_CHUNK : j->n;
    const float *x = j->x;
    float *o = j->out;
    switch (j->op) {
    case IE_UNARY_RELU:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case IE_UNARY_LEAKY_RELU:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = x[i] > 0.0f ? x[i] : x[i] * j->param;
        break;
    case IE_UNARY_SIGMOID:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case IE_UNARY_TANH:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = tanhf(x[i]);
        break;
    case IE_UNARY_AFFINE:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = j->param * x[i] + j->param2;
        break;
    case IE_UNARY_GELU:
        for (int64_t i = lo; i < hi; i++) o[i] = gelu_erf(x[i]);
        break;
    case IE_UNARY_GELU_TANH:
        for (int64_t i = lo; i < hi; i++) o[i] = gelu_tanh(x[i]);
        break;
    case IE_UNARY_SILU:
        for (int64_t i = lo; i < hi; i++) o[i] = silu(x[i]);
        break;
    }
}

static ie_status cpu_unary(ie_device_ctx *ctx, ie_unary_op op, const ie_tensor *x, float param, float param2,
                           ie_tensor *out) {
    (void)ctx;
    unary_job j = {op, ie_f32(x), NULL, ie_f32(out), param, param2, x->numel};
    ie_parallel_for(ie_cpu_chunks(x->numel), unary_chunk, &j);
    return IE_OK;
}

IE_CPU_CLONES static void unary_backward_chunk(void *ctx, int64_t chunk) {
    const unary_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = lo + IE_CPU_CHUNK < j->n ? lo + IE_CPU_CHUNK : j->n;
    const float *s = j->x, *g = j->g;
    float *o = j->out;
    switch (j->op) {
    case IE_UNARY_RELU:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = s[i] > 0.0f ? g[i] : 0.0f;
        break;
    case IE_UNARY_LEAKY_RELU:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = s[i] > 0.0f ? g[i] : g[i] * j->param;
        break;
    case IE_UNARY_SIGMOID:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = g[i] * s[i] * (1.0f - s[i]);
        break;
    case IE_UNARY_TANH:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = g[i] * (1.0f - s[i] * s[i]);
        break;
    case IE_UNARY_AFFINE:
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; i++) o[i] = g[i] * j->param;
        break;
    case IE_UNARY_GELU:
        for (int64_t i = lo; i < hi; i++) o[i] = g[i] * gelu_erf_grad(s[i]);
        break;
    case IE_UNARY_GELU_TANH:
        for (int64_t i = lo; i < hi; i++) o[i] = g[i] * gelu_tanh_grad(s[i]);
        break;
    case IE_UNARY_SILU:
        for (int64_t i = lo; i < hi; i++) o[i] = g[i] * silu_grad(s[i]);
        break;
    }
}

static ie_status cpu_unary_backward(ie_device_ctx *ctx, ie_unary_op op, const ie_tensor *saved,
                                    const ie_tensor *grad_out, float param, ie_tensor *grad_in) {
    (void)ctx;
    unary_job j = {op, saved ? ie_f32(saved) : NULL, ie_f32(grad_out), ie_f32(grad_in), param, 0,
                   grad_out->numel};
    ie_parallel_for(ie_cpu_chunks(grad_out->numel), unary_backward_chunk, &j);
    return IE_OK;
}

typedef struct channel_sum_job {
    const float *x;
    double *partial; /* [channels][outer] */
    int64_t outer, channels, inner;
} channel_sum_job;

/* One task per (channel, outer) row: each row sums in index order, then rows
 * combine in outer order, so the result does not depend on the thread count. */
static void channel_sum_row(void *ctx, int64_t task) {
    const channel_sum_job *j = ctx;
    int64_t c = task / j->outer, o = task % j->outer;
    const float *row = j->x + (o * j->channels + c) * j->inner;
    double s = 0.0;
    for (int64_t i = 0; i < j->inner; i++) s += row[i];
    j->partial[task] = s;
}

static ie_status cpu_channel_sum(ie_device_ctx *ctx, const ie_tensor *x, int64_t outer, int64_t channels,
                                 int64_t inner, ie_tensor *out) {
    (void)ctx;
    double *partial = malloc((size_t)(outer * channels > 0 ? outer * channels : 1) * sizeof *partial);
    if (!partial)
        return ie_error_set(IE_ERR_NOMEM, "channel sum: out of memory for %lld partial sums",
                            (long long)(outer * channels));
    channel_sum_job j = {ie_f32(x), partial, outer, channels, inner};
    ie_parallel_for(outer * channels, channel_sum_row, &j);
    float *o = ie_f32(out);
    for (int64_t c = 0; c < channels; c++) {
        double s = 0.0;
        for (int64_t k = 0; k < outer; k++) s += partial[c * outer + k];
        o[c] = (float)s;
    }
    free(partial);
    return IE_OK;
}

const struct ie_pointwise_kernels ie_cpu_pointwise_kernels = {
    .binary = cpu_binary,
    .unary = cpu_unary,
    .unary_backward = cpu_unary_backward,
    .channel_sum = cpu_channel_sum,
};
