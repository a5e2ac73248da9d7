/* core/backend/cpu - the pieces of batch norm that synchronised batch norm
 * (core/dist/sync_norm.h) calls between its exchanges: a micro-batch's own
 * statistics, its own gradient sums, and the input gradient from the
 * coefficients the whole step's sums give.  CPU only: synchronised batch
 * norm needs the model on the CPU, like every micro-batched step
 * (docs/distributed.md).  The passes are norm_cpu.c's own, so their sums
 * have the same fixed order and do not depend on the thread count. */
#ifndef IE_CORE_BACKEND_CPU_SYNC_NORM_H
#define IE_CORE_BACKEND_CPU_SYNC_NORM_H

#include "core/backend/norm_kernels.h"

/* out[3c..3c+3) = (elements, mean, sum of squared deviations) of channel c,
 * in double. */
ie_status ie_cpu_batch_moments(const ie_tensor *x, ie_norm_shape sh, double *out);
/* out[2c..2c+2) = (sum dy, sum dy * (x - mean)) of channel c, mean the saved
 * hi + lo pair ([2 * C]), in double. */
ie_status ie_cpu_batch_grad_sums(const ie_tensor *x, const ie_tensor *dy, ie_norm_shape sh,
                                 const ie_tensor *save_mean, double *out);
/* dx = a[c] * dy + b[c] * (x - mean) + c[c]: batch_backward's last pass. */
ie_status ie_cpu_batch_grad_input(const ie_tensor *x, const ie_tensor *dy, ie_norm_shape sh,
                                  const ie_tensor *save_mean, const float *a, const float *b, const float *c,
                                  ie_tensor *dx);

#endif
