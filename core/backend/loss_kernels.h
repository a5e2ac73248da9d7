/* core/backend - the loss kernel family (placeholder until its ops land). */
#ifndef IE_CORE_BACKEND_LOSS_KERNELS_H
#define IE_CORE_BACKEND_LOSS_KERNELS_H

#include "core/tensor/tensor_impl.h"

struct ie_loss_kernels {
    int placeholder;
};

#endif
