/* core/backend - reductions, softmax, and the dense and shape kernels (linear
 * layer GEMM blocks, concat copies, dropout masks) that reduce along or copy
 * across one axis of a tensor. */
#ifndef IE_CORE_BACKEND_REDUCE_KERNELS_H
#define IE_CORE_BACKEND_REDUCE_KERNELS_H

#include "core/backend/backend.h"
#include "innereye/rng.h"

struct ie_reduce_kernels {
    /* out[0] = scale * sum(x), accumulated in double over fixed chunks. */
    ie_status (*sum)(ie_device_ctx *ctx, const ie_tensor *x, float scale, ie_tensor *out);
    /* out = broadcast of scale * g[0] to out's shape (backward of sum/mean). */
    ie_status (*fill_from_scalar)(ie_device_ctx *ctx, const ie_tensor *g, float scale,
                                  ie_tensor *out);

    /* Softmax (log_softmax when `log`) of x viewed as [outer, dim, inner],
     * over the middle axis. */
    ie_status (*softmax)(ie_device_ctx *ctx, const ie_tensor *x, int64_t outer, int64_t dim,
                         int64_t inner, bool log, ie_tensor *out);
    /* grad_in from the forward output y and grad_out, same view. */
    ie_status (*softmax_backward)(ie_device_ctx *ctx, const ie_tensor *y, const ie_tensor *grad_out,
                                  int64_t outer, int64_t dim, int64_t inner, bool log,
                                  ie_tensor *grad_in);

    /* For r in [0, rows): copies row_bytes bytes from src at byte
     * src_offset + r * src_stride to dst at dst_offset + r * dst_stride
     * (concat and its backward; any element type). */
    ie_status (*copy_rows)(ie_device_ctx *ctx, const ie_tensor *src, int64_t src_offset,
                           int64_t src_stride, ie_tensor *dst, int64_t dst_offset,
                           int64_t dst_stride, int64_t rows, int64_t row_bytes);

    /* out[i] = uniform_at(rng, i) < p ? 0 : x[i] * scale.  The same call on
     * the output gradient is dropout's backward. */
    ie_status (*dropout)(ie_device_ctx *ctx, const ie_tensor *x, float p, float scale,
                         const ie_rng *rng, ie_tensor *out);

    /* out[N, out] = x[N, in] * w[out, in]^T (+ b[out]); b may be NULL. */
    ie_status (*linear)(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *w,
                        const ie_tensor *b, ie_tensor *out);
    /* gx[N, in] = g[N, out] * w[out, in] */
    ie_status (*linear_grad_input)(ie_device_ctx *ctx, const ie_tensor *g, const ie_tensor *w,
                                   ie_tensor *gx);
    /* gw[out, in] = g[N, out]^T * x[N, in] */
    ie_status (*linear_grad_weight)(ie_device_ctx *ctx, const ie_tensor *g, const ie_tensor *x,
                                    ie_tensor *gw);
    /* gb[out] = sum over N of g[N, out] */
    ie_status (*linear_grad_bias)(ie_device_ctx *ctx, const ie_tensor *g, ie_tensor *gb);
};

#endif
