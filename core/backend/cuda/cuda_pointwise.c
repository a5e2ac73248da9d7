/* core/backend/cuda - the pointwise family: tensors unpacked for pointwise.cu. */
#include "core/backend/cuda/cuda_internal.h"
#include "core/backend/pointwise_kernels.h"

static ie_status cuda_binary(ie_device_ctx *ctx, ie_binary_op op, const ie_tensor *a, const ie_tensor *b,
                             ie_broadcast bc, ie_tensor *out) {
    int kind = bc.kind == IE_BROADCAST_NONE ? 0 : bc.kind == IE_BROADCAST_SCALAR ? 1 : 2;
    int64_t inner = bc.inner > 0 ? bc.inner : 1, channels = bc.channels > 0 ? bc.channels : 1;
    return ie_cuda_status(ie_cu_binary(ctx->stream, (int)op, ie_f32(a), ie_f32(b), kind, channels, inner, ie_f32(out),
                                       a->numel),
                          "pointwise.binary");
}

static ie_status cuda_unary(ie_device_ctx *ctx, ie_unary_op op, const ie_tensor *x, float param, float param2,
                            ie_tensor *out) {
    return ie_cuda_status(ie_cu_unary(ctx->stream, (int)op, ie_f32(x), param, param2, ie_f32(out), x->numel),
                          "pointwise.unary");
}

static ie_status cuda_unary_backward(ie_device_ctx *ctx, ie_unary_op op, const ie_tensor *saved,
                                     const ie_tensor *grad_out, float param, ie_tensor *grad_in) {
    /* Affine's backward reads no saved tensor; the kernel never touches it then. */
    return ie_cuda_status(ie_cu_unary_backward(ctx->stream, (int)op, saved ? ie_f32(saved) : NULL, ie_f32(grad_out),
                                               param, ie_f32(grad_in), grad_out->numel),
                          "pointwise.unary_backward");
}

static ie_status cuda_channel_sum(ie_device_ctx *ctx, const ie_tensor *x, int64_t outer, int64_t channels,
                                  int64_t inner, ie_tensor *out) {
    void *partial = NULL;
    IE_TRY(ie_cuda_scratch(ctx, (size_t)(outer * channels > 0 ? outer * channels : 1) * sizeof(double), &partial));
    int e = ie_cu_channel_sum(ctx->stream, ie_f32(x), outer, channels, inner, partial, ie_f32(out));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "pointwise.channel_sum");
}

const struct ie_pointwise_kernels ie_cuda_pointwise_kernels = {
    .binary = cuda_binary,
    .unary = cuda_unary,
    .unary_backward = cuda_unary_backward,
    .channel_sum = cuda_channel_sum,
};
