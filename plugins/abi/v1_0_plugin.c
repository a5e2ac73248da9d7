/* plugins/abi - a plugin compiled against the frozen ABI 1.0 header
 * (tests/abi/v1_0/innereye/plugin.h): the host of a newer minor must load it,
 * see its optional 1.1 functions as NULL, and run it.
 *
 * The model is a per-channel affine map, out = image * scale + shift, with
 * scale = 2 and shift = 0.5, so the test knows the exact output. */
#include <stdlib.h>

#include "innereye/ops.h"
#include "innereye/plugin.h"

#if IE_PLUGIN_ABI_MINOR != 0
#error "v1_0_plugin.c must be compiled against tests/abi/v1_0/innereye/plugin.h"
#endif

enum { V1_0_CHANNELS = 2 };

struct ie_model {
    ie_params *params;
    ie_tensor *scale, *shift; /* [C] */
};

static void v1_0_destroy(ie_model *m) {
    if (!m) return;
    ie_tensor_release(m->scale);
    ie_tensor_release(m->shift);
    ie_params_free(m->params);
    free(m);
}

static ie_status v1_0_create(const char *config_json, const ie_host *host, ie_model **out) {
    (void)config_json;
    (void)host;
    ie_model *m = calloc(1, sizeof *m);
    if (!m) return ie_error_set(IE_ERR_NOMEM, "AbiV1_0: out of memory");
    const int64_t shape[1] = {V1_0_CHANNELS};
    ie_status st = ie_params_new(&m->params);
    if (st == IE_OK) st = ie_tensor_full(1, shape, 2.0f, &m->scale);
    if (st == IE_OK) st = ie_tensor_full(1, shape, 0.5f, &m->shift);
    if (st == IE_OK) st = ie_params_add(m->params, "scale", m->scale, IE_PARAM);
    if (st == IE_OK) st = ie_params_add(m->params, "shift", m->shift, IE_PARAM);
    if (st != IE_OK) {
        v1_0_destroy(m);
        return st;
    }
    *out = m;
    return IE_OK;
}

static ie_params *v1_0_parameters(ie_model *m) { return m->params; }

static ie_status v1_0_forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    (void)training;
    if (!batch->image) return ie_error_set(IE_ERR_INVALID_ARG, "AbiV1_0: the batch has no image");
    ie_tensor *scaled = NULL;
    IE_TRY(ie_mul(batch->image, m->scale, &scaled));
    ie_status st = ie_add(scaled, m->shift, out);
    ie_tensor_release(scaled);
    return st;
}

static ie_status v1_0_read_past_table(const char *config_json) {
    (void)config_json;
    return ie_error_set(IE_ERR_INTERNAL, "AbiV1_0: the host read past the end of this ABI 1.0 table");
}

/* What follows the 1.0 table in memory is, by construction, a function where
 * the 1.1 host expects validate_config: a host that read past struct_size
 * would find it instead of NULL. */
static const struct {
    ie_plugin table;
    ie_status (*after_table)(const char *config_json);
} v1_0 = {
    .table =
        {
            .struct_size = sizeof(ie_plugin),
            .abi_major = IE_PLUGIN_ABI_MAJOR,
            .abi_minor = IE_PLUGIN_ABI_MINOR,
            .name = "AbiV1_0",
            .version = "1.0.0",
            .description = "built against the frozen plugin ABI 1.0 header",
            .task = IE_TASK_SEGMENTATION,
            .create = v1_0_create,
            .destroy = v1_0_destroy,
            .parameters = v1_0_parameters,
            .forward = v1_0_forward,
        },
    .after_table = v1_0_read_past_table,
};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &v1_0.table; }
