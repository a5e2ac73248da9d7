/* core/train - the loss named in the config (train.loss), used when a plugin
 * brings none. */
#ifndef IE_CORE_TRAIN_DEFAULT_LOSS_H
#define IE_CORE_TRAIN_DEFAULT_LOSS_H

#include "innereye/config.h"
#include "innereye/plugin.h"

typedef enum ie_loss_kind {
    IE_LOSS_CROSS_ENTROPY,
    IE_LOSS_SOFT_DICE,
    IE_LOSS_FOCAL,
    IE_LOSS_MIXTURE, /* weights[0] * parts[0] + weights[1] * parts[1] */
    IE_LOSS_BCE,
    IE_LOSS_MSE,
    IE_LOSS_L1
} ie_loss_kind;

typedef struct ie_loss_spec {
    ie_loss_kind kind;
    ie_tensor *class_weights; /* [C] or NULL (owned) */
    float focal_gamma;
    ie_loss_kind parts[2]; /* Mixture */
    float weights[2];
    float label_smoothing; /* CrossEntropy as torch; BCE targets y(1-e) + e/2 */
    bool automatic;        /* train.loss.name "Auto": CrossEntropy until a task's setup picks by its targets */
    const char *name;      /* train.loss.name as written, for messages (borrowed from the config) */
} ie_loss_spec;

ie_status ie_loss_spec_from_config(const ie_config *cfg, ie_loss_spec *out);
void ie_loss_spec_clear(ie_loss_spec *spec);
/* Segmentation logits smaller than the labels (a network with unpadded
 * convolutions, such as InnerEye's Basic) are compared with the centre of the
 * labels, as InnerEye does. */
ie_status ie_loss_compute(const ie_loss_spec *spec, ie_tensor *output, const ie_batch *batch, ie_tensor **out);

#endif
