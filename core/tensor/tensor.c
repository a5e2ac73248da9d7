/* core/tensor - tensor handles: creation, reference counting, accessors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor/device_memory.h"
#include "core/tensor/tensor_impl.h"

size_t ie_dtype_size(ie_dtype dtype) {
    switch (dtype) {
    case IE_F32: return 4;
    case IE_I64: return 8;
    case IE_I32: return 4;
    case IE_U8: return 1;
    }
    return 0;
}

const char *ie_dtype_name(ie_dtype dtype) {
    switch (dtype) {
    case IE_F32: return "f32";
    case IE_I64: return "i64";
    case IE_I32: return "i32";
    case IE_U8: return "u8";
    }
    return "unknown";
}

const char *ie_device_name(ie_device device) {
    switch (device) {
    case IE_CPU: return "cpu";
    case IE_CUDA: return "cuda";
    }
    return "unknown";
}

static ie_status check_shape(int ndim, const int64_t *shape, int64_t *numel) {
    if (ndim < 0 || ndim > IE_MAX_DIMS)
        return ie_error_set(IE_ERR_SHAPE, "tensor: %d dimensions requested; 0 to %d are supported",
                            ndim, IE_MAX_DIMS);
    if (ndim > 0 && !shape)
        return ie_error_set(IE_ERR_INVALID_ARG, "tensor: shape is NULL for %d dimensions", ndim);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return ie_error_set(IE_ERR_SHAPE, "tensor: dimension %d has negative size %lld", i,
                                (long long)shape[i]);
        if (shape[i] > 0 && n > INT64_MAX / 16 / shape[i])
            return ie_error_set(IE_ERR_SHAPE, "tensor: shape too large (overflow at dimension %d)", i);
        n *= shape[i];
    }
    *numel = n;
    return IE_OK;
}

ie_status ie_tensor_empty(ie_dtype dtype, int ndim, const int64_t *shape, ie_device device,
                          ie_tensor **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "tensor: out is NULL");
    *out = NULL;
    int64_t numel = 0;
    IE_TRY(check_shape(ndim, shape, &numel));
    if (ie_dtype_size(dtype) == 0)
        return ie_error_set(IE_ERR_DTYPE, "tensor: unknown element type %d", (int)dtype);
    ie_tensor *t = calloc(1, sizeof *t);
    if (!t) return ie_error_set(IE_ERR_NOMEM, "tensor: out of memory for the header");
    ie_status st = ie_storage_new(device, (size_t)numel * ie_dtype_size(dtype), &t->storage);
    if (st != IE_OK) {
        free(t);
        return st;
    }
    atomic_init(&t->refcount, 1);
    t->dtype = dtype;
    t->device = device;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    *out = t;
    return IE_OK;
}

ie_status ie_tensor_empty_f32(int ndim, const int64_t *shape, ie_device device, ie_tensor **out) {
    return ie_tensor_empty(IE_F32, ndim, shape, device, out);
}

ie_status ie_tensor_zeros(ie_dtype dtype, int ndim, const int64_t *shape, ie_device device,
                          ie_tensor **out) {
    IE_TRY(ie_tensor_empty(dtype, ndim, shape, device, out));
    /* All-zero bytes are 0 in every element type. */
    ie_device_ctx *ctx = NULL;
    const ie_device_memory *memory = NULL;
    ie_status st = ie_device_memory_open("tensor_zeros", device, &ctx, &memory);
    if (st == IE_OK) st = memory->zero(ctx, ie_tensor_ptr(*out), (size_t)(*out)->numel * ie_dtype_size(dtype));
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

ie_status ie_tensor_empty_like(const ie_tensor *like, ie_tensor **out) {
    return ie_tensor_empty(IE_F32, like->ndim, like->shape, like->device, out);
}

ie_status ie_tensor_zeros_like(const ie_tensor *like, ie_tensor **out) {
    return ie_tensor_zeros(IE_F32, like->ndim, like->shape, like->device, out);
}

ie_status ie_tensor_full(int ndim, const int64_t *shape, float value, ie_tensor **out) {
    IE_TRY(ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, out));
    return ie_tensor_fill(*out, value);
}

ie_status ie_tensor_from_data(ie_dtype dtype, int ndim, const int64_t *shape, const void *data,
                              ie_tensor **out) {
    if (!data) return ie_error_set(IE_ERR_INVALID_ARG, "tensor_from_data: data is NULL");
    IE_TRY(ie_tensor_empty(dtype, ndim, shape, IE_CPU, out));
    memcpy(ie_tensor_ptr(*out), data, (size_t)(*out)->numel * ie_dtype_size(dtype));
    return IE_OK;
}

ie_status ie_tensor_scalar(float value, ie_tensor **out) {
    return ie_tensor_from_data(IE_F32, 0, NULL, &value, out);
}

/* Set as libinnereye loads, before any node is attached (tensor_impl.h). */
static _Atomic(ie_node_release_fn) node_release;

void ie_tensor_register_node_release(ie_node_release_fn release) {
    atomic_store_explicit(&node_release, release, memory_order_relaxed);
}

ie_tensor *ie_tensor_retain(ie_tensor *t) {
    if (t) atomic_fetch_add(&t->refcount, 1);
    return t;
}

void ie_tensor_release(ie_tensor *t) {
    if (!t || atomic_fetch_sub(&t->refcount, 1) != 1) return;
    ie_tensor_release(t->grad);
    if (t->node) atomic_load_explicit(&node_release, memory_order_relaxed)(t->node);
    ie_storage_release(t->storage);
    free(t->name);
    free(t);
}

int ie_tensor_ndim(const ie_tensor *t) { return t->ndim; }
int64_t ie_tensor_dim(const ie_tensor *t, int i) {
    if (i < 0) i += t->ndim;
    return (i >= 0 && i < t->ndim) ? t->shape[i] : 1;
}
const int64_t *ie_tensor_shape(const ie_tensor *t) { return t->shape; }
int64_t ie_tensor_numel(const ie_tensor *t) { return t->numel; }
ie_dtype ie_tensor_dtype(const ie_tensor *t) { return t->dtype; }
ie_device ie_tensor_device(const ie_tensor *t) { return t->device; }
void *ie_tensor_data(const ie_tensor *t) { return t->device == IE_CPU ? ie_tensor_ptr(t) : NULL; }
float *ie_tensor_data_f32(const ie_tensor *t) {
    return (t->device == IE_CPU && t->dtype == IE_F32) ? ie_f32(t) : NULL;
}
ie_status ie_tensor_read_item(const ie_tensor *t, float *out) {
    char d[96];
    if (!t || !out) return ie_error_set(IE_ERR_INVALID_ARG, "tensor_read_item: NULL argument");
    *out = NAN;
    if (t->dtype != IE_F32 || t->numel < 1)
        return ie_error_set(IE_ERR_SHAPE, "tensor_read_item: needs an f32 tensor with at least one element, got %s",
                            ie_tensor_describe(t, d, sizeof d));
    return ie_memory_copy("tensor_read_item", out, IE_CPU, ie_tensor_ptr(t), t->device, sizeof *out);
}

float ie_tensor_item(const ie_tensor *t) {
    float v = NAN;
    return ie_tensor_read_item(t, &v) == IE_OK ? v : NAN;
}

const char *ie_tensor_describe(const ie_tensor *t, char *buf, size_t size) {
    if (!t) {
        snprintf(buf, size, "NULL");
        return buf;
    }
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (int i = 0; i < t->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "] %s%s%s", ie_dtype_name(t->dtype),
                 t->device == IE_CPU ? "" : " ", t->device == IE_CPU ? "" : ie_device_name(t->device));
    return buf;
}

bool ie_tensor_same_shape(const ie_tensor *a, const ie_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

ie_status ie_tensor_clone(const ie_tensor *t, ie_tensor **out) {
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "tensor_clone: tensor is NULL");
    IE_TRY(ie_tensor_empty(t->dtype, t->ndim, t->shape, t->device, out));
    return ie_tensor_copy_data(*out, t);
}

ie_status ie_tensor_detach(ie_tensor *t, ie_tensor **out) {
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "tensor_detach: tensor is NULL");
    ie_tensor *d = calloc(1, sizeof *d);
    if (!d) return ie_error_set(IE_ERR_NOMEM, "tensor_detach: out of memory");
    atomic_init(&d->refcount, 1);
    d->dtype = t->dtype;
    d->device = t->device;
    d->ndim = t->ndim;
    memcpy(d->shape, t->shape, sizeof d->shape);
    d->numel = t->numel;
    d->storage = t->storage;
    atomic_fetch_add(&d->storage->refcount, 1);
    d->offset_bytes = t->offset_bytes;
    *out = d;
    return IE_OK;
}

ie_status ie_tensor_copy_data(ie_tensor *dst, const ie_tensor *src) {
    char a[96], b[96];
    if (!dst || !src) return ie_error_set(IE_ERR_INVALID_ARG, "tensor_copy_data: NULL tensor");
    if (dst->numel != src->numel || dst->dtype != src->dtype)
        return ie_error_set(IE_ERR_SHAPE, "tensor_copy_data: cannot copy %s into %s",
                            ie_tensor_describe(src, a, sizeof a), ie_tensor_describe(dst, b, sizeof b));
    return ie_memory_copy("tensor_copy_data", ie_tensor_ptr(dst), dst->device, ie_tensor_ptr(src), src->device,
                      (size_t)src->numel * ie_dtype_size(src->dtype));
}

ie_status ie_tensor_to(ie_tensor *t, ie_device device, ie_tensor **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "tensor_to: out is NULL");
    *out = NULL;
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "tensor_to: tensor is NULL");
    if (t->device == device) {
        *out = ie_tensor_retain(t);
        return IE_OK;
    }
    IE_TRY(ie_tensor_empty(t->dtype, t->ndim, t->shape, device, out));
    ie_status st = ie_tensor_copy_data(*out, t);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
        return ie_error_wrap(st, "tensor_to %s", ie_device_name(device));
    }
    if (t->name) ie_tensor_set_name(*out, t->name);
    return IE_OK;
}

ie_status ie_tensor_fill(ie_tensor *t, float value) {
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "tensor_fill: tensor is NULL");
    if (t->dtype != IE_F32)
        return ie_error_set(IE_ERR_DTYPE, "tensor_fill: needs f32, got %s", ie_dtype_name(t->dtype));
    ie_device_ctx *ctx;
    const ie_device_memory *memory;
    IE_TRY(ie_device_memory_open("tensor_fill", t->device, &ctx, &memory));
    return memory->fill_f32(ctx, t, value);
}

void ie_tensor_set_requires_grad(ie_tensor *t, bool requires_grad) {
    if (t && !t->node) t->requires_grad = requires_grad;
}
bool ie_tensor_requires_grad(const ie_tensor *t) { return t && t->requires_grad; }
ie_tensor *ie_tensor_grad(const ie_tensor *t) { return t ? t->grad : NULL; }
void ie_tensor_zero_grad(ie_tensor *t) {
    if (!t) return;
    ie_tensor_release(t->grad);
    t->grad = NULL;
}

void ie_tensor_set_name(ie_tensor *t, const char *name) {
    if (!t) return;
    free(t->name);
    t->name = name ? strdup(name) : NULL;
}
const char *ie_tensor_name(const ie_tensor *t) { return t && t->name ? t->name : ""; }
