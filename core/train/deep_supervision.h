/* core/train - deep supervision's loss (train.deep_supervision, as nnU-Net's
 * DeepSupervisionWrapper): the loss of the network output plus the losses of
 * its auxiliary outputs (ABI 1.4 forward_deep) against the labels
 * downsampled to each one's size, weighted 1, 1/2, 1/4, ... and normalised
 * to sum 1. */
#ifndef IE_CORE_TRAIN_DEEP_SUPERVISION_H
#define IE_CORE_TRAIN_DEEP_SUPERVISION_H

#include "innereye/plugin.h"

/* The loss of one output against a batch (the plugin's or the config's). */
typedef ie_status (*ie_output_loss_fn)(void *ctx, ie_tensor *output, const ie_batch *batch, ie_tensor **out);

/* Labels [N, D, H, W] i64 at the size (d, h, w) of an auxiliary output:
 * each axis must shrink by a power-of-two factor f, and output voxel i takes
 * label i f + f / 2 (nearest-exact, as nnU-Net v2's
 * DownsampleSegForDSTransform: floor((i + 1/2) f)).  On the CPU. */
ie_status ie_deep_supervision_labels(const ie_tensor *labels, const int64_t size[3], ie_tensor **out);

/* Weight of output i of n (0 = the network output), 2^-i / sum_j 2^-j. */
double ie_deep_supervision_weight(int i, int n);

/* sum_i w_i loss(output_i, labels_i) over the output and its n_aux
 * auxiliary outputs (finest first).  batch->labels may live on any device
 * (they are read on the CPU and the downsampled copies moved back). */
ie_status ie_deep_supervision_loss(ie_output_loss_fn loss, void *ctx, ie_tensor *output, ie_tensor *const *aux,
                                   int n_aux, const ie_batch *batch, ie_tensor **out);

#endif
