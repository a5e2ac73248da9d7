/* core/tensor - how storage reaches a device's memory (device_memory.h),
 * and whether tensors can live on a device. */
#include <stdatomic.h>
#include <stdio.h>

#include "core/tensor/device_memory.h"

static _Atomic(const ie_device_access *) registered;

void ie_device_memory_register(const ie_device_access *access) {
    atomic_store_explicit(&registered, access, memory_order_release);
}

ie_status ie_device_memory_open(const char *op, ie_device device, ie_device_ctx **ctx,
                                const ie_device_memory **memory) {
    *ctx = NULL;
    *memory = NULL;
    const ie_device_access *access = atomic_load_explicit(&registered, memory_order_acquire);
    if (!access)
        return ie_error_set(IE_ERR_INTERNAL,
                            "%s: no device backends are registered (core/backend registers them as libinnereye "
                            "loads; this is a bug in how the program was linked)",
                            op);
    return access->open(op, device, ctx, memory);
}

bool ie_device_memory_loaded(ie_device device) {
    const ie_device_access *access = atomic_load_explicit(&registered, memory_order_acquire);
    return access && access->loaded(device);
}

/* Whether tensors can live on a device is whether its backend gives a
 * context (innereye/tensor.h). */
bool ie_device_available(ie_device device) {
    /* A yes/no question leaves the caller's last message as it was. */
    char saved[2048];
    snprintf(saved, sizeof saved, "%s", ie_error_message());
    ie_device_ctx *ctx;
    const ie_device_memory *memory;
    bool ok = ie_device_memory_open("device check", device, &ctx, &memory) == IE_OK;
    ie_error_set(IE_OK, "%s", saved);
    return ok;
}

ie_status ie_device_check(ie_device device) {
    ie_device_ctx *ctx;
    const ie_device_memory *memory;
    return ie_device_memory_open("device check", device, &ctx, &memory);
}
