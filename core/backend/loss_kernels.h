/* core/backend - the loss kernel family: classification losses over integer
 * labels (cross-entropy, focal, soft Dice) and elementwise regression losses.
 *
 * Segmentation logits are viewed as [batch, classes, spatial] and labels as
 * [batch, spatial] (i64 or i32).  Labels are checked to lie in [0, classes)
 * on the host, where they are still CPU tensors (the loss front end for CPU
 * labels, the batch upload for labels bound for a device), so no kernel hands
 * a verdict back mid-step; a device kernel must still never read outside the
 * logits for a bad label (it makes the loss NaN instead).  Every reduction
 * sums fixed chunks in double and combines them in chunk order, so the loss
 * does not depend on the thread count.  Kernels that need scratch memory for
 * those partials return IE_ERR_NOMEM when it is missing. */
#ifndef IE_CORE_BACKEND_LOSS_KERNELS_H
#define IE_CORE_BACKEND_LOSS_KERNELS_H

#include "core/backend/backend.h"

typedef enum ie_class_loss_kind { IE_CLASS_LOSS_CROSS_ENTROPY, IE_CLASS_LOSS_FOCAL } ie_class_loss_kind;

/* Everything a cross-entropy or focal kernel reads. */
typedef struct ie_class_loss_args {
    ie_class_loss_kind kind;
    const ie_tensor *logits, *labels, *weights; /* weights [classes] or NULL */
    int64_t batch, classes, spatial;
    float label_smoothing; /* cross-entropy */
    float gamma;           /* focal */
} ie_class_loss_args;

/* The class losses' weight sum stays on the logits' device, saved on the
 * autograd node, so forward never hands it to the host: one float64, kept as
 * the 8 bytes of a [1] i64 tensor (the engine has no f64 element type, and
 * only the loss kernels read it back).  Backward divides by it in double, as
 * forward did. */
#define IE_WEIGHT_SUM_DTYPE IE_I64

typedef enum ie_pair_loss_kind { IE_PAIR_LOSS_MSE, IE_PAIR_LOSS_L1, IE_PAIR_LOSS_BCE } ie_pair_loss_kind;

struct ie_loss_kernels {
    /* out[0] = sum_i l_i / sum_i w[y_i] with l_i the weighted per-voxel loss;
     * weight_sum receives the denominator for backward (see below). */
    ie_status (*class_loss)(ie_device_ctx *ctx, const ie_class_loss_args *a, ie_tensor *out,
                            ie_tensor *weight_sum);
    /* grad_logits = g[0] / weight_sum * d(sum_i l_i)/d logits. */
    ie_status (*class_loss_backward)(ie_device_ctx *ctx, const ie_class_loss_args *a,
                                     const ie_tensor *g, const ie_tensor *weight_sum,
                                     ie_tensor *grad_logits);

    /* Soft Dice: stats [batch, classes, 3] receives sum(p*t), sum(p^2) and
     * sum(t) per item and class; out[0] the loss (see loss.h). */
    ie_status (*dice)(ie_device_ctx *ctx, const ie_tensor *logits, const ie_tensor *labels,
                      const ie_tensor *weights, int64_t batch, int64_t classes, int64_t spatial,
                      ie_tensor *stats, ie_tensor *out);
    ie_status (*dice_backward)(ie_device_ctx *ctx, const ie_tensor *logits, const ie_tensor *labels,
                               const ie_tensor *weights, int64_t batch, int64_t classes,
                               int64_t spatial, const ie_tensor *stats, const ie_tensor *g,
                               ie_tensor *grad_logits);

    /* out[0] = mean over elements of loss(a, b); BCE reads pos_weight (or
     * NULL) by the index modulo its length. */
    ie_status (*pair_loss)(ie_device_ctx *ctx, ie_pair_loss_kind kind, const ie_tensor *a,
                           const ie_tensor *b, const ie_tensor *pos_weight, ie_tensor *out);
    /* Gradients for a and b (either may be NULL) of g[0] * the mean loss. */
    ie_status (*pair_loss_backward)(ie_device_ctx *ctx, ie_pair_loss_kind kind, const ie_tensor *a,
                                    const ie_tensor *b, const ie_tensor *pos_weight,
                                    const ie_tensor *g, ie_tensor *grad_a, ie_tensor *grad_b);
};

#endif
