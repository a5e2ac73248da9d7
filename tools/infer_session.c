/* tools - a segmentation model loaded for inference (infer_session.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/backend/backend.h"
#include "core/checkpoint/checkpoint.h"
#include "core/checkpoint/safetensors.h"
#include "core/util/csv.h"
#include "core/plugin/guard.h"
#include "core/plugin/model_settings.h"
#include "core/train/compute.h"
#include "core/run/device_settings.h"
#include "core/run/run_dir.h"
#include "core/run/run_settings.h"
#include "core/task/task.h"
#include "core/util/path.h"
#include "tools/infer_session.h"

static void destroy_model(const ie_loaded_plugin *plugin, ie_model *model) {
    if (!model) return;
    ie_guard_enter(plugin, "destroy");
    plugin->table.destroy(model);
    ie_guard_leave();
}

static ie_params *model_parameters(const ie_loaded_plugin *plugin, ie_model *model) {
    ie_guard_enter(plugin, "parameters");
    ie_params *params = plugin->table.parameters(model);
    ie_guard_leave();
    return params;
}

void ie_infer_session_free(ie_infer_session *s) {
    for (int i = 0; i < s->n_others; i++) {
        destroy_model(s->other_plugins[i], s->others[i].model);
        ie_plugin_unload(s->other_plugins[i]);
        ie_config_free(s->other_cfgs[i]);
    }
    destroy_model(s->plugin, s->model);
    ie_plugin_unload(s->plugin);
    ie_dataset_free(s->ds);
    ie_config_free(s->cfg);
    ie_guard_end(); /* the inference ended, one way or the other */
}

ie_status ie_infer_session_prepare(ie_infer_session *s, int threads_override) {
    if (ie_config_resolve(s->cfg) != IE_OK)
        return ie_error_set(IE_ERR_CONFIG, "the configuration has problems:\n%s", ie_config_problems(s->cfg));
    IE_TRY(ie_compute_setup(s->cfg, threads_override));
    /* From here a plugin runs: a crash or exit() in it is reported, and the
     * exit status is never 0 for an inference that did not finish. */
    ie_guard_begin("inference", NULL);
    IE_TRY(ie_infer_settings_from_config(s->cfg, &s->settings));
    IE_TRY(ie_seg_setup_from_config(s->cfg, s->settings.n_classes, &s->seg));
    s->seg.seg.truth = IE_SEG_TRUTH_NONE; /* inference needs no labels */
    return IE_OK;
}

/* The SHA-256 of each weights file loaded, member by member. */
typedef struct weights_digests {
    int n;
    uint8_t digest[IE_ENSEMBLE_MAX_MEMBERS][IE_SHA256_DIGEST_SIZE];
} weights_digests;

static ie_status hash_weights(const char *file, weights_digests *w) {
    if (w->n == IE_ENSEMBLE_MAX_MEMBERS) return ie_error_set(IE_ERR_INTERNAL, "more weights files than members");
    return ie_sha256_file(file, w->digest[w->n++]);
}

/* model.init_checkpoint of a run without checkpoints, checked against the
 * SHA-256 its run.json recorded; *init names the file. */
static ie_status load_init_weights(const ie_model_settings *model, const char *run, ie_params *params,
                                   const char **init) {
    *init = model->init_checkpoint;
    if (!(*init)[0])
        return ie_error_set(IE_ERR_IO, "%s has no checkpoint (%s/checkpoints/last.json is missing): was the run "
                            "stopped before its first checkpoint?", run, run);
    cJSON *record = NULL;
    char sha[IE_SHA256_HEX_SIZE];
    IE_TRY(ie_run_record_read(run, &record));
    const char *want = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(record, "init_checkpoint"), "sha256"));
    ie_status st = ie_sha256_file_hex(*init, sha);
    if (st == IE_OK && (!want || strcmp(want, sha) != 0))
        st = ie_error_set(IE_ERR_STATE, "%s did not train and has no checkpoint; its weights were %s, but that file "
                          "%s (SHA-256 %.12s... then, %.12s... now): put the original back, or train the run",
                          run, *init, want ? "changed since" : "was not recorded in run.json", want ? want : "?", sha);
    cJSON_Delete(record);
    IE_TRY(st);
    ie_params *saved = NULL;
    IE_TRY(ie_safetensors_read(*init, &saved));
    st = ie_params_copy_from(params, saved, *init, 1);
    ie_params_free(saved);
    return st;
}

static ie_status load_model(ie_infer_session *s, const ie_infer_source *r, weights_digests *weights_hash, char *what,
                            size_t what_size) {
    ie_model_settings model;
    ie_run_settings run;
    IE_TRY(ie_model_settings_read(s->cfg, &model));
    IE_TRY(ie_run_settings_read(s->cfg, &run));
    IE_TRY(ie_plugin_find(ie_model_settings_plugin_spec(&model), &s->plugin));
    const ie_plugin *p = &s->plugin->table;
    if (r->run) IE_TRY(ie_run_check_plugin(r->run, s->plugin, r->allow_plugin_change));
    /* A task whose models predict a table (core/task/task.h) predicts from
     * the run folder, with its training statistics (cmd_infer_table.c). */
    const ie_task *task = ie_task_for_run(p->task, s->cfg);
    if (task->infer_table)
        return ie_error_set(IE_ERR_UNSUPPORTED, "model \"%s\" (%s) is a %s model; innereye infer segments images "
                            "with a segmentation model, and predicts with a classification or regression model "
                            "from its run folder: --run RUN_DIR --dataset CSV (the run's training statistics are "
                            "needed)", p->name, s->plugin->path, task->name);
    IE_TRY(ie_plugin_validate_config(s->plugin, ie_config_text(s->cfg)));
    IE_TRY(ie_path_format(s->run_dir, sizeof s->run_dir, "%s", r->run ? r->run : ""));
    s->host = ie_host_default(run.seed, r->run ? s->run_dir : NULL);
    IE_TRY(ie_plugin_create(s->plugin, ie_config_text(s->cfg), &s->host, &s->model));
    ie_params *params = model_parameters(s->plugin, s->model);
    if (!params) return ie_error_set(IE_ERR_PLUGIN, "%s: parameters() returned NULL", s->plugin->path);
    char last[PATH_MAX + 64];
    struct stat sb;
    if (r->run) IE_TRY(ie_path_format(last, sizeof last, "%s/checkpoints/last.json", r->run));
    if (r->run && (stat(last, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        /* A run that did not train (run.train false) uses the weights it
         * started from, if they are still the file it recorded. */
        const char *init = "";
        IE_TRY(load_init_weights(&model, r->run, params, &init));
        IE_TRY(hash_weights(init, weights_hash));
        snprintf(what, what_size, "%s %s, the weights %s started from (it did not train)", p->name, p->version,
                 r->run);
    } else if (r->run) {
        ie_trainer_state state;
        IE_TRY(ie_checkpoint_load_last(r->run, &state, params, NULL));
        IE_TRY(ie_path_format(last, sizeof last, "%s/checkpoints/epoch_%04d.safetensors", r->run, state.epoch));
        IE_TRY(hash_weights(last, weights_hash));
        snprintf(what, what_size, "%s %s, epoch %d of %s", p->name, p->version, state.epoch, r->run);
    } else {
        ie_params *saved = NULL;
        IE_TRY(ie_safetensors_read(r->checkpoint, &saved));
        ie_status st = ie_params_copy_from(params, saved, r->checkpoint, 1);
        ie_params_free(saved);
        IE_TRY(st);
        IE_TRY(hash_weights(r->checkpoint, weights_hash));
        snprintf(what, what_size, "%s %s, weights %s", p->name, p->version, r->checkpoint);
    }
    return IE_OK;
}

/* One more member of an ensemble, with its own config and weights. */
static ie_status load_other(ie_infer_session *s, const ie_ensemble_paths *member, weights_digests *weights_hash) {
    int k = s->n_others;
    IE_TRY(ie_config_new(&s->other_cfgs[k]));
    s->n_others++;
    IE_TRY(ie_config_add_file(s->other_cfgs[k], member->config));
    IE_TRY(ie_config_resolve(s->other_cfgs[k]));
    ie_model_settings model;
    IE_TRY(ie_model_settings_read(s->other_cfgs[k], &model));
    IE_TRY(ie_plugin_find(ie_model_settings_plugin_spec(&model), &s->other_plugins[k]));
    IE_TRY(ie_plugin_create(s->other_plugins[k], ie_config_text(s->other_cfgs[k]), &s->host, &s->others[k].model));
    s->others[k].plugin = s->other_plugins[k];
    ie_params *saved = NULL;
    IE_TRY(ie_safetensors_read(member->weights, &saved));
    ie_status st = ie_params_copy_from(model_parameters(s->other_plugins[k], s->others[k].model), saved,
                                       member->weights, 1);
    ie_params_free(saved);
    IE_TRY(st);
    return hash_weights(member->weights, weights_hash);
}

/* Members 1.. of an ensemble folder: each with its own config and weights. */
static ie_status load_ensemble_others(ie_infer_session *s, const char *dir, const char *label,
                                      weights_digests *weights_hash, char *what, size_t what_size) {
    ie_ensemble_paths *members = NULL;
    int count = 0;
    IE_TRY(ie_ensemble_members(dir, &members, &count));
    ie_status st = IE_OK;
    for (int i = 1; st == IE_OK && i < count; i++) /* member 0 is the session's own model */
        st = load_other(s, &members[i], weights_hash);
    free(members);
    IE_TRY(st);
    if (count == 1) snprintf(what, what_size, "%s %s, the 1 member of %s", s->plugin->table.name,
                             s->plugin->table.version, label);
    else snprintf(what, what_size, "ensemble of %d members (%s), posteriors averaged", count, label);
    return IE_OK;
}

/* train.device / train.precision of the session's config (the run's, or
 * --set train.device=cpu|cuda): every member's parameters move there. */
static ie_status to_device(ie_infer_session *s) {
    ie_device_settings device;
    IE_TRY(ie_device_settings_read(s->cfg, &device));
    s->device = device.device;
    ie_status st = ie_device_check(s->device);
    if (st == IE_OK) st = ie_device_set_precision(s->device, device.precision);
    if (st == IE_OK) st = ie_params_to(model_parameters(s->plugin, s->model), s->device);
    for (int k = 0; st == IE_OK && k < s->n_others; k++) {
        s->others[k].device = s->device;
        st = ie_params_to(model_parameters(s->other_plugins[k], s->others[k].model), s->device);
    }
    if (st != IE_OK) ie_error_wrap(st, "train.device %s (set it with --set train.device=cpu|cuda)", device.name);
    return st;
}

ie_status ie_infer_session_load(ie_infer_session *s, const ie_infer_source *src, char *what, size_t what_size) {
    weights_digests weights_hash = {0};
    if (src->ensemble) {
        /* Member 0's config makes the session's model; its weights come from
         * the ensemble, not from a checkpoint. */
        char path[PATH_MAX + 64];
        IE_TRY(ie_path_format(path, sizeof path, "%s/members/0/weights.safetensors", src->run));
        ie_infer_source member0 = {.checkpoint = path};
        IE_TRY(load_model(s, &member0, &weights_hash, what, what_size));
        IE_TRY(load_ensemble_others(s, src->run, src->label ? src->label : src->run, &weights_hash, what, what_size));
    } else {
        IE_TRY(load_model(s, src, &weights_hash, what, what_size));
    }
    uint8_t digest[IE_SHA256_DIGEST_SIZE];
    ie_sha256_of_members(weights_hash.digest, weights_hash.n, digest);
    ie_sha256_hex(digest, s->weights_sha256);
    return to_device(s);
}

static void csv_row(FILE *f, const char *subject, const char *file, const char *channel) {
    ie_csv_write_field(f, subject);
    fputc(',', f);
    ie_csv_write_field(f, file);
    fputc(',', f);
    ie_csv_write_field(f, channel);
    fputc('\n', f);
}

ie_status ie_infer_session_subject(const ie_infer_session *s, const char *const *images, int n_images,
                                   const char *mask, const char *subject, ie_infer_settings *settings,
                                   ie_dataset **ds) {
    *ds = NULL;
    *settings = s->settings;
    int want = s->seg.seg.n_image_channels;
    if (n_images != want) {
        char names[1024] = "";
        for (int c = 0; c < want; c++) {
            size_t n = strlen(names);
            snprintf(names + n, sizeof names - n, "%s%s", c ? ", " : "", s->seg.image_channels[c]);
        }
        return ie_error_set(IE_ERR_CONFIG, "the model takes %d image channel%s (data.image_channels: %s), but %d "
                            "--image file%s %s given; give one --image per channel, in that order", want,
                            want == 1 ? "" : "s", names, n_images, n_images == 1 ? "" : "s",
                            n_images == 1 ? "was" : "were");
    }
    /* The mask's channel: data.mask_channel, else "mask" for this subject
     * only (the session's settings are the config's for every subject). */
    if (mask && !settings->mask_channel[0]) settings->mask_channel = "mask";
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    fprintf(f, "subject,filePath,channel\n");
    for (int c = 0; c < n_images; c++) csv_row(f, subject, images[c], s->seg.image_channels[c]);
    if (mask) csv_row(f, subject, mask, settings->mask_channel);
    fclose(f);
    ie_status st = ie_dataset_parse(text, len, "--image", ".", "subject", ds);
    free(text);
    return st;
}

ie_status ie_infer_session_segment(ie_infer_session *s, const ie_infer_settings *settings,
                                   const ie_dataset_item *item, const char *out_dir, ie_infer_subject *subject) {
    ie_plugin_hooks_ctx hooks_ctx;
    ie_data_hooks hooks = ie_plugin_data_hooks(s->plugin, s->model, ie_seg_hooks(&s->seg.seg), &hooks_ctx);
    ie_infer_net net = {
        .plugin = s->plugin, .model = s->model, .device = s->device, .n_others = s->n_others, .others = s->others};
    ie_guard_subject(item->subject);
    IE_TRY(ie_infer_item(settings, hooks.load_item, hooks.load_item_ctx, s->seg.image_channels[0], item, &s->host,
                         &net, subject));
    return ie_infer_write(out_dir, settings, subject);
}
