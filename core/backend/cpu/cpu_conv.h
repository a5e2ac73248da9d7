/* core/backend/cpu - how the CPU backend computes convolutions.
 *
 * CPU only.  Device-generic code (core/ops, autograd, optimisers) never
 * includes it; the run settings that choose a CPU implementation
 * (core/train/compute.c for run.blas, run_dir.c recording it), and the tests
 * and benchmarks that compare one CPU implementation with another, do. */
#ifndef IE_CORE_BACKEND_CPU_CPU_CONV_H
#define IE_CORE_BACKEND_CPU_CPU_CONV_H

#include <stdbool.h>

#include "core/backend/conv_kernels.h"

/* Which implementation the CPU conv kernels use.  AUTO takes the direct
 * kernels of the avx512 or avx2 CPU path where the shape fits them, and
 * the canonical kernels of the CPU path (core/backend/cpu/cpu_path.h)
 * elsewhere; CANON always takes the canonical kernels; DIRECT_VECTOR takes the
 * direct kernels' 16-voxel variants wherever they fit, even on small grids
 * where AUTO prefers others.  These three give the same bytes (tests use them
 * to check one implementation against another).  BLAS takes vol2col +
 * OpenBLAS: the opt-in fast path (run.blas = openblas), whose results depend
 * on the CPU model and OpenBLAS's kernel choice.  The choice depends only on
 * the shape, the CPU path and this mode, never on the thread count. */
typedef enum ie_cpu_conv_mode {
    IE_CPU_CONV_AUTO = 0,
    IE_CPU_CONV_CANON = 1,
    IE_CPU_CONV_DIRECT_VECTOR = 2,
    IE_CPU_CONV_BLAS = 3
} ie_cpu_conv_mode;
void ie_cpu_conv_set_mode(ie_cpu_conv_mode mode);
ie_cpu_conv_mode ie_cpu_conv_get_mode(void);
/* Whether AUTO would take the direct kernels for this geometry (for tests). */
bool ie_cpu_conv_direct_applies(const ie_conv_geom *g);

#endif
