/* models/classifier - the Classifier model: classification (binary,
 * multi-label, multi-class) and regression from 2-D or 3-D images, non-image
 * features, or both (network in classifier_net.h).  The host supplies the
 * data (core/data/classification_regression_hooks.h), loss, metrics and optimiser; what the
 * model's inputs and outputs are comes from the host in
 * model.params.inputs ({"image_shape": [C, D, H, W] or [], "features": F,
 * "outputs": K}); one plugin serves every scalar target by its config.
 *
 * model.params (all optional):
 *   widths           [16, 32, 64]  conv widths, one block each (depth = length)
 *   convs_per_block  1             convs of a plain block (1..4)
 *   residual         false         ResNet basic blocks (two convs and a skip)
 *   kernel           3             conv kernel size (odd)
 *   dims             0             2 or 3; 0: 2 when the images have D = 1
 *   hidden           [64]          hidden sizes of the MLP head ([] = linear)
 *   dropout          0             dropout after each hidden layer, in [0, 1)
 * Dropout masks are keyed by the run seed and a hash of the batch's subject
 * names, so they repeat exactly after a resume. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "innereye/config.h"
#include "innereye/plugin.h"
#include "models/classifier/classifier_net.h"
#include "models/common/model_params.h"

struct ie_model {
    ie_classifier *net;
    uint64_t seed;
};

static ie_status read_int(const ie_config *cfg, const char *key, int64_t fallback, int64_t lo, int64_t hi,
                          int *out) {
    char path[128];
    snprintf(path, sizeof path, "model.params.%s", key);
    int64_t v = fallback;
    if (ie_config_has(cfg, path)) IE_TRY(ie_config_get_int(cfg, path, &v));
    if (v < lo || v > hi)
        return ie_error_set(IE_ERR_CONFIG, "Classifier: %s is %lld; it must be between %lld and %lld", path,
                            (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return IE_OK;
}

static ie_status read_ints(const ie_config *cfg, const char *key, const int *fallback, int n_fallback, int max,
                           int lo, int *out, int *n) {
    char path[128];
    snprintf(path, sizeof path, "model.params.%s", key);
    if (!ie_config_has(cfg, path)) {
        memcpy(out, fallback, (size_t)n_fallback * sizeof *out);
        *n = n_fallback;
        return IE_OK;
    }
    int64_t v[16];
    IE_TRY(ie_config_get_array_length(cfg, path, n));
    if (*n > max) return ie_error_set(IE_ERR_CONFIG, "Classifier: %s has %d entries; at most %d", path, *n, max);
    IE_TRY(ie_config_get_int_array(cfg, path, v, 16, n));
    for (int i = 0; i < *n; i++) {
        if (v[i] < lo || v[i] > 4096)
            return ie_error_set(IE_ERR_CONFIG, "Classifier: %s[%d] is %lld; it must be between %d and 4096", path, i,
                                (long long)v[i], lo);
        out[i] = (int)v[i];
    }
    return IE_OK;
}

/* The model's own settings (no inputs needed: validate_config uses this). */
static ie_status read_settings(const ie_config *cfg, ie_classifier_config *c) {
    static const int widths[] = {16, 32, 64}, hidden[] = {64};
    static const char *const known[] = {"widths", "convs_per_block", "residual", "kernel", "dims", "hidden",
                                        "dropout", "inputs", NULL};
    IE_TRY(ie_model_params_check_known(cfg, "Classifier", known));
    IE_TRY(read_ints(cfg, "widths", widths, 3, IE_CLASSIFIER_MAX_BLOCKS, 1, c->widths, &c->n_blocks));
    IE_TRY(read_ints(cfg, "hidden", hidden, 1, IE_CLASSIFIER_MAX_HIDDEN, 1, c->hidden, &c->n_hidden));
    IE_TRY(read_int(cfg, "convs_per_block", 1, 1, 4, &c->convs_per_block));
    IE_TRY(read_int(cfg, "kernel", 3, 1, 7, &c->kernel));
    if (c->kernel % 2 == 0)
        return ie_error_set(IE_ERR_CONFIG, "Classifier: model.params.kernel is %d; it must be odd", c->kernel);
    IE_TRY(read_int(cfg, "dims", 0, 0, 3, &c->dims));
    if (c->dims == 1) return ie_error_set(IE_ERR_CONFIG, "Classifier: model.params.dims must be 0, 2 or 3");
    c->residual = false;
    if (ie_config_has(cfg, "model.params.residual")) IE_TRY(ie_config_get_bool(cfg, "model.params.residual", &c->residual));
    double dropout = 0;
    if (ie_config_has(cfg, "model.params.dropout")) IE_TRY(ie_config_get_number(cfg, "model.params.dropout", &dropout));
    if (!(dropout >= 0 && dropout < 1))
        return ie_error_set(IE_ERR_CONFIG, "Classifier: model.params.dropout is %g; it must be in [0, 1)", dropout);
    c->dropout = (float)dropout;
    return IE_OK;
}

/* What the host says about the inputs (model.params.inputs). */
static ie_status read_inputs(const ie_config *cfg, ie_classifier_config *c) {
    if (!ie_config_has(cfg, "model.params.inputs.outputs"))
        return ie_error_set(IE_ERR_CONFIG, "Classifier: model.params.inputs is missing; the host fills it for "
                                           "classification and regression runs (innereye train)");
    int64_t shape[4] = {0, 0, 0, 0}, v = 0;
    int n = 0;
    IE_TRY(ie_config_get_int_array(cfg, "model.params.inputs.image_shape", shape, 4, &n));
    if (n != 0 && n != 4)
        return ie_error_set(IE_ERR_CONFIG, "Classifier: model.params.inputs.image_shape must be [C, D, H, W] or []");
    c->in_channels = n ? (int)shape[0] : 0;
    IE_TRY(ie_config_get_int(cfg, "model.params.inputs.features", &v));
    c->features = (int)v;
    IE_TRY(ie_config_get_int(cfg, "model.params.inputs.outputs", &v));
    c->outputs = (int)v;
    if (c->dims == 0) c->dims = n && shape[1] == 1 ? 2 : 3;
    if (c->dims == 2 && n && shape[1] != 1)
        return ie_error_set(IE_ERR_CONFIG, "Classifier: model.params.dims is 2 but the images are 3-D (%lld slices)",
                            (long long)shape[1]);
    /* Each pooling halves the image: it must stay at least 1 voxel. */
    for (int a = c->dims == 2 ? 2 : 1; n && a < 4; a++)
        if (shape[a] >> (c->n_blocks - 1) < 1)
            return ie_error_set(IE_ERR_CONFIG, "Classifier: %d blocks pool the image %d times, too often for its "
                                               "size %lld along axis %d; use fewer widths",
                                c->n_blocks, c->n_blocks - 1, (long long)shape[a], a - 1);
    return IE_OK;
}

static ie_status parse(const char *config_json, ie_classifier_config *c, bool with_inputs) {
    ie_config *cfg = NULL;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_text(cfg, config_json, "resolved config");
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st == IE_OK) st = read_settings(cfg, c);
    if (st == IE_OK && with_inputs) st = read_inputs(cfg, c);
    ie_config_free(cfg);
    return st;
}

static ie_status validate_config(const char *config_json) {
    ie_classifier_config c = {0};
    return parse(config_json, &c, false);
}

static ie_status create(const char *config_json, const ie_host *host, ie_model **out) {
    ie_classifier_config c = {0};
    IE_TRY(parse(config_json, &c, true));
    ie_model *m = calloc(1, sizeof *m);
    if (!m) return ie_error_set(IE_ERR_NOMEM, "Classifier: out of memory");
    m->seed = host->seed;
    ie_status st = ie_classifier_create(&c, host->seed, &m->net);
    if (st != IE_OK) {
        free(m);
        return st;
    }
    *out = m;
    return IE_OK;
}

static void destroy(ie_model *m) {
    if (!m) return;
    ie_classifier_free(m->net);
    free(m);
}

static ie_params *parameters(ie_model *m) { return ie_classifier_params(m->net); }

static ie_status forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    uint32_t h = 2166136261u; /* FNV-1a over the batch's subjects: the dropout key */
    for (int i = 0; i < batch->count && batch->subjects; i++)
        for (const char *p = batch->subjects[i]; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    ie_rng rng = ie_rng_make(m->seed, IE_STREAM_DROPOUT, 0, h);
    return ie_classifier_forward(m->net, batch->image, batch->features, training, &rng, out);
}

static const ie_plugin plugin = {
    .struct_size = sizeof(ie_plugin),
    .abi_major = IE_PLUGIN_ABI_MAJOR,
    .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = "Classifier",
    .version = "1.0.0",
    .description = "CNN encoder (2-D/3-D, plain or residual) + MLP head over image and non-image features: "
                   "classification and regression",
    .task = IE_TASK_CLASSIFICATION,
    .create = create,
    .destroy = destroy,
    .parameters = parameters,
    .forward = forward,
    .validate_config = validate_config,
};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &plugin; }
