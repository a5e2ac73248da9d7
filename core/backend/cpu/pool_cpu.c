/* core/backend/cpu - pool kernels (placeholder until its ops land). */
#include "core/backend/cpu/cpu_families.h"

const struct ie_pool_kernels ie_cpu_pool_kernels = {0};
