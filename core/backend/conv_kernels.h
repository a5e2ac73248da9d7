/* core/backend - the convolution kernel family.
 *
 * Every convolution the engine runs (2D and 3D, plain and transposed, forward
 * and backward) is one of three products of a single *regular* convolution,
 * described by an ie_conv_geom:
 *
 *   forward          y[n, co, o] = sum_{ci, k} w[co, ci, k] * x[n, ci, o*s - p + k*d] (+ bias[co])
 *   backward_data    gx = the transpose of forward applied to gy  (+ bias[ci] when given)
 *   backward_weight  gw[co, ci, k] = sum_{n, o} gy[n, co, o] * x[n, ci, o*s - p + k*d]
 *
 * with x [N, cin, in...], y [N, cout, out...], w [cout, cin, k...] (PyTorch's
 * conv layout).  A transposed convolution is backward_data of the regular conv
 * whose input is the transposed conv's output (PyTorch's transposed weight
 * layout [cin_t, cout_t, k...] is exactly w above), its input gradient is
 * forward and its weight gradient is backward_weight with x and gy swapped.
 * 2D convolutions are 3D ones with depth 1.  Tensors are contiguous; kernels
 * read only their data and take all sizes from the geometry. */
#ifndef IE_CORE_BACKEND_CONV_KERNELS_H
#define IE_CORE_BACKEND_CONV_KERNELS_H

#include "core/tensor/tensor_impl.h"

typedef struct ie_conv_geom {
    int64_t batch, cin, cout;
    int64_t in[3], out[3]; /* spatial sizes (D, H, W) */
    int kernel[3], stride[3], pad[3], dil[3];
} ie_conv_geom;

struct ie_conv_kernels {
    /* y [batch, cout, out] = conv(x [batch, cin, in], w) + bias (bias may be NULL). */
    ie_status (*forward)(const ie_conv_geom *g, const ie_tensor *x, const ie_tensor *w,
                         const ie_tensor *bias, ie_tensor *y);
    /* gx [batch, cin, in] = conv^T(gy [batch, cout, out], w) + bias[cin] (may be NULL). */
    ie_status (*backward_data)(const ie_conv_geom *g, const ie_tensor *gy, const ie_tensor *w,
                               const ie_tensor *bias, ie_tensor *gx);
    /* gw [cout, cin, k] = correlation of gy with x over batch and space (overwrites gw). */
    ie_status (*backward_weight)(const ie_conv_geom *g, const ie_tensor *x, const ie_tensor *gy,
                                 ie_tensor *gw);
    /* gb[c] = sum of t viewed as [batch, channels, inner] over batch and inner. */
    ie_status (*bias_grad)(const ie_tensor *t, int64_t batch, int64_t channels, int64_t inner,
                           ie_tensor *gb);
};

/* CPU only: which implementation the CPU conv kernels use.  AUTO takes the
 * direct kernels of the avx512 or avx2 CPU path where the shape fits them,
 * and the canonical kernels of the CPU path (core/backend/cpu/cpu_path.h)
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
