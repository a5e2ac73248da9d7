/* The CUDA backend's kernel families (core/backend/cuda) on host memory, with
 * the .cu kernels compiled as C++ for the CPU (threads per block, a barrier
 * for __syncthreads).  Convolutions are the CPU's (cuDNN is not emulated). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/backend/backend.h"
#include "core/backend/cuda/cuda_internal.h"
#define EXPORT __attribute__((visibility("default")))
extern const ie_backend ie_cpu_backend;
static ie_backend emu;
static ie_device_ctx ctx0;
static int token;

ie_status ie_cuda_status(int err, const char *what) {
    if (err == 0) return IE_OK;
    return ie_error_set(IE_ERR_DEVICE, "cuda(emu): %s: error %d", what, err);
}
ie_status ie_cuda_scratch(ie_device_ctx *ctx, size_t n, void **out) {
    (void)ctx;
    *out = calloc(1, n ? n : 8);
    return *out ? IE_OK : ie_error_set(IE_ERR_NOMEM, "emu scratch");
}
void ie_cuda_scratch_free(ie_device_ctx *ctx, void *p) { (void)ctx; free(p); }
ie_status ie_cuda_workspace(ie_device_ctx *ctx, size_t n, void **out) {
    if (n > ctx->workspace_bytes || !ctx->workspace) {
        free(ctx->workspace);
        ctx->workspace = malloc(n ? n : 8);
        ctx->workspace_bytes = n;
    }
    *out = ctx->workspace;
    return IE_OK;
}
static ie_status e_context(int index, ie_device_ctx **out) { (void)index; *out = &ctx0; return IE_OK; }
static ie_status e_alloc(ie_device_ctx *c, size_t n, void **out) { (void)c; *out = malloc(n ? n : 1); return *out ? IE_OK : ie_error_set(IE_ERR_NOMEM, "emu"); }
static void e_free(ie_device_ctx *c, void *p) { (void)c; free(p); }
static ie_status e_copy(ie_device_ctx *c, void *d, const void *s, size_t n, ie_copy_kind k) { (void)c, (void)k; memmove(d, s, n); return IE_OK; }
static ie_status e_zero(ie_device_ctx *c, void *d, size_t n) { (void)c; memset(d, 0, n); return IE_OK; }
static ie_status e_fill(ie_device_ctx *c, ie_tensor *t, float v) { return ie_cuda_status(ie_cu_fill_f32(c->stream, ie_f32(t), t->numel, v), "fill"); }
static ie_status e_init(void) {
    emu = (ie_backend){.name = "cuda-emu", .device = IE_CUDA, .context = e_context,
                       .memory = {.alloc = e_alloc, .free = e_free, .copy = e_copy, .zero = e_zero, .fill_f32 = e_fill},
                       .workspace = ie_cuda_workspace,
                       .conv = ie_cpu_backend.conv, .norm = &ie_cuda_norm_kernels, .pool = &ie_cuda_pool_kernels,
                       .pointwise = &ie_cuda_pointwise_kernels, .reduce = &ie_cuda_reduce_kernels,
                       .loss = &ie_cuda_loss_kernels, .optim = &ie_cuda_optim_kernels};
    ctx0 = (ie_device_ctx){.backend = &emu, .device = IE_CUDA, .index = 0, .stream = &token};
    return IE_OK;
}
#ifndef IE_VERSION_STRING
#define IE_VERSION_STRING "dev"
#endif
static const ie_backend_module module = {sizeof(ie_backend_module), IE_BACKEND_MODULE_ABI, IE_VERSION_STRING, IE_CUDA,
                                         e_init, &emu};
EXPORT const ie_backend_module *ie_backend_module_entry(void) { return &module; }
