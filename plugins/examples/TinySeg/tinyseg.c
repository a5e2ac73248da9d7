/* TinySeg - an InnerEye model plugin: a tiny 3D segmentation network.
 *
 *   image  [N, C, D, H, W]
 *   conv1  3x3x3 convolution, C -> H channels, padding 1   [N, H, D, H, W]
 *   ReLU
 *   conv2  1x1x1 convolution, H -> K channels              [N, K, D, H, W]
 *   = logits, one channel per class (K = the names in data.classes)
 *
 * This file is the whole plugin.  It writes only what a plugin must: create,
 * destroy, parameters and forward.  Every optional entry of the table is left
 * NULL, so the host's defaults apply: the loss named in the config
 * (train.loss), the standard segmentation metrics, the standard loader and
 * augmentations, stacking samples into batches, the configured optimiser.
 *
 * Rules of the boundary (docs/sdk.md has the whole list):
 *  - report failures by returning a status and setting a message with
 *    ie_error_set(); never exit() or abort();
 *  - free only what this plugin allocated; tensors handed out are new
 *    references, tensors and strings handed in are borrowed;
 *  - draw random numbers only from the host's seed (host->seed) and the
 *    ie_rng the host passes, so runs are reproducible.
 *
 * Start your own with `innereye new-plugin NAME DIR`. */
#include <stdlib.h>

#include "innereye/config.h"
#include "innereye/layers.h"
#include "innereye/plugin.h"

/* The network's shape, from the resolved config: model.params.in_channels
 * (default 1) and model.params.hidden_channels (default 8); one output
 * channel per name in data.classes (default 2). */
typedef struct tinyseg_shape {
    int in_channels, hidden_channels, classes;
} tinyseg_shape;

static ie_status read_int(const ie_config *cfg, const char *path, int64_t fallback, int64_t lo, int *out) {
    int64_t v = fallback;
    if (ie_config_has(cfg, path)) IE_TRY(ie_config_get_int(cfg, path, &v));
    if (v < lo || v > 4096)
        return ie_error_set(IE_ERR_CONFIG, "TinySeg: %s is %lld; it must be between %lld and 4096", path,
                            (long long)v, (long long)lo);
    *out = (int)v;
    return IE_OK;
}

static ie_status tinyseg_read_shape(const char *config_json, tinyseg_shape *shape) {
    ie_config *cfg = NULL;
    int names = 0;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_text(cfg, config_json, "resolved config");
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st == IE_OK) st = read_int(cfg, "model.params.in_channels", 1, 1, &shape->in_channels);
    if (st == IE_OK) st = read_int(cfg, "model.params.hidden_channels", 8, 1, &shape->hidden_channels);
    if (st == IE_OK) st = ie_config_get_array_length(cfg, "data.classes", &names);
    shape->classes = names ? names : 2;
    ie_config_free(cfg);
    return st;
}

/* ie_model is opaque to the host: each plugin defines it as it likes. */
struct ie_model {
    tinyseg_shape shape;
    ie_params *params; /* every parameter, by its PyTorch-style name */
    ie_conv_layer conv1, conv2;
};

static void tinyseg_destroy(ie_model *model) {
    if (!model) return;
    ie_conv_layer_destroy(&model->conv1);
    ie_conv_layer_destroy(&model->conv2);
    ie_params_free(model->params);
    free(model);
}

/* Layers register their tensors in model->params as "conv1.weight",
 * "conv1.bias", ...; their initial values depend only on host->seed and the
 * parameter's name, never on the order they are created in. */
static ie_status tinyseg_create(const char *config_json, const ie_host *host, ie_model **out) {
    if (!host) return ie_error_set(IE_ERR_INVALID_ARG, "TinySeg: create needs the host context");
    tinyseg_shape shape;
    IE_TRY(tinyseg_read_shape(config_json, &shape));
    ie_model *model = calloc(1, sizeof *model);
    if (!model) return ie_error_set(IE_ERR_NOMEM, "TinySeg: out of memory creating the model");
    model->shape = shape;
    const ie_conv_layer_spec conv1 = {.dims = 3,
                                      .in_channels = shape.in_channels,
                                      .out_channels = shape.hidden_channels,
                                      .kernel = {3, 3, 3},
                                      .opts = {.padding = {1, 1, 1}},
                                      .bias = true};
    const ie_conv_layer_spec conv2 = {.dims = 3,
                                      .in_channels = shape.hidden_channels,
                                      .out_channels = shape.classes,
                                      .kernel = {1, 1, 1},
                                      .bias = true};
    ie_status st = ie_params_new(&model->params);
    if (st == IE_OK) st = ie_conv_layer_create(&model->conv1, &conv1, model->params, "conv1", host->seed);
    if (st == IE_OK) st = ie_conv_layer_create(&model->conv2, &conv2, model->params, "conv2", host->seed);
    if (st != IE_OK) {
        tinyseg_destroy(model);
        return st; /* the layer's message says what failed */
    }
    *out = model;
    return IE_OK;
}

/* Borrowed by the host (optimiser, checkpoints) until destroy. */
static ie_params *tinyseg_parameters(ie_model *model) { return model->params; }

/* batch->image [N, C, D, H, W] -> logits [N, K, D, H, W].  The ops record
 * their backward, so the host can train this without more code here. */
static ie_status tinyseg_forward(ie_model *model, const ie_batch *batch, bool training, ie_tensor **out) {
    (void)training; /* no dropout or batch norm in this network */
    ie_tensor *image = batch->image;
    if (!image) return ie_error_set(IE_ERR_INVALID_ARG, "TinySeg: the batch has no image");
    if (ie_tensor_ndim(image) != 5 || ie_tensor_dim(image, 1) != model->shape.in_channels) {
        char shape[128];
        return ie_error_set(IE_ERR_SHAPE, "TinySeg: expects images [N, %d, D, H, W], got %s", model->shape.in_channels,
                            ie_tensor_describe(image, shape, sizeof shape));
    }
    ie_tensor *hidden = NULL, *activated = NULL;
    ie_status st = ie_conv_layer_forward(&model->conv1, image, &hidden);
    if (st == IE_OK) st = ie_relu(hidden, &activated);
    if (st == IE_OK) st = ie_conv_layer_forward(&model->conv2, activated, out);
    ie_tensor_release(hidden);
    ie_tensor_release(activated);
    return st;
}

/* The table the host reads.  Fields not named here are NULL: the host's
 * defaults.  struct_size and the ABI version tell the host which header this
 * plugin was compiled against. */
static const ie_plugin tinyseg_plugin = {
    .struct_size = sizeof(ie_plugin),
    .abi_major = IE_PLUGIN_ABI_MAJOR,
    .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = "TinySeg",
    .version = "0.1.0",
    .description = "TinySeg: tiny 3D segmentation net (conv3d 3x3x3, ReLU, conv3d 1x1x1)",
    .task = IE_TASK_SEGMENTATION,
    .create = tinyseg_create,
    .destroy = tinyseg_destroy,
    .parameters = tinyseg_parameters,
    .forward = tinyseg_forward,
};

/* The one exported symbol. */
IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &tinyseg_plugin; }
