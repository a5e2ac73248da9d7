/* models/basic - the "Basic" segmentation model: InnerEye's Basic network
 * (basic_net.h), a stack of unpadded, partly dilated 3x3x3 convolutions with
 * residual blocks, which shrinks each axis by 28 voxels.
 *
 * model.params (docs/models.md):
 *   feature_channels  8 channel counts (InnerEye feature_channels); default [16] * 8
 *   in_channels       default: the number of data.image_channels
 *   classes           default: the number of data.classes (background included)
 * data.crop_size must be at least 29 along every axis.
 *
 * As in InnerEye: in training the logits cover the centre of the crop (28
 * voxels smaller along each axis; the host's loss compares them with the
 * centre of the labels).  In evaluation (validation, inference) the input is
 * first padded by 14 voxels per side repeating its edge voxels (InnerEye's
 * PaddingMode.Edge), so the logits cover the whole input. */
#include <stdlib.h>

#include "innereye/plugin.h"
#include "models/basic/basic_net.h"
#include "models/common/model_params.h"

#define MODEL_NAME "Basic"

struct ie_model {
    ie_basic_net *net;
};

static ie_status read_config(const char *config_json, ie_basic_config *c) {
    static const char *const known[] = {"feature_channels", "in_channels", "classes", NULL};
    static const int default_features[IE_BASIC_FEATURES] = {16, 16, 16, 16, 16, 16, 16, 16};
    ie_config *cfg = NULL;
    IE_TRY(ie_model_config_open(config_json, &cfg));
    ie_status st = ie_model_params_check_known(cfg, MODEL_NAME, known);
    if (st == IE_OK)
        st = ie_model_param_ints(cfg, MODEL_NAME, "feature_channels", default_features, IE_BASIC_FEATURES, 1, 1024,
                                 c->features);
    if (st == IE_OK)
        st = ie_model_param_from_data(cfg, MODEL_NAME, "in_channels", "data.image_channels", "image channels", 1,
                                      &c->in_channels);
    if (st == IE_OK)
        st = ie_model_param_from_data(cfg, MODEL_NAME, "classes", "data.classes", "classes (background first)", 2,
                                      &c->classes);
    if (st == IE_OK)
        st = ie_model_check_crop_minimum(cfg, MODEL_NAME, IE_BASIC_SHRINKAGE + 1,
                                         "the network's unpadded convolutions take 28 voxels from each axis");
    ie_config_free(cfg);
    return st;
}

static ie_status validate_config(const char *config_json) {
    ie_basic_config c = {0};
    return read_config(config_json, &c);
}

static ie_status create(const char *config_json, const ie_host *host, ie_model **out) {
    ie_basic_config c = {0};
    IE_TRY(read_config(config_json, &c));
    ie_model *m = calloc(1, sizeof *m);
    if (!m) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", MODEL_NAME);
    ie_status st = ie_basic_create(&c, host->seed, &m->net);
    if (st != IE_OK) {
        free(m);
        return st;
    }
    *out = m;
    return IE_OK;
}

static void destroy(ie_model *m) {
    if (!m) return;
    ie_basic_free(m->net);
    free(m);
}

static ie_params *parameters(ie_model *m) { return ie_basic_params(m->net); }

static ie_status forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    if (training) return ie_basic_forward(m->net, batch->image, true, out);
    ie_tensor *padded = NULL;
    IE_TRY(ie_basic_pad_edges(batch->image, &padded));
    ie_status st = ie_basic_forward(m->net, padded, false, out);
    ie_tensor_release(padded);
    return st;
}

static const ie_plugin plugin = {
    .struct_size = sizeof(ie_plugin),
    .abi_major = IE_PLUGIN_ABI_MAJOR,
    .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = MODEL_NAME,
    .version = "1.0.0",
    .description = "InnerEye's Basic network: unpadded dilated convolutions with residual blocks",
    .task = IE_TASK_SEGMENTATION,
    .create = create,
    .destroy = destroy,
    .parameters = parameters,
    .forward = forward,
    .validate_config = validate_config,
};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &plugin; }
