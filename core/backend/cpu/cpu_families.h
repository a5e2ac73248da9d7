/* core/backend/cpu - the CPU kernel families, one file each in this folder. */
#ifndef IE_CORE_BACKEND_CPU_FAMILIES_H
#define IE_CORE_BACKEND_CPU_FAMILIES_H

#include "core/backend/conv_kernels.h"
#include "core/backend/loss_kernels.h"
#include "core/backend/norm_kernels.h"
#include "core/backend/optim_kernels.h"
#include "core/backend/pointwise_kernels.h"
#include "core/backend/pool_kernels.h"
#include "core/backend/reduce_kernels.h"

extern const struct ie_conv_kernels ie_cpu_conv_kernels;
extern const struct ie_norm_kernels ie_cpu_norm_kernels;
extern const struct ie_pool_kernels ie_cpu_pool_kernels;
extern const struct ie_pointwise_kernels ie_cpu_pointwise_kernels;
extern const struct ie_reduce_kernels ie_cpu_reduce_kernels;
extern const struct ie_loss_kernels ie_cpu_loss_kernels;
extern const struct ie_optim_kernels ie_cpu_optim_kernels;

#endif
