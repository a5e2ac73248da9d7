/* plugins/broken - working functions and a valid table header shared by the
 * deliberately broken plugins, so that each of their files shows only the
 * one thing that is wrong with it. */
#ifndef IE_PLUGINS_BROKEN_COMMON_H
#define IE_PLUGINS_BROKEN_COMMON_H

#include <stdlib.h>

#include "innereye/ops.h"
#include "innereye/plugin.h"

/* Each broken table overrides one field of BROKEN_VALID_FIELDS: that is the
 * point, not a mistake. */
#pragma GCC diagnostic ignored "-Woverride-init"

struct ie_model {
    ie_params *params;
};

static inline void ok_destroy(ie_model *m) {
    if (!m) return;
    ie_params_free(m->params);
    free(m);
}

static inline ie_status ok_create(const char *config_json, const ie_host *host, ie_model **out) {
    (void)config_json;
    (void)host;
    ie_model *m = calloc(1, sizeof *m);
    if (!m) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = ie_params_new(&m->params);
    if (st != IE_OK) {
        free(m);
        return st;
    }
    *out = m;
    return IE_OK;
}

static inline ie_params *ok_parameters(ie_model *m) { return m->params; }

/* Identity network. */
static inline ie_status ok_forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    (void)m;
    (void)training;
    return ie_mul_scalar(batch->image, 1.0f, out);
}

/* A valid table; a broken plugin overrides one field after it. */
#define BROKEN_VALID_FIELDS(plugin_name)                                                             \
    .struct_size = sizeof(ie_plugin), .abi_major = IE_PLUGIN_ABI_MAJOR, .abi_minor = IE_PLUGIN_ABI_MINOR, \
    .name = plugin_name, .version = "0.0.1", .description = "deliberately broken, for the loader tests",   \
    .task = IE_TASK_SEGMENTATION, .create = ok_create, .destroy = ok_destroy, .parameters = ok_parameters, \
    .forward = ok_forward

#endif
