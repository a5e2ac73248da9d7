/* MyModel - an InnerEye model plugin: a tiny 3D segmentation network.
 *
 *   image  [N, 1, D, H, W]
 *   conv1  3x3x3 convolution, 1 -> 8 channels, padding 1   [N, 8, D, H, W]
 *   ReLU
 *   conv2  1x1x1 convolution, 8 -> 2 channels              [N, 2, D, H, W]
 *   = logits, one channel per class (background, foreground)
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

#include "innereye/layers.h"
#include "innereye/plugin.h"

/* The network's shape.  TODO: read these from the config's model.params once
 * the SDK offers config accessors; until then they are fixed here. */
enum { MYMODEL_IN_CHANNELS = 1, MYMODEL_HIDDEN_CHANNELS = 8, MYMODEL_CLASSES = 2 };

/* ie_model is opaque to the host: each plugin defines it as it likes. */
struct ie_model {
    ie_params *params; /* every parameter, by its PyTorch-style name */
    ie_conv_layer conv1, conv2;
};

static void mymodel_destroy(ie_model *model) {
    if (!model) return;
    ie_conv_layer_destroy(&model->conv1);
    ie_conv_layer_destroy(&model->conv2);
    ie_params_free(model->params);
    free(model);
}

/* Layers register their tensors in model->params as "conv1.weight",
 * "conv1.bias", ...; their initial values depend only on host->seed and the
 * parameter's name, never on the order they are created in. */
static ie_status mymodel_create(const char *config_json, const ie_host *host, ie_model **out) {
    (void)config_json;
    if (!host) return ie_error_set(IE_ERR_INVALID_ARG, "MyModel: create needs the host context");
    ie_model *model = calloc(1, sizeof *model);
    if (!model) return ie_error_set(IE_ERR_NOMEM, "MyModel: out of memory creating the model");
    const ie_conv_layer_spec conv1 = {.dims = 3,
                                      .in_channels = MYMODEL_IN_CHANNELS,
                                      .out_channels = MYMODEL_HIDDEN_CHANNELS,
                                      .kernel = {3, 3, 3},
                                      .opts = {.padding = {1, 1, 1}},
                                      .bias = true};
    const ie_conv_layer_spec conv2 = {.dims = 3,
                                      .in_channels = MYMODEL_HIDDEN_CHANNELS,
                                      .out_channels = MYMODEL_CLASSES,
                                      .kernel = {1, 1, 1},
                                      .bias = true};
    ie_status st = ie_params_new(&model->params);
    if (st == IE_OK) st = ie_conv_layer_create(&model->conv1, &conv1, model->params, "conv1", host->seed);
    if (st == IE_OK) st = ie_conv_layer_create(&model->conv2, &conv2, model->params, "conv2", host->seed);
    if (st != IE_OK) {
        mymodel_destroy(model);
        return st; /* the layer's message says what failed */
    }
    *out = model;
    return IE_OK;
}

/* Borrowed by the host (optimiser, checkpoints) until destroy. */
static ie_params *mymodel_parameters(ie_model *model) { return model->params; }

/* batch->image [N, 1, D, H, W] -> logits [N, 2, D, H, W].  The ops record
 * their backward, so the host can train this without more code here. */
static ie_status mymodel_forward(ie_model *model, const ie_batch *batch, bool training, ie_tensor **out) {
    (void)training; /* no dropout or batch norm in this network */
    ie_tensor *image = batch->image;
    if (!image) return ie_error_set(IE_ERR_INVALID_ARG, "MyModel: the batch has no image");
    if (ie_tensor_ndim(image) != 5 || ie_tensor_dim(image, 1) != MYMODEL_IN_CHANNELS) {
        char shape[128];
        return ie_error_set(IE_ERR_SHAPE, "MyModel: expects images [N, %d, D, H, W], got %s", MYMODEL_IN_CHANNELS,
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
static const ie_plugin mymodel_plugin = {
    .struct_size = sizeof(ie_plugin),
    .abi_major = IE_PLUGIN_ABI_MAJOR,
    .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = "MyModel",
    .version = "0.1.0",
    .description = "MyModel: tiny 3D segmentation net (conv3d 3x3x3, ReLU, conv3d 1x1x1), 1 channel in, 2 classes",
    .task = IE_TASK_SEGMENTATION,
    .create = mymodel_create,
    .destroy = mymodel_destroy,
    .parameters = mymodel_parameters,
    .forward = mymodel_forward,
};

/* The one exported symbol. */
IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &mymodel_plugin; }
