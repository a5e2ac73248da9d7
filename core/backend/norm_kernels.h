/* core/backend - the normalisation kernel family: batch norm (training and
 * eval), group norm (instance norm is group norm with one channel per group).
 *
 * Activations are viewed as [N, C, S] (S = product of the spatial sizes, 1 for
 * [N, C] inputs).  As in cuDNN's batch-norm calls, forward returns the
 * statistics it normalised with (mean and 1/sqrt(var+eps)) so that backward
 * never recomputes them.  The saved mean holds two floats per statistic, all
 * high parts then all low parts (mean = hi + lo), so that x - mean keeps its
 * digits when the mean is large against the spread.  Optional tensors may be NULL:
 * weight/bias (no affine: weight 1, bias 0), running statistics, and the
 * gradients backward need not produce. */
#ifndef IE_CORE_BACKEND_NORM_KERNELS_H
#define IE_CORE_BACKEND_NORM_KERNELS_H

#include "core/backend/backend.h"

typedef struct ie_norm_shape {
    int64_t n, c, s; /* batch, channels, spatial elements per channel */
    int64_t groups;  /* group norm only */
} ie_norm_shape;

struct ie_norm_kernels {
    /* Training (use batch statistics, biased variance; update running_mean /
     * running_var [C] with momentum and the unbiased variance, add 1 to the
     * int64 num_batches_tracked) or eval (normalise with the running
     * statistics).  save_mean [2 * C] / save_invstd [C] receive the statistics
     * used.  y may be x (ie_batch_norm_relu_consume): every statistic is read
     * before the first write, and y[i] only from x[i]; batch_apply likewise. */
    ie_status (*batch_forward)(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh,
                               const ie_tensor *weight, const ie_tensor *bias,
                               ie_tensor *running_mean, ie_tensor *running_var,
                               ie_tensor *num_batches_tracked, bool training, float momentum,
                               float eps, ie_tensor *y, ie_tensor *save_mean,
                               ie_tensor *save_invstd);
    /* y = the affine map batch_forward applied, from its saved statistics
     * (then, with relu, x > 0 ? x : 0 as the relu op computes it): recomputes
     * a forward output bit for bit. */
    ie_status (*batch_apply)(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh, const ie_tensor *weight,
                             const ie_tensor *bias, const ie_tensor *save_mean, const ie_tensor *save_invstd,
                             bool relu, ie_tensor *y);
    /* Training: the full backward through the batch statistics; eval: the
     * affine map's backward.  dx, dweight, dbias may each be NULL. */
    ie_status (*batch_backward)(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *dy,
                                ie_norm_shape sh, const ie_tensor *weight,
                                const ie_tensor *save_mean, const ie_tensor *save_invstd,
                                bool training, ie_tensor *dx, ie_tensor *dweight, ie_tensor *dbias);
    /* Optional (NULL: the op runs batch_forward, then the relu kernel): batch
     * forward followed by relu's x > 0 ? x : 0, the same bytes in one pass
     * less. */
    ie_status (*batch_forward_relu)(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh,
                                    const ie_tensor *weight, const ie_tensor *bias,
                                    ie_tensor *running_mean, ie_tensor *running_var,
                                    ie_tensor *num_batches_tracked, bool training, float momentum,
                                    float eps, ie_tensor *y, ie_tensor *save_mean,
                                    ie_tensor *save_invstd);
    /* Optional (NULL: the op runs batch_apply, relu's backward, then
     * batch_backward): the backward of relu(batch_norm(x)) from batch_forward
     * _relu's statistics, bit for bit what those three steps give.  dy is the
     * gradient of the relu output; dx, dweight, dbias may each be NULL. */
    ie_status (*batch_relu_backward)(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *dy,
                                     ie_norm_shape sh, const ie_tensor *weight, const ie_tensor *bias,
                                     const ie_tensor *save_mean, const ie_tensor *save_invstd,
                                     bool training, ie_tensor *dx, ie_tensor *dweight, ie_tensor *dbias);
    /* Statistics per (n, group) over C/groups channels; affine per channel.
     * save_mean is [2 * N * groups], save_invstd [N * groups]. */
    ie_status (*group_forward)(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh,
                               const ie_tensor *weight, const ie_tensor *bias, float eps,
                               ie_tensor *y, ie_tensor *save_mean, ie_tensor *save_invstd);
    ie_status (*group_backward)(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *dy,
                                ie_norm_shape sh, const ie_tensor *weight,
                                const ie_tensor *save_mean, const ie_tensor *save_invstd,
                                ie_tensor *dx, ie_tensor *dweight, ie_tensor *dbias);
};

#endif
