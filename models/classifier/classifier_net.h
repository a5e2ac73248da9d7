/* models/classifier - the network of the Classifier model: an image encoder
 * (2-D or 3-D) followed by an MLP head that also takes non-image features;
 * or the MLP alone for tabular data.
 *
 *   image [N, C, (D,) H, W]
 *     -> block 0 -> max-pool 2 -> block 1 -> ... -> block B-1   (no pool after the last)
 *     -> global average pool [N, widths[B-1]]
 *   concat with features [N, F]  ->  (Linear -> ReLU -> Dropout) per hidden size -> Linear -> [N, outputs]
 *
 * A plain block is `convs` times conv k x k (x k), no bias -> BatchNorm -> ReLU.
 * A residual block is conv -> BN -> ReLU -> conv -> BN, plus the input (through
 * a 1 x 1 conv + BN when the width changes), then ReLU (ResNet's basic block).
 *
 * Parameter names, as the PyTorch module in tools/bench/fashion_mnist_torch.py:
 *   encoder.<b>.conv<j>.weight, encoder.<b>.bn<j>.{weight,bias,running_mean,running_var,num_batches_tracked}
 *   encoder.<b>.skip.weight, encoder.<b>.skip_bn.*          (residual blocks that change width)
 *   head.<i>.{weight,bias}                                  (Linear layers, in order)
 * Initialisation: PyTorch's defaults for each layer (innereye/layers.h). */
#ifndef IE_MODELS_CLASSIFIER_NET_H
#define IE_MODELS_CLASSIFIER_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "innereye/layers.h"

#define IE_CLASSIFIER_MAX_BLOCKS 8
#define IE_CLASSIFIER_MAX_HIDDEN 8

typedef struct ie_classifier_config {
    int dims;            /* 2 or 3 */
    int in_channels;     /* 0: no image (MLP only) */
    int n_blocks;
    int widths[IE_CLASSIFIER_MAX_BLOCKS];
    int convs_per_block; /* plain blocks */
    bool residual;
    int kernel;          /* odd */
    int features;        /* non-image features */
    int n_hidden;
    int hidden[IE_CLASSIFIER_MAX_HIDDEN];
    float dropout;
    int outputs;
} ie_classifier_config;

typedef struct ie_classifier ie_classifier;

ie_status ie_classifier_create(const ie_classifier_config *config, uint64_t seed, ie_classifier **out);
void ie_classifier_free(ie_classifier *net);
ie_params *ie_classifier_params(ie_classifier *net);

/* image: [N, C, D, H, W] (2-D: D = 1) or NULL; features: [N, F] or NULL;
 * dropout_rng: used in training when dropout > 0.  -> [N, outputs]. */
ie_status ie_classifier_forward(ie_classifier *net, ie_tensor *image, ie_tensor *features, bool training,
                                const ie_rng *dropout_rng, ie_tensor **out);

#endif
