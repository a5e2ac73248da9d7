/* core/backend - the pooling and resampling kernel family: max and average
 * pooling, global average pooling, nearest and (bi/tri)linear upsampling.
 *
 * Activations are viewed as `planes` (N * C) volumes of D x H x W; 2D ops
 * pass D = 1 with kernel 1, stride 1, padding 0 along it.  Every backward
 * computes each input-gradient element by itself or owns whole planes, so
 * results are the same for any thread count. */
#ifndef IE_CORE_BACKEND_POOL_KERNELS_H
#define IE_CORE_BACKEND_POOL_KERNELS_H

#include "core/backend/backend.h"
#include "innereye/op_modes.h"

typedef struct ie_pool_geom {
    int64_t planes;
    int64_t in[3], out[3];              /* D, H, W */
    int kernel[3], stride[3], padding[3]; /* pooling only */
} ie_pool_geom;

struct ie_pool_kernels {
    /* y = window maxima (padding is -inf; NaN wins; the first maximum wins
     * ties); indices (int32, y's shape, may be NULL) get each maximum's flat
     * position d*H*W + h*W + w inside its input plane. */
    ie_status (*max_forward)(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g,
                             ie_tensor *y, ie_tensor *indices);
    /* dx[e] = sum of dy over the windows whose maximum was e. */
    ie_status (*max_backward)(ie_device_ctx *ctx, const ie_tensor *dy, const ie_tensor *indices,
                              const ie_pool_geom *g, ie_tensor *dx);
    /* Window sums divided by the full kernel volume (padding counts as 0). */
    ie_status (*avg_forward)(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g,
                             ie_tensor *y);
    ie_status (*avg_backward)(ie_device_ctx *ctx, const ie_tensor *dy, const ie_pool_geom *g,
                              ie_tensor *dx);
    /* y[p] = mean of plane p (spatial elements per plane). */
    ie_status (*global_avg_forward)(ie_device_ctx *ctx, const ie_tensor *x, int64_t planes,
                                    int64_t spatial, ie_tensor *y);
    ie_status (*global_avg_backward)(ie_device_ctx *ctx, const ie_tensor *dy, int64_t planes,
                                     int64_t spatial, ie_tensor *dx);
    /* Resizes every plane from g->in to g->out as torch's interpolate. */
    ie_status (*upsample_forward)(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g,
                                  ie_upsample_mode mode, bool align_corners, ie_tensor *y);
    ie_status (*upsample_backward)(ie_device_ctx *ctx, const ie_tensor *dy, const ie_pool_geom *g,
                                   ie_upsample_mode mode, bool align_corners, ie_tensor *dx);
};

#endif
