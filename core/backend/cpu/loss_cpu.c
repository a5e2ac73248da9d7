/* core/backend/cpu - loss kernels (placeholder until its ops land). */
#include "core/backend/cpu/cpu_families.h"

const struct ie_loss_kernels ie_cpu_loss_kernels = {0};
