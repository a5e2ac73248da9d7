/* core/backend - device lookup and contexts. */
#include <stdio.h>

#include "core/backend/backend.h"
#include "core/backend/conv_kernels.h"
#include "core/backend/loss_kernels.h"
#include "core/backend/norm_kernels.h"
#include "core/backend/optim_kernels.h"
#include "core/backend/pointwise_kernels.h"
#include "core/backend/pool_kernels.h"
#include "core/backend/reduce_kernels.h"

extern const ie_backend ie_cpu_backend;

const ie_backend *ie_backend_get(ie_device device) {
    switch (device) {
    case IE_CPU: return &ie_cpu_backend;
    case IE_CUDA: return NULL; /* the CUDA backend arrives with the GPU issue */
    }
    return NULL;
}

ie_status ie_device_ctx_get(const char *op, ie_device device, ie_device_ctx **out) {
    *out = NULL;
    const ie_backend *be = ie_backend_get(device);
    if (!be)
        return ie_error_set(IE_ERR_DEVICE,
                            "%s: no %s backend in this build; move the tensor to the CPU "
                            "or build with CUDA",
                            op, ie_device_name(device));
    ie_status st = be->context(0, out);
    if (st != IE_OK) return ie_error_wrap(st, "%s", op);
    return IE_OK;
}

bool ie_device_available(ie_device device) {
    /* A yes/no question leaves the caller's last message as it was. */
    char saved[2048];
    snprintf(saved, sizeof saved, "%s", ie_error_message());
    ie_device_ctx *ctx;
    bool ok = ie_device_ctx_get("device check", device, &ctx) == IE_OK;
    ie_error_set(IE_OK, "%s", saved);
    return ok;
}

ie_status ie_device_check(ie_device device) {
    ie_device_ctx *ctx;
    return ie_device_ctx_get("device check", device, &ctx);
}

ie_status ie_device_ctx_for(const char *op, const ie_tensor *t, ie_device_ctx **out) {
    return ie_device_ctx_get(op, t->device, out);
}

ie_status ie_device_ctx_sync(ie_device_ctx *ctx) {
    return ctx->backend->synchronize ? ctx->backend->synchronize(ctx) : IE_OK;
}

static const char *const KERNEL_NAMES[IE_KERNEL_COUNT] = {
#define IE_KERNEL_NAME_(id, family, entry) #family "." #entry,
    IE_KERNEL_LIST(IE_KERNEL_NAME_)
#undef IE_KERNEL_NAME_
};

const char *ie_kernel_op_name(ie_kernel_op k) {
    return (int)k >= 0 && k < IE_KERNEL_COUNT ? KERNEL_NAMES[k] : "unknown";
}

/* Whether the backend's table has an entry for k. */
static bool entry_set(const ie_backend *be, ie_kernel_op k) {
    switch (k) {
#define IE_KERNEL_CASE_(id, family, entry)                                                                     \
    case IE_KERNEL_##id: return be->family && be->family->entry;
        IE_KERNEL_LIST(IE_KERNEL_CASE_)
#undef IE_KERNEL_CASE_
    case IE_KERNEL_COUNT: break;
    }
    return false;
}

bool ie_kernel_supported(const ie_device_ctx *ctx, ie_kernel_op k) {
    const ie_backend *be = ctx->backend;
    return entry_set(be, k) && (!be->supports || be->supports(ctx, k));
}

ie_status ie_kernel_require(const ie_device_ctx *ctx, ie_kernel_op k, const char *op) {
    if (ie_kernel_supported(ctx, k)) return IE_OK;
    return ie_error_set(IE_ERR_UNSUPPORTED,
                        "%s: the %s backend has no kernel %s; run this op on another device (move its tensors "
                        "with ie_tensor_to) or use a build whose %s backend has it",
                        op, ctx->backend->name, ie_kernel_op_name(k), ctx->backend->name);
}

ie_status ie_kernel_ctx(const char *op, const ie_tensor *t, ie_kernel_op k, ie_device_ctx **out) {
    IE_TRY(ie_device_ctx_for(op, t, out));
    ie_status st = ie_kernel_require(*out, k, op);
    if (st != IE_OK) *out = NULL;
    return st;
}
