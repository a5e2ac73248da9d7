/* core/backend/cuda - what the C files of the CUDA backend share: the
 * context's own state, CUDA errors as statuses, stream-ordered scratch, and
 * the kernel family tables. */
#ifndef IE_CORE_BACKEND_CUDA_INTERNAL_H
#define IE_CORE_BACKEND_CUDA_INTERNAL_H

#include <cuda_runtime_api.h>

#include "core/backend/backend.h"
#include "core/backend/cuda/cuda_launch.h"

extern const ie_backend ie_cuda_backend;
extern const struct ie_pointwise_kernels ie_cuda_pointwise_kernels;
extern const struct ie_reduce_kernels ie_cuda_reduce_kernels;
extern const struct ie_optim_kernels ie_cuda_optim_kernels;
extern const struct ie_pool_kernels ie_cuda_pool_kernels;
extern const struct ie_conv_kernels ie_cuda_conv_kernels;
extern const struct ie_norm_kernels ie_cuda_norm_kernels;
extern const struct ie_loss_kernels ie_cuda_loss_kernels;

/* IE_OK for cudaSuccess, else IE_ERR_DEVICE (IE_ERR_NOMEM for an allocation)
 * naming `what` and CUDA's own words. */
ie_status ie_cuda_status(int err, const char *what);

/* The context's stream as the runtime's type. */
static inline cudaStream_t ie_cuda_stream(const ie_device_ctx *ctx) { return (cudaStream_t)ctx->stream; }

/* Scratch that lives in stream order: allocated and freed on the context's
 * stream (cudaMallocAsync / cudaFreeAsync), so it is safe to release right
 * after enqueuing the kernels that use it. */
ie_status ie_cuda_scratch(ie_device_ctx *ctx, size_t nbytes, void **out);
void ie_cuda_scratch_free(ie_device_ctx *ctx, void *p);

/* backend->workspace: ctx's workspace grown to nbytes, in stream order. */
ie_status ie_cuda_workspace(ie_device_ctx *ctx, size_t nbytes, void **out);

/* The convolution plans built so far as a JSON array (cuda_conv.c), written
 * into buf like snprintf; returns the full length. */
size_t ie_cuda_conv_engines_json(char *buf, size_t size);
/* cudnnGetVersion() of the loaded libcudnn. */
size_t ie_cuda_cudnn_version(void);

#endif
