/* innereye/layers.h - parameterised building blocks for models.
 *
 * A layer owns its tensors, registers them in the model's ie_params under
 * "<prefix>.weight", "<prefix>.bias", ... (PyTorch state_dict names), and is
 * initialised as PyTorch initialises the same module, with numbers drawn from
 * the counter-based generator keyed by (seed, IE_STREAM_INIT, hash of the
 * parameter's name): a parameter's initial value depends only on the run seed
 * and its name, never on creation order or thread count. */
#ifndef INNEREYE_LAYERS_H
#define INNEREYE_LAYERS_H

#include "innereye/api.h"

#include "innereye/ops.h"
#include "innereye/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ie_conv_layer {
    ie_tensor *weight; /* [Cout, Cin, k...] or, transposed, [Cin, Cout, k...] */
    ie_tensor *bias;   /* [Cout] or NULL */
    ie_conv_opts opts;
    int dims;          /* 2 or 3 */
    bool transposed;
} ie_conv_layer;

typedef struct ie_conv_layer_spec {
    int dims;           /* 2 or 3 */
    bool transposed;
    int in_channels, out_channels;
    int kernel[3];      /* 2D reads the first two */
    ie_conv_opts opts;
    bool bias;
} ie_conv_layer_spec;

IE_API ie_status ie_conv_layer_create(ie_conv_layer *layer, const ie_conv_layer_spec *spec,
                               ie_params *params, const char *prefix, uint64_t seed);
IE_API ie_status ie_conv_layer_forward(const ie_conv_layer *layer, ie_tensor *x, ie_tensor **out);
IE_API void ie_conv_layer_destroy(ie_conv_layer *layer);

typedef struct ie_batch_norm_layer {
    ie_tensor *weight, *bias, *running_mean, *running_var, *num_batches_tracked;
    float momentum, eps;
} ie_batch_norm_layer;

/* weight 1, bias 0, running mean 0, running var 1, momentum 0.1, eps 1e-5
 * (torch.nn.BatchNorm defaults). */
IE_API ie_status ie_batch_norm_layer_create(ie_batch_norm_layer *layer, int channels, ie_params *params,
                                     const char *prefix);
IE_API ie_status ie_batch_norm_layer_forward(const ie_batch_norm_layer *layer, ie_tensor *x, bool training,
                                      ie_tensor **out);
/* The layer followed by ReLU (ie_batch_norm_relu: same bytes, less memory). */
IE_API ie_status ie_batch_norm_layer_forward_relu(const ie_batch_norm_layer *layer, ie_tensor *x, bool training,
                                           ie_tensor **out);
IE_API void ie_batch_norm_layer_destroy(ie_batch_norm_layer *layer);

typedef struct ie_linear_layer {
    ie_tensor *weight; /* [out, in] */
    ie_tensor *bias;   /* [out] or NULL */
} ie_linear_layer;

IE_API ie_status ie_linear_layer_create(ie_linear_layer *layer, int in_features, int out_features, bool bias,
                                 ie_params *params, const char *prefix, uint64_t seed);
IE_API ie_status ie_linear_layer_forward(const ie_linear_layer *layer, ie_tensor *x, ie_tensor **out);
IE_API void ie_linear_layer_destroy(ie_linear_layer *layer);

/* The generator item of a parameter: a 32-bit FNV-1a hash of its name. */
IE_API uint32_t ie_param_item(const char *name);

#ifdef __cplusplus
}
#endif
#endif
