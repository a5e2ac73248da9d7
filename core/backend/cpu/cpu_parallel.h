/* core/backend/cpu - fixed work partitions for CPU kernels.
 *
 * Chunk sizes are constants, never derived from the thread count: that is what
 * keeps reductions bit-identical on 1 or 16 threads. */
#ifndef IE_CORE_BACKEND_CPU_PARALLEL_H
#define IE_CORE_BACKEND_CPU_PARALLEL_H

#include <stdint.h>
#include <stdlib.h>

#include "innereye/threads.h"

#define IE_CPU_CHUNK ((int64_t)16384)

static inline int64_t ie_cpu_chunks(int64_t n) { return (n + IE_CPU_CHUNK - 1) / IE_CPU_CHUNK; }

/* Elementwise loops compiled for AVX-512, AVX2 + FMA and the x86-64 baseline,
 * the CPU picking one at load time.  Lane-wise IEEE arithmetic (fmaf fused
 * exactly where written, nothing contracted or reassociated) gives the same
 * bytes in each, so this only changes speed. */
#define IE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

#endif
