/* models/unet3d - the UNet3D and UNet2D segmentation models: InnerEye's
 * UNet3D (and UNet2D, the same network with 1x3x3 kernels that segments each
 * slice on its own).  This file is compiled twice: as plugin "UNet3D", and
 * with IE_UNET_2D as plugin "UNet2D".
 *
 * model.params (docs/models.md):
 *   features     channels of the top level, f (InnerEye feature_channels[0]); default 32
 *   depth        downsampling steps (InnerEye num_downsampling_paths); default 4
 *   pool_axes    [D, H, W]: how many of the depth levels halve each axis, each
 *                0..depth with the largest = depth; default [depth, depth,
 *                depth].  An axis pooled fewer times is pooled at the deepest
 *                levels (thick slices, set by `innereye plan`); UNet3D only
 *   in_channels  default: the number of data.image_channels
 *   classes      default: the number of data.classes (background included)
 * data.crop_size and data.test_crop_size must be multiples of 2^pool_axes
 * along each axis (1 along D for UNet2D), and so must data.pad_multiple, the multiple
 * whole volumes are padded to for validation and inference.
 *
 * Only the four required functions, validate_config and forward_deep (deep
 * supervision's auxiliary outputs, when train.deep_supervision is set): the
 * host supplies data loading, augmentation, the loss named in the config and
 * metrics. */
#include <stdio.h>
#include <stdlib.h>

#include "innereye/plugin.h"
#include "models/common/model_params.h"
#include "models/unet3d/unet3d_net.h"

#ifdef IE_UNET_2D
#define MODEL_NAME "UNet2D"
#define FLAT true
#define DESCRIPTION "InnerEye's UNet2D: a UNet3D with 1x3x3 kernels, each slice segmented on its own"
#else
#define MODEL_NAME "UNet3D"
#define FLAT false
#define DESCRIPTION "InnerEye's UNet3D with residual encoder and decoder blocks"
#endif

#define MAX_DEPTH 6

struct ie_model {
    ie_unet3d *net;
};

static ie_status check_sizes(const ie_config *cfg, const ie_unet3d_config *c) {
    int64_t m = (int64_t)1 << c->depth;
    const int64_t multiple[3] = {FLAT ? 1 : (int64_t)1 << c->pool[0], (int64_t)1 << c->pool[1],
                                 (int64_t)1 << c->pool[2]};
    char why[160];
    if (c->pool[0] == c->depth && c->pool[1] == c->depth && c->pool[2] == c->depth)
        snprintf(why, sizeof why, "2^depth, model.params.depth %d", c->depth);
    else
        snprintf(why, sizeof why, "2^pool_axes, model.params.pool_axes [%d, %d, %d]", FLAT ? 0 : c->pool[0],
                 c->pool[1], c->pool[2]);
    IE_TRY(ie_model_check_crop_multiple(cfg, MODEL_NAME, multiple, why));
    snprintf(why, sizeof why, "2^depth, model.params.depth %d", c->depth);
    int64_t pad = 0;
    IE_TRY(ie_config_get_int(cfg, "data.pad_multiple", &pad));
    if (pad % m != 0)
        return ie_error_set(IE_ERR_CONFIG,
                            "%s: data.pad_multiple is %lld; it must be a multiple of %lld (%s) so that whole "
                            "volumes fit the network. Try %lld",
                            MODEL_NAME, (long long)pad, (long long)m, why, (long long)((pad + m - 1) / m * m));
    return IE_OK;
}

static ie_status read_config(const char *config_json, ie_unet3d_config *c) {
    static const char *const known[] = {"features", "depth", "in_channels", "classes", "pool_axes", NULL};
    ie_config *cfg = NULL;
    IE_TRY(ie_model_config_open(config_json, &cfg));
    c->flat = FLAT;
    ie_status st = ie_model_params_check_known(cfg, MODEL_NAME, known);
    if (st == IE_OK) st = ie_model_param_int(cfg, MODEL_NAME, "features", 32, 1, 1024, &c->features);
    if (st == IE_OK) st = ie_model_param_int(cfg, MODEL_NAME, "depth", 4, 1, MAX_DEPTH, &c->depth);
    if (st == IE_OK) {
        const int all[3] = {c->depth, c->depth, c->depth};
        st = ie_model_param_ints(cfg, MODEL_NAME, "pool_axes", all, 3, 0, c->depth, c->pool);
    }
    int most = 0;
    for (int a = FLAT ? 1 : 0; a < 3; a++) most = c->pool[a] > most ? c->pool[a] : most;
    if (st == IE_OK && most != c->depth)
        st = ie_error_set(IE_ERR_CONFIG,
                          "%s: model.params.pool_axes [%d, %d, %d] pools no axis at every one of the %d levels "
                          "(model.params.depth); the largest entry must equal depth, or lower depth",
                          MODEL_NAME, c->pool[0], c->pool[1], c->pool[2], c->depth);
    if (st == IE_OK && FLAT && ie_config_has(cfg, "model.params.pool_axes") && c->pool[0] != 0)
        st = ie_error_set(IE_ERR_CONFIG,
                          "%s: model.params.pool_axes[0] is %d; UNet2D never pools along D, set it to 0 or use "
                          "UNet3D", MODEL_NAME, c->pool[0]);
    if (st == IE_OK)
        st = ie_model_param_from_data(cfg, MODEL_NAME, "in_channels", "data.image_channels", "image channels", 1,
                                      &c->in_channels);
    if (st == IE_OK)
        st = ie_model_param_from_data(cfg, MODEL_NAME, "classes", "data.classes", "classes (background first)", 2,
                                      &c->classes);
    if (st == IE_OK) st = check_sizes(cfg, c);
    if (st == IE_OK) st = ie_config_get_bool(cfg, "train.deep_supervision", &c->deep_supervision);
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
    if (!m) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", MODEL_NAME);
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

/* Deep supervision (ABI 1.4): the heads exist only when the config that
 * created the model sets train.deep_supervision. */
static ie_status forward_deep(ie_model *m, const ie_batch *batch, ie_tensor **out, ie_tensor **aux, int max_aux,
                              int *n_aux) {
    const int n = ie_unet3d_aux_count(m->net);
    *n_aux = 0;
    if (n > max_aux)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: %d auxiliary outputs, the host takes %d", MODEL_NAME, n, max_aux);
    IE_TRY(ie_unet3d_forward_deep(m->net, batch->image, out, aux));
    *n_aux = n;
    return IE_OK;
}

static const ie_plugin plugin = {
    .struct_size = sizeof(ie_plugin),
    .abi_major = IE_PLUGIN_ABI_MAJOR,
    .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = MODEL_NAME,
    .version = "1.0.0",
    .description = DESCRIPTION,
    .task = IE_TASK_SEGMENTATION,
    .create = create,
    .destroy = destroy,
    .parameters = parameters,
    .forward = forward,
    .validate_config = validate_config,
    .forward_deep = forward_deep,
};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &plugin; }
