/* core/backend - the pool kernel family (placeholder until its ops land). */
#ifndef IE_CORE_BACKEND_POOL_KERNELS_H
#define IE_CORE_BACKEND_POOL_KERNELS_H

#include "core/tensor/tensor_impl.h"

struct ie_pool_kernels {
    int placeholder;
};

#endif
