/* core/backend - the norm kernel family (placeholder until its ops land). */
#ifndef IE_CORE_BACKEND_NORM_KERNELS_H
#define IE_CORE_BACKEND_NORM_KERNELS_H

#include "core/tensor/tensor_impl.h"

struct ie_norm_kernels {
    int placeholder;
};

#endif
