/* plugins/abi - a plugin compiled against the frozen ABI 1.3 header
 * (tests/abi/v1_3/innereye/plugin.h), the last minor before forward_deep
 * (1.4): the host of a newer minor must load it, find its validate_config,
 * run it, and see no forward_deep.
 *
 * The model is a per-channel affine map, out = image * scale + shift, with
 * scale = 3 and shift = -1, so the test knows the exact output; its
 * validate_config refuses a config with "refuse" in it. */
#include <stdlib.h>
#include <string.h>

#include "innereye/ops.h"
#include "innereye/plugin.h"

#if IE_PLUGIN_ABI_MINOR != 3
#error "v1_3_plugin.c must be compiled against tests/abi/v1_3/innereye/plugin.h"
#endif

enum { V1_3_CHANNELS = 2 };

struct ie_model {
    ie_params *params;
    ie_tensor *scale, *shift; /* [C] */
};

static void v1_3_destroy(ie_model *m) {
    if (!m) return;
    ie_tensor_release(m->scale);
    ie_tensor_release(m->shift);
    ie_params_free(m->params);
    free(m);
}

static ie_status v1_3_create(const char *config_json, const ie_host *host, ie_model **out) {
    (void)config_json;
    (void)host;
    ie_model *m = calloc(1, sizeof *m);
    if (!m) return ie_error_set(IE_ERR_NOMEM, "AbiV1_3: out of memory");
    const int64_t shape[1] = {V1_3_CHANNELS};
    ie_status st = ie_params_new(&m->params);
    if (st == IE_OK) st = ie_tensor_full(1, shape, 3.0f, &m->scale);
    if (st == IE_OK) st = ie_tensor_full(1, shape, -1.0f, &m->shift);
    if (st == IE_OK) st = ie_params_add(m->params, "scale", m->scale, IE_PARAM);
    if (st == IE_OK) st = ie_params_add(m->params, "shift", m->shift, IE_PARAM);
    if (st != IE_OK) {
        v1_3_destroy(m);
        return st;
    }
    *out = m;
    return IE_OK;
}

static ie_params *v1_3_parameters(ie_model *m) { return m->params; }

static ie_status v1_3_forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    (void)training;
    if (!batch->image) return ie_error_set(IE_ERR_INVALID_ARG, "AbiV1_3: the batch has no image");
    ie_tensor *scaled = NULL;
    IE_TRY(ie_mul(batch->image, m->scale, &scaled));
    ie_status st = ie_add(scaled, m->shift, out);
    ie_tensor_release(scaled);
    return st;
}

static ie_status v1_3_validate_config(const char *config_json) {
    if (strstr(config_json, "refuse"))
        return ie_error_set(IE_ERR_CONFIG, "AbiV1_3: this config asks to be refused");
    return IE_OK;
}

static const ie_plugin v1_3 = {
    .struct_size = sizeof(ie_plugin),
    .abi_major = IE_PLUGIN_ABI_MAJOR,
    .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = "AbiV1_3",
    .version = "1.3.0",
    .description = "built against the frozen plugin ABI 1.3 header",
    .task = IE_TASK_SEGMENTATION,
    .create = v1_3_create,
    .destroy = v1_3_destroy,
    .parameters = v1_3_parameters,
    .forward = v1_3_forward,
    .validate_config = v1_3_validate_config,
};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &v1_3; }
