/* core/submit - AzureML back end: CLI v2 YAML, code snapshot, az. */
#define _GNU_SOURCE /* open_memstream */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/data/data_settings.h"
#include "core/submit/azureml.h"
#include "core/submit/azureml_az.h"
#include "core/tracking/mlflow_data.h"
#include "core/submit/snapshot.h"
#include "core/run/run_dir.h"
#include "core/util/path.h"

#define COMMAND_SCHEMA "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
#define SWEEP_SCHEMA "https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json"
#define MAX_SETS 8

/* ------------------------------------------------------------ YAML out */

/* A double-quoted YAML scalar: every string we write is quoted, so no value
 * can turn into a number, a boolean or a null. */
static void yq(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

static void kv(FILE *f, int indent, const char *key, const char *value) {
    fprintf(f, "%*s%s: ", indent, "", key);
    yq(f, value);
    fputc('\n', f);
}

/* Constants of the schema (type: sweep) and numbers. */
static void kv_plain(FILE *f, int indent, const char *key, const char *value) {
    fprintf(f, "%*s%s: %s\n", indent, "", key, value);
}

static void kv_num(FILE *f, int indent, const char *key, double v) {
    fprintf(f, "%*s%s: %.17g\n", indent, "", key, v);
}

static bool is_number(const char *s) {
    char *end;
    if (!*s) return false;
    double v = strtod(s, &end);
    return *end == '\0' && isfinite(v);
}

/* A flow sequence; numbers stay numbers (the trial gets them as written). */
static void values_list(FILE *f, int indent, char values[][64], int n) {
    fprintf(f, "%*svalues: [", indent, "");
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        if (is_number(values[i])) fputs(values[i], f);
        else yq(f, values[i]);
    }
    fputs("]\n", f);
}

/* ------------------------------------------------------------- data */

typedef struct data_map {
    char local[PATH_MAX];             /* the folder the input replaces ("" when none) */
    char sets[MAX_SETS][1100];        /* --set words pointing the config at ${{inputs.data}} */
    int n_sets;
    bool input;                       /* the job has a data input */
    char path[PATH_MAX + 16];         /* the input's path: asset, or local folder */
} data_map;

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Absolute, normalised (existing paths through realpath). */
static void absolute(const char *path, char *out, size_t size) {
    char real[PATH_MAX];
    if (realpath(path, real)) {
        snprintf(out, size, "%s", real);
        return;
    }
    char cwd[PATH_MAX] = ".";
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) snprintf(out, size, "%s", path);
    else snprintf(out, size, "%s/%s", cwd, path);
}

/* `path` relative to folder `base` ("" when equal), or NULL when outside. */
static const char *inside(const char *path, const char *base) {
    size_t n = strlen(base);
    if (strncmp(path, base, n) != 0) return NULL;
    if (path[n] == '\0') return "";
    return path[n] == '/' ? path + n + 1 : NULL;
}

static void input_word(char *out, size_t size, const char *key, const char *rel) {
    snprintf(out, size, "%s=${{inputs.data}}%s%s", key, rel[0] ? "/" : "", rel);
}

/* The dataset folder: the folder of data.dataset_csv (InnerEye's layout:
 * dataset.csv beside the images), or the common parent of data.images_dir
 * and data.labels_dir.  The data input (asset or uploaded folder) takes its
 * place with the same layout inside. */
static ie_status map_data(const ie_config *cfg, const ie_azureml_opts *o, data_map *d, FILE *out) {
    memset(d, 0, sizeof *d);
    ie_data_settings data;
    IE_TRY(ie_data_settings_read(cfg, &data));
    const char *csv = data.dataset_csv, *root = data.root, *images = data.images_dir, *labels = data.labels_dir;
    bool synthetic = data.synthetic, fallback = data.fallback_synthetic;
    bool given = o->data_asset || o->data_path;
    if (synthetic || (!csv[0] && !images[0])) {
        if (given)
            return ie_error_set(IE_ERR_CONFIG, "the config generates its data (data.synthetic, or no data.dataset_csv "
                                               "/ data.images_dir): --data/--data-path would not be used");
        return IE_OK;
    }
    char a[PATH_MAX], b[PATH_MAX];
    if (csv[0]) {
        absolute(csv, a, sizeof a);
        char dir[PATH_MAX];
        IE_TRY(ie_path_format(dir, sizeof dir, "%s", a));
        snprintf(d->local, sizeof d->local, "%s", dirname(dir));
        input_word(d->sets[d->n_sets++], sizeof d->sets[0], "data.dataset_csv", inside(a, d->local));
        if (root[0]) {
            absolute(root, b, sizeof b);
            const char *rel = inside(b, d->local);
            if (!rel)
                return ie_error_set(IE_ERR_CONFIG, "data.root %s is outside the dataset folder %s (the folder of "
                                                   "data.dataset_csv), which is what the job gets as its data input",
                                    root, d->local);
            input_word(d->sets[d->n_sets++], sizeof d->sets[0], "data.root", rel);
        }
    } else {
        if (!labels[0]) return ie_error_set(IE_ERR_CONFIG, "data.images_dir is set but data.labels_dir is empty");
        absolute(images, a, sizeof a);
        absolute(labels, b, sizeof b);
        /* The longest common folder of the two. */
        snprintf(d->local, sizeof d->local, "%s", a);
        while (!(inside(a, d->local) && inside(b, d->local))) {
            char *slash = strrchr(d->local, '/');
            if (!slash || slash == d->local) {
                snprintf(d->local, sizeof d->local, "/");
                break;
            }
            *slash = '\0';
        }
        input_word(d->sets[d->n_sets++], sizeof d->sets[0], "data.images_dir", inside(a, d->local));
        input_word(d->sets[d->n_sets++], sizeof d->sets[0], "data.labels_dir", inside(b, d->local));
    }
    if (o->data_asset) {
        snprintf(d->path, sizeof d->path, "%s", o->data_asset);
    } else if (o->data_path) {
        if (!is_dir(o->data_path))
            return ie_error_set(IE_ERR_IO, "--data-path %s is not a folder", o->data_path);
        absolute(o->data_path, d->path, sizeof d->path);
    } else if (is_dir(d->local)) {
        snprintf(d->path, sizeof d->path, "%s", d->local);
        if (out)
            fprintf(out, "data: the job's data input is %s, uploaded at submission (register it once as a data "
                         "asset and give --data azureml:NAME@latest to upload it only once)\n", d->local);
    } else if (fallback && !csv[0]) {
        /* As the trainer (core/train/data_setup.c): data.fallback_synthetic
         * stands in for a missing data.images_dir only; a data.dataset_csv
         * is always read, so a missing one is the error below. */
        if (out)
            fprintf(out, "data: %s does not exist here and no --data was given: the job generates volumes "
                         "(data.fallback_synthetic)\n", d->local);
        d->n_sets = 0;
        return IE_OK;
    } else {
        return ie_error_set(IE_ERR_CONFIG, "the dataset folder %s does not exist here: give the data as --data "
                                           "azureml:NAME@latest (a registered data asset) or --data-path FOLDER",
                            d->local);
    }
    d->input = true;
    return IE_OK;
}

/* --------------------------------------------------------- job files */

typedef struct spec_ctx {
    const ie_job *job;
    const ie_azureml_opts *o;
    const data_map *data;
    char commit[64];
    const char *config_rel; /* the config input's path, relative to the YAML */
} spec_ctx;

static void header(FILE *f, const spec_ctx *c, const char *schema, const char *type, const char *display,
                   const char *description, int task) {
    fprintf(f, "# Written by `innereye submit azureml` (docs/cluster.md). Create the job with:\n");
    fprintf(f, "#   az ml job create --file <this file>\n");
    kv_plain(f, 0, "$schema", schema);
    kv_plain(f, 0, "type", type);
    kv(f, 0, "display_name", display);
    kv(f, 0, "experiment_name", c->o->experiment ? c->o->experiment : "innereye");
    kv(f, 0, "description", description);
    fprintf(f, "tags:\n");
    kv(f, 2, "innereye_run", c->job->name);
    kv(f, 2, "innereye_commit", c->commit);
    /* Which fold or trial a command job runs (status and collect read it). */
    if (task >= 0) fprintf(f, "  innereye_task: \"%d\"\n", task);
    char compute[512];
    snprintf(compute, sizeof compute, "%s%s", strncmp(c->o->compute, "azureml:", 8) ? "azureml:" : "", c->o->compute);
    kv(f, 0, "compute", compute);
}

static void io(FILE *f, const spec_ctx *c) {
    fprintf(f, "inputs:\n  config:\n");
    kv_plain(f, 4, "type", "uri_file");
    kv(f, 4, "path", c->config_rel);
    if (c->data->input) {
        fprintf(f, "  data:\n");
        kv_plain(f, 4, "type", "uri_folder");
        kv(f, 4, "path", c->data->path);
        kv_plain(f, 4, "mode", "ro_mount");
    }
    /* The run folder: what the job writes under --output-dir. */
    fprintf(f, "outputs:\n  run:\n");
    kv_plain(f, 4, "type", "uri_folder");
    kv_plain(f, 4, "mode", "rw_mount");
}

/* code, command and environment: top level of a command job, or under trial. */
static void runnable(FILE *f, int indent, const spec_ctx *c, const char *command) {
    kv(f, indent, "code", "code");
    kv(f, indent, "command", command);
    fprintf(f, "%*senvironment:\n%*sbuild:\n", indent, "", indent + 2, "");
    kv(f, indent + 4, "path", "code");
    kv(f, indent + 4, "dockerfile_path", c->o->cuda ? "docker/Dockerfile.cuda" : "docker/Dockerfile");
}

/* The task runs from inside its output folder with --output-dir ., as a
 * local fold runs from the project folder with --output-dir outputs: the
 * paths its run.json records (e.g. generated data) are relative, so they
 * hold again once the output is downloaded into the local run folder. */
#define TASK_PREFIX "cd ${{outputs.run}} && "

static ie_status task_command(const spec_ctx *c, const char *fold, const char *const values[], char **command) {
    const char *sets[MAX_SETS];
    for (int i = 0; i < c->data->n_sets; i++) sets[i] = c->data->sets[i];
    ie_task_tokens t = {.program = "innereye", .config = "${{inputs.config}}", .config_raw = true,
                        .output_dir = ".", .output_dir_raw = true, .fold = fold,
                        .trial_name = "trial", .median_siblings = false, .sets = sets, .n_sets = c->data->n_sets};
    if (values) memcpy(t.values, values, sizeof t.values);
    ie_cmdline cl = {0};
    ie_status st = ie_job_train_command(c->job, &t, &cl);
    char *words = st == IE_OK ? ie_cmdline_string(&cl) : NULL;
    ie_cmdline_free(&cl);
    *command = NULL;
    if (words && asprintf(command, "%s%s", TASK_PREFIX, words) < 0) *command = NULL;
    free(words);
    if (st == IE_OK && !*command) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    return st;
}

/* One task as a command job: the run (fold < 0), fold `fold` of a
 * cross-validation, or trial `fold` of a sweep with the swept keys' values. */
static ie_status command_job(const spec_ctx *c, int fold, const char *const values[], char **text) {
    size_t size;
    FILE *f = open_memstream(text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    char display[512], description[1024], index[16], *command = NULL;
    snprintf(index, sizeof index, "%d", fold);
    if (c->job->kind == IE_JOB_SWEEP) {
        snprintf(display, sizeof display, "%s trial %d", c->job->name, fold);
        snprintf(description, sizeof description, "InnerEye-C hyperparameter sweep %s: trial %d, resubmitted",
                 c->job->name, fold);
    } else if (fold >= 0) {
        snprintf(display, sizeof display, "%s fold %d", c->job->name, fold);
        snprintf(description, sizeof description, "InnerEye-C cross-validation %s: fold %d of %d", c->job->name, fold,
                 c->job->tasks);
    } else {
        snprintf(display, sizeof display, "%s", c->job->name);
        snprintf(description, sizeof description, "InnerEye-C training run %s", c->job->name);
    }
    bool cv = c->job->kind == IE_JOB_CV;
    ie_status st = task_command(c, cv ? index : NULL, values, &command);
    if (st == IE_OK) {
        header(f, c, COMMAND_SCHEMA, "command", display, description, fold);
        runnable(f, 0, c, command);
        io(f, c);
        int nodes = c->o->instance_count > 0 ? c->o->instance_count : 1,
            per_node = c->o->processes_per_instance > 0 ? c->o->processes_per_instance : 1;
        /* AzureML starts the command once per process under its mpirun; each
         * joins the run (core/dist/comm.c) and rank 0 writes the outputs. */
        if (nodes * per_node > 1)
            fprintf(f, "distribution:\n  type: mpi\n  process_count_per_instance: %d\nresources:\n"
                       "  instance_count: %d\n", per_node, nodes);
    }
    free(command);
    fclose(f);
    if (st != IE_OK) free(*text);
    return st;
}

/* Search-space names: the config key with '.' -> '_' (they go inside
 * ${{search_space.NAME}}). */
static void space_name(const char *key, char *out, size_t size) {
    snprintf(out, size, "%s", key);
    for (char *p = out; *p; p++)
        if (*p == '.') *p = '_';
}

static ie_status search_space(FILE *f, const ie_sweep_spec *spec, bool *grid) {
    *grid = true;
    fprintf(f, "search_space:\n");
    for (int i = 0; i < spec->n_params; i++) {
        const ie_sweep_param *p = &spec->params[i];
        char name[160];
        space_name(p->key, name, sizeof name);
        for (int j = 0; j < i; j++) {
            char other[160];
            space_name(spec->params[j].key, other, sizeof other);
            if (!strcmp(name, other))
                return ie_error_set(IE_ERR_INVALID_ARG, "sweep keys %s and %s have the same AzureML search-space name "
                                                        "%s", spec->params[j].key, p->key, name);
        }
        fprintf(f, "  %s:\n", name);
        switch (p->kind) {
        case IE_SWEEP_GRID:
        case IE_SWEEP_CHOICE:
            kv_plain(f, 4, "type", "choice");
            values_list(f, 4, (char(*)[64])p->values, p->n_values);
            break;
        case IE_SWEEP_UNIFORM:
            kv_plain(f, 4, "type", "uniform");
            kv_num(f, 4, "min_value", p->lo);
            kv_num(f, 4, "max_value", p->hi);
            break;
        case IE_SWEEP_LOGUNIFORM:
            /* AzureML draws exp(uniform(min_value, max_value)): the bounds are logarithms. */
            kv_plain(f, 4, "type", "loguniform");
            kv_num(f, 4, "min_value", log(p->lo));
            kv_num(f, 4, "max_value", log(p->hi));
            break;
        case IE_SWEEP_RANDINT: {
            long lo = (long)ceil(p->lo), hi = (long)floor(p->hi);
            if (lo == 0) {
                /* AzureML's randint draws 0 .. upper-1. */
                kv_plain(f, 4, "type", "randint");
                fprintf(f, "    upper: %ld\n", hi + 1);
            } else {
                if (hi - lo + 1 > 1000)
                    return ie_error_set(IE_ERR_INVALID_ARG, "sweep: randint(%g,%g) of %s: AzureML's randint starts at "
                                                            "0; give a range of at most 1000 integers or start at 0",
                                        p->lo, p->hi, p->key);
                kv_plain(f, 4, "type", "choice");
                fprintf(f, "    values: [");
                for (long v = lo; v <= hi; v++) fprintf(f, "%s%ld", v > lo ? ", " : "", v);
                fprintf(f, "]\n");
            }
            break;
        }
        }
        if (p->kind != IE_SWEEP_GRID) *grid = false;
    }
    return IE_OK;
}

static ie_status sweep_job(const spec_ctx *c, char **text) {
    size_t size;
    FILE *f = open_memstream(text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    const ie_job *job = c->job;
    bool cv = job->kind == IE_JOB_CV, grid = true;
    char display[512], description[1024], *command = NULL;
    snprintf(display, sizeof display, "%s", job->name);
    if (cv)
        snprintf(description, sizeof description, "InnerEye-C cross-validation %s: %d folds, one trial each",
                 job->name, job->tasks);
    else
        snprintf(description, sizeof description, "InnerEye-C hyperparameter sweep %s: %d trials", job->name,
                 job->tasks);
    header(f, c, SWEEP_SCHEMA, "sweep", display, description, -1);
    ie_status st = IE_OK;
    if (cv) {
        fprintf(f, "search_space:\n  fold:\n");
        kv_plain(f, 4, "type", "choice");
        fprintf(f, "    values: [");
        for (int i = 0; i < job->tasks; i++) fprintf(f, "%s%d", i ? ", " : "", i);
        fprintf(f, "]\n");
    } else {
        st = search_space(f, &job->sweep, &grid);
    }
    if (st == IE_OK) {
        fprintf(f, "sampling_algorithm:\n");
        kv_plain(f, 2, "type", grid ? "grid" : "random");
        if (!grid) fprintf(f, "  seed: %llu\n", (unsigned long long)(job->seed & 0x7fffffff));
        /* The metric every trial sends per epoch (a train_log.csv column,
         * under the name core/tracking/mlflow_remote.c logs it as). */
        char objective[IE_MLFLOW_KEY_MAX + 1];
        ie_mlflow_key(job->metric, objective, sizeof objective);
        fprintf(f, "objective:\n");
        kv(f, 2, "primary_metric", objective);
        kv_plain(f, 2, "goal", job->maximize ? "maximize" : "minimize");
        if (!cv && job->sweep.early_stop) {
            fprintf(f, "early_termination:\n");
            kv_plain(f, 2, "type", "median_stopping");
            fprintf(f, "  evaluation_interval: 1\n  delay_evaluation: %d\n", job->min_epochs);
        }
        fprintf(f, "limits:\n  max_total_trials: %d\n  max_concurrent_trials: %d\n", job->tasks,
                job->parallel > 0 && job->parallel < job->tasks ? job->parallel : job->tasks);
        static char tokens[IE_SWEEP_MAX_KEYS][200];
        const char *values[IE_SWEEP_MAX_KEYS] = {0};
        for (int i = 0; !cv && i < job->sweep.n_params; i++) {
            char name[160];
            space_name(job->sweep.params[i].key, name, sizeof name);
            snprintf(tokens[i], sizeof tokens[i], "${{search_space.%s}}", name);
            values[i] = tokens[i];
        }
        st = task_command(c, cv ? "${{search_space.fold}}" : NULL, cv ? NULL : values, &command);
    }
    if (st == IE_OK) {
        fprintf(f, "trial:\n");
        runnable(f, 2, c, command);
        io(f, c);
    }
    free(command);
    fclose(f);
    if (st != IE_OK) free(*text);
    return st;
}

/* ------------------------------------------------------------ az */

static void az_args(const ie_azureml_opts *o, char **argv, int *n) {
    if (o->resource_group) {
        argv[(*n)++] = "--resource-group";
        argv[(*n)++] = (char *)o->resource_group;
    }
    if (o->workspace) {
        argv[(*n)++] = "--workspace-name";
        argv[(*n)++] = (char *)o->workspace;
    }
}

/* HEAD of the repository to snapshot has the Dockerfile the job's
 * environment is built from. */
static ie_status check_repo(const ie_azureml_opts *o) {
    const char *dockerfile = o->cuda ? "docker/Dockerfile.cuda" : "docker/Dockerfile";
    char object[64], out[1024], err[2048];
    snprintf(object, sizeof object, "HEAD:%s", dockerfile);
    int rc = 0;
    char *head[] = {"git", "-C", (char *)o->repo, "rev-parse", "--verify", "--quiet", "HEAD", NULL};
    IE_TRY(ie_run_capture(head, out, sizeof out, err, sizeof err, &rc));
    if (rc != 0)
        return ie_error_set(IE_ERR_IO, "%s: not a git checkout with a commit (the code snapshot is `git archive "
                                       "HEAD`)%s; give the repository with --repo DIR", o->repo,
                            rc == 127 ? ": git is not installed" : "");
    char *show[] = {"git", "-C", (char *)o->repo, "cat-file", "-e", object, NULL};
    IE_TRY(ie_run_capture(show, out, sizeof out, err, sizeof err, &rc));
    if (rc != 0)
        return ie_error_set(IE_ERR_IO, "the code snapshot (HEAD of %s) has no %s, which builds the job's environment; "
                                       "commit it first", o->repo, dockerfile);
    return IE_OK;
}

ie_status ie_azureml_check(const ie_job *job, const ie_config *cfg, const ie_azureml_opts *o,
                           char sets[IE_AZUREML_MAX_SETS][IE_AZUREML_SET_SIZE], int *n_sets, bool *data_here) {
    *n_sets = 0;
    *data_here = true;
    bool command_jobs = job->kind == IE_JOB_SINGLE || (job->kind == IE_JOB_CV && o->jobs_per_fold);
    if ((o->instance_count > 1 || o->processes_per_instance > 1) && !command_jobs)
        return ie_error_set(IE_ERR_CONFIG, "--instance-count / --processes-per-instance run command jobs on several "
                            "processes: submit a single run, or a cross-validation with --jobs-per-fold (a sweep's "
                            "trials run in parallel instead)");
    if (command_jobs && job->tasks > 128) return ie_error_set(IE_ERR_INVALID_ARG, "at most 128 jobs per submission");
    if (job->kind == IE_JOB_SWEEP) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
        bool grid = true;
        ie_status st = search_space(f, &job->sweep, &grid);
        fclose(f);
        free(text);
        IE_TRY(st);
    }
    data_map data;
    IE_TRY(map_data(cfg, o, &data, NULL));
    IE_TRY(check_repo(o));
    if (data.input && o->data_asset) {
        *data_here = false;
        return IE_OK;
    }
    /* ${{inputs.data}} is data.path here: the folder uploaded at submission. */
    for (int i = 0; data.input && i < data.n_sets; i++) {
        const char *token = "${{inputs.data}}", *at = strstr(data.sets[i], token);
        if (!at) continue;
        if ((size_t)snprintf(sets[*n_sets], IE_AZUREML_SET_SIZE, "%.*s%s%s", (int)(at - data.sets[i]), data.sets[i],
                             data.path, at + strlen(token)) >= IE_AZUREML_SET_SIZE)
            return ie_error_set(IE_ERR_CONFIG, "%s: path too long", data.path);
        (*n_sets)++;
    }
    return IE_OK;
}

ie_status ie_azureml_submit(const ie_job *job, const ie_config *cfg, const ie_azureml_opts *o, FILE *out) {
    /* Cheap again here, for a caller that did not run them first. */
    char local_sets[IE_AZUREML_MAX_SETS][IE_AZUREML_SET_SIZE];
    int n_local = 0;
    bool here = true;
    IE_TRY(ie_azureml_check(job, cfg, o, local_sets, &n_local, &here));
    data_map data;
    IE_TRY(map_data(cfg, o, &data, out));
    spec_ctx c = {.job = job, .o = o, .data = &data};
    /* The config input, relative to the YAML files beside it. */
    c.config_rel = job->kind == IE_JOB_SINGLE ? "config.resolved.json" : "../config.resolved.json";
    char code[4700];
    int uncommitted = 0;
    IE_TRY(ie_path_format(code, sizeof code, "%s/code", job->submit_dir));
    IE_TRY(ie_code_snapshot(o->repo, code, c.commit, sizeof c.commit, &uncommitted));
    fprintf(out, "azureml: code snapshot of %s at commit %s in %s\n", o->repo, c.commit, code);
    char dockerfile[4800];
    IE_TRY(ie_path_join(dockerfile, sizeof dockerfile, code, o->cuda ? "docker/Dockerfile.cuda" : "docker/Dockerfile"));
    if (access(dockerfile, R_OK) != 0)
        return ie_error_set(IE_ERR_IO, "the code snapshot (HEAD of %s) has no %s, which builds the job's environment; "
                                       "commit it first", o->repo, dockerfile + strlen(code) + 1);
    if (uncommitted)
        fprintf(out, "warning: %d tracked file%s in %s differ%s from HEAD and are NOT in the snapshot; commit them "
                     "first to run them\n", uncommitted, uncommitted == 1 ? "" : "s", o->repo,
                uncommitted == 1 ? "s" : "");

    char files[128][64];
    int n_files = 0;
    ie_status st = IE_OK;
    if (job->kind == IE_JOB_SINGLE || (job->kind == IE_JOB_CV && o->jobs_per_fold)) {
        int count = job->kind == IE_JOB_SINGLE ? 1 : job->tasks; /* at most 128: ie_azureml_check */
        for (int i = 0; st == IE_OK && i < count; i++) {
            char *text = NULL;
            if (job->kind == IE_JOB_SINGLE) snprintf(files[n_files], sizeof files[0], "job.yml");
            else snprintf(files[n_files], sizeof files[0], "fold_%d.yml", i);
            st = command_job(&c, job->kind == IE_JOB_SINGLE ? -1 : i, NULL, &text);
            if (st == IE_OK) st = ie_job_write_file(job, files[n_files], text, 0644, NULL, 0);
            free(text);
            n_files++;
        }
    } else {
        char *text = NULL;
        snprintf(files[n_files], sizeof files[0], "%s", job->kind == IE_JOB_CV ? "cv.yml" : "sweep.yml");
        st = sweep_job(&c, &text);
        if (st == IE_OK) st = ie_job_write_file(job, files[n_files], text, 0644, NULL, 0);
        free(text);
        n_files++;
    }
    IE_TRY(st);

    /* commands.sh: what to run by hand. */
    char *script = NULL;
    size_t size;
    FILE *f = open_memstream(&script, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    char extra[1024] = "";
    if (o->resource_group) snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " --resource-group %s", o->resource_group);
    if (o->workspace) snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " --workspace-name %s", o->workspace);
    fprintf(f, "#!/bin/sh\n# Written by `innereye submit azureml`: creates the AzureML job%s of %s.\n",
            n_files == 1 ? "" : "s", job->name);
    fprintf(f, "# Needs the Azure CLI with its ml extension (az extension add --name ml), logged in (az login),\n");
    fprintf(f, "# with a default workspace (az configure --defaults group=RG workspace=WS) or the flags below.\n");
    fprintf(f, "set -e\ncd \"$(dirname \"$0\")\"\n");
    for (int i = 0; i < n_files; i++) fprintf(f, "az ml job create --file %s%s\n", files[i], extra);
    fclose(f);
    char script_path[4800];
    st = ie_job_write_file(job, "commands.sh", script, 0755, script_path, sizeof script_path);
    free(script);
    IE_TRY(st);

    cJSON *record = cJSON_CreateObject();
    cJSON_AddStringToObject(record, "engine", "azureml");
    cJSON_AddStringToObject(record, "kind", job->kind == IE_JOB_CV ? "cv" : job->kind == IE_JOB_SWEEP ? "sweep" : "single");
    cJSON_AddStringToObject(record, "run_dir", job->parent);
    cJSON_AddStringToObject(record, "commit", c.commit);
    cJSON_AddStringToObject(record, "compute", o->compute);
    cJSON_AddNumberToObject(record, "instance_count", o->instance_count);
    cJSON_AddNumberToObject(record, "processes_per_instance", o->processes_per_instance);
    if (data.input) cJSON_AddStringToObject(record, "data", data.path);
    /* What status, collect and --resubmit need later (ie_azureml_task_job). */
    cJSON_AddStringToObject(record, "run_name", job->name);
    cJSON_AddNumberToObject(record, "tasks", job->tasks);
    if (o->experiment) cJSON_AddStringToObject(record, "experiment", o->experiment);
    if (o->resource_group) cJSON_AddStringToObject(record, "resource_group", o->resource_group);
    if (o->workspace) cJSON_AddStringToObject(record, "workspace", o->workspace);
    cJSON_AddBoolToObject(record, "cuda", o->cuda);
    cJSON *sets = cJSON_AddArrayToObject(record, "data_sets");
    for (int i = 0; data.input && i < data.n_sets; i++) cJSON_AddItemToArray(sets, cJSON_CreateString(data.sets[i]));
    if (job->kind == IE_JOB_SWEEP) {
        cJSON *keys = cJSON_AddArrayToObject(record, "sweep_keys");
        for (int i = 0; i < job->sweep.n_params; i++)
            cJSON_AddItemToArray(keys, cJSON_CreateString(job->sweep.params[i].key));
    }
    cJSON *jobs = cJSON_AddArrayToObject(record, "jobs");
    /* Written before anything is submitted: a submission that fails from
     * here on keeps its folder (commands.sh, for innereye status). */
    char *first = cJSON_Print(record);
    st = first ? ie_job_write_file(job, "submission.json", first, 0644, NULL, 0)
               : ie_error_set(IE_ERR_NOMEM, "out of memory");
    free(first);
    if (st != IE_OK) {
        cJSON_Delete(record);
        return st;
    }
    char why[256] = "";
    bool ready = !o->dry_run && ie_az_ready(why, sizeof why);
    for (int i = 0; i < n_files; i++) {
        cJSON *j = cJSON_CreateObject();
        char path[4800];
        snprintf(path, sizeof path, "%s/%s", job->submit_dir, files[i]);
        cJSON_AddStringToObject(j, "file", path);
        fprintf(out, "azureml: wrote %s\n", path);
        if (ready && st == IE_OK) {
            char *argv[16] = {"az", "ml", "job", "create", "--file", path, "--query", "name", "--output", "tsv"};
            int n = 10, rc = 0;
            az_args(o, argv, &n);
            argv[n] = NULL;
            char text[4096], err[8192];
            st = ie_run_capture(argv, text, sizeof text, err, sizeof err, &rc);
            if (st == IE_OK && rc != 0)
                st = ie_error_set(IE_ERR_IO, "az ml job create --file %s failed (exit %d): %s", path, rc, err);
            text[strcspn(text, "\r\n")] = '\0';
            if (st == IE_OK) {
                cJSON_AddStringToObject(j, "name", text);
                fprintf(out, "azureml: created job %s\n", text);
            }
        }
        cJSON_AddItemToArray(jobs, j);
    }
    char *json = cJSON_Print(record);
    ie_status w = json ? ie_job_write_file(job, "submission.json", json, 0644, NULL, 0)
                       : ie_error_set(IE_ERR_NOMEM, "out of memory");
    free(json);
    cJSON_Delete(record);
    IE_TRY(st);
    IE_TRY(w);
    if (!ready) {
        fprintf(out, "not submitted (%s). To submit, run:\n  %s\nwhich runs:\n", o->dry_run ? "--dry-run" : why,
                script_path);
        for (int i = 0; i < n_files; i++)
            fprintf(out, "  az ml job create --file %s/%s%s\n", job->submit_dir, files[i], extra);
    } else {
        fprintf(out, "follow it with: innereye status %s (or in AzureML studio, experiment %s)\n", job->parent,
                o->experiment ? o->experiment : "innereye");
    }
    return IE_OK;
}

ie_status ie_azureml_task_job(const cJSON *record, int task, const char *const values[], char **yaml) {
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(record, "kind"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(record, "run_name"));
    const char *commit = cJSON_GetStringValue(cJSON_GetObjectItem(record, "commit"));
    const char *compute = cJSON_GetStringValue(cJSON_GetObjectItem(record, "compute"));
    const cJSON *sets = cJSON_GetObjectItem(record, "data_sets"), *keys = cJSON_GetObjectItem(record, "sweep_keys");
    if (!kind || !name || !commit || !compute || !cJSON_IsArray(sets))
        return ie_error_set(IE_ERR_STATE, "the submission record predates resubmission on AzureML (no run_name, "
                                          "data_sets): submit the run again with this version");
    static ie_job job; /* large; one resubmission at a time */
    memset(&job, 0, sizeof job);
    job.kind = !strcmp(kind, "cv") ? IE_JOB_CV : !strcmp(kind, "sweep") ? IE_JOB_SWEEP : IE_JOB_SINGLE;
    snprintf(job.name, sizeof job.name, "%s", name);
    const cJSON *tasks = cJSON_GetObjectItem(record, "tasks");
    job.tasks = cJSON_IsNumber(tasks) ? tasks->valueint : 1;
    const cJSON *key;
    cJSON_ArrayForEach(key, keys) {
        if (job.sweep.n_params == IE_SWEEP_MAX_KEYS || !cJSON_IsString(key))
            return ie_error_set(IE_ERR_STATE, "submission record: bad sweep_keys");
        snprintf(job.sweep.params[job.sweep.n_params++].key, sizeof job.sweep.params[0].key, "%s", key->valuestring);
    }
    if (job.kind == IE_JOB_SWEEP && !values)
        return ie_error_set(IE_ERR_INVALID_ARG, "trial %d: the swept keys' values are needed", task);
    ie_azureml_opts o = {.compute = compute,
                         .experiment = cJSON_GetStringValue(cJSON_GetObjectItem(record, "experiment")),
                         .cuda = cJSON_IsTrue(cJSON_GetObjectItem(record, "cuda")),
                         .instance_count = cJSON_GetObjectItem(record, "instance_count")
                                               ? cJSON_GetObjectItem(record, "instance_count")->valueint : 0,
                         .processes_per_instance = cJSON_GetObjectItem(record, "processes_per_instance")
                                               ? cJSON_GetObjectItem(record, "processes_per_instance")->valueint : 0};
    data_map data;
    memset(&data, 0, sizeof data);
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(record, "data"));
    data.input = path != NULL;
    if (path) snprintf(data.path, sizeof data.path, "%s", path);
    const cJSON *set;
    cJSON_ArrayForEach(set, sets) {
        if (data.n_sets == MAX_SETS || !cJSON_IsString(set))
            return ie_error_set(IE_ERR_STATE, "submission record: bad data_sets");
        snprintf(data.sets[data.n_sets++], sizeof data.sets[0], "%s", set->valuestring);
    }
    spec_ctx c = {.job = &job, .o = &o, .data = &data,
                  .config_rel = job.kind == IE_JOB_SINGLE ? "config.resolved.json" : "../config.resolved.json"};
    snprintf(c.commit, sizeof c.commit, "%s", commit);
    return command_job(&c, job.kind == IE_JOB_SINGLE ? -1 : task, values, yaml);
}
