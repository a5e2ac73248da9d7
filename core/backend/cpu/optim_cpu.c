/* core/backend/cpu - optim kernels (placeholder until its ops land). */
#include "core/backend/cpu/cpu_families.h"

const struct ie_optim_kernels ie_cpu_optim_kernels = {0};
