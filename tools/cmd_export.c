/* tools - `innereye export` (docs/export.md):
 *
 *   innereye export --run RUN_DIR|ENSEMBLE_DIR --format onnx --out FILE [--set KEY=VALUE ...]
 *
 * Loads the run's model as `innereye infer` does (the run's
 * config.resolved.json and last checkpoint, or every member of an ensemble
 * folder), traces it on an input of the inference window's shape and writes
 * one file.  The file is written to a temporary name and renamed, so a
 * failure never leaves a partial file; an existing --out is never replaced. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/safetensors.h"
#include "core/data/classification_regression_statistics.h"
#include "core/data/data_settings.h"
#include "core/run/ensemble.h"
#include "core/export/bundle.h"
#include "core/export/export.h"
#include "core/export/pytorch.h"
#include "core/inference/infer.h"
#include "core/plugin/guard.h"
#include "core/plugin/host.h"
#include "core/plugin/model_settings.h"
#include "core/run/run_settings.h"
#include "core/task/task.h"
#include "core/train/compute.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "tools/cli_config.h"
#include "tools/cmd_export.h"
#include "tools/commands.h"

static void usage(FILE *out) { ie_cli_usage("export", out); }

#define MAX_MEMBERS IE_ENSEMBLE_MAX_MEMBERS

typedef struct session {
    int n;
    ie_config *cfgs[MAX_MEMBERS];
    ie_loaded_plugin *plugins[MAX_MEMBERS];
    ie_model *models[MAX_MEMBERS];
    ie_host host;
    const ie_task *task;    /* the run's entry of the task table (core/task/task.h) */
    ie_scalar_model scalar; /* a run whose task predicts a table (instead of cfgs/plugins/models) */
    bool is_scalar;
    char *meta_values[32];
    const char *meta_keys[32];
    int n_meta;
} session;

static void session_free(session *s) {
    for (int i = 0; i < s->n; i++) {
        if (s->models[i]) {
            ie_guard_enter(s->plugins[i], "destroy");
            s->plugins[i]->table.destroy(s->models[i]);
            ie_guard_leave();
        }
        ie_plugin_unload(s->plugins[i]);
        ie_config_free(s->cfgs[i]);
    }
    for (int i = 0; i < s->n_meta; i++) ie_config_string_free(s->meta_values[i]);
    if (s->is_scalar) ie_scalar_model_close(&s->scalar);
    ie_guard_end();
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Member i: its plugin, model and weights (weights NULL: the run's last checkpoint). */
static ie_status load_member(session *s, int i, const char *run, const char *weights) {
    ie_model_settings model;
    ie_run_settings run_settings;
    IE_TRY(ie_model_settings_read(s->cfgs[i], &model));
    IE_TRY(ie_run_settings_read(s->cfgs[i], &run_settings));
    IE_TRY(ie_plugin_find(ie_model_settings_plugin_spec(&model), &s->plugins[i]));
    /* Every member segments: a model that predicts a table is exported from
     * its own run folder, with the training statistics it needs. */
    const ie_task *task = ie_task_for_run(s->plugins[i]->table.task, s->cfgs[i]);
    if (task->infer_table)
        return ie_error_set(IE_ERR_UNSUPPORTED, "model \"%s\" is a %s model; export it from its run folder "
                            "(--run RUN_DIR: the run's training statistics are needed)", s->plugins[i]->table.name,
                            task->name);
    IE_TRY(ie_plugin_validate_config(s->plugins[i], ie_config_text(s->cfgs[i])));
    if (i == 0) s->host = ie_host_default(run_settings.seed, "");
    IE_TRY(ie_plugin_create(s->plugins[i], ie_config_text(s->cfgs[i]), &s->host, &s->models[i]));
    ie_guard_enter(s->plugins[i], "parameters");
    ie_params *params = s->plugins[i]->table.parameters(s->models[i]);
    ie_guard_leave();
    if (!params) return ie_error_set(IE_ERR_PLUGIN, "%s: parameters() returned NULL", s->plugins[i]->path);
    if (!weights) {
        ie_trainer_state state;
        return ie_checkpoint_load_last(run, &state, params, NULL);
    }
    ie_params *saved = NULL;
    IE_TRY(ie_safetensors_read(weights, &saved));
    ie_status st = ie_params_copy_from(params, saved, weights, 1);
    ie_params_free(saved);
    return st;
}

static int fail(session *s, int code, const char *message) {
    fprintf(stderr, "innereye export: %s\n", message);
    session_free(s);
    return code;
}

/* metadata_props: what a user of the ONNX file needs to prepare the input
 * and read the output as `innereye infer` does (docs/export.md). */
static ie_status add_meta(session *s, const char *key, const char *config_path) {
    const ie_config *cfg = s->is_scalar ? s->scalar.cfg : s->cfgs[0];
    if (config_path[0] && !ie_config_has(cfg, config_path)) return IE_OK;
    char *json = NULL;
    IE_TRY(ie_config_get_json(cfg, config_path, &json));
    s->meta_keys[s->n_meta] = key;
    s->meta_values[s->n_meta++] = json;
    return IE_OK;
}

static ie_status add_meta_text(session *s, const char *key, const char *text) {
    char *copy = strdup(text); /* freed with ie_config_string_free, which is free() */
    if (!copy) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    s->meta_keys[s->n_meta] = key;
    s->meta_values[s->n_meta++] = copy;
    return IE_OK;
}

static ie_status metadata(session *s, const int64_t *window, int channels) {
    static const char *const keys[][2] = {
        {"innereye.classes", "data.classes"},
        {"innereye.image_channels", "data.image_channels"},
        {"innereye.normalization", "data.normalization"},
        {"innereye.window_level", "data.window_level"},
        {"innereye.window_width", "data.window_width"},
        {"innereye.output_range", "data.output_range"},
        {"innereye.trim_percentiles", "data.trim_percentiles"},
        {"innereye.crop_size", "data.crop_size"},
        {"innereye.test_crop_size", "data.test_crop_size"},
        {"innereye.pad_multiple", "data.pad_multiple"},
        {"innereye.target_spacing", "data.target_spacing"},
        {"innereye.infer", "infer"},
        {"innereye.postprocess", "postprocess"},
        {"innereye.model", "model"},
        {"innereye.config", ""},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) IE_TRY(add_meta(s, keys[i][0], keys[i][1]));
    char text[256];
    snprintf(text, sizeof text, "[1,%d,%lld,%lld,%lld]", channels, (long long)window[0], (long long)window[1],
             (long long)window[2]);
    IE_TRY(add_meta_text(s, "innereye.input_shape", text));
    snprintf(text, sizeof text, "%d", s->n);
    IE_TRY(add_meta_text(s, "innereye.ensemble_members", text));
    if (s->is_scalar) {
        IE_TRY(add_meta(s, "innereye.scalar", "data.scalar"));
        char *stats = NULL; /* the training statistics that prepare inputs (normalisation, features) */
        IE_TRY(ie_read_file(s->scalar.statistics, &stats, NULL));
        s->meta_keys[s->n_meta] = "innereye.data_statistics";
        s->meta_values[s->n_meta++] = stats;
        IE_TRY(add_meta_text(s, "innereye.output", "predictions: one value per output (innereye.data_statistics "
                                                   "outputs): probabilities (sigmoid for binary, softmax for "
                                                   "multi-class)"));
        return add_meta_text(s, "innereye.task", s->task->name);
    }
    IE_TRY(add_meta_text(s, "innereye.output", "posteriors: class probabilities per voxel, background first "
                                               "(innereye.classes order); argmax and innereye.postprocess give "
                                               "the segmentation"));
    return add_meta_text(s, "innereye.task", s->task->name);
}

/* A classification run: one member, its image shape and features from the
 * run's statistics. */
static int export_scalar(session *s, const char *run, bool ensemble, const char *out) {
    if (ensemble) return 1; /* checked by the caller */
    s->is_scalar = true;
    if (ie_export_scalar_open(run, &s->scalar) != IE_OK) return fail(s, 1, ie_error_message());
    if (s->task->onnx_needs_postprocess && !s->scalar.plugin->table.postprocess)
        return fail(s, 1, s->task->onnx_needs_postprocess);
    int64_t shape[4];
    ie_scalar_data_image_shape(s->scalar.data, shape);
    int64_t features = ie_scalar_data_feature_count(s->scalar.data);
    const int64_t window[3] = {shape[1], shape[2], shape[3]};
    if (metadata(s, window, (int)shape[0]) != IE_OK) return fail(s, 1, ie_error_message());
    ie_export_member member = {s->scalar.plugin, s->scalar.model, s->scalar.data};
    ie_onnx_export_spec spec = {.n_members = 1, .members = &member, .trace = ie_export_trace_predictions,
                                .output = "predictions",
                                .image_shape = {shape[0] ? 1 : 0, shape[0], shape[1], shape[2], shape[3]},
                                .features = features, .n_meta = s->n_meta, .meta_keys = s->meta_keys,
                                .meta_values = (const char *const *)s->meta_values};
    if (ie_export_onnx(&spec, out) != IE_OK) return fail(s, 1, ie_error_message());
    printf("wrote %s: %s, ONNX opset 17, input image [1, %lld, %lld, %lld, %lld], %lld features\n", out,
           s->scalar.plugin->table.name, (long long)shape[0], (long long)shape[1], (long long)shape[2],
           (long long)shape[3], (long long)features);
    session_free(s);
    return 0;
}

/* A bundle carries an ensemble folder; a run becomes an ensemble of one
 * (core/export/bundle.h). */
static int export_bundle(session *s, const char *run, bool ensemble, const char *out) {
    char tmp[4200], folder[4300];
    ie_status st = IE_OK;
    if (ensemble) {
        st = ie_bundle_pack(run, out);
    } else if ((st = ie_bundle_temp_dir(tmp, sizeof tmp)) == IE_OK) {
        st = ie_path_format(folder, sizeof folder, "%s/run", tmp);
        if (st == IE_OK) st = ie_ensemble_create_single(run, folder);
        if (st == IE_OK) st = ie_bundle_pack(folder, out);
        ie_remove_tree(tmp);
    }
    if (st != IE_OK) return fail(s, 1, ie_error_message());
    printf("wrote %s: a bundle of %s (use it with innereye infer --bundle %s)\n", out, run, out);
    session_free(s);
    return 0;
}

/* The run's last weights as torch.save(state_dict) writes them. */
static int export_pytorch(session *s, const char *run, bool scalar, const char *out) {
    ie_guard_begin("export", NULL);
    ie_params *params = NULL;
    ie_status st;
    if (scalar) {
        s->is_scalar = true;
        st = ie_export_scalar_open(run, &s->scalar);
        if (st == IE_OK) {
            ie_guard_enter(s->scalar.plugin, "parameters");
            params = s->scalar.plugin->table.parameters(s->scalar.model);
            ie_guard_leave();
        }
    } else {
        st = ie_config_resolve(s->cfgs[0]);
        if (st != IE_OK) {
            fprintf(stderr, "innereye export: the configuration has problems:\n%s", ie_config_problems(s->cfgs[0]));
            session_free(s);
            return 2;
        }
        st = load_member(s, 0, run, NULL);
        if (st == IE_OK) {
            ie_guard_enter(s->plugins[0], "parameters");
            params = s->plugins[0]->table.parameters(s->models[0]);
            ie_guard_leave();
        }
    }
    if (st == IE_OK) st = ie_export_pytorch(params, out);
    if (st != IE_OK) return fail(s, 1, ie_error_message());
    printf("wrote %s: %d tensors (torch.load gives the state_dict)\n", out, ie_params_count(params));
    session_free(s);
    return 0;
}

int ie_cmd_export(int argc, char **argv) {
    session s = {0};
    const char *run = NULL, *format = NULL, *out = NULL;
    char dir[PATH_MAX], path[PATH_MAX + 64];
    if (ie_cli_config_dir(dir, sizeof dir) != IE_OK || ie_config_new(&s.cfgs[0]) != IE_OK ||
        ie_config_add_search_dir(s.cfgs[0], dir) != IE_OK)
        return fail(&s, 1, ie_error_message());
    s.n = 1;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0;
    if (!rest) return fail(&s, 1, "out of memory");
    /* --run must be known before the overrides are applied over its config */
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--run")) run = argv[i + 1];
    bool ensemble = run && is_dir(run) && ie_ensemble_is(run);
    if (run) {
        if (ie_path_format(path, sizeof path,
                           ensemble ? "%s/members/0/config.resolved.json" : "%s/config.resolved.json", run) != IE_OK) {
            free(rest);
            return fail(&s, 2, ie_error_message());
        }
        if (!is_dir(run) || !exists(path)) {
            free(rest);
            snprintf(path, sizeof path, "--run %s is not a run folder (or an ensemble folder): %s", run,
                     is_dir(run) ? "it has no config.resolved.json" : "no such folder");
            return fail(&s, 2, path);
        }
        if (ie_config_add_file(s.cfgs[0], path) != IE_OK) {
            free(rest);
            return fail(&s, 2, ie_error_message());
        }
    }
    if (ie_config_parse_args(s.cfgs[0], argc, argv, &n_rest, rest) != IE_OK) {
        free(rest);
        return fail(&s, 2, ie_error_message());
    }
    const char **slots[] = {&run, &format, &out};
    static const char *const flags[] = {"--run", "--format", "--out"};
    for (int i = 0; i < n_rest; i++) {
        int which = -1;
        for (int f = 0; f < 3; f++)
            if (!strcmp(rest[i], flags[f])) which = f;
        if (which < 0) {
            ie_cli_unknown_option("export", rest[i]);
            free(rest);
            session_free(&s);
            return 2;
        }
        if (i + 1 >= n_rest || !rest[i + 1][0]) {
            char m[512];
            snprintf(m, sizeof m, "%s needs a value", rest[i]);
            free(rest);
            usage(stderr);
            return fail(&s, 2, m);
        }
        *slots[which] = rest[++i];
    }
    free(rest);
    bool bundle = format && !strcmp(format, "bundle");
    bool pytorch = format && !strcmp(format, "pytorch");
    bool has_set = false;
    for (int i = 0; i < argc; i++) has_set = has_set || !strncmp(argv[i], "--set", 5);
    const char *problem = !run ? "give --run RUN_DIR (a training run or an ensemble folder)"
                          : !format ? "give --format onnx, pytorch or bundle"
                          : strcmp(format, "onnx") && !bundle && !pytorch ? "--format must be onnx, pytorch or bundle"
                          : !out ? "give --out FILE"
                          : bundle && has_set ? "--set does not go with --format bundle: the bundle keeps the run's "
                                                "config; give --set to innereye infer --bundle"
                          : pytorch && has_set ? "--set does not go with --format pytorch: a state_dict holds weights only"
                          : pytorch && ensemble ? "--format pytorch writes one model's state_dict; export a member's run "
                                                  "(an ensemble has several)"
                          : NULL;
    if (problem) {
        usage(stderr);
        return fail(&s, 2, problem);
    }
    if (exists(out)) {
        snprintf(path, sizeof path, "--out %s already exists; remove it or choose another name (an export never "
                 "replaces a file)", out);
        return fail(&s, 2, path);
    }
    if (bundle) return export_bundle(&s, run, ensemble, out);
    /* A run whose task predicts a table (core/task/task.h) exports one
     * model opened with its training statistics, not a segmentation net. */
    if (ie_task_of_run(run, &s.task) != IE_OK) return fail(&s, 1, ie_error_message());
    bool scalar = s.task->infer_table != NULL;
    if (pytorch) return export_pytorch(&s, run, scalar, out);
    if (scalar) {
        if (ensemble)
            return fail(&s, 2, "exporting an ensemble of classification or regression runs is not supported; "
                                "export one member's run");
        if (has_set)
            return fail(&s, 2, "--set is not used for a classification run: its inputs are fixed by its "
                               "training statistics");
        ie_guard_begin("export", NULL);
        return export_scalar(&s, run, ensemble, out);
    }
    if (ie_config_resolve(s.cfgs[0]) != IE_OK) {
        fprintf(stderr, "innereye export: the configuration has problems:\n%s", ie_config_problems(s.cfgs[0]));
        session_free(&s);
        return 2;
    }
    if (ie_compute_setup(s.cfgs[0], 0) != IE_OK) return fail(&s, 2, ie_error_message());
    ie_infer_settings settings;
    ie_data_settings data;
    if (ie_infer_settings_from_config(s.cfgs[0], &settings) != IE_OK ||
        ie_data_settings_read(s.cfgs[0], &data) != IE_OK)
        return fail(&s, 2, ie_error_message());
    int channels = data.n_image_channels;
    ie_guard_begin("export", NULL);

    ie_ensemble_paths *paths = NULL;
    int count = 1;
    if (ensemble && ie_ensemble_members(run, &paths, &count) != IE_OK) return fail(&s, 1, ie_error_message());
    ie_status st = load_member(&s, 0, run, ensemble ? paths[0].weights : NULL);
    for (int i = 1; st == IE_OK && i < count; i++) {
        st = ie_config_new(&s.cfgs[i]);
        s.n = i + 1;
        if (st == IE_OK) st = ie_config_add_file(s.cfgs[i], paths[i].config);
        if (st == IE_OK) st = ie_config_resolve(s.cfgs[i]);
        if (st == IE_OK) st = load_member(&s, i, run, paths[i].weights);
    }
    free(paths);
    if (st == IE_OK) st = metadata(&s, settings.window.window, channels);
    if (st != IE_OK) return fail(&s, 1, ie_error_message());

    ie_export_member members[MAX_MEMBERS];
    for (int i = 0; i < s.n; i++) members[i] = (ie_export_member){s.plugins[i], s.models[i], NULL};
    ie_onnx_export_spec spec = {.n_members = s.n, .members = members, .trace = ie_export_trace_window,
                                .output = "posteriors",
                                .image_shape = {1, channels, settings.window.window[0], settings.window.window[1],
                                                settings.window.window[2]},
                                .n_meta = s.n_meta, .meta_keys = s.meta_keys,
                                .meta_values = (const char *const *)s.meta_values};
    if (ie_export_onnx(&spec, out) != IE_OK) return fail(&s, 1, ie_error_message());
    printf("wrote %s: %s%s, ONNX opset 17, input image [1, %d, %lld, %lld, %lld]\n", out,
           s.plugins[0]->table.name, s.n > 1 ? " ensemble" : "", channels, (long long)settings.window.window[0],
           (long long)settings.window.window[1], (long long)settings.window.window[2]);
    session_free(&s);
    return 0;
}
