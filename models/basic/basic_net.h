/* models/basic - InnerEye's "Basic" segmentation network (the ComplexModel
 * that InnerEye-DeepLearning's build_net makes for architecture="Basic"),
 * built only on the SDK.
 *
 * Channels ch = [in_channels, features[0..7], classes]; every conv is
 * unpadded, has a bias, and is followed by BatchNorm ("BasicLayer"):
 *   _layers.0  conv 3x3x3 ch0 -> ch1, BN, ReLU
 *   _layers.1  conv 3x3x3 ch1 -> ch2, BN, ReLU
 *   _layers.2  residual block ch2 -> ch3 -> ch4 (dilation 2)
 *   _layers.3  residual block ch4 -> ch5 -> ch6 (dilation 2)
 *   _layers.4  residual block ch6 -> ch7 -> ch8 (dilation 2)
 *   _layers.5  conv 1x1x1 ch8 -> classes, bias
 * Residual block: layers.0 (conv, BN, ReLU), layers.1 (conv, BN), plus the
 * block's input cropped by 4 voxels per side (through `conv`, a 1x1x1 conv +
 * BN, when the channel count changes), then ReLU.  As in InnerEye, whose
 * block copies its input with torch.tensor(x), the residual path carries no
 * gradient.  Each axis shrinks by 28 voxels (IE_BASIC_SHRINKAGE).
 *
 * Parameter names are InnerEye's state_dict keys (_layers.0.conv1.weight,
 * _layers.2.layers.0.bn1.running_mean, _layers.3.conv.conv1.weight, ...).
 * Initialisation as InnerEye's: conv weights N(0, 0.01), conv biases 0
 * (the last conv's bias: torch's default), BatchNorm weight 1, bias 0. */
#ifndef IE_MODELS_BASIC_NET_H
#define IE_MODELS_BASIC_NET_H

#include "innereye/layers.h"

#define IE_BASIC_FEATURES 8
#define IE_BASIC_SHRINKAGE 28 /* voxels lost along each axis */

typedef struct ie_basic_config {
    int in_channels;
    int classes;
    int features[IE_BASIC_FEATURES]; /* InnerEye's feature_channels */
} ie_basic_config;

typedef struct ie_basic_net ie_basic_net;

ie_status ie_basic_create(const ie_basic_config *config, uint64_t seed, ie_basic_net **out);
void ie_basic_free(ie_basic_net *net);
/* The network's parameters and buffers (borrowed). */
ie_params *ie_basic_params(ie_basic_net *net);
/* x [N, in_channels, D, H, W], each spatial size > 28 ->
 * logits [N, classes, D - 28, H - 28, W - 28]. */
ie_status ie_basic_forward(ie_basic_net *net, ie_tensor *x, bool training, ie_tensor **out);
/* x [N, C, D, H, W] -> [N, C, D + 28, H + 28, W + 28], 14 voxels per side
 * repeating the edge voxels (InnerEye's PaddingMode.Edge), so that the
 * network's output covers the whole input.  A new tensor without history. */
ie_status ie_basic_pad_edges(ie_tensor *x, ie_tensor **out);

#endif
