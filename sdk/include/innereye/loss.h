/* innereye/loss.h - training losses.  Each returns a scalar tensor.
 *
 * Segmentation losses take logits [N, C, ...spatial] and integer class labels
 * [N, ...spatial] (int64 or int32, values 0..C-1).  class_weights, when given,
 * is a float32 tensor [C]. */
#ifndef INNEREYE_LOSS_H
#define INNEREYE_LOSS_H

#include "innereye/api.h"

#include "innereye/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* torch.nn.functional.cross_entropy over dimension 1 with reduction "mean":
 * sum_i w[y_i] * -log softmax(x_i)[y_i] / sum_i w[y_i].  label_smoothing as
 * torch (0 disables it). */
IE_API ie_status ie_cross_entropy(ie_tensor *logits, ie_tensor *labels,
                           ie_tensor *class_weights, float label_smoothing,
                           ie_tensor **out);

/* InnerEye's soft Dice: p = softmax(logits) over channels, t = one-hot(labels);
 * for every batch item n and class c: I = sum(p*t + eps),
 * S = sum(p^2 + eps) + sum(t^2 + eps); loss = 1 - 2 * mean_{n,c}(I/S), with
 * eps = 1e-10 and background included.  With class weights the mean becomes
 * sum_{n,c} w_c I/S / (N * sum_c w_c). */
IE_API ie_status ie_soft_dice_loss(ie_tensor *logits, ie_tensor *labels,
                            ie_tensor *class_weights, ie_tensor **out);

/* Multi-class focal loss: mean over voxels of
 * -w[y] * (1 - p_y)^gamma * log p_y, normalised by sum of w[y] as
 * cross-entropy is (gamma = 0 gives cross-entropy). */
IE_API ie_status ie_focal_loss(ie_tensor *logits, ie_tensor *labels, float gamma,
                        ie_tensor *class_weights, ie_tensor **out);

/* torch.nn.functional.binary_cross_entropy_with_logits, reduction "mean".
 * targets: float32 of logits' shape; pos_weight: [C] over the last dimension. */
IE_API ie_status ie_bce_with_logits(ie_tensor *logits, ie_tensor *targets,
                             ie_tensor *pos_weight, ie_tensor **out);

IE_API ie_status ie_mse_loss(ie_tensor *prediction, ie_tensor *target, ie_tensor **out);
IE_API ie_status ie_l1_loss(ie_tensor *prediction, ie_tensor *target, ie_tensor **out);

#ifdef __cplusplus
}
#endif
#endif
