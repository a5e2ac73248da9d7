/* models/hello_world - the HelloWorld segmentation model: a small InnerEye
 * UNet3D.  It is the model `make run` trains, and the smallest complete
 * example of a built-in plugin: only the four required functions; the host
 * supplies data loading, augmentation, loss, metrics and the optimiser.
 *
 * model.params (all optional): features (default 8), depth (default 3),
 * in_channels (1), classes (3). */
#include <stdio.h>
#include <stdlib.h>

#include "innereye/config.h"
#include "innereye/plugin.h"
#include "models/unet3d/unet3d_net.h"

struct ie_model {
    ie_unet3d *net;
};

static ie_status read_param(const ie_config *cfg, const char *key, int64_t fallback, int64_t lo, int64_t hi,
                            int *out) {
    char path[128];
    snprintf(path, sizeof path, "model.params.%s", key);
    int64_t v = fallback;
    if (ie_config_has(cfg, path)) IE_TRY(ie_config_get_int(cfg, path, &v));
    if (v < lo || v > hi)
        return ie_error_set(IE_ERR_CONFIG, "HelloWorld: %s is %lld; it must be between %lld and %lld", path,
                            (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return IE_OK;
}

static ie_status read_config(const char *config_json, ie_unet3d_config *c) {
    ie_config *cfg = NULL;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_text(cfg, config_json, "resolved config");
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st == IE_OK) st = read_param(cfg, "features", 8, 1, 256, &c->features);
    if (st == IE_OK) st = read_param(cfg, "depth", 3, 1, 6, &c->depth);
    if (st == IE_OK) st = read_param(cfg, "in_channels", 1, 1, 64, &c->in_channels);
    if (st == IE_OK) st = read_param(cfg, "classes", 3, 2, 256, &c->classes);
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
