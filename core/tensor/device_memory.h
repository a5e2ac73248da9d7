/* core/tensor - device memory: the half of a backend that storage needs.
 *
 * Storage is device memory, which only the device's backend can allocate,
 * copy, zero and free; the backend's kernels take tensors, so the backend
 * sits above this layer.  A backend's table therefore carries its memory as
 * this struct (ie_backend.memory, core/backend/backend.h), and core/backend
 * registers how storage reaches a device (ie_device_memory_register) when
 * libinnereye is loaded, before any tensor can be made.  The tensor layer
 * names no function of the backends: it calls what was registered. */
#ifndef IE_CORE_TENSOR_DEVICE_MEMORY_H
#define IE_CORE_TENSOR_DEVICE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/tensor.h"

/* Devices of ie_device (the CPU and CUDA). */
#define IE_DEVICE_COUNT 2

/* Where kernels run on one device (its struct: core/backend/backend.h);
 * storage only passes it back to the device's memory functions. */
typedef struct ie_device_ctx ie_device_ctx;

typedef enum ie_copy_kind {
    IE_COPY_HOST_TO_DEVICE = 0,
    IE_COPY_DEVICE_TO_HOST = 1,
    IE_COPY_DEVICE_TO_DEVICE = 2
} ie_copy_kind;

typedef struct ie_device_memory {
    ie_status (*alloc)(ie_device_ctx *ctx, size_t nbytes, void **out);
    void (*free)(ie_device_ctx *ctx, void *data);
    /* Copies nbytes between host memory and this device, or within it.
     * Host to device returns once src may be reused (kernels enqueued later
     * see dst); device to host returns once dst holds the bytes, so it waits
     * for the kernels enqueued before it; device to device is enqueued like a
     * kernel. */
    ie_status (*copy)(ie_device_ctx *ctx, void *dst, const void *src, size_t nbytes, ie_copy_kind kind);
    /* Sets nbytes bytes at data to 0 (enqueued like a kernel). */
    ie_status (*zero)(ie_device_ctx *ctx, void *data, size_t nbytes);
    ie_status (*fill_f32)(ie_device_ctx *ctx, ie_tensor *t, float value);
} ie_device_memory;

/* How storage reaches the devices; core/backend registers its one copy. */
typedef struct ie_device_access {
    /* The context of `device` and its memory, loading the device's backend on
     * first use; an IE_ERR_DEVICE status naming `op` when there is none (not
     * in this build, or the device is unusable). */
    ie_status (*open)(const char *op, ie_device device, ie_device_ctx **ctx, const ie_device_memory **memory);
    /* Whether the backend of `device` is loaded already (never loads one:
     * for ie_memory_trim, which must not start a device). */
    bool (*loaded)(ie_device device);
} ie_device_access;

/* Called by core/backend as libinnereye is loaded. */
void ie_device_memory_register(const ie_device_access *access);

/* The registered access->open; IE_ERR_INTERNAL when nothing registered. */
ie_status ie_device_memory_open(const char *op, ie_device device, ie_device_ctx **ctx,
                                const ie_device_memory **memory);
/* The registered access->loaded; false when nothing registered. */
bool ie_device_memory_loaded(ie_device device);

#endif
