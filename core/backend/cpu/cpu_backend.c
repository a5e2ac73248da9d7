/* core/backend/cpu - the CPU kernel table (OpenBLAS + the thread pool). */
#include <stdlib.h>
#include <string.h>

#include "core/backend/backend.h"
#include "core/backend/cpu/cpu_families.h"

static ie_status cpu_alloc(size_t nbytes, void **out) {
    *out = aligned_alloc(64, (nbytes + 63) & ~(size_t)63);
    if (!*out)
        return ie_error_set(IE_ERR_NOMEM, "out of memory: could not allocate %zu bytes",
                            nbytes);
    return IE_OK;
}

static void cpu_free(void *data) { free(data); }

static ie_status cpu_copy(void *dst, const void *src, size_t nbytes, int kind) {
    (void)kind;
    memmove(dst, src, nbytes);
    return IE_OK;
}

static ie_status cpu_fill_f32(ie_tensor *t, float value) {
    float *p = ie_f32(t);
    for (int64_t i = 0; i < t->numel; i++) p[i] = value;
    return IE_OK;
}

const ie_backend ie_cpu_backend = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .copy = cpu_copy,
    .fill_f32 = cpu_fill_f32,
    .conv = &ie_cpu_conv_kernels,
    .norm = &ie_cpu_norm_kernels,
    .pool = &ie_cpu_pool_kernels,
    .pointwise = &ie_cpu_pointwise_kernels,
    .reduce = &ie_cpu_reduce_kernels,
    .loss = &ie_cpu_loss_kernels,
    .optim = &ie_cpu_optim_kernels,
};
