/* core/backend/cpu - the canonical kernels: convolutions of any geometry and
 * the matrix products of linear layers, in the one arithmetic order every CPU
 * path shares.
 *
 * The order (docs/engine.md, "Identical on every CPU") is a property of each
 * output element, never of tiling, vector width or thread count:
 *
 *   conv forward          y = bias (or +0); then for every kernel tap in
 *                         (kd, kh, kw) order whose input lies inside x, for
 *                         every input channel in order: y = fma(w, x, y).
 *   conv backward_data    gx = bias (or +0); then for every tap in (kd, kh, kw)
 *                         order that reaches an output inside gy, for every
 *                         output channel in order: gx = fma(w, gy, gx).
 *   conv backward_weight  the batch's output voxels, flattened (n, d, h, w),
 *                         are cut into groups of 4096; a group into segments
 *                         of at most 1024 voxels inside one batch item.  In a
 *                         segment starting at voxel ja, lane l (0..15) sums,
 *                         from +0 with one fma each, the products of the
 *                         voxels ja + l, ja + 16 + l, ... whose input lies
 *                         inside x; the 16 lanes are added by the fixed tree
 *                         of ie_canon_tree16; a group's value is +0 plus its
 *                         segments in order; gw is group 0 plus the others
 *                         in order.
 *   matrix product        C[i, j] = init[j] (or +0), then for k in order:
 *                         C = fma(A[i, k], B[k, j], C).
 *
 * Padding taps are skipped, never added as zero products.  The direct
 * AVX-512 kernels (conv_cpu_direct.c) compute the same order on the shapes
 * they take; tests/unit/test_cpu_paths.c checks every path against every
 * other byte for byte. */
#ifndef IE_CORE_BACKEND_CPU_CANON_KERNELS_H
#define IE_CORE_BACKEND_CPU_CANON_KERNELS_H

#include "core/backend/conv_kernels.h"

/* Voxels per weight-gradient group and per segment (see above). */
#define IE_CANON_WGRAD_GROUP 4096
#define IE_CANON_WGRAD_SEGMENT 1024
/* Weight-gradient groups whose partial sums are held at once: groups are
 * computed in waves of this many and folded into gw in group order, so the
 * value changes memory and parallelism, never the bytes. */
#define IE_CANON_WGRAD_WAVE 16
/* Kernel taps per dimension the canonical convolutions take. */
#define IE_CANON_MAX_KERNEL 32

/* C[i, j] = init[j] + sum_k A[i, k] * B[k, j] (init may be NULL: +0), with
 * A[i, k] = a[i * a_rs + k * a_ks], B[k, j] = b[k * b_ks + j * b_js],
 * C[i, j] = c[i * c_rs + j]. */
typedef struct ie_canon_gemm {
    int64_t m, n, k;
    const float *a;
    int64_t a_rs, a_ks;
    const float *b;
    int64_t b_ks, b_js;
    const float *init;
    float *c;
    int64_t c_rs;
} ie_canon_gemm;

typedef struct ie_canon_kernels {
    const char *name;
    ie_status (*conv_forward)(const ie_conv_geom *g, const float *x, const float *w, const float *bias,
                              float *y);
    ie_status (*conv_backward_data)(const ie_conv_geom *g, const float *gy, const float *w, const float *bias,
                                    float *gx);
    ie_status (*conv_backward_weight)(const ie_conv_geom *g, const float *x, const float *gy, float *gw);
    ie_status (*gemm)(const ie_canon_gemm *p);
} ie_canon_kernels;

extern const ie_canon_kernels ie_canon_generic;
extern const ie_canon_kernels ie_canon_avx2;
extern const ie_canon_kernels ie_canon_avx512;

/* The fixed addition tree of the 16 weight-gradient lanes (the one the
 * AVX-512 transpose-and-add reduction performs). */
static inline float ie_canon_tree16(const float *a) {
    float s0 = (a[0] + a[2]) + (a[1] + a[3]);
    float s1 = (a[4] + a[6]) + (a[5] + a[7]);
    float s2 = (a[8] + a[10]) + (a[9] + a[11]);
    float s3 = (a[12] + a[14]) + (a[13] + a[15]);
    return (s0 + s2) + (s1 + s3);
}

#endif
