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

#include "core/util/path.h"
#include "core/util/progress.h"
#include "core/util/file_util.h"
#include "core/data/dataset.h"
#include "core/run/ensemble.h"
#include "core/export/bundle.h"
#include "core/task/task.h"
#include "innereye/threads.h"
#include "tools/cli_config.h"
#include "tools/cmd_infer.h"
#include "tools/commands.h"
#include "tools/infer_session.h"

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

typedef struct request {
    const char *run, *checkpoint, *dataset, *out, *mask, *subject;
    char out_dir[4096]; /* --out without a '/' at its end: what out points to */
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
    /* "--out predictions/": every path below reads predictions/<subject>. */
    if (ie_path_format(r->out_dir, sizeof r->out_dir, "%s", r->out) != IE_OK) {
        fprintf(stderr, "innereye infer: --out %s\n", ie_error_message());
        return 2;
    }
    ie_path_trim_slashes(r->out_dir);
    r->out = r->out_dir;
    return -1; /* go on */
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(ie_infer_session *s, const char *message) {
    fprintf(stderr, "innereye infer: %s\n", message);
    ie_infer_session_free(s);
    return 1;
}

/* The subjects: the --dataset CSV, or one subject made of the --image files
 * (and --mask: *settings name its channel). */
static ie_status load_subjects(ie_infer_session *s, const request *r, ie_infer_settings *settings) {
    *settings = s->settings;
    if (r->dataset) return ie_dataset_load(r->dataset, "subject", &s->ds);
    char subject[512];
    if (r->subject) IE_TRY(ie_path_format(subject, sizeof subject, "%s", r->subject));
    else subject_from_file(r->images[0], subject, sizeof subject);
    return ie_infer_session_subject(s, r->images, r->n_images, r->mask, subject, settings, &s->ds);
}

/* The --bundle FILE being inferred from, named in messages instead of the
 * temporary folder it was unpacked into; NULL: none. */
static const char *bundle_file;

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
        ie_remove_tree(dir);
        return 2;
    }
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        ie_remove_tree(dir);
        return 1;
    }
    for (int i = 0; i < argc; i++) args[i] = argv[i];
    args[at] = "--run";
    args[at + 1] = dir;
    bundle_file = file;
    int code = ie_cmd_infer(argc, args);
    bundle_file = NULL;
    free(args);
    ie_remove_tree(dir);
    return code;
}

int ie_cmd_infer(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--bundle")) return infer_bundle(argc, argv, i);
    ie_infer_session s = {0};
    request r = {0};
    for (int i = 0; i < argc; i++) {
        if (is_flag(argv[i], "--run")) r.run = flag_value(argc, argv, &i, "--run");
        else if (is_flag(argv[i], "--config")) r.has_config = true;
        else if (is_flag(argv[i], "--model")) r.has_model = true;
    }
    /* Runs of some tasks predict tables, not volumes (core/task/task.h);
     * problems with the run are reported when it is opened below. */
    const ie_task *task = NULL;
    if (r.run && is_dir(r.run) && ie_task_of_run(r.run, &task) == IE_OK && task && task->infer_table)
        return ie_cmd_infer_table(task, argc, argv);
    char dir[PATH_MAX], path[PATH_MAX + 64];
    if (ie_cli_config_dir(dir, sizeof dir) != IE_OK || ie_config_new(&s.cfg) != IE_OK ||
        ie_config_add_search_dir(s.cfg, dir) != IE_OK)
        return fail(&s, ie_error_message());
    bool ensemble = r.run && ie_ensemble_is(r.run);
    if (r.run) {
        if (ie_path_format(path, sizeof path,
                           ensemble ? "%s/members/0/config.resolved.json" : "%s/config.resolved.json", r.run) != IE_OK)
            return fail(&s, ie_error_message());
        if (!is_dir(r.run)) {
            fprintf(stderr, "innereye infer: --run %s: no such run folder\n", r.run);
            ie_infer_session_free(&s);
            return 2;
        }
        if (!is_file(path)) {
            fprintf(stderr, "innereye infer: --run %s is not a run folder: it has no config.resolved.json; give the "
                            "folder of a run that innereye train made (or an ensemble folder)\n", r.run);
            ie_infer_session_free(&s);
            return 2;
        }
        if (ie_config_add_file(s.cfg, path) != IE_OK) return fail(&s, ie_error_message());
        /* The post-processing a cross-validation chose for its folds'
         * ensemble (core/experiment/cv_postprocess.h) overrides the members'. */
        if (ie_path_format(path, sizeof path, "%s/postprocess.json", r.run) != IE_OK)
            return fail(&s, ie_error_message());
        if (ensemble && is_file(path) && ie_config_add_file(s.cfg, path) != IE_OK) return fail(&s, ie_error_message());
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
            ie_infer_session_free(&s);
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
        ie_infer_session_free(&s);
        return 2;
    }
    request parsed = {.has_config = r.has_config, .has_model = r.has_model};
    int code = parse_request(n_rest, rest, &parsed);
    free(rest);
    if (code >= 0) {
        ie_infer_session_free(&s);
        return code;
    }
    r = parsed;
    r.out = r.out_dir; /* the copy's own --out */
    if (ie_infer_session_prepare(&s, 0) != IE_OK) {
        fprintf(stderr, "innereye infer: %s\n", ie_error_message());
        ie_infer_session_free(&s);
        return 2;
    }
    char what[PATH_MAX + 256];
    ie_infer_settings settings;
    if (load_subjects(&s, &r, &settings) != IE_OK || (r.dataset && ie_dataset_check_names(s.ds) != IE_OK)) {
        int code = fail(&s, ie_error_message());
        return r.n_images ? 2 : code; /* a wrong --image count is a command-line problem */
    }
    int n = ie_dataset_count(s.ds);
    for (int i = 0; i < n; i++)
        if (ie_infer_outputs_check(r.out, ie_dataset_item_at(s.ds, i)->subject) != IE_OK ||
            ie_infer_check_item(&settings, s.seg.image_channels, s.seg.seg.n_image_channels,
                                ie_dataset_item_at(s.ds, i)) != IE_OK)
            return fail(&s, ie_error_message());
    ie_infer_source source = {.run = r.run, .checkpoint = r.checkpoint, .ensemble = ensemble,
                              .allow_plugin_change = r.allow_plugin_change, .label = bundle_file};
    if (ie_infer_session_load(&s, &source, what, sizeof what) != IE_OK) return fail(&s, ie_error_message());
    printf("model %s\n%d subject%s -> %s; %d threads\n", what, n, n == 1 ? "" : "s", r.out, ie_threads_get());

    ie_progress bar;
    ie_progress_begin(&bar, "infer", "subjects", n, 10);
    for (int i = 0; i < n; i++) {
        const ie_dataset_item *item = ie_dataset_item_at(s.ds, i);
        ie_infer_subject subject = {0};
        double t0 = now_seconds();
        ie_status st = ie_infer_session_segment(&s, &settings, item, r.out, &subject);
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
    ie_infer_session_free(&s);
    printf("done: %s\n", r.out);
    return 0;
}
