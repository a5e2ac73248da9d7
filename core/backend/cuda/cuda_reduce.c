/* core/backend/cuda - the reduce family: sums, softmax, concat copies,
 * dropout and the linear layer, unpacked for reduce.cu.
 *
 * The linear layer runs the CPU's canonical product (one fma per reduction
 * index, in index order) rather than cuBLASLt: it equals the CPU bit for bit
 * and the layers it serves (classification heads) are small.  cuBLASLt is the
 * planned replacement when a model needs large dense layers (docs/gpu.md). */
#include "core/backend/cuda/cuda_internal.h"
#include "core/backend/reduce_kernels.h"

static ie_status cuda_sum(ie_device_ctx *ctx, const ie_tensor *x, float scale, ie_tensor *out) {
    int64_t pieces = (x->numel + IE_CU_SUM_PIECE - 1) / IE_CU_SUM_PIECE;
    void *partial = NULL;
    IE_TRY(ie_cuda_scratch(ctx, (size_t)(pieces > 0 ? pieces : 1) * sizeof(double), &partial));
    int e = ie_cu_sum(ctx->stream, ie_f32(x), x->numel, scale, partial, ie_f32(out));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "reduce.sum");
}

static ie_status cuda_fill_from_scalar(ie_device_ctx *ctx, const ie_tensor *g, float scale, ie_tensor *out) {
    return ie_cuda_status(ie_cu_fill_from_scalar(ctx->stream, ie_f32(g), scale, ie_f32(out), out->numel),
                          "reduce.fill_from_scalar");
}

static ie_status cuda_softmax(ie_device_ctx *ctx, const ie_tensor *x, int64_t outer, int64_t dim, int64_t inner,
                              bool log, ie_tensor *out) {
    return ie_cuda_status(ie_cu_softmax(ctx->stream, ie_f32(x), outer, dim, inner, log, ie_f32(out)),
                          "reduce.softmax");
}

static ie_status cuda_softmax_backward(ie_device_ctx *ctx, const ie_tensor *y, const ie_tensor *grad_out,
                                       int64_t outer, int64_t dim, int64_t inner, bool log, ie_tensor *grad_in) {
    return ie_cuda_status(
        ie_cu_softmax_backward(ctx->stream, ie_f32(y), ie_f32(grad_out), outer, dim, inner, log, ie_f32(grad_in)),
        "reduce.softmax_backward");
}

/* One strided 2-D copy on the stream (cudaMemcpy2DAsync wants pitches of at
 * least the row width; with one row the strides do not matter). */
static ie_status cuda_copy_rows(ie_device_ctx *ctx, const ie_tensor *src, int64_t src_offset, int64_t src_stride,
                                ie_tensor *dst, int64_t dst_offset, int64_t dst_stride, int64_t rows,
                                int64_t row_bytes) {
    if (rows <= 0 || row_bytes <= 0) return IE_OK;
    if (rows == 1) src_stride = dst_stride = row_bytes;
    if (src_stride < row_bytes || dst_stride < row_bytes)
        return ie_error_set(IE_ERR_INTERNAL, "cuda: reduce.copy_rows: strides %lld/%lld below the row width %lld",
                            (long long)src_stride, (long long)dst_stride, (long long)row_bytes);
    const char *s = (const char *)ie_tensor_ptr(src) + src_offset;
    char *d = (char *)ie_tensor_ptr(dst) + dst_offset;
    return ie_cuda_status(cudaMemcpy2DAsync(d, (size_t)dst_stride, s, (size_t)src_stride, (size_t)row_bytes,
                                            (size_t)rows, cudaMemcpyDeviceToDevice, ie_cuda_stream(ctx)),
                          "reduce.copy_rows");
}

static ie_status cuda_dropout(ie_device_ctx *ctx, const ie_tensor *x, float p, float scale, const ie_rng *rng,
                              ie_tensor *out) {
    return ie_cuda_status(ie_cu_dropout(ctx->stream, ie_f32(x), p, scale, rng->seed, rng->stream, rng->epoch,
                                        rng->item, ie_f32(out), x->numel),
                          "reduce.dropout");
}

/* out[m, n] = b[n] + x[m, k] * w[n, k]^T (reduce_cpu.c's layout of the same product) */
static ie_status cuda_linear(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *w, const ie_tensor *b,
                             ie_tensor *out) {
    const int64_t m = x->shape[0], n = w->shape[0], k = x->shape[1];
    return ie_cuda_status(ie_cu_gemm(ctx->stream, m, n, k, ie_f32(x), k, 1, ie_f32(w), 1, k, b ? ie_f32(b) : NULL,
                                     ie_f32(out)),
                          "reduce.linear");
}

/* gx[m, n] = g[m, k] * w[k, n] */
static ie_status cuda_linear_grad_input(ie_device_ctx *ctx, const ie_tensor *g, const ie_tensor *w, ie_tensor *gx) {
    const int64_t m = g->shape[0], n = w->shape[1], k = w->shape[0];
    return ie_cuda_status(ie_cu_gemm(ctx->stream, m, n, k, ie_f32(g), k, 1, ie_f32(w), n, 1, NULL, ie_f32(gx)),
                          "reduce.linear_grad_input");
}

/* gw[m, n] = g[k, m]^T * x[k, n] */
static ie_status cuda_linear_grad_weight(ie_device_ctx *ctx, const ie_tensor *g, const ie_tensor *x,
                                         ie_tensor *gw) {
    const int64_t m = g->shape[1], n = x->shape[1], k = x->shape[0];
    return ie_cuda_status(ie_cu_gemm(ctx->stream, m, n, k, ie_f32(g), 1, m, ie_f32(x), n, 1, NULL, ie_f32(gw)),
                          "reduce.linear_grad_weight");
}

static ie_status cuda_linear_grad_bias(ie_device_ctx *ctx, const ie_tensor *g, ie_tensor *gb) {
    return ie_cuda_status(ie_cu_column_sum(ctx->stream, ie_f32(g), g->shape[0], g->shape[1], ie_f32(gb)),
                          "reduce.linear_grad_bias");
}

const struct ie_reduce_kernels ie_cuda_reduce_kernels = {
    .sum = cuda_sum,
    .fill_from_scalar = cuda_fill_from_scalar,
    .softmax = cuda_softmax,
    .softmax_backward = cuda_softmax_backward,
    .copy_rows = cuda_copy_rows,
    .dropout = cuda_dropout,
    .linear = cuda_linear,
    .linear_grad_input = cuda_linear_grad_input,
    .linear_grad_weight = cuda_linear_grad_weight,
    .linear_grad_bias = cuda_linear_grad_bias,
};
