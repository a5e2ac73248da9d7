/* tools - `innereye serve` (docs/deploy.md, "Serving over HTTP"):
 *
 *   innereye serve (--run RUN_DIR | --bundle FILE) [--port N] [--host ADDR] [--token-file FILE] ...
 *
 * Loads the model once, as `innereye infer` does (tools/infer_session.c),
 * and answers POST /v1/segment with the bytes infer writes for the same
 * images: the upload (one image, or multipart fields named by image channel
 * and a mask) is put on disk, segmented and written by the same code into a
 * work folder, and the file is sent back.  A classification or regression
 * run is served by tools/serve_scalar.c.  The HTTP side, limits and queue
 * are core/serve. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/export/bundle.h"
#include "core/inference/classification_regression_infer.h"
#include "core/plugin/guard.h"
#include "core/plugin/model_settings.h"
#include "core/run/run_settings.h"
#include "core/serve/serve.h"
#include "core/task/task.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "innereye/threads.h"
#include "tools/cli_config.h"
#include "tools/cmd_serve.h"
#include "tools/commands.h"
#include "tools/infer_session.h"
#include "tools/serve_scalar.h"

static void usage(FILE *out) { ie_cli_usage("serve", out); }

static bool is_flag(const char *arg, const char *flag) {
    size_t n = strlen(flag);
    return !strncmp(arg, flag, n) && (arg[n] == '\0' || arg[n] == '=');
}

static const char *flag_value(int argc, char **argv, int *i, const char *flag) {
    size_t n = strlen(flag);
    if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=') return argv[*i] + n + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

typedef struct serve_args {
    const char *run, *bundle, *host, *token_file;
    int port, queue, max_upload_mb, max_image_mb, timeout_s;
    bool allow_plugin_change;
} serve_args;

static int parse_number(const char *flag, const char *v, int lo, int hi, int *out) {
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !v[0] || *end || n < lo || n > hi) {
        fprintf(stderr, "innereye serve: %s needs a whole number from %d to %d, got '%s'\n", flag, lo, hi,
                v ? v : "");
        return 2;
    }
    *out = (int)n;
    return -1;
}

/* The serve flags among the arguments ie_config_parse_args left; -1: go on. */
static int parse_args(int argc, char **argv, serve_args *a) {
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--allow-plugin-change")) {
            a->allow_plugin_change = true;
            continue;
        }
        static const char *const text_flags[] = {"--run", "--bundle", "--host", "--token-file"};
        const char **text_slots[] = {&a->run, &a->bundle, &a->host, &a->token_file};
        static const char *const number_flags[] = {"--port", "--queue", "--max-upload-mb", "--max-image-mb",
                                                   "--timeout"};
        int *number_slots[] = {&a->port, &a->queue, &a->max_upload_mb, &a->max_image_mb, &a->timeout_s};
        static const int lo[] = {0, 1, 1, 1, 1}, hi[] = {65535, 10000, 1 << 20, 1 << 20, 86400};
        bool known = false;
        for (int f = 0; f < 4 && !known; f++)
            if (is_flag(arg, text_flags[f])) {
                known = true;
                const char *v = flag_value(argc, argv, &i, text_flags[f]);
                if (!v || !v[0]) {
                    fprintf(stderr, "innereye serve: %s needs a value\n", text_flags[f]);
                    return 2;
                }
                *text_slots[f] = v;
            }
        for (int f = 0; f < 5 && !known; f++)
            if (is_flag(arg, number_flags[f])) {
                known = true;
                int code = parse_number(number_flags[f], flag_value(argc, argv, &i, number_flags[f]), lo[f], hi[f],
                                        number_slots[f]);
                if (code >= 0) return code;
            }
        if (!known) {
            ie_cli_unknown_option("serve", arg);
            return 2;
        }
    }
    if (!a->run == !a->bundle) {
        usage(stderr);
        fprintf(stderr, "innereye serve: give either --run RUN_DIR (a run or ensemble folder) or --bundle FILE\n");
        return 2;
    }
    return -1;
}

/* The token: the file's first line, which must not be empty. */
static int read_token(const char *path, char *token, size_t size) {
    char *text = NULL;
    if (ie_read_file(path, &text, NULL) != IE_OK) {
        fprintf(stderr, "innereye serve: --token-file %s: %s\n", path, ie_error_message());
        return 2;
    }
    size_t n = strcspn(text, "\r\n");
    text[n] = '\0';
    bool printable = n > 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] <= ' ' || text[i] == 127) printable = false;
    if (!printable || n >= size) {
        free(text);
        fprintf(stderr, "innereye serve: --token-file %s: the first line must be the token: 1 to %zu characters, "
                "no spaces or control characters (for example: openssl rand -hex 32 > %s)\n", path, size - 1, path);
        return 2;
    }
    memcpy(token, text, n + 1);
    free(text);
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "innereye serve: warning: --token-file %s can be read by other users (chmod 600 %s)\n", path,
                path);
    return -1;
}

/* The multipart field that holds a mask: data.mask_channel, else "mask"
 * (infer --mask's channel). */
static const char *mask_field(const ie_infer_session *s) {
    return s->settings.mask_channel && s->settings.mask_channel[0] ? s->settings.mask_channel : "mask";
}

/* GET /v1/model. */
static char *model_json(const ie_infer_session *s, const char *source) {
    const ie_plugin *p = &s->plugin->table;
    ie_model_settings model = {.name = ""};
    ie_model_settings_read(s->cfg, &model); /* the session's config is resolved: it cannot fail */
    const char *name = model.name;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name[0] ? name : p->name);
    cJSON_AddStringToObject(j, "plugin", p->name);
    cJSON_AddStringToObject(j, "version", p->version);
    cJSON_AddStringToObject(j, "weights_sha256", s->weights_sha256);
    cJSON_AddStringToObject(j, "task", "segmentation");
    cJSON_AddNumberToObject(j, "members", 1 + s->n_others);
    cJSON *classes = cJSON_AddArrayToObject(j, "classes");
    for (int c = 0; c < s->settings.n_classes; c++)
        cJSON_AddItemToArray(classes, cJSON_CreateString(s->settings.class_names[c]));
    cJSON *channels = cJSON_AddArrayToObject(j, "image_channels");
    for (int c = 0; c < s->seg.seg.n_image_channels; c++)
        cJSON_AddItemToArray(channels, cJSON_CreateString(s->seg.image_channels[c]));
    cJSON_AddStringToObject(j, "mask", mask_field(s));
    cJSON_AddStringToObject(j, "source", source);
    return ie_serve_json_text(j, NULL);
}

/* The names a request may use, for messages: "ct, mr (image channels), mask". */
static void field_names(const ie_infer_session *s, char *out, size_t size) {
    out[0] = '\0';
    for (int c = 0; c < s->seg.seg.n_image_channels; c++) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", c ? ", " : "", s->seg.image_channels[c]);
    }
    size_t n = strlen(out);
    snprintf(out + n, size - n, " (image channel%s, all needed) and %s (a mask, optional)",
             s->seg.seg.n_image_channels == 1 ? "" : "s", mask_field(s));
}

/* The request's inputs as the model's image channels, in data.image_channels
 * order, and the mask: the whole body is the image of a one-channel model;
 * multipart fields are named by channel, and the mask by mask_field().
 * False with a 400 reply when they do not fit. */
static bool channels_of(const ie_infer_session *s, const ie_serve_input *in, int n, const char **images,
                        ie_upload_kind *first_kind, const char **mask, ie_serve_reply *reply) {
    int want = s->seg.seg.n_image_channels;
    char names[1200];
    field_names(s, names, sizeof names);
    reply->status = 400;
    if (!in[0].name) {
        if (want == 1) {
            images[0] = in[0].image;
            *first_kind = in[0].kind;
            reply->status = 0;
            return true;
        }
        snprintf(reply->message, sizeof reply->message, "the model takes %d image channels: send them as "
                 "multipart/form-data fields named %s (curl -F %s=@FILE ...)", want, names, s->seg.image_channels[0]);
        return false;
    }
    for (int c = 0; c < want; c++) images[c] = NULL;
    for (int i = 0; i < n; i++) {
        int c = 0;
        while (c < want && strcmp(in[i].name, s->seg.image_channels[c]) != 0) c++;
        bool is_mask = c == want && !strcmp(in[i].name, mask_field(s));
        if (c == want && !is_mask) {
            snprintf(reply->message, sizeof reply->message, "the multipart field '%.100s' is not one this model "
                     "takes; its fields are %s", in[i].name, names);
            return false;
        }
        if (!in[i].image) {
            snprintf(reply->message, sizeof reply->message, "the multipart field '%.100s' must be a file (curl -F "
                     "%.100s=@FILE), not a value", in[i].name, in[i].name);
            return false;
        }
        if (is_mask) *mask = in[i].image;
        else images[c] = in[i].image;
        if (c == 0) *first_kind = in[i].kind;
    }
    for (int c = 0; c < want; c++)
        if (!images[c]) {
            snprintf(reply->message, sizeof reply->message, "the image channel '%s' is missing: the model's fields "
                     "are %s", s->seg.image_channels[c], names);
            return false;
        }
    reply->status = 0;
    return true;
}

/* The app's segment(): the images through the session, as infer does it. */
static void segment(void *ctx, const ie_serve_input *inputs, int n_inputs, ie_serve_format format,
                    const char *work_dir, ie_serve_reply *reply) {
    ie_infer_session *s = ctx;
    const char *images[IE_SERVE_MAX_FIELDS], *mask = NULL;
    ie_upload_kind first_kind = IE_UPLOAD_NIFTI;
    if (!channels_of(s, inputs, n_inputs, images, &first_kind, &mask, reply)) return;
    if (format != IE_SERVE_NIFTI && first_kind != IE_UPLOAD_DICOM_ZIP) {
        reply->status = 400;
        snprintf(reply->message, sizeof reply->message, "format=%s answers with a DICOM object that references the "
                 "slices of the first image channel ('%s'): send it as a zip of a DICOM series, or ask for "
                 "format=nifti", format == IE_SERVE_RTSTRUCT ? "rtstruct" : "dicom-seg", s->seg.image_channels[0]);
        return;
    }
    ie_infer_settings settings;
    ie_dataset *ds = NULL;
    ie_status st = ie_infer_session_subject(s, images, s->seg.seg.n_image_channels, mask, "upload", &settings, &ds);
    settings.write_posteriors = false; /* the answer is the segmentation only */
    settings.format = format == IE_SERVE_RTSTRUCT    ? IE_INFER_RTSTRUCT
                      : format == IE_SERVE_DICOM_SEG ? IE_INFER_DICOM_SEG
                                                     : IE_INFER_NIFTI;
    const ie_dataset_item *item = st == IE_OK ? ie_dataset_item_at(ds, 0) : NULL;
    if (st == IE_OK)
        st = ie_infer_check_item(&settings, s->seg.image_channels, s->seg.seg.n_image_channels, item);
    char out[4400], file[4600];
    if (st == IE_OK) st = ie_path_format(out, sizeof out, "%s/out", work_dir);
    ie_infer_subject subject = {0};
    if (st == IE_OK) st = ie_infer_session_segment(s, &settings, item, out, &subject);
    ie_infer_subject_clear(&subject);
    ie_dataset_free(ds);
    static const char *const names[] = {"segmentation.nii.gz", "segmentation.dcm", "rtstruct.dcm"};
    if (st == IE_OK) st = ie_path_format(file, sizeof file, "%s/upload/%s", out, names[format]);
    if (st == IE_OK) st = ie_read_file(file, &reply->body, &reply->size);
    if (st != IE_OK) {
        /* The image's fault unless the server or a plugin broke. */
        reply->status = st == IE_ERR_NOMEM                                                  ? 503
                        : st == IE_ERR_INTERNAL || st == IE_ERR_PLUGIN || st == IE_ERR_STATE ? 500
                                                                                            : 400;
        snprintf(reply->message, sizeof reply->message, "%s", ie_error_message());
        return;
    }
    reply->status = 200;
    reply->content_type = format == IE_SERVE_NIFTI ? "application/gzip" : "application/dicom";
    reply->filename = names[format];
}

/* Serves a classification or regression run (serve_scalar.h) until stopped. */
static int serve_scalar(const char *run, const ie_serve_options *options, const char *source,
                        const char *bundle_dir) {
    ie_serve_scalar m;
    ie_guard_begin("inference", NULL); /* a plugin's crash is reported, never exit 0 */
    ie_status st = ie_serve_scalar_open(run, &m);
    char *json = st == IE_OK ? ie_serve_scalar_model_json(&m, source) : NULL;
    if (st == IE_OK && !json) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    if (st == IE_OK) {
        const ie_scalar_model *first = &m.session.members[0].model;
        /* A bundle is named as the user gave it, not by the temporary
         * folder it was unpacked into. */
        if (m.session.n_members == 1 && bundle_dir[0])
            printf("model %s %s, the 1 member of %s\n", first->plugin->table.name, first->plugin->table.version,
                   source);
        else if (m.session.n_members == 1)
            printf("model %s %s, weights %s\n", first->plugin->table.name, first->plugin->table.version,
                   first->weights);
        else
            printf("model ensemble of %d members (%s), their predictions averaged\n", m.session.n_members, source);
        printf("weights SHA-256 %s; %d threads\n", m.session.weights_sha256, ie_threads_get());
        ie_serve_app app = {.segment = ie_serve_scalar_answer, .ctx = &m, .model_json = json,
                            .model_sha256 = m.session.weights_sha256};
        st = ie_serve_run(options, &app);
    }
    if (st != IE_OK) fprintf(stderr, "innereye serve: %s\n", ie_error_message());
    free(json);
    ie_serve_scalar_close(&m);
    ie_guard_end();
    if (bundle_dir[0]) ie_remove_tree(bundle_dir);
    if (st == IE_OK) printf("stopped\n");
    return st == IE_OK ? 0 : 1;
}

static int fail(ie_infer_session *s, const char *bundle_dir, int code) {
    fprintf(stderr, "innereye serve: %s\n", ie_error_message());
    ie_infer_session_free(s);
    if (bundle_dir[0]) ie_remove_tree(bundle_dir);
    return code;
}

int ie_cmd_serve(int argc, char **argv) {
    serve_args a = {.host = "127.0.0.1", .port = 8080, .queue = 8, .max_upload_mb = 512, .max_image_mb = 2048,
                    .timeout_s = 600};
    for (int i = 0; i < argc; i++) {
        if (is_flag(argv[i], "--run")) a.run = flag_value(argc, argv, &i, "--run");
        else if (is_flag(argv[i], "--bundle")) a.bundle = flag_value(argc, argv, &i, "--bundle");
    }
    ie_infer_session s = {0};
    char bundle_dir[4200] = "", run[4200] = "", path[4400];
    if (a.bundle && !a.run) {
        if (ie_bundle_temp_dir(bundle_dir, sizeof bundle_dir) != IE_OK) return fail(&s, "", 1);
        if (ie_bundle_unpack(a.bundle, bundle_dir) != IE_OK) {
            fprintf(stderr, "innereye serve: --bundle %s: %s\n", a.bundle, ie_error_message());
            ie_remove_tree(bundle_dir);
            return 2;
        }
        memcpy(run, bundle_dir, sizeof run); /* the same size: nothing is cut */
    } else if (a.run && ie_path_format(run, sizeof run, "%s", a.run) != IE_OK) {
        fprintf(stderr, "innereye serve: --run %s\n", ie_error_message());
        return 2;
    }
    bool ensemble = run[0] && ie_ensemble_is(run);
    struct stat st;
    if (ie_path_format(path, sizeof path, ensemble ? "%s/members/0/config.resolved.json" : "%s/config.resolved.json",
                       run) != IE_OK) {
        fprintf(stderr, "innereye serve: --run %s\n", ie_error_message());
        if (bundle_dir[0]) ie_remove_tree(bundle_dir);
        return 2;
    }
    if (run[0] && stat(path, &st) != 0) {
        fprintf(stderr, "innereye serve: --run %s is not a run folder: it has no config.resolved.json; give the "
                        "folder of a run that innereye train made, an ensemble folder, or --bundle FILE\n", run);
        if (bundle_dir[0]) ie_remove_tree(bundle_dir);
        return 2;
    }
    char dir[PATH_MAX];
    if (ie_cli_config_dir(dir, sizeof dir) != IE_OK || ie_config_new(&s.cfg) != IE_OK ||
        ie_config_add_search_dir(s.cfg, dir) != IE_OK ||
        (run[0] && ie_config_add_file(s.cfg, path) != IE_OK))
        return fail(&s, bundle_dir, 1);
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0;
    if (!rest) return fail(&s, bundle_dir, 1);
    if (ie_config_parse_args(s.cfg, argc, argv, &n_rest, rest) != IE_OK) {
        free(rest);
        return fail(&s, bundle_dir, 2);
    }
    serve_args parsed = a;
    parsed.run = parsed.bundle = NULL;
    int code = parse_args(n_rest, rest, &parsed);
    free(rest);
    if (code >= 0) {
        ie_infer_session_free(&s);
        if (bundle_dir[0]) ie_remove_tree(bundle_dir);
        return code;
    }
    a = parsed;
    char token[512];
    if (a.token_file && (code = read_token(a.token_file, token, sizeof token)) >= 0) {
        ie_infer_session_free(&s);
        if (bundle_dir[0]) ie_remove_tree(bundle_dir);
        return code;
    }
    const char *tmp = getenv("TMPDIR");
    ie_serve_options options = {.host = a.host, .port = a.port, .token = a.token_file ? token : NULL,
                                .max_upload = (size_t)a.max_upload_mb << 20, .max_image = (size_t)a.max_image_mb << 20,
                                .max_requests = a.queue, .timeout_s = a.timeout_s,
                                .tmp_dir = tmp && tmp[0] ? tmp : "/tmp", .log = stderr};
    /* Classification and regression runs (a task that predicts a table,
     * core/task/task.h) predict with what they were trained with, as infer
     * does: nothing can be changed. */
    const ie_task *task = NULL;
    if (ie_task_of_run(run, &task) == IE_OK && task && task->infer_table) {
        for (int i = 0; i < argc; i++)
            if (is_flag(argv[i], "--set") || is_flag(argv[i], "--config")) {
                fprintf(stderr, "innereye serve: %s: a classification or regression run predicts with the settings "
                        "and statistics it was trained with; nothing can be changed\n", argv[i]);
                ie_infer_session_free(&s);
                if (bundle_dir[0]) ie_remove_tree(bundle_dir);
                return 2;
            }
        ie_run_settings run_settings = {.threads = 0};
        if (ie_config_resolve(s.cfg) == IE_OK) ie_run_settings_read(s.cfg, &run_settings);
        ie_threads_set(run_settings.threads);
        ie_config_free(s.cfg);
        return serve_scalar(run, &options, a.bundle ? a.bundle : a.run, bundle_dir);
    }
    if (ie_infer_session_prepare(&s, 0) != IE_OK) return fail(&s, bundle_dir, 2);
    char what[PATH_MAX + 256];
    ie_infer_source source = {.run = run, .ensemble = ensemble, .allow_plugin_change = a.allow_plugin_change,
                              .label = bundle_dir[0] ? a.bundle : NULL};
    if (ie_infer_session_load(&s, &source, what, sizeof what) != IE_OK) return fail(&s, bundle_dir, 1);
    char *json = model_json(&s, a.bundle ? a.bundle : a.run);
    if (!json) {
        ie_error_set(IE_ERR_NOMEM, "out of memory");
        return fail(&s, bundle_dir, 1);
    }
    printf("model %s\nweights SHA-256 %s; %d threads\n", what, s.weights_sha256, ie_threads_get());
    ie_serve_app app = {.segment = segment, .ctx = &s, .model_json = json, .model_sha256 = s.weights_sha256};
    ie_status served = ie_serve_run(&options, &app);
    free(json);
    if (served != IE_OK) return fail(&s, bundle_dir, 1);
    ie_infer_session_free(&s);
    if (bundle_dir[0]) ie_remove_tree(bundle_dir);
    printf("stopped\n");
    return 0;
}
