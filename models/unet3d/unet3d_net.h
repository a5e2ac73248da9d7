/* models/unet3d - InnerEye's UNet3D network, built only on the SDK.
 *
 * Encoder: block i (i = 0..depth) = BasicLayer(conv3x3x3 no bias -> BN -> ReLU,
 * stride 2 for i > 0) then BasicLayer(same, stride 1), residual add around the
 * second; channels f, 2f, ..., 2^depth f.  Decoder, per level: ConvTranspose3d
 * (kernel 4, stride 2, padding 1, bias) -> BN -> ReLU, then a synthesis block:
 * conv(x) + conv(skip) -> BN -> ReLU -> BasicLayer, residual add.  Output:
 * 1x1x1 conv with bias.  Parameter names are InnerEye's state_dict keys.
 *
 * flat (InnerEye's UNet2D, a UNet3D with kernel_size (1, 3, 3),
 * downsampling_factor (1, 2, 2) and downsampling_dilation (1, 2, 2)): convs
 * 1x3x3, strides (1, 2, 2), the second conv of encoder blocks 1..depth
 * dilated (1, 2, 2) with padding (0, 2, 2), transposed convs 1x4x4 with
 * stride (1, 2, 2) and padding (0, 1, 1): every slice is segmented on its own. */
#ifndef IE_MODELS_UNET3D_NET_H
#define IE_MODELS_UNET3D_NET_H

#include "innereye/layers.h"

typedef struct ie_unet3d_config {
    int in_channels;
    int classes;
    int features;   /* f: channels of the top level */
    int depth;      /* num_downsampling_paths */
    bool flat;      /* UNet2D: 1x3x3 kernels, no downsampling along D (see above) */
    /* Levels that halve each axis (D, H, W), 0..depth, the largest = depth;
     * all 0 means depth for every axis.  An axis pooled p < depth times is
     * pooled at the p deepest levels: a thick-slice axis (5 mm against
     * 0.7 mm in-plane) keeps its few slices until the in-plane axes have been
     * coarsened to a comparable spacing, as nnU-Net's planner does.  At a
     * level that does not pool an axis, the strided conv has stride 1 and the
     * transposed conv kernel 1 along it. */
    int pool[3];
    /* Deep supervision (nnU-Net's): a 1x1x1 conv head (with bias, named
     * deep_supervision.<l>) on the decoder's output at each level l =
     * 1..depth-2, where the decoder has halved every pooled axis l times.
     * nnU-Net also has a head at level depth - 1 but weights its loss 0, so
     * it is left out.  Off: the network has exactly InnerEye's parameters. */
    bool deep_supervision;
} ie_unet3d_config;

typedef struct ie_unet3d ie_unet3d;

ie_status ie_unet3d_create(const ie_unet3d_config *config, uint64_t seed, ie_unet3d **out);
void ie_unet3d_free(ie_unet3d *net);
/* The network's parameters and buffers (borrowed). */
ie_params *ie_unet3d_params(ie_unet3d *net);
/* x [N, in_channels, D, H, W] -> logits [N, classes, D, H, W].  Spatial sizes
 * must be multiples of 2^pool[axis] (of 1 along D when flat). */
ie_status ie_unet3d_forward(ie_unet3d *net, ie_tensor *x, bool training, ie_tensor **out);
/* Deep supervision's auxiliary heads: ie_unet3d_aux_count of them (0 when
 * config.deep_supervision is off or depth < 3).  The training forward also
 * returns their logits, finest first: aux[i] at level i + 1, [N, classes,
 * D / 2^p_D, H / 2^p_H, W / 2^p_W] with p the times level i + 1 pooled each
 * axis.  aux has room for ie_unet3d_aux_count entries. */
int ie_unet3d_aux_count(const ie_unet3d *net);
ie_status ie_unet3d_forward_deep(ie_unet3d *net, ie_tensor *x, ie_tensor **out, ie_tensor **aux);

#endif
