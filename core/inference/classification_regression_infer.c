/* core/inference - classification and regression: outputs to predictions,
 * and one trained model opened and run over a dataset (classification_regression_infer.h). */
#include "core/plugin/guard.h"
#include "core/inference/classification_regression_infer.h"
#include "core/util/path.h"
#include "core/util/progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/safetensors.h"
#include "core/data/sample_util.h"
#include "core/data/classification_regression_statistics.h"
#include "core/plugin/host.h"
#include "core/plugin/model_settings.h"
#include "core/run/run_settings.h"
#include "core/util/file_util.h"
#include "core/util/sha256.h"
#include "innereye/autograd.h"
#include "innereye/ops.h"

/* ---- outputs -> predictions ---- */

ie_status ie_scalar_outputs_check(const ie_scalar_data *d, const ie_tensor *output, int batch_count) {
    int K = ie_scalar_data_output_count(d);
    char desc[64];
    if (ie_tensor_ndim(output) != 2 || ie_tensor_dim(output, 0) != batch_count || ie_tensor_dim(output, 1) != K)
        return ie_error_set(IE_ERR_SHAPE, "the model's output is %s; %s targets need [%d, %d] (batch, outputs)",
                            ie_tensor_describe(output, desc, sizeof desc),
                            ie_scalar_target_name(ie_scalar_data_config(d)->target), batch_count, K);
    return IE_OK;
}

ie_status ie_scalar_outputs_map(const ie_loaded_plugin *plugin, ie_model *model, const ie_scalar_data *d,
                                ie_tensor *output, ie_tensor **out) {
    ie_scalar_target target = ie_scalar_data_config(d)->target;
    if (plugin->table.postprocess)
        return IE_GUARDED(plugin, "postprocess", plugin->table.postprocess(model, output, out));
    if (target == IE_TARGET_BINARY) return ie_sigmoid(output, out);
    if (target == IE_TARGET_MULTICLASS) return ie_softmax(output, 1, out);
    IE_TRY(ie_tensor_clone(output, out));
    int K = ie_scalar_data_output_count(d);
    float *y = ie_tensor_data_f32(*out);
    for (int64_t i = 0; i < ie_tensor_numel(*out); i++) {
        double scale, offset;
        ie_scalar_data_target_scale(d, (int)(i % K), &scale, &offset);
        y[i] = (float)(y[i] * scale + offset);
    }
    return IE_OK;
}

/* ---- opening a model ---- */

/* The config create() receives: the run's, plus model.params.inputs exactly
 * as the trainer described them. */
static ie_status model_config(const ie_scalar_model *m, char **out) {
    *out = NULL;
    int64_t shape[4];
    ie_scalar_data_image_shape(m->data, shape);
    cJSON *root = cJSON_Parse(ie_config_text(m->cfg));
    cJSON *model = root ? cJSON_GetObjectItemCaseSensitive(root, "model") : NULL;
    cJSON *params = model ? cJSON_GetObjectItemCaseSensitive(model, "params") : NULL;
    if (model && !params) params = cJSON_AddObjectToObject(model, "params");
    ie_status st = params ? ie_scalar_describe_inputs(m->data, shape, params)
                          : ie_error_set(IE_ERR_CONFIG, "%s has no model section", m->config_path);
    if (st == IE_OK) *out = cJSON_PrintUnformatted(root);
    if (st == IE_OK && !*out) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    cJSON_Delete(root);
    return st;
}

static ie_status read_settings(ie_scalar_model *m) {
    IE_TRY(ie_loader_settings_read(m->cfg, &m->loader));
    if (m->loader.batch_size < 1) m->loader.batch_size = 1;
    ie_run_settings run;
    IE_TRY(ie_run_settings_read(m->cfg, &run));
    m->seed = run.seed;
    return IE_OK;
}

static ie_status load_weights(ie_scalar_model *m) {
    ie_guard_enter(m->plugin, "parameters");
    ie_params *params = m->plugin->table.parameters(m->model);
    ie_guard_leave();
    if (!params) return ie_error_set(IE_ERR_PLUGIN, "%s: parameters() returned NULL", m->plugin->path);
    ie_params *saved = NULL;
    IE_TRY(ie_safetensors_read(m->weights, &saved));
    ie_status st = ie_params_copy_from(params, saved, m->weights, 1);
    ie_params_free(saved);
    return st;
}

ie_status ie_scalar_model_open(const char *config_path, const char *statistics_path, const char *weights_path,
                               int epoch, const char *run_dir, const ie_dataset *ds, bool require_labels,
                               ie_scalar_model *out) {
    memset(out, 0, sizeof *out);
    ie_scalar_model *m = out;
    m->epoch = epoch;
    ie_model_settings model;
    ie_status st = ie_path_format(m->config_path, sizeof m->config_path, "%s", config_path);
    if (st == IE_OK) st = ie_path_format(m->statistics, sizeof m->statistics, "%s", statistics_path);
    if (st == IE_OK) st = ie_path_format(m->weights, sizeof m->weights, "%s", weights_path);
    if (st == IE_OK) st = ie_path_format(m->run_dir, sizeof m->run_dir, "%s", run_dir ? run_dir : "");
    if (st == IE_OK) st = ie_config_new(&m->cfg);
    if (st == IE_OK) st = ie_config_add_file(m->cfg, config_path);
    if (st == IE_OK) st = ie_config_resolve(m->cfg);
    if (st != IE_OK && m->cfg && ie_config_problems(m->cfg)[0])
        st = ie_error_set(IE_ERR_CONFIG, "%s has problems:\n%s", config_path, ie_config_problems(m->cfg));
    if (st == IE_OK) st = ie_config_sha256(m->cfg, m->config_sha256);
    if (st == IE_OK) st = read_settings(m);
    if (st == IE_OK) st = ie_model_settings_read(m->cfg, &model);
    if (st == IE_OK) st = ie_plugin_find(ie_model_settings_plugin_spec(&model), &m->plugin);
    if (st == IE_OK && m->plugin->table.task != IE_TASK_CLASSIFICATION && m->plugin->table.task != IE_TASK_REGRESSION)
        st = ie_error_set(IE_ERR_UNSUPPORTED, "model \"%s\" (%s, from %s) is a %s model, not a classification or "
                          "regression model", m->plugin->table.name, m->plugin->path, config_path,
                          ie_task_kind_name(m->plugin->table.task));
    /* The statistics are read once: other datasets are prepared from this text. */
    size_t size = 0;
    if (st == IE_OK) st = ie_read_file(statistics_path, &m->statistics_text, &size);
    if (st == IE_OK) {
        uint8_t digest[IE_SHA256_DIGEST_SIZE];
        ie_sha256_buffer(m->statistics_text, size, digest);
        ie_sha256_hex(digest, m->statistics_sha256);
    }
    if (st == IE_OK) st = ie_sha256_file(weights_path, m->weights_digest);
    if (st == IE_OK) ie_sha256_hex(m->weights_digest, m->weights_sha256);
    if (st == IE_OK)
        st = ie_scalar_data_from_statistics_text(m->statistics_text, statistics_path, ds, require_labels, &m->data);
    if (st == IE_OK) st = ie_plugin_validate_config(m->plugin, ie_config_text(m->cfg));
    char *json = NULL;
    if (st == IE_OK) st = model_config(m, &json);
    if (st == IE_OK) {
        m->host = ie_host_default(m->seed, m->run_dir);
        st = ie_plugin_create(m->plugin, json, &m->host, &m->model);
    }
    free(json);
    if (st == IE_OK) st = load_weights(m);
    if (st != IE_OK) ie_scalar_model_close(m);
    return st;
}

void ie_scalar_model_close(ie_scalar_model *m) {
    if (!m) return;
    if (m->model) {
        ie_guard_enter(m->plugin, "destroy");
        m->plugin->table.destroy(m->model);
        ie_guard_leave();
    }
    ie_plugin_unload(m->plugin);
    ie_scalar_data_free(m->data);
    ie_config_free(m->cfg);
    free(m->statistics_text);
    memset(m, 0, sizeof *m);
}

/* ---- predicting ---- */

/* The data's own loading, plus a check that each image has the shape the
 * model was built for (training made every image that size). */
static ie_status load_checked(ie_model *ctx, const ie_dataset_item *item, const ie_host *host, ie_sample *out) {
    const ie_scalar_data *d = (const ie_scalar_data *)ctx;
    IE_TRY(ie_scalar_load(d, item, host, out));
    int64_t want[4];
    ie_scalar_data_image_shape(d, want);
    if (!out->image || want[0] == 0) return IE_OK;
    bool same = ie_tensor_ndim(out->image) == 4;
    for (int a = 0; same && a < 4; a++) same = ie_tensor_dim(out->image, a) == want[a];
    if (same) return IE_OK;
    char have[64];
    ie_tensor_describe(out->image, have, sizeof have);
    ie_data_sample_release(out);
    return ie_error_set(IE_ERR_SHAPE, "subject %s: its image input is %s, the model was trained on [%lld, %lld, "
                        "%lld, %lld] (C, D, H, W); give images of that size, or train with data.scalar.image_size",
                        item->subject, have, (long long)want[0], (long long)want[1], (long long)want[2],
                        (long long)want[3]);
}

/* The subjects of d, prepared with the model's statistics, predicted. */
static ie_status predict_data(ie_scalar_model *m, const ie_scalar_data *d, float **out) {
    *out = NULL;
    const ie_dataset *ds = ie_scalar_data_dataset(d);
    int n = ie_dataset_count(ds), K = ie_scalar_data_output_count(d);
    float *pred = calloc((size_t)n * (size_t)K + 1, sizeof *pred);
    if (!pred) return ie_error_set(IE_ERR_NOMEM, "out of memory for %d subjects", n);
    ie_data_hooks h = ie_scalar_hooks(d);
    h.load_item = load_checked;
    h.augment = NULL; /* no augmentation outside training */
    ie_loader_opts lo = {.dataset = ds, .items = NULL, .n_items = n, .batch_size = m->loader.batch_size,
                         .shuffle = false, .seed = m->seed, .workers = m->loader.workers,
                         .prefetch = m->loader.prefetch, .host = &m->host, .hooks = h};
    ie_loader *loader = NULL;
    ie_status st = ie_loader_create(&lo, &loader);
    bool was = ie_grad_set_enabled(false);
    if (st == IE_OK) st = ie_loader_begin_epoch(loader, 0);
    ie_progress bar;
    ie_progress_begin(&bar, "infer", "subjects", n, 10);
    while (st == IE_OK) {
        ie_batch batch = {.struct_size = sizeof batch};
        bool got = false;
        st = ie_loader_next(loader, &batch, &got);
        if (st != IE_OK || !got) break;
        ie_tensor *output = NULL, *p = NULL;
        st = ie_plugin_forward(m->plugin, m->model, &batch, false, &output);
        if (st == IE_OK) st = ie_scalar_outputs_check(d, output, batch.count);
        if (st == IE_OK) st = ie_scalar_outputs_map(m->plugin, m->model, d, output, &p);
        for (int b = 0; st == IE_OK && b < batch.count; b++) {
            int i = ie_dataset_find(ds, batch.subjects[b]);
            memcpy(pred + (size_t)i * K, ie_tensor_data_f32(p) + (size_t)b * K, (size_t)K * sizeof *pred);
        }
        if (st == IE_OK) ie_progress_advance(&bar, batch.count);
        ie_tensor_release(output);
        ie_tensor_release(p);
        ie_batch_clear(&batch);
    }
    ie_progress_end(&bar);
    if (loader) ie_loader_end_epoch(loader);
    ie_loader_free(loader);
    ie_grad_set_enabled(was);
    if (st != IE_OK) {
        free(pred);
        return st;
    }
    *out = pred;
    return IE_OK;
}

ie_status ie_scalar_model_predict(ie_scalar_model *m, float **out) { return predict_data(m, m->data, out); }

ie_status ie_scalar_model_predict_dataset(ie_scalar_model *m, const ie_dataset *ds, ie_scalar_data **data,
                                          float **out) {
    *data = NULL;
    *out = NULL;
    IE_TRY(ie_scalar_data_from_statistics_text(m->statistics_text, m->statistics, ds, false, data));
    ie_status st = predict_data(m, *data, out);
    if (st != IE_OK) {
        ie_scalar_data_free(*data);
        *data = NULL;
    }
    return st;
}
