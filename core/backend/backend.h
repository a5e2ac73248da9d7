/* core/backend - the per-device kernel table.
 *
 * Owns: device memory and the kernels behind every op.  Op front ends in
 * core/ops validate arguments, allocate outputs and record autograd; the
 * arithmetic itself is reached only through ie_backend_get(device)->family->fn,
 * so a CUDA backend is one more table and no caller changes.  Each kernel
 * family is declared in its own header in this folder; kernels receive
 * validated, contiguous tensors and preallocated outputs. */
#ifndef IE_CORE_BACKEND_H
#define IE_CORE_BACKEND_H

#include "core/tensor/tensor_impl.h"

#define IE_DEVICE_COUNT 2

struct ie_conv_kernels;
struct ie_norm_kernels;
struct ie_pool_kernels;
struct ie_pointwise_kernels;
struct ie_reduce_kernels;
struct ie_loss_kernels;
struct ie_optim_kernels;

typedef struct ie_backend {
    const char *name;
    ie_status (*alloc)(size_t nbytes, void **out);
    void (*free)(void *data);
    /* Copies between host memory and this device (kind: 0 host->device,
     * 1 device->host, 2 device->device). */
    ie_status (*copy)(void *dst, const void *src, size_t nbytes, int kind);
    ie_status (*fill_f32)(ie_tensor *t, float value);
    const struct ie_conv_kernels *conv;
    const struct ie_norm_kernels *norm;
    const struct ie_pool_kernels *pool;
    const struct ie_pointwise_kernels *pointwise;
    const struct ie_reduce_kernels *reduce;
    const struct ie_loss_kernels *loss;
    const struct ie_optim_kernels *optim;
} ie_backend;

/* NULL when the device is not built in. */
const ie_backend *ie_backend_get(ie_device device);

/* The backend of `t`, or an IE_ERR_DEVICE status naming `op`. */
ie_status ie_backend_for(const char *op, const ie_tensor *t, const ie_backend **out);

#endif
