/* core/backend/cpu - reductions, softmax, concat copies, dropout and the linear
 * layer's matrix products.  Every partition below is a fixed function of the
 * shapes, never of the thread count. */
#include <math.h>
#include <string.h>

#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"
#include "core/backend/cpu/cpu_path.h"

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---------------- sum ---------------- */

typedef struct sum_job {
    const float *x;
    int64_t n;
    double *partial;
} sum_job;

static void sum_chunk(void *ctx, int64_t chunk) {
    const sum_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = lo + IE_CPU_CHUNK < j->n ? lo + IE_CPU_CHUNK : j->n;
    double s = 0;
    for (int64_t i = lo; i < hi; i++) s += j->x[i];
    j->partial[chunk] = s;
}

static ie_status cpu_sum(ie_device_ctx *ctx, const ie_tensor *x, float scale, ie_tensor *out) {
    (void)ctx;
    int64_t chunks = ie_cpu_chunks(x->numel);
    double stack_partial[64];
    double *partial = chunks <= 64 ? stack_partial : malloc((size_t)chunks * sizeof *partial);
    if (!partial)
        return ie_error_set(IE_ERR_NOMEM, "sum: out of memory for %lld partial sums of a %lld-element tensor",
                            (long long)chunks, (long long)x->numel);
    sum_job j = {ie_f32(x), x->numel, partial};
    ie_parallel_for(chunks, sum_chunk, &j);
    double s = 0;
    for (int64_t c = 0; c < chunks; c++) s += partial[c];
    if (partial != stack_partial) free(partial);
    ie_f32(out)[0] = (float)(s * scale);
    return IE_OK;
}

static ie_status cpu_fill_from_scalar(ie_device_ctx *ctx, const ie_tensor *g, float scale, ie_tensor *out) {
    (void)ctx;
    float v = ie_f32(g)[0] * scale;
    float *o = ie_f32(out);
    for (int64_t i = 0; i < out->numel; i++) o[i] = v;
    return IE_OK;
}

/* ---------------- softmax ----------------
 * x is viewed as [outer, dim, inner].  With inner == 1 each task takes whole
 * rows; otherwise a task takes SOFTMAX_LANES neighbouring inner positions of
 * one outer index, so the channel loop reads contiguous runs. */

#define SOFTMAX_LANES 128

typedef struct softmax_job {
    const float *x, *g; /* forward: x; backward: y and g */
    float *out;
    int64_t outer, dim, inner;
    int64_t rows_per_task;  /* inner == 1 */
    int64_t blocks_per_row; /* inner > 1 */
    bool log;
} softmax_job;

static void softmax_row(const float *x, float *o, int64_t dim, bool take_log) {
    float m = -INFINITY;
    for (int64_t c = 0; c < dim; c++) m = x[c] > m ? x[c] : m;
    double s = 0;
    for (int64_t c = 0; c < dim; c++) {
        float e = expf(x[c] - m);
        s += e;
        if (!take_log) o[c] = e;
    }
    if (take_log) { /* (x - m) is exact near the maximum; folding m into log(s) would round it */
        float ls = (float)log(s);
        for (int64_t c = 0; c < dim; c++) o[c] = (x[c] - m) - ls;
    } else {
        float inv = (float)(1.0 / s);
        for (int64_t c = 0; c < dim; c++) o[c] *= inv;
    }
}

static void softmax_rows_task(void *ctx, int64_t task) {
    const softmax_job *j = ctx;
    int64_t lo = task * j->rows_per_task, hi = min64(lo + j->rows_per_task, j->outer);
    for (int64_t r = lo; r < hi; r++) softmax_row(j->x + r * j->dim, j->out + r * j->dim, j->dim, j->log);
}

static void softmax_lanes_task(void *ctx, int64_t task) {
    const softmax_job *j = ctx;
    int64_t o = task / j->blocks_per_row, i0 = (task % j->blocks_per_row) * SOFTMAX_LANES;
    int64_t n = min64(SOFTMAX_LANES, j->inner - i0);
    const float *x = j->x + o * j->dim * j->inner + i0;
    float *out = j->out + o * j->dim * j->inner + i0;
    float m[SOFTMAX_LANES];
    double s[SOFTMAX_LANES];
    for (int64_t l = 0; l < n; l++) m[l] = -INFINITY, s[l] = 0;
    for (int64_t c = 0; c < j->dim; c++)
        for (int64_t l = 0; l < n; l++) m[l] = x[c * j->inner + l] > m[l] ? x[c * j->inner + l] : m[l];
    for (int64_t c = 0; c < j->dim; c++)
        for (int64_t l = 0; l < n; l++) {
            float e = expf(x[c * j->inner + l] - m[l]);
            s[l] += e;
            if (!j->log) out[c * j->inner + l] = e;
        }
    float k[SOFTMAX_LANES];
    for (int64_t l = 0; l < n; l++) k[l] = j->log ? (float)log(s[l]) : (float)(1.0 / s[l]);
    for (int64_t c = 0; c < j->dim; c++)
        for (int64_t l = 0; l < n; l++) {
            int64_t at = c * j->inner + l;
            out[at] = j->log ? (x[at] - m[l]) - k[l] : out[at] * k[l];
        }
}

/* softmax: gx = y * (g - sum(g * y));  log_softmax: gx = g - exp(y) * sum(g). */
static void softmax_backward_rows_task(void *ctx, int64_t task) {
    const softmax_job *j = ctx;
    int64_t lo = task * j->rows_per_task, hi = min64(lo + j->rows_per_task, j->outer);
    for (int64_t r = lo; r < hi; r++) {
        const float *y = j->x + r * j->dim, *g = j->g + r * j->dim;
        float *o = j->out + r * j->dim;
        double s = 0;
        for (int64_t c = 0; c < j->dim; c++) s += j->log ? (double)g[c] : (double)g[c] * y[c];
        float sf = (float)s;
        for (int64_t c = 0; c < j->dim; c++) o[c] = j->log ? g[c] - expf(y[c]) * sf : y[c] * (g[c] - sf);
    }
}

static void softmax_backward_lanes_task(void *ctx, int64_t task) {
    const softmax_job *j = ctx;
    int64_t o = task / j->blocks_per_row, i0 = (task % j->blocks_per_row) * SOFTMAX_LANES;
    int64_t n = min64(SOFTMAX_LANES, j->inner - i0), base = o * j->dim * j->inner + i0;
    const float *y = j->x + base, *g = j->g + base;
    float *out = j->out + base;
    double s[SOFTMAX_LANES];
    float sf[SOFTMAX_LANES];
    for (int64_t l = 0; l < n; l++) s[l] = 0;
    for (int64_t c = 0; c < j->dim; c++)
        for (int64_t l = 0; l < n; l++) {
            int64_t at = c * j->inner + l;
            s[l] += j->log ? (double)g[at] : (double)g[at] * y[at];
        }
    for (int64_t l = 0; l < n; l++) sf[l] = (float)s[l];
    for (int64_t c = 0; c < j->dim; c++)
        for (int64_t l = 0; l < n; l++) {
            int64_t at = c * j->inner + l;
            out[at] = j->log ? g[at] - expf(y[at]) * sf[l] : y[at] * (g[at] - sf[l]);
        }
}

static void softmax_run(softmax_job *j, void (*rows)(void *, int64_t), void (*lanes)(void *, int64_t)) {
    if (j->outer == 0 || j->dim == 0 || j->inner == 0) return;
    if (j->inner == 1) {
        j->rows_per_task = j->dim >= IE_CPU_CHUNK ? 1 : IE_CPU_CHUNK / j->dim;
        ie_parallel_for(ceil_div(j->outer, j->rows_per_task), rows, j);
    } else {
        j->blocks_per_row = ceil_div(j->inner, SOFTMAX_LANES);
        ie_parallel_for(j->outer * j->blocks_per_row, lanes, j);
    }
}

static ie_status cpu_softmax(ie_device_ctx *ctx, const ie_tensor *x, int64_t outer, int64_t dim,
                             int64_t inner, bool log, ie_tensor *out) {
    (void)ctx;
    softmax_job j = {ie_f32(x), NULL, ie_f32(out), outer, dim, inner, 0, 0, log};
    softmax_run(&j, softmax_rows_task, softmax_lanes_task);
    return IE_OK;
}

static ie_status cpu_softmax_backward(ie_device_ctx *ctx, const ie_tensor *y, const ie_tensor *grad_out,
                                      int64_t outer, int64_t dim, int64_t inner, bool log,
                                      ie_tensor *grad_in) {
    (void)ctx;
    softmax_job j = {ie_f32(y), ie_f32(grad_out), ie_f32(grad_in), outer, dim, inner, 0, 0, log};
    softmax_run(&j, softmax_backward_rows_task, softmax_backward_lanes_task);
    return IE_OK;
}

/* ---------------- strided row copies (concat) ---------------- */

#define COPY_TASK_BYTES ((int64_t)1 << 16)

typedef struct copy_job {
    const char *src;
    char *dst;
    int64_t src_stride, dst_stride, rows, row_bytes, rows_per_task;
} copy_job;

static void copy_task(void *ctx, int64_t task) {
    const copy_job *j = ctx;
    int64_t lo = task * j->rows_per_task, hi = min64(lo + j->rows_per_task, j->rows);
    for (int64_t r = lo; r < hi; r++)
        memcpy(j->dst + r * j->dst_stride, j->src + r * j->src_stride, (size_t)j->row_bytes);
}

static ie_status cpu_copy_rows(ie_device_ctx *ctx, const ie_tensor *src, int64_t src_offset,
                               int64_t src_stride, ie_tensor *dst, int64_t dst_offset, int64_t dst_stride,
                               int64_t rows, int64_t row_bytes) {
    (void)ctx;
    if (rows <= 0 || row_bytes <= 0) return IE_OK;
    copy_job j = {(const char *)ie_tensor_ptr(src) + src_offset, (char *)ie_tensor_ptr(dst) + dst_offset,
                  src_stride, dst_stride, rows, row_bytes,
                  row_bytes >= COPY_TASK_BYTES ? 1 : COPY_TASK_BYTES / row_bytes};
    ie_parallel_for(ceil_div(rows, j.rows_per_task), copy_task, &j);
    return IE_OK;
}

/* ---------------- dropout ---------------- */

typedef struct dropout_job {
    const float *x;
    float *out;
    float p, scale;
    const ie_rng *rng;
    int64_t n;
} dropout_job;

static void dropout_chunk(void *ctx, int64_t chunk) {
    const dropout_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = min64(lo + IE_CPU_CHUNK, j->n);
    for (int64_t i = lo; i < hi; i++)
        j->out[i] = ie_rng_uniform_at(j->rng, (uint64_t)i) < j->p ? 0.0f : j->x[i] * j->scale;
}

static ie_status cpu_dropout(ie_device_ctx *ctx, const ie_tensor *x, float p, float scale, const ie_rng *rng,
                             ie_tensor *out) {
    (void)ctx;
    dropout_job j = {ie_f32(x), ie_f32(out), p, scale, rng, x->numel};
    ie_parallel_for(ie_cpu_chunks(x->numel), dropout_chunk, &j);
    return IE_OK;
}

/* ---------------- linear ----------------
 * The canonical matrix product of the current CPU path (canon_kernels.h):
 * each output is its initial value plus the products in order of the
 * reduction index, one fma each, whatever the CPU, block or thread. */

/* out[m, n] = b[n] + x[m, k] * w[n, k]^T */
static ie_status cpu_linear(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *w, const ie_tensor *b,
                            ie_tensor *out) {
    (void)ctx;
    const int64_t m = x->shape[0], n = w->shape[0], k = x->shape[1];
    ie_canon_gemm p = {.m = m, .n = n, .k = k, .a = ie_f32(x), .a_rs = k, .a_ks = 1, .b = ie_f32(w),
                       .b_ks = 1, .b_js = k, .init = b ? ie_f32(b) : NULL, .c = ie_f32(out), .c_rs = n};
    return ie_cpu_canon()->gemm(&p);
}

/* gx[m, n] = g[m, k] * w[k, n] */
static ie_status cpu_linear_grad_input(ie_device_ctx *ctx, const ie_tensor *g, const ie_tensor *w,
                                       ie_tensor *gx) {
    (void)ctx;
    const int64_t m = g->shape[0], n = w->shape[1], k = w->shape[0];
    ie_canon_gemm p = {.m = m, .n = n, .k = k, .a = ie_f32(g), .a_rs = k, .a_ks = 1, .b = ie_f32(w),
                       .b_ks = n, .b_js = 1, .c = ie_f32(gx), .c_rs = n};
    return ie_cpu_canon()->gemm(&p);
}

/* gw[m, n] = g[k, m]^T * x[k, n] */
static ie_status cpu_linear_grad_weight(ie_device_ctx *ctx, const ie_tensor *g, const ie_tensor *x,
                                        ie_tensor *gw) {
    (void)ctx;
    const int64_t m = g->shape[1], n = x->shape[1], k = x->shape[0];
    ie_canon_gemm p = {.m = m, .n = n, .k = k, .a = ie_f32(g), .a_rs = 1, .a_ks = m, .b = ie_f32(x),
                       .b_ks = n, .b_js = 1, .c = ie_f32(gw), .c_rs = n};
    return ie_cpu_canon()->gemm(&p);
}

/* The matmul op and its gradients: one canonical product per batch item.
 * A transposed operand is read through its strides, never copied, so the
 * products are the same whichever side the transpose is on. */
static ie_status cpu_matmul(ie_device_ctx *ctx, const ie_tensor *a, const ie_tensor *b, ie_matmul_shape sh,
                            ie_tensor *out) {
    (void)ctx;
    const int64_t m = sh.m, n = sh.n, k = sh.k;
    const float *pa = ie_f32(a), *pb = ie_f32(b);
    float *pc = ie_f32(out);
    for (int64_t p = 0; p < sh.batch; p++) {
        ie_canon_gemm g = {.m = m, .n = n, .k = k,
                           .a = pa + p * m * k, .a_rs = sh.trans_a ? 1 : k, .a_ks = sh.trans_a ? m : 1,
                           .b = pb + p * k * n, .b_ks = sh.trans_b ? 1 : n, .b_js = sh.trans_b ? k : 1,
                           .c = pc + p * m * n, .c_rs = n};
        IE_TRY(ie_cpu_canon()->gemm(&g));
    }
    return IE_OK;
}

#define LINEAR_COLS 128

typedef struct bias_job {
    const float *g;
    float *out;
    int64_t rows, cols;
} bias_job;

static void bias_task(void *ctx, int64_t task) {
    const bias_job *j = ctx;
    int64_t c0 = task * LINEAR_COLS, cols = min64(LINEAR_COLS, j->cols - c0);
    double s[LINEAR_COLS] = {0};
    for (int64_t r = 0; r < j->rows; r++)
        for (int64_t c = 0; c < cols; c++) s[c] += j->g[r * j->cols + c0 + c];
    for (int64_t c = 0; c < cols; c++) j->out[c0 + c] = (float)s[c];
}

static ie_status cpu_linear_grad_bias(ie_device_ctx *ctx, const ie_tensor *g, ie_tensor *gb) {
    (void)ctx;
    bias_job j = {ie_f32(g), ie_f32(gb), g->shape[0], g->shape[1]};
    ie_parallel_for(ceil_div(j.cols, LINEAR_COLS), bias_task, &j);
    return IE_OK;
}

const struct ie_reduce_kernels ie_cpu_reduce_kernels = {
    .sum = cpu_sum,
    .fill_from_scalar = cpu_fill_from_scalar,
    .softmax = cpu_softmax,
    .softmax_backward = cpu_softmax_backward,
    .copy_rows = cpu_copy_rows,
    .dropout = cpu_dropout,
    .linear = cpu_linear,
    .linear_grad_input = cpu_linear_grad_input,
    .linear_grad_weight = cpu_linear_grad_weight,
    .linear_grad_bias = cpu_linear_grad_bias,
    .matmul = cpu_matmul,
    .permute = ie_cpu_permute,
    .embedding = ie_cpu_embedding,
    .embedding_backward = ie_cpu_embedding_backward,
    .attention_forward = ie_cpu_attention_forward,
    .attention_backward = ie_cpu_attention_backward,
};
