/* core/backend - the conv kernel family (placeholder until its ops land). */
#ifndef IE_CORE_BACKEND_CONV_KERNELS_H
#define IE_CORE_BACKEND_CONV_KERNELS_H

#include "core/tensor/tensor_impl.h"

struct ie_conv_kernels {
    int placeholder;
};

#endif
