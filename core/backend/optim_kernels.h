/* core/backend - the optim kernel family (placeholder until its ops land). */
#ifndef IE_CORE_BACKEND_OPTIM_KERNELS_H
#define IE_CORE_BACKEND_OPTIM_KERNELS_H

#include "core/tensor/tensor_impl.h"

struct ie_optim_kernels {
    int placeholder;
};

#endif
