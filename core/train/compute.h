/* core/train - what a run computes on: threads, and whether convolutions use
 * the engine's kernels (the same bytes on every CPU) or OpenBLAS. */
#ifndef IE_CORE_TRAIN_COMPUTE_H
#define IE_CORE_TRAIN_COMPUTE_H

#include "innereye/config.h"

/* Applies run.threads (or threads_override when > 0) and run.blas. */
ie_status ie_compute_setup(const ie_config *cfg, int threads_override);

#endif
