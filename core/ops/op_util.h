/* core/ops - op front ends: argument checks, output allocation, autograd
 * recording.  The arithmetic is in core/backend.  Shared checks live here so
 * every op words its errors the same way: "<op>: <what> <shape>; <what to do>". */
#ifndef IE_CORE_OPS_OP_UTIL_H
#define IE_CORE_OPS_OP_UTIL_H

#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "innereye/ops.h"

/* t is non-NULL, float32, with `ndim` dimensions (ndim < 0: any). */
ie_status ie_check_f32(const char *op, const char *what, const ie_tensor *t, int ndim);
/* t is non-NULL, an integer label tensor (int64 or int32). */
ie_status ie_check_labels(const char *op, const char *what, const ie_tensor *t);
/* b (may be NULL) is on a's device. */
ie_status ie_check_same_device(const char *op, const ie_tensor *a, const ie_tensor *b);
/* out pointer non-NULL; sets *out = NULL. */
ie_status ie_check_out(const char *op, ie_tensor **out);

/* The first element of the integer label tensor `labels` outside
 * [0, classes): its flat index in *index and its value in *value; *index is
 * -1 when every label is valid.  Host work on CPU labels, never a kernel:
 * labels are checked while they are still on the CPU (the loss front end, the
 * batch upload), so no device hands a verdict back mid-step.  Labels on
 * another device are refused with IE_ERR_DEVICE. */
ie_status ie_labels_find_bad(const ie_tensor *labels, int64_t classes, int64_t *index, int64_t *value);

/* A zeroed float32 tensor shaped like `like` (gradient buffers). */
ie_status ie_grad_like(const ie_tensor *like, ie_tensor **out);

#define IE_DESCRIBE(t, buf) ie_tensor_describe((t), (buf), sizeof(buf))

#endif
