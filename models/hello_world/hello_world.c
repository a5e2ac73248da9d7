/* models/hello_world - the HelloWorld segmentation model: a small InnerEye
 * UNet3D.  It is the model `make run` trains, and the smallest complete
 * example of a built-in plugin: only the four required functions; the host
 * supplies data loading, augmentation, loss, metrics and the optimiser.
 *
 * model.params (all optional): features (default 8), depth (default 3),
 * in_channels (1), classes (3). */
#include <stdlib.h>

#include "innereye/config.h"
#include "innereye/plugin.h"
#include "models/common/model_params.h"
#include "models/unet3d/unet3d_net.h"

struct ie_model {
    ie_unet3d *net;
};

static ie_status read_config(const char *config_json, ie_unet3d_config *c) {
    static const char *const known[] = {"features", "depth", "in_channels", "classes", NULL};
    ie_config *cfg = NULL;
    IE_TRY(ie_model_config_open(config_json, &cfg));
    ie_status st = ie_model_params_check_known(cfg, "HelloWorld", known);
    if (st == IE_OK) st = ie_model_param_int(cfg, "HelloWorld", "features", 8, 1, 256, &c->features);
    if (st == IE_OK) st = ie_model_param_int(cfg, "HelloWorld", "depth", 3, 1, 6, &c->depth);
    if (st == IE_OK) st = ie_model_param_int(cfg, "HelloWorld", "in_channels", 1, 1, 64, &c->in_channels);
    if (st == IE_OK) st = ie_model_param_int(cfg, "HelloWorld", "classes", 3, 2, 256, &c->classes);
    ie_config_free(cfg);
    return st;
}

static ie_status validate_config(const char *config_json) {
    ie_unet3d_config c = {0};
    return read_config(config_json, &c);
}

static ie_status create(const char *config_json, const ie_host *host, ie_model **out) {
    ie_unet3d_config c = {0};
    IE_TRY(read_config(config_json, &c));
    ie_model *m = calloc(1, sizeof *m);
    if (!m) return ie_error_set(IE_ERR_NOMEM, "HelloWorld: out of memory");
    ie_status st = ie_unet3d_create(&c, host->seed, &m->net);
    if (st != IE_OK) {
        free(m);
        return st;
    }
    *out = m;
    return IE_OK;
}

static void destroy(ie_model *m) {
    if (!m) return;
    ie_unet3d_free(m->net);
    free(m);
}

static ie_params *parameters(ie_model *m) { return ie_unet3d_params(m->net); }

static ie_status forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    return ie_unet3d_forward(m->net, batch->image, training, out);
}

static const ie_plugin plugin = {
    .struct_size = sizeof(ie_plugin),
    .abi_major = IE_PLUGIN_ABI_MAJOR,
    .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = "HelloWorld",
    .version = "1.0.0",
    .description = "A small InnerEye UNet3D for a first training run (segmentation)",
    .task = IE_TASK_SEGMENTATION,
    .create = create,
    .destroy = destroy,
    .parameters = parameters,
    .forward = forward,
    .validate_config = validate_config,
};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &plugin; }
