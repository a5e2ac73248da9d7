/* innereye/tensor.h - n-dimensional arrays (up to 5 dimensions: N, C, D, H, W).
 *
 * A tensor is a reference-counted handle onto reference-counted storage.
 * Tensors are always contiguous (row-major); reshapes share storage.  Functions
 * that create a tensor hand the caller one reference, released with
 * ie_tensor_release().  Element types: float32 for data, int64/int32/uint8 for
 * labels, masks and counters.  The device tag selects the kernel backend;
 * ie_tensor_to copies a tensor to another device (plugin ABI 1.2). */
#ifndef INNEREYE_TENSOR_H
#define INNEREYE_TENSOR_H

#include "innereye/api.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "innereye/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IE_MAX_DIMS 5

typedef enum ie_dtype { IE_F32 = 0, IE_I64 = 1, IE_I32 = 2, IE_U8 = 3 } ie_dtype;
typedef enum ie_device { IE_CPU = 0, IE_CUDA = 1 } ie_device;

typedef struct ie_tensor ie_tensor;

IE_API size_t ie_dtype_size(ie_dtype dtype);
IE_API const char *ie_dtype_name(ie_dtype dtype);
IE_API const char *ie_device_name(ie_device device);

/* Whether tensors can live on `device` in this process (plugin ABI 1.2).
 * The CPU always can. */
IE_API bool ie_device_available(ie_device device);
/* IE_OK when `device` is usable; otherwise IE_ERR_DEVICE with a message that
 * says why (not in this build, no driver, no device) and what to do
 * (plugin ABI 1.2). */
IE_API ie_status ie_device_check(ie_device device);

/* Uninitialised contents. */
IE_API ie_status ie_tensor_empty(ie_dtype dtype, int ndim, const int64_t *shape,
                          ie_device device, ie_tensor **out);
IE_API ie_status ie_tensor_zeros(ie_dtype dtype, int ndim, const int64_t *shape,
                          ie_device device, ie_tensor **out);
IE_API ie_status ie_tensor_full(int ndim, const int64_t *shape, float value,
                         ie_tensor **out);
/* Copies `data` (numel elements of dtype) into a new CPU tensor. */
IE_API ie_status ie_tensor_from_data(ie_dtype dtype, int ndim, const int64_t *shape,
                              const void *data, ie_tensor **out);
/* A float32 scalar (0-dimensional tensor). */
IE_API ie_status ie_tensor_scalar(float value, ie_tensor **out);

IE_API ie_tensor *ie_tensor_retain(ie_tensor *t);
IE_API void ie_tensor_release(ie_tensor *t); /* NULL is allowed */

IE_API int ie_tensor_ndim(const ie_tensor *t);
IE_API int64_t ie_tensor_dim(const ie_tensor *t, int i); /* negative i counts from the end */
IE_API const int64_t *ie_tensor_shape(const ie_tensor *t);
IE_API int64_t ie_tensor_numel(const ie_tensor *t);
IE_API ie_dtype ie_tensor_dtype(const ie_tensor *t);
IE_API ie_device ie_tensor_device(const ie_tensor *t);
/* Host pointer to the first element (CPU tensors only; NULL otherwise). */
IE_API void *ie_tensor_data(const ie_tensor *t);
IE_API float *ie_tensor_data_f32(const ie_tensor *t);
/* Value of a one-element float32 tensor on any device; NaN when t is not
 * one or the value cannot be read (ie_tensor_read_item says why).  Reading a
 * device tensor waits for the work queued before it. */
IE_API float ie_tensor_item(const ie_tensor *t);
/* The same with a status: *out = t's one f32 value, copied back from t's
 * device (plugin ABI 1.2). */
IE_API ie_status ie_tensor_read_item(const ie_tensor *t, float *out);

/* "[2, 16, 32, 48, 32] f32" into buf, for error messages. Returns buf. */
IE_API const char *ie_tensor_describe(const ie_tensor *t, char *buf, size_t size);

IE_API bool ie_tensor_same_shape(const ie_tensor *a, const ie_tensor *b);

/* New tensor with its own copy of the data, outside any autograd graph. */
IE_API ie_status ie_tensor_clone(const ie_tensor *t, ie_tensor **out);
/* New handle sharing t's storage, outside any autograd graph. */
IE_API ie_status ie_tensor_detach(ie_tensor *t, ie_tensor **out);
/* Copies src's elements into dst (same numel and dtype; the two may be on
 * different devices). */
IE_API ie_status ie_tensor_copy_data(ie_tensor *dst, const ie_tensor *src);
/* A tensor on `device` holding t's elements, outside any autograd graph: a
 * new copy when t is elsewhere; t itself with one more reference when it is
 * already there (as torch's Tensor.to).  A copy to the CPU waits for the
 * device's queued work (plugin ABI 1.2). */
IE_API ie_status ie_tensor_to(ie_tensor *t, ie_device device, ie_tensor **out);
IE_API ie_status ie_tensor_fill(ie_tensor *t, float value);

/* ---- autograd state of a tensor ---- */
IE_API void ie_tensor_set_requires_grad(ie_tensor *t, bool requires_grad);
IE_API bool ie_tensor_requires_grad(const ie_tensor *t);
/* Accumulated gradient of a leaf tensor (borrowed; NULL before backward). */
IE_API ie_tensor *ie_tensor_grad(const ie_tensor *t);
IE_API void ie_tensor_zero_grad(ie_tensor *t); /* drops the gradient */

/* Optional debugging name (copied). */
IE_API void ie_tensor_set_name(ie_tensor *t, const char *name);
IE_API const char *ie_tensor_name(const ie_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
