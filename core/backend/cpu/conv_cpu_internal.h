/* core/backend/cpu - what the CPU conv kernel files (conv_cpu*.c) share.
 *
 * conv_cpu.c dispatches between implementations of the ie_conv_kernels
 * contract: conv_cpu_direct.c and conv_cpu_direct_avx2.c (AVX-512 and AVX2
 * kernels for the shapes U-Nets use), the canonical kernels (canon_body.h)
 * and conv_cpu_gemm.c (vol2col + single-threaded OpenBLAS per fixed block,
 * any shape, any x86-64).  Both cut the work into blocks chosen from the shape
 * alone and sum partial results in block order, so every thread count gives
 * the same bytes. */
#ifndef IE_CORE_BACKEND_CPU_CONV_CPU_INTERNAL_H
#define IE_CORE_BACKEND_CPU_CONV_CPU_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "core/backend/cpu/cpu_conv.h"
#include "core/backend/cpu/cpu_parallel.h"

/* The calling thread's scratch buffer `slot` (0..3): at least nfloats floats,
 * 64-byte aligned, kept for the thread's lifetime and reused.  NULL when out
 * of memory (the caller reports IE_ERR_NOMEM). */
float *ie_conv_scratch(int slot, size_t nfloats);

/* A temporary host float buffer from the caching allocator (so a training
 * step reuses the previous step's memory); release with ie_tensor_release.
 * CPU only: a GPU backend's scratch comes from its context's workspace. */
ie_status ie_conv_temp(int64_t nfloats, ie_tensor **out);

/* Product of the three spatial sizes. */
static inline int64_t ie_conv_vol(const int64_t d[3]) { return d[0] * d[1] * d[2]; }
static inline int64_t ie_conv_ktaps(const ie_conv_geom *g) {
    return (int64_t)g->kernel[0] * g->kernel[1] * g->kernel[2];
}

/* A failure inside a parallel task: the first one wins, the op reports it. */
typedef struct ie_conv_failure {
    atomic_int failed;
} ie_conv_failure;
static inline void ie_conv_fail(ie_conv_failure *f) { atomic_store(&f->failed, 1); }

/* vol2col + OpenBLAS (conv_cpu_gemm.c).  Raw contiguous data; bias may be NULL. */
ie_status ie_conv_gemm_forward(const ie_conv_geom *g, const float *x, const float *w,
                               const float *bias, float *y);
ie_status ie_conv_gemm_backward_data(const ie_conv_geom *g, const float *gy, const float *w,
                                     const float *bias, float *gx);
ie_status ie_conv_gemm_backward_weight(const ie_conv_geom *g, const float *x, const float *gy,
                                       float *gw);

/* Direct AVX-512 kernels (conv_cpu_direct.c).  ie_conv_direct_available():
 * this CPU runs them; ie_conv_direct_fits(): the geometry is one they handle
 * (in == stride * out in every dimension, small kernels). */
bool ie_conv_direct_available(void);
bool ie_conv_direct_fits(const ie_conv_geom *g);
ie_status ie_conv_direct_forward(const ie_conv_geom *g, const float *x, const float *w,
                                 const float *bias, float *y);
ie_status ie_conv_direct_backward_data(const ie_conv_geom *g, const float *gy, const float *w,
                                       const float *bias, float *gx);
ie_status ie_conv_direct_backward_weight(const ie_conv_geom *g, const float *x, const float *gy,
                                         float *gw);

/* Direct AVX2 + FMA kernels (conv_cpu_direct_avx2.c): the same geometries
 * (ie_conv_direct_fits), the same bytes; callers check that the CPU runs the
 * avx2 path (ie_cpu_path_supported). */
ie_status ie_conv_direct_avx2_forward(const ie_conv_geom *g, const float *x, const float *w,
                                      const float *bias, float *y);
ie_status ie_conv_direct_avx2_backward_data(const ie_conv_geom *g, const float *gy, const float *w,
                                            const float *bias, float *gx);
ie_status ie_conv_direct_avx2_backward_weight(const ie_conv_geom *g, const float *x, const float *gy,
                                              float *gw);

#endif
