// core/backend/cuda - what the .cu files share: launch sizes that depend on
// the element count only, and the launch-error answer of every launcher.
#ifndef IE_CORE_BACKEND_CUDA_COMMON_CUH
#define IE_CORE_BACKEND_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "core/backend/cuda/cuda_launch.h"

#define IE_CU_THREADS 256

// Blocks for a grid-stride loop over n elements: a function of n alone, so
// a launch is the same on every GPU (never scaled by the SM count).
static inline unsigned ie_cu_blocks(int64_t n) {
    int64_t b = (n + IE_CU_THREADS - 1) / IE_CU_THREADS;
    if (b < 1) b = 1;
    if (b > (1 << 20)) b = 1 << 20;
    return (unsigned)b;
}

static inline cudaStream_t ie_cu_stream(void *s) { return (cudaStream_t)s; }

// What a launcher returns: the launch's own error (a bad configuration);
// faults inside the kernel show at the next synchronisation.
static inline int ie_cu_launched(void) { return (int)cudaGetLastError(); }

#define IE_CU_FOR(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

#endif
