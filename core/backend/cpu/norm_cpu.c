/* core/backend/cpu - norm kernels (placeholder until its ops land). */
#include "core/backend/cpu/cpu_families.h"

const struct ie_norm_kernels ie_cpu_norm_kernels = {0};
