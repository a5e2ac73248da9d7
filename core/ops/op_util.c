/* core/ops - shared argument checks. */
#include "core/ops/op_util.h"

ie_status ie_check_f32(const char *op, const char *what, const ie_tensor *t, int ndim) {
    char d[96];
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->dtype != IE_F32)
        return ie_error_set(IE_ERR_DTYPE, "%s: %s must be f32, got %s", op, what, IE_DESCRIBE(t, d));
    if (ndim >= 0 && t->ndim != ndim)
        return ie_error_set(IE_ERR_SHAPE, "%s: %s must have %d dimensions, got %s", op, what, ndim,
                            IE_DESCRIBE(t, d));
    return IE_OK;
}

ie_status ie_check_labels(const char *op, const char *what, const ie_tensor *t) {
    char d[96];
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->dtype != IE_I64 && t->dtype != IE_I32)
        return ie_error_set(IE_ERR_DTYPE, "%s: %s must hold integer class labels (i64 or i32), got %s",
                            op, what, IE_DESCRIBE(t, d));
    return IE_OK;
}

ie_status ie_check_same_device(const char *op, const ie_tensor *a, const ie_tensor *b) {
    if (b && a->device != b->device)
        return ie_error_set(IE_ERR_DEVICE, "%s: tensors on different devices (%s and %s); move them "
                                           "to one device first",
                            op, ie_device_name(a->device), ie_device_name(b->device));
    return IE_OK;
}

ie_status ie_check_out(const char *op, ie_tensor **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "%s: out is NULL", op);
    *out = NULL;
    return IE_OK;
}

ie_status ie_grad_like(const ie_tensor *like, ie_tensor **out) {
    return ie_tensor_zeros(IE_F32, like->ndim, like->shape, like->device, out);
}
