/* core/backend/cpu - copies that move elements without arithmetic (permute,
 * the embedding gather) and the embedding's scatter-add backward.  Work is
 * split by output element, so no two threads ever write one location. */
#include <string.h>

#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"

/* ---------------- permute ---------------- */

typedef struct permute_job {
    const float *x;
    float *out;
    int ndim;
    int64_t out_shape[IE_MAX_DIMS];
    int64_t src_stride[IE_MAX_DIMS]; /* x's stride of out dimension d */
    int64_t n;
} permute_job;

static void permute_chunk(void *ctx, int64_t chunk) {
    const permute_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = lo + IE_CPU_CHUNK < j->n ? lo + IE_CPU_CHUNK : j->n;
    int64_t idx[IE_MAX_DIMS], src = 0, rem = lo;
    for (int d = j->ndim - 1; d >= 0; d--) {
        idx[d] = rem % j->out_shape[d];
        rem /= j->out_shape[d];
        src += idx[d] * j->src_stride[d];
    }
    for (int64_t i = lo; i < hi; i++) {
        j->out[i] = j->x[src];
        /* odometer step of the output index, carrying the source offset */
        for (int d = j->ndim - 1; d >= 0; d--) {
            src += j->src_stride[d];
            if (++idx[d] < j->out_shape[d]) break;
            src -= idx[d] * j->src_stride[d];
            idx[d] = 0;
        }
    }
}

ie_status ie_cpu_permute(ie_device_ctx *ctx, const ie_tensor *x, const int *perm, ie_tensor *out) {
    (void)ctx;
    permute_job j = {.x = ie_f32(x), .out = ie_f32(out), .ndim = x->ndim, .n = x->numel};
    int64_t stride[IE_MAX_DIMS], s = 1;
    for (int d = x->ndim - 1; d >= 0; d--) stride[d] = s, s *= x->shape[d];
    for (int d = 0; d < x->ndim; d++) j.out_shape[d] = x->shape[perm[d]], j.src_stride[d] = stride[perm[d]];
    ie_parallel_for(ie_cpu_chunks(x->numel), permute_chunk, &j);
    return IE_OK;
}

/* ---------------- embedding ---------------- */

typedef struct embed_job {
    const float *src;
    const int64_t *idx;
    float *out;
    int64_t n, dim;
} embed_job;

/* Rows of the output in blocks of 64. */
#define EMBED_ROWS 64

static void embed_task(void *ctx, int64_t task) {
    const embed_job *j = ctx;
    int64_t lo = task * EMBED_ROWS, hi = lo + EMBED_ROWS < j->n ? lo + EMBED_ROWS : j->n;
    for (int64_t i = lo; i < hi; i++)
        memcpy(j->out + i * j->dim, j->src + j->idx[i] * j->dim, (size_t)j->dim * sizeof(float));
}

ie_status ie_cpu_embedding(ie_device_ctx *ctx, const ie_tensor *table, const ie_tensor *idx, ie_tensor *out) {
    (void)ctx;
    embed_job j = {ie_f32(table), (const int64_t *)ie_tensor_ptr(idx), ie_f32(out), idx->numel, table->shape[1]};
    ie_parallel_for((j.n + EMBED_ROWS - 1) / EMBED_ROWS, embed_task, &j);
    return IE_OK;
}

/* Backward: each task owns a block of table columns and walks every index in
 * ascending order, so each gtable element is +0 plus its gradients in index
 * order, by one thread: race-free and independent of the thread count. */
#define EMBED_COLS 64

typedef struct embed_back_job {
    const int64_t *idx;
    const float *g;
    float *gt;
    int64_t n, rows, dim;
} embed_back_job;

static void embed_back_task(void *ctx, int64_t task) {
    const embed_back_job *j = ctx;
    int64_t c0 = task * EMBED_COLS, c1 = c0 + EMBED_COLS < j->dim ? c0 + EMBED_COLS : j->dim;
    for (int64_t r = 0; r < j->rows; r++)
        for (int64_t c = c0; c < c1; c++) j->gt[r * j->dim + c] = 0.0f;
    for (int64_t i = 0; i < j->n; i++) {
        float *dst = j->gt + j->idx[i] * j->dim;
        const float *src = j->g + i * j->dim;
        for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
    }
}

ie_status ie_cpu_embedding_backward(ie_device_ctx *ctx, const ie_tensor *idx, const ie_tensor *g,
                                    ie_tensor *gtable) {
    (void)ctx;
    embed_back_job j = {(const int64_t *)ie_tensor_ptr(idx), ie_f32(g), ie_f32(gtable), idx->numel, gtable->shape[0],
                        gtable->shape[1]};
    ie_parallel_for((j.dim + EMBED_COLS - 1) / EMBED_COLS, embed_back_task, &j);
    return IE_OK;
}
