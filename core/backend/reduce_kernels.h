/* core/backend - reductions and softmax. */
#ifndef IE_CORE_BACKEND_REDUCE_KERNELS_H
#define IE_CORE_BACKEND_REDUCE_KERNELS_H

#include "core/tensor/tensor_impl.h"

struct ie_reduce_kernels {
    /* out[0] = scale * sum(x), accumulated in double over fixed chunks. */
    void (*sum)(const ie_tensor *x, float scale, ie_tensor *out);
    /* out = broadcast of scale * g[0] to out's shape (backward of sum/mean). */
    void (*fill_from_scalar)(const ie_tensor *g, float scale, ie_tensor *out);
};

#endif
