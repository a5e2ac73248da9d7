/* core/backend/cuda - the pool family: pooling and upsampling geometry
 * unpacked for pool.cu. */
#include "core/backend/cuda/cuda_internal.h"
#include "core/backend/pool_kernels.h"

static ie_status cuda_max_forward(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g, ie_tensor *y,
                                  ie_tensor *indices) {
    return ie_cuda_status(ie_cu_pool_forward(ctx->stream, 0, g->planes, g->in, g->out, g->kernel, g->stride,
                                             g->padding, ie_f32(x), ie_f32(y),
                                             indices ? (int32_t *)ie_tensor_ptr(indices) : NULL),
                          "pool.max_forward");
}

static ie_status cuda_max_backward(ie_device_ctx *ctx, const ie_tensor *dy, const ie_tensor *indices,
                                   const ie_pool_geom *g, ie_tensor *dx) {
    return ie_cuda_status(ie_cu_pool_backward(ctx->stream, 0, g->planes, g->in, g->out, g->kernel, g->stride,
                                              g->padding, ie_f32(dy), (const int32_t *)ie_tensor_ptr(indices),
                                              ie_f32(dx)),
                          "pool.max_backward");
}

static ie_status cuda_avg_forward(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g, ie_tensor *y) {
    return ie_cuda_status(ie_cu_pool_forward(ctx->stream, 1, g->planes, g->in, g->out, g->kernel, g->stride,
                                             g->padding, ie_f32(x), ie_f32(y), NULL),
                          "pool.avg_forward");
}

static ie_status cuda_avg_backward(ie_device_ctx *ctx, const ie_tensor *dy, const ie_pool_geom *g, ie_tensor *dx) {
    return ie_cuda_status(ie_cu_pool_backward(ctx->stream, 1, g->planes, g->in, g->out, g->kernel, g->stride,
                                              g->padding, ie_f32(dy), NULL, ie_f32(dx)),
                          "pool.avg_backward");
}

static ie_status cuda_global_avg_forward(ie_device_ctx *ctx, const ie_tensor *x, int64_t planes, int64_t spatial,
                                         ie_tensor *y) {
    return ie_cuda_status(ie_cu_global_avg(ctx->stream, 0, ie_f32(x), planes, spatial, ie_f32(y)),
                          "pool.global_avg_forward");
}

static ie_status cuda_global_avg_backward(ie_device_ctx *ctx, const ie_tensor *dy, int64_t planes, int64_t spatial,
                                          ie_tensor *dx) {
    return ie_cuda_status(ie_cu_global_avg(ctx->stream, 1, ie_f32(dy), planes, spatial, ie_f32(dx)),
                          "pool.global_avg_backward");
}

static ie_status cuda_upsample_forward(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g,
                                       ie_upsample_mode mode, bool align_corners, ie_tensor *y) {
    return ie_cuda_status(ie_cu_upsample(ctx->stream, 0, mode == IE_UPSAMPLE_LINEAR, align_corners, g->planes, g->in,
                                         g->out, ie_f32(x), ie_f32(y)),
                          "pool.upsample_forward");
}

static ie_status cuda_upsample_backward(ie_device_ctx *ctx, const ie_tensor *dy, const ie_pool_geom *g,
                                        ie_upsample_mode mode, bool align_corners, ie_tensor *dx) {
    return ie_cuda_status(ie_cu_upsample(ctx->stream, 1, mode == IE_UPSAMPLE_LINEAR, align_corners, g->planes, g->in,
                                         g->out, ie_f32(dy), ie_f32(dx)),
                          "pool.upsample_backward");
}

const struct ie_pool_kernels ie_cuda_pool_kernels = {
    .max_forward = cuda_max_forward,
    .max_backward = cuda_max_backward,
    .avg_forward = cuda_avg_forward,
    .avg_backward = cuda_avg_backward,
    .global_avg_forward = cuda_global_avg_forward,
    .global_avg_backward = cuda_global_avg_backward,
    .upsample_forward = cuda_upsample_forward,
    .upsample_backward = cuda_upsample_backward,
};
