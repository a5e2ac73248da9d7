/* core/backend/cpu - conv kernels (placeholder until its ops land). */
#include "core/backend/cpu/cpu_families.h"

const struct ie_conv_kernels ie_cpu_conv_kernels = {0};
