/* core/backend/cpu - the CPU backend: host memory and the kernel families of
 * this folder (the thread pool runs their parallel loops). */
#include <stdlib.h>
#include <string.h>

#include "core/backend/backend.h"
#include "core/backend/cpu/cpu_families.h"

extern const ie_backend ie_cpu_backend;

/* The CPU context carries nothing: kernels run on the calling thread (and
 * the thread pool) and have finished when they return. */
static ie_device_ctx cpu_ctx = {.backend = &ie_cpu_backend, .device = IE_CPU, .index = 0};

static ie_status cpu_context(int index, ie_device_ctx **out) {
    *out = NULL;
    if (index != 0)
        return ie_error_set(IE_ERR_DEVICE, "there is one CPU device (index 0), not index %d", index);
    *out = &cpu_ctx;
    return IE_OK;
}

static ie_status cpu_alloc(ie_device_ctx *ctx, size_t nbytes, void **out) {
    (void)ctx;
    *out = aligned_alloc(64, (nbytes + 63) & ~(size_t)63);
    if (!*out)
        return ie_error_set(IE_ERR_NOMEM, "out of memory: could not allocate %zu bytes",
                            nbytes);
    return IE_OK;
}

static void cpu_free(ie_device_ctx *ctx, void *data) {
    (void)ctx;
    free(data);
}

static ie_status cpu_copy(ie_device_ctx *ctx, void *dst, const void *src, size_t nbytes, ie_copy_kind kind) {
    (void)ctx;
    (void)kind;
    memmove(dst, src, nbytes);
    return IE_OK;
}

static ie_status cpu_zero(ie_device_ctx *ctx, void *data, size_t nbytes) {
    (void)ctx;
    memset(data, 0, nbytes);
    return IE_OK;
}

static ie_status cpu_fill_f32(ie_device_ctx *ctx, ie_tensor *t, float value) {
    (void)ctx;
    float *p = ie_f32(t);
    for (int64_t i = 0; i < t->numel; i++) p[i] = value;
    return IE_OK;
}

const ie_backend ie_cpu_backend = {
    .name = "cpu",
    .device = IE_CPU,
    .context = cpu_context,
    .memory = {.alloc = cpu_alloc, .free = cpu_free, .copy = cpu_copy, .zero = cpu_zero, .fill_f32 = cpu_fill_f32},
    .conv = &ie_cpu_conv_kernels,
    .norm = &ie_cpu_norm_kernels,
    .pool = &ie_cpu_pool_kernels,
    .pointwise = &ie_cpu_pointwise_kernels,
    .reduce = &ie_cpu_reduce_kernels,
    .loss = &ie_cpu_loss_kernels,
    .optim = &ie_cpu_optim_kernels,
};

/* Exported although internal (the library hides everything else not in the
 * SDK): backend modules built in this tree may serve kernel families from
 * the CPU's table (tests/backend/testdev.c serves the CUDA slot with them).
 * Part of the backend module ABI (IE_BACKEND_MODULE_ABI), not the SDK; the
 * test sdk_exports lists it as the one such symbol.  A function, not the
 * table itself: a host executable carries its own copy of the library beside
 * libinnereye.so, and an exported variable would exist twice. */
__attribute__((visibility("default"))) const ie_backend *ie_cpu_backend_table(void) { return &ie_cpu_backend; }
