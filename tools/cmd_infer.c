/* tools - `innereye infer` (docs/inference.md):
 *
 *   innereye infer --run RUN_DIR --image FILE [--image FILE ...] [--mask FILE] --out DIR
 *   innereye infer --run RUN_DIR --dataset CSV --out DIR
 *   innereye infer --checkpoint FILE.safetensors --config FILE (--image ... | --dataset CSV) --out DIR
 *
 * The model, its classes, channels, normalisation and inference settings come
 * from the run's config.resolved.json (or --config); --set overrides any key,
 * typically infer.* and postprocess.*.  Every output folder is checked before
 * any work starts, and existing results are never overwritten. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/checkpoint/checkpoint.h"
#include "core/util/progress.h"
#include "core/checkpoint/safetensors.h"
#include "core/data/csv.h"
#include "core/data/dataset.h"
#include "core/experiment/ensemble.h"
#include "core/export/bundle.h"
#include "core/inference/infer.h"
#include "core/inference/scalar_infer.h"
#include "core/plugin/guard.h"
#include "core/plugin/host.h"
#include "core/train/compute.h"
#include "core/train/data_setup.h"
#include "core/train/run_dir.h"
#include "core/util/sha256.h"
#include "innereye/threads.h"
#include "tools/cli_config.h"
#include "tools/cmd_infer.h"
#include "tools/commands.h"

#define MAX_IMAGES 16

static void usage(FILE *out) { ie_cli_usage("infer", out); }

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}


/* "dir/case_01.nii.gz" -> "case_01" */
static void subject_from_file(const char *path, char *out, size_t size) {
    const char *base = strrchr(path, '/');
    snprintf(out, size, "%s", base ? base + 1 : path);
    static const char *const ext[] = {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm"};
    size_t n = strlen(out);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(out + n - e, ext[i]) == 0) {
            out[n - e] = '\0';
            return;
        }
    }
}

static void csv_row(FILE *f, const char *subject, const char *file, const char *channel) {
    ie_csv_write_field(f, subject);
    fputc(',', f);
    ie_csv_write_field(f, file);
    fputc(',', f);
    ie_csv_write_field(f, channel);
    fputc('\n', f);
}

typedef struct request {
    const char *run, *checkpoint, *dataset, *out, *mask, *subject;
    const char *images[MAX_IMAGES];
    int n_images;
    bool has_config, has_model;
    bool allow_plugin_change; /* --allow-plugin-change */
} request;

static const char *flag_value(int argc, char **argv, int *i, const char *flag) {
    size_t n = strlen(flag);
    if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=') return argv[*i] + n + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static bool is_flag(const char *arg, const char *flag) {
    size_t n = strlen(flag);
    return !strncmp(arg, flag, n) && (arg[n] == '\0' || arg[n] == '=');
}

/* The command's own flags among the arguments ie_config_parse_args left. */
static int parse_request(int argc, char **argv, request *r) {
    static const char *const flags[] = {"--run", "--checkpoint", "--dataset", "--out", "--mask", "--subject",
                                        "--image"};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--allow-plugin-change")) {
            r->allow_plugin_change = true;
            continue;
        }
        int which = -1;
        for (int f = 0; f < 7; f++)
            if (is_flag(a, flags[f])) which = f;
        if (which < 0) {
            ie_cli_unknown_option("infer", a);
            return 2;
        }
        const char *v = flag_value(argc, argv, &i, flags[which]);
        if (!v || !v[0]) {
            fprintf(stderr, "innereye infer: %s needs a value\n", flags[which]);
            return 2;
        }
        const char **slot[] = {&r->run, &r->checkpoint, &r->dataset, &r->out, &r->mask, &r->subject};
        if (which == 6) {
            if (r->n_images == MAX_IMAGES) {
                fprintf(stderr, "innereye infer: more than %d --image files\n", MAX_IMAGES);
                return 2;
            }
            r->images[r->n_images++] = v;
        } else if (*slot[which] && strcmp(*slot[which], v) != 0) {
            fprintf(stderr, "innereye infer: %s is given twice ('%s' and '%s')\n", flags[which], *slot[which], v);
            return 2;
        } else {
            *slot[which] = v;
        }
    }
    const char *problem = NULL;
    if (!r->run == !r->checkpoint)
        problem = "give either --run RUN_DIR or --checkpoint FILE with --model NAME or --config FILE";
    else if (r->run && r->has_config)
        problem = "--run uses the run's own config.resolved.json; use --set to change keys, not --config";
    else if (r->checkpoint && !r->has_config && !r->has_model)
        problem = "--checkpoint needs --model NAME (its built-in config) or --config FILE (the config the model was "
                  "trained with)";
    else if (!r->n_images == !r->dataset)
        problem = "give either --image FILE (one subject) or --dataset CSV";
    else if (!r->out)
        problem = "give --out DIR (results go to DIR/<subject>/)";
    else if (r->dataset && (r->mask || r->subject))
        problem = "--mask and --subject go with --image; a --dataset CSV lists masks in rows of channel "
                  "data.mask_channel";
    if (problem) {
        usage(stderr);
        fprintf(stderr, "innereye infer: %s\n", problem);
        return 2;
    }
    return -1; /* go on */
}

/* Everything the command holds, freed in one place. */
typedef struct session {
    ie_config *cfg;
    ie_loaded_plugin *plugin;
    ie_model *model;
    /* Ensemble members after the first (--run on an ensemble folder). */
    int n_others;
    ie_infer_net others[IE_ENSEMBLE_MAX_MEMBERS];
    ie_loaded_plugin *other_plugins[IE_ENSEMBLE_MAX_MEMBERS];
    ie_config *other_cfgs[IE_ENSEMBLE_MAX_MEMBERS];
    ie_dataset *ds;
    ie_infer_settings settings;
    ie_seg_setup seg;
    ie_host host;
} session;

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

static void session_free(session *s) {
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


static bool is_file_in(const char *dir, const char *name) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return is_file(path);
}

/* model.init_checkpoint of a run without checkpoints, checked against the
 * SHA-256 its run.json recorded. */
static ie_status load_init_weights(const ie_config *cfg, const char *run, ie_params *params) {
    const char *init = "";
    IE_TRY(ie_config_get_string(cfg, "model.init_checkpoint", &init));
    if (!init[0])
        return ie_error_set(IE_ERR_IO, "%s has no checkpoint (%s/checkpoints/last.json is missing): was the run "
                            "stopped before its first checkpoint?", run, run);
    cJSON *record = NULL;
    char sha[IE_SHA256_HEX_SIZE];
    IE_TRY(ie_run_record_read(run, &record));
    const char *want = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(record, "init_checkpoint"), "sha256"));
    ie_status st = ie_sha256_file_hex(init, sha);
    if (st == IE_OK && (!want || strcmp(want, sha) != 0))
        st = ie_error_set(IE_ERR_STATE, "%s did not train and has no checkpoint; its weights were %s, but that file "
                          "%s (SHA-256 %.12s... then, %.12s... now): put the original back, or train the run",
                          run, init, want ? "changed since" : "was not recorded in run.json", want ? want : "?", sha);
    cJSON_Delete(record);
    IE_TRY(st);
    ie_params *saved = NULL;
    IE_TRY(ie_safetensors_read(init, &saved));
    st = ie_params_copy_from(params, saved, init, 1);
    ie_params_free(saved);
    return st;
}

static ie_status load_model(session *s, const request *r, char *what, size_t what_size) {
    const char *name = "", *path = "";
    int64_t seed = 0;
    IE_TRY(ie_config_get_string(s->cfg, "model.name", &name));
    IE_TRY(ie_config_get_string(s->cfg, "model.plugin", &path));
    IE_TRY(ie_config_get_int(s->cfg, "seed", &seed));
    IE_TRY(ie_plugin_find(path[0] ? path : name, &s->plugin));
    const ie_plugin *p = &s->plugin->table;
    if (r->run) IE_TRY(ie_run_check_plugin(r->run, s->plugin, r->allow_plugin_change));
    if (p->task != IE_TASK_SEGMENTATION)
        return ie_error_set(IE_ERR_UNSUPPORTED, "model \"%s\" (%s) is a %s model; innereye infer segments images "
                            "with a segmentation model, and predicts with a classification or regression model "
                            "from its run folder: --run RUN_DIR --dataset CSV (the run's training statistics are "
                            "needed)", p->name, s->plugin->path, ie_task_kind_name(p->task));
    IE_TRY(ie_plugin_validate_config(s->plugin, ie_config_text(s->cfg)));
    s->host = ie_host_default((uint64_t)seed, r->run);
    IE_TRY(ie_plugin_create(s->plugin, ie_config_text(s->cfg), &s->host, &s->model));
    ie_params *params = model_parameters(s->plugin, s->model);
    if (!params) return ie_error_set(IE_ERR_PLUGIN, "%s: parameters() returned NULL", s->plugin->path);
    if (r->run && !is_file_in(r->run, "checkpoints/last.json")) {
        /* A run that did not train (run.train false) uses the weights it
         * started from, if they are still the file it recorded. */
        IE_TRY(load_init_weights(s->cfg, r->run, params));
        snprintf(what, what_size, "%s %s, the weights %s started from (it did not train)", p->name, p->version,
                 r->run);
    } else if (r->run) {
        ie_trainer_state state;
        IE_TRY(ie_checkpoint_load_last(r->run, &state, params, NULL));
        snprintf(what, what_size, "%s %s, epoch %d of %s", p->name, p->version, state.epoch, r->run);
    } else {
        ie_params *saved = NULL;
        IE_TRY(ie_safetensors_read(r->checkpoint, &saved));
        ie_status st = ie_params_copy_from(params, saved, r->checkpoint, 1);
        ie_params_free(saved);
        IE_TRY(st);
        snprintf(what, what_size, "%s %s, weights %s", p->name, p->version, r->checkpoint);
    }
    return IE_OK;
}

/* Members 1.. of an ensemble folder: each with its own config and weights. */
static ie_status load_ensemble_others(session *s, const char *dir, char *what, size_t what_size) {
    static char configs[IE_ENSEMBLE_MAX_MEMBERS][4200], weights[IE_ENSEMBLE_MAX_MEMBERS][4200];
    int count = 0;
    IE_TRY(ie_ensemble_members(dir, &count, configs, weights, IE_ENSEMBLE_MAX_MEMBERS));
    ie_params *saved = NULL;
    ie_status st;
    for (int i = 1; i < count; i++) { /* member 0 is the session's own model */
        int k = s->n_others;
        IE_TRY(ie_config_new(&s->other_cfgs[k]));
        s->n_others++;
        IE_TRY(ie_config_add_file(s->other_cfgs[k], configs[i]));
        IE_TRY(ie_config_resolve(s->other_cfgs[k]));
        const char *name = "", *path = "";
        IE_TRY(ie_config_get_string(s->other_cfgs[k], "model.name", &name));
        IE_TRY(ie_config_get_string(s->other_cfgs[k], "model.plugin", &path));
        IE_TRY(ie_plugin_find(path[0] ? path : name, &s->other_plugins[k]));
        IE_TRY(ie_plugin_create(s->other_plugins[k], ie_config_text(s->other_cfgs[k]), &s->host, &s->others[k].model));
        s->others[k].plugin = s->other_plugins[k];
        IE_TRY(ie_safetensors_read(weights[i], &saved));
        st = ie_params_copy_from(model_parameters(s->other_plugins[k], s->others[k].model), saved, weights[i], 1);
        ie_params_free(saved);
        IE_TRY(st);
    }
    snprintf(what, what_size, "ensemble of %d members (%s), posteriors averaged", count, dir);
    return IE_OK;
}

/* The subjects: the --dataset CSV, or one subject made of the --image files. */
static ie_status load_subjects(session *s, const request *r) {
    if (r->dataset) return ie_dataset_load(r->dataset, "subject", &s->ds);
    int want = s->seg.seg.n_image_channels;
    if (r->n_images != want) {
        char names[1024] = "";
        for (int c = 0; c < want; c++) {
            size_t n = strlen(names);
            snprintf(names + n, sizeof names - n, "%s%s", c ? ", " : "", s->seg.image_channels[c]);
        }
        return ie_error_set(IE_ERR_CONFIG, "the model takes %d image channel%s (data.image_channels: %s), but %d "
                            "--image file%s %s given; give one --image per channel, in that order", want,
                            want == 1 ? "" : "s", names, r->n_images, r->n_images == 1 ? "" : "s",
                            r->n_images == 1 ? "was" : "were");
    }
    char subject[512];
    if (r->subject) snprintf(subject, sizeof subject, "%s", r->subject);
    else subject_from_file(r->images[0], subject, sizeof subject);
    if (r->mask && !s->settings.mask_channel[0]) s->settings.mask_channel = "mask";
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    fprintf(f, "subject,filePath,channel\n");
    for (int c = 0; c < r->n_images; c++) csv_row(f, subject, r->images[c], s->seg.image_channels[c]);
    if (r->mask) csv_row(f, subject, r->mask, s->settings.mask_channel);
    fclose(f);
    ie_status st = ie_dataset_parse(text, len, "--image", ".", "subject", &s->ds);
    free(text);
    return st;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(session *s, const char *message) {
    fprintf(stderr, "innereye infer: %s\n", message);
    session_free(s);
    return 1;
}

/* --bundle FILE (innereye export --format bundle): checked, unpacked into a
 * temporary folder (an ensemble folder) and inferred from as --run. */
static int infer_bundle(int argc, char **argv, int at) {
    const char *file = at + 1 < argc ? argv[at + 1] : NULL;
    for (int i = 0; i < argc; i++)
        if (is_flag(argv[i], "--run") || is_flag(argv[i], "--checkpoint") || is_flag(argv[i], "--config")) {
            fprintf(stderr, "innereye infer: --bundle replaces --run, --checkpoint and --config; give only one\n");
            return 2;
        }
    if (!file || !file[0]) {
        fprintf(stderr, "innereye infer: --bundle needs a value (a file from innereye export --format bundle)\n");
        return 2;
    }
    char dir[4200];
    if (ie_bundle_temp_dir(dir, sizeof dir) != IE_OK) {
        fprintf(stderr, "innereye infer: %s\n", ie_error_message());
        return 1;
    }
    if (ie_bundle_unpack(file, dir) != IE_OK) {
        fprintf(stderr, "innereye infer: --bundle %s: %s\n", file, ie_error_message());
        ie_bundle_remove_tree(dir);
        return 2;
    }
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        ie_bundle_remove_tree(dir);
        return 1;
    }
    for (int i = 0; i < argc; i++) args[i] = argv[i];
    args[at] = "--run";
    args[at + 1] = dir;
    int code = ie_cmd_infer(argc, args);
    free(args);
    ie_bundle_remove_tree(dir);
    return code;
}

int ie_cmd_infer(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--bundle")) return infer_bundle(argc, argv, i);
    session s = {0};
    request r = {0};
    for (int i = 0; i < argc; i++) {
        if (is_flag(argv[i], "--run")) r.run = flag_value(argc, argv, &i, "--run");
        else if (is_flag(argv[i], "--config")) r.has_config = true;
        else if (is_flag(argv[i], "--model")) r.has_model = true;
    }
    /* Classification and regression runs predict tables, not volumes. */
    bool scalar = false;
    if (r.run && is_dir(r.run) && ie_scalar_infer_is_scalar(r.run, &scalar) == IE_OK && scalar)
        return ie_cmd_infer_scalar(argc, argv);
    char dir[PATH_MAX], path[PATH_MAX + 64];
    ie_cli_config_dir(dir, sizeof dir);
    if (ie_config_new(&s.cfg) != IE_OK || ie_config_add_search_dir(s.cfg, dir) != IE_OK)
        return fail(&s, ie_error_message());
    bool ensemble = r.run && ie_ensemble_is(r.run);
    if (r.run) {
        snprintf(path, sizeof path, ensemble ? "%s/members/0/config.resolved.json" : "%s/config.resolved.json", r.run);
        if (!is_dir(r.run)) {
            fprintf(stderr, "innereye infer: --run %s: no such run folder\n", r.run);
            session_free(&s);
            return 2;
        }
        if (!is_file(path)) {
            fprintf(stderr, "innereye infer: --run %s is not a run folder: it has no config.resolved.json; give the "
                            "folder of a run that innereye train made (or an ensemble folder)\n", r.run);
            session_free(&s);
            return 2;
        }
        if (ie_config_add_file(s.cfg, path) != IE_OK) return fail(&s, ie_error_message());
    }
    /* --checkpoint with --model NAME: the model's built-in config, as train. */
    if (!r.run && r.has_model && !r.has_config && ie_cli_model_config(s.cfg, argc, argv) != IE_OK)
        return fail(&s, ie_error_message());
    /* --format F and --series S are short for --set infer.format=F and
     * --set data.dicom_series=S. */
    char **args = calloc((size_t)argc + 1, sizeof *args), **rest = calloc((size_t)argc + 1, sizeof *rest);
    static char owned[2][4200];
    bool given[2] = {false, false};
    int n_args = 0, n_rest = 0;
    if (!rest || !args) {
        free(args);
        free(rest);
        return fail(&s, "out of memory");
    }
    for (int i = 0; i < argc; i++) {
        static const char *const shorthand[2][2] = {{"--format", "infer.format"}, {"--series", "data.dicom_series"}};
        int which = is_flag(argv[i], "--format") ? 0 : is_flag(argv[i], "--series") ? 1 : -1;
        if (which < 0 || given[which]) {
            args[n_args++] = argv[i];
            continue;
        }
        const char *v = flag_value(argc, argv, &i, shorthand[which][0]);
        if (!v || (size_t)snprintf(owned[which], sizeof owned[which], "%s=%s", shorthand[which][1], v) >=
                      sizeof owned[which]) {
            free(args);
            free(rest);
            fprintf(stderr, "innereye infer: %s needs a value\n", shorthand[which][0]);
            session_free(&s);
            return 2;
        }
        given[which] = true;
        args[n_args++] = "--set";
        args[n_args++] = owned[which];
    }
    ie_status parsed_args = ie_config_parse_args(s.cfg, n_args, args, &n_rest, rest);
    free(args);
    if (parsed_args != IE_OK) {
        free(rest);
        fprintf(stderr, "innereye infer: %s\n", ie_error_message());
        session_free(&s);
        return 2;
    }
    request parsed = {.has_config = r.has_config, .has_model = r.has_model};
    int code = parse_request(n_rest, rest, &parsed);
    free(rest);
    if (code >= 0) {
        session_free(&s);
        return code;
    }
    r = parsed;
    if (ie_config_resolve(s.cfg) != IE_OK) {
        fprintf(stderr, "innereye infer: the configuration has problems:\n%s", ie_config_problems(s.cfg));
        session_free(&s);
        return 2;
    }
    if (ie_compute_setup(s.cfg, 0) != IE_OK) {
        fprintf(stderr, "innereye infer: %s\n", ie_error_message());
        session_free(&s);
        return 2;
    }
    /* From here a plugin runs: a crash or exit() in it is reported, and the
     * exit status is never 0 for an inference that did not finish. */
    ie_guard_begin("inference", NULL);

    char what[PATH_MAX + 256];
    ie_status st = ie_infer_settings_from_config(s.cfg, &s.settings);
    if (st == IE_OK) st = ie_seg_setup_from_config(s.cfg, s.settings.n_classes, &s.seg);
    if (st != IE_OK) {
        fprintf(stderr, "innereye infer: %s\n", ie_error_message());
        session_free(&s);
        return 2;
    }
    s.seg.seg.truth = IE_SEG_TRUTH_NONE; /* inference needs no labels */
    if (load_subjects(&s, &r) != IE_OK || (r.dataset && ie_dataset_check_names(s.ds) != IE_OK)) {
        int code = fail(&s, ie_error_message());
        return r.n_images ? 2 : code; /* a wrong --image count is a command-line problem */
    }
    int n = ie_dataset_count(s.ds);
    for (int i = 0; i < n; i++)
        if (ie_infer_outputs_check(r.out, ie_dataset_item_at(s.ds, i)->subject) != IE_OK ||
            ie_infer_check_item(&s.settings, s.seg.image_channels, s.seg.seg.n_image_channels,
                                ie_dataset_item_at(s.ds, i)) != IE_OK)
            return fail(&s, ie_error_message());
    if (ensemble) {
        /* Member 0's config makes the session's model; its weights come from
         * the ensemble, not from a checkpoint. */
        request member0 = r;
        member0.run = NULL;
        snprintf(path, sizeof path, "%s/members/0/weights.safetensors", r.run);
        member0.checkpoint = path;
        if (load_model(&s, &member0, what, sizeof what) != IE_OK ||
            load_ensemble_others(&s, r.run, what, sizeof what) != IE_OK)
            return fail(&s, ie_error_message());
    } else if (load_model(&s, &r, what, sizeof what) != IE_OK) {
        return fail(&s, ie_error_message());
    }
    printf("model %s\n%d subject%s -> %s; %d threads\n", what, n, n == 1 ? "" : "s", r.out, ie_threads_get());

    ie_plugin_hooks_ctx hooks_ctx;
    ie_data_hooks hooks = ie_plugin_data_hooks(s.plugin, s.model, ie_seg_hooks(&s.seg.seg), &hooks_ctx);
    ie_infer_net net = {.plugin = s.plugin, .model = s.model, .n_others = s.n_others, .others = s.others};
    ie_progress bar;
    ie_progress_begin(&bar, "infer", "subjects", n, 10);
    for (int i = 0; i < n; i++) {
        const ie_dataset_item *item = ie_dataset_item_at(s.ds, i);
        ie_infer_subject subject;
        double t0 = now_seconds();
        ie_guard_subject(item->subject);
        st = ie_infer_item(&s.settings, hooks.load_item, hooks.load_item_ctx, s.seg.image_channels[0], item, &s.host,
                           &net, &subject);
        if (st == IE_OK) st = ie_infer_write(r.out, &s.settings, &subject);
        if (st == IE_OK) {
            const ie_tensor *seg = subject.segmentation;
            ie_progress_clear(&bar); /* the subject's line above the bar */
            printf("%s: %lldx%lldx%lld voxels (z, y, x: D, H, W) -> %s/%s (%.1f s)\n", item->subject, (long long)ie_tensor_dim(seg, 0),
                   (long long)ie_tensor_dim(seg, 1), (long long)ie_tensor_dim(seg, 2), r.out, item->subject,
                   now_seconds() - t0);
            fflush(stdout);
        }
        ie_infer_subject_clear(&subject);
        if (st == IE_OK) ie_progress_tick(&bar);
        if (st != IE_OK) {
            ie_progress_end(&bar);
            char message[4096];
            snprintf(message, sizeof message, "%s\ninnereye infer: %d of %d subjects were written before this one",
                     ie_error_message(), i, n);
            return fail(&s, message);
        }
    }
    ie_progress_end(&bar);
    session_free(&s);
    printf("done: %s\n", r.out);
    return 0;
}
