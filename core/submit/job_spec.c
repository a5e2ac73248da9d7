/* core/submit - job specification shared by the back ends. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util/file_util.h"
#include "core/experiment/child_check.h"
#include "core/experiment/cross_validation.h"
#include "core/train/median_stop.h"
#include "core/submit/job_spec.h"
#include "core/data/cv_settings.h"
#include "core/plugin/model_settings.h"
#include "core/run/run_dir.h"
#include "core/run/device_settings.h"
#include "core/run/run_settings.h"
#include "core/util/path.h"

static ie_status absolute(const char *path, char *out, size_t size) {
    char real[PATH_MAX];
    if (!realpath(path, real)) return ie_error_set(IE_ERR_IO, "%s: %s", path, strerror(errno));
    if ((size_t)snprintf(out, size, "%s", real) >= size) return ie_error_set(IE_ERR_IO, "%s: path too long", real);
    return IE_OK;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Swept keys reach job scripts and engine templates unquoted. */
static ie_status check_keys(const ie_sweep_spec *spec) {
    for (int i = 0; i < spec->n_params; i++)
        for (const char *p = spec->params[i].key; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.", *p))
                return ie_error_set(IE_ERR_INVALID_ARG, "sweep key '%s' is not a config key (letters, digits, '_', '.')",
                                    spec->params[i].key);
    return IE_OK;
}

ie_status ie_job_plan(ie_config *cfg, const ie_sweep_spec *sweep, int parallel, const char *engine, ie_job *job) {
    memset(job, 0, sizeof *job);
    ie_cv_settings cv;
    ie_run_settings run;
    ie_median_stop_settings rank;
    IE_TRY(ie_cv_settings_read(cfg, &cv));
    IE_TRY(ie_run_settings_read(cfg, &run));
    IE_TRY(ie_median_stop_settings_read(cfg, &rank));
    int folds = cv.splits;
    job->seed = run.seed;
    snprintf(job->metric, sizeof job->metric, "%s", rank.metric);
    job->maximize = rank.maximize;
    job->min_epochs = rank.min_epochs;
    job->parallel = parallel > 0 ? parallel : 0;
    snprintf(job->engine, sizeof job->engine, "%s", engine);
    const char *out = run.output_dir, *name = run.name;
    if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return ie_error_set(IE_ERR_CONFIG, "run.name '%s' must be a plain folder name (no '/')", name);
    if (sweep && sweep->n_params > 0) {
        if (folds >= 2)
            return ie_error_set(IE_ERR_INVALID_ARG, "submit: a sweep and a cross-validation at once is not supported; "
                                                    "submit the sweep, then cross-validate the best trial's config");
        IE_TRY(check_keys(sweep));
        job->kind = IE_JOB_SWEEP;
        job->sweep = *sweep;
        job->tasks = ie_sweep_trial_count(sweep);
    } else if (folds >= 2) {
        if (cv.split_index >= 0)
            return ie_error_set(IE_ERR_INVALID_ARG, "submit: give --cv K without --cross_validation_split_index; every "
                                                    "fold becomes one task (resubmit one with --resubmit RUN --task I)");
        job->kind = IE_JOB_CV;
        job->tasks = folds;
    } else {
        job->kind = IE_JOB_SINGLE;
        job->tasks = 1;
    }
    /* An explicit name that exists is refused now; a generated one is
     * chosen when the folders are made (ie_job_create). */
    char path[4400];
    if (name[0]) {
        IE_TRY(ie_path_format(path, sizeof path, "%s/%s", out, name));
        if (exists(path))
            return ie_error_set(IE_ERR_IO, "run folder %s already exists; runs are never overwritten: choose another "
                                           "run.name (--set run.name=NAME)", path);
        if (job->kind == IE_JOB_SINGLE) {
            IE_TRY(ie_path_format(path, sizeof path, "%s/%s.%s", out, name, engine));
            if (exists(path))
                return ie_error_set(IE_ERR_IO, "%s already exists (submitted before?): choose another run.name "
                                               "(--set run.name=NAME)", path);
        }
    }
    return IE_OK;
}

ie_status ie_job_check_first_task(const ie_config *cfg, const ie_job *job, const ie_task_table *tasks,
                                  const char *const *extra, int n_extra) {
    ie_model_settings model;
    ie_run_settings run;
    IE_TRY(ie_model_settings_read(cfg, &model));
    IE_TRY(ie_run_settings_read(cfg, &run));
    enum { MAX = IE_SWEEP_MAX_KEYS + 16 };
    char trial[IE_SWEEP_MAX_KEYS][256], prefix[256];
    const char *assignments[MAX];
    int n = 0, n_trial = 0;
    /* The same first child and name prefix as ie_cv_run_all, ie_sweep_run
     * and innereye train. */
    if (job->kind == IE_JOB_CV) {
        assignments[n++] = "cv.split_index=0";
        snprintf(prefix, sizeof prefix, "%s_cv", model.name);
    } else if (job->kind == IE_JOB_SWEEP) {
        IE_TRY(ie_sweep_trial(&job->sweep, job->seed, 0, trial, &n_trial));
        for (int i = 0; i < n_trial; i++) assignments[n++] = trial[i];
        snprintf(prefix, sizeof prefix, "%s_sweep", model.name);
    } else {
        snprintf(prefix, sizeof prefix, "%s", model.name);
    }
    /* The job's device is the cluster's: the machine that submits needs
     * none, so the checks build the model on the CPU here. */
    ie_device_settings where;
    IE_TRY(ie_device_settings_read(cfg, &where));
    if (strcmp(where.name, "cpu") != 0) {
        assignments[n++] = "train.device=cpu";
        assignments[n++] = "train.precision=fp32";
    }
    if (n + n_extra > MAX) return ie_error_set(IE_ERR_INVALID_ARG, "submit: too many settings for the first task");
    for (int i = 0; i < n_extra; i++) assignments[n++] = extra[i];
    char staged[4400];
    return ie_child_check(cfg, tasks, assignments, n, prefix, run.threads, staged, sizeof staged);
}

/* The config a single run's job starts from, with its run name fixed. */
static ie_status write_single_config(ie_config *cfg, ie_job *job) {
    char assignment[512];
    snprintf(assignment, sizeof assignment, "run.name=%s", job->name);
    ie_config *copy = NULL;
    ie_status st = ie_config_new(&copy);
    if (st == IE_OK) st = ie_config_add_text(copy, ie_config_text(cfg), "resolved config");
    if (st == IE_OK) st = ie_config_set(copy, assignment, "submission");
    if (st == IE_OK) st = ie_config_resolve(copy);
    if (st == IE_OK) {
        const char *text = ie_config_text_pretty(copy);
        st = ie_job_write_file(job, "config.resolved.json", text, 0644, job->config, sizeof job->config);
    }
    ie_config_free(copy);
    return st;
}

/* One run: <output.dir>/<name> is left for the job to create; the engine's
 * files go beside it, in <name>.<engine>/, made here exclusively. */
static ie_status create_single(ie_config *cfg, const ie_run_settings *run, ie_job *job) {
    ie_model_settings model;
    IE_TRY(ie_model_settings_read(cfg, &model));
    IE_TRY(ie_make_dirs(run->output_dir));
    IE_TRY(absolute(run->output_dir, job->output_dir, sizeof job->output_dir));
    if (run->name[0]) {
        snprintf(job->name, sizeof job->name, "%s", run->name);
    } else {
        char stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        snprintf(job->name, sizeof job->name, "%s_%s", model.name, stamp);
    }
    IE_TRY(ie_path_format(job->parent, sizeof job->parent, "%s/%s", job->output_dir, job->name));
    IE_TRY(ie_path_format(job->submit_dir, sizeof job->submit_dir, "%s.%s", job->parent, job->engine));
    if (exists(job->parent))
        return ie_error_set(IE_ERR_IO, "run folder %s already exists; runs are never overwritten: choose another "
                                       "run.name (--set run.name=NAME)", job->parent);
    if (mkdir(job->submit_dir, 0755) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the submission folder: %s%s", job->submit_dir,
                            strerror(errno), errno == EEXIST ? " (submitted before? choose another run.name)" : "");
    snprintf(job->made, sizeof job->made, "%s", job->submit_dir);
    return write_single_config(cfg, job);
}

/* Folds and trials: the parent folder exactly as a local cross-validation
 * or sweep makes it, with the engine's folder inside. */
static ie_status create_parent(ie_config *cfg, const ie_run_settings *run, ie_job *job) {
    ie_model_settings model;
    IE_TRY(ie_model_settings_read(cfg, &model));
    char prefix[256], parent[4096];
    snprintf(prefix, sizeof prefix, "%s_%s", model.name, job->kind == IE_JOB_SWEEP ? "sweep" : "cv");
    IE_TRY(ie_run_dir_create(run->output_dir, run->name, prefix, parent, sizeof parent));
    IE_TRY(absolute(parent, job->parent, sizeof job->parent));
    snprintf(job->made, sizeof job->made, "%s", job->parent);
    char *slash = strrchr(job->parent, '/');
    snprintf(job->name, sizeof job->name, "%s", slash + 1);
    snprintf(job->output_dir, sizeof job->output_dir, "%.*s", (int)(slash - job->parent), job->parent);
    IE_TRY(ie_path_format(job->config, sizeof job->config, "%s/config.resolved.json", job->parent));
    if (job->kind == IE_JOB_SWEEP) {
        const char *text = ie_config_text_pretty(cfg);
        IE_TRY(ie_write_file_atomic(job->config, text, strlen(text)));
        IE_TRY(ie_sweep_write_trials(job->parent, &job->sweep, job->seed));
    } else {
        IE_TRY(ie_cv_write_parent_config(cfg, job->parent));
    }
    IE_TRY(ie_path_format(job->submit_dir, sizeof job->submit_dir, "%s/%s", job->parent, job->engine));
    if (mkdir(job->submit_dir, 0755) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the submission folder: %s", job->submit_dir, strerror(errno));
    return IE_OK;
}

ie_status ie_job_create(ie_config *cfg, ie_job *job) {
    ie_run_settings run;
    IE_TRY(ie_run_settings_read(cfg, &run));
    ie_status st = job->kind == IE_JOB_SINGLE ? create_single(cfg, &run, job) : create_parent(cfg, &run, job);
    if (st != IE_OK) ie_job_discard(job);
    return st;
}

void ie_job_discard(ie_job *job) {
    if (job->made[0]) ie_remove_tree(job->made);
    job->made[0] = '\0';
}

ie_status ie_job_prepare(ie_config *cfg, const ie_sweep_spec *sweep, int parallel, const char *engine, ie_job *job) {
    IE_TRY(ie_job_plan(cfg, sweep, parallel, engine, job));
    return ie_job_create(cfg, job);
}

void ie_job_task_name(const ie_job *job, int task, char *out, size_t size) {
    switch (job->kind) {
    case IE_JOB_CV: snprintf(out, size, "fold_%d", task); break;
    case IE_JOB_SWEEP: snprintf(out, size, "trial_%d", task); break;
    default: snprintf(out, size, "%s", job->name); break;
    }
}

static ie_status add_word(ie_cmdline *cl, const char *word, bool raw) {
    return raw ? ie_cmdline_add_raw(cl, "%s", word) : ie_cmdline_add(cl, "%s", word);
}

ie_status ie_job_train_command(const ie_job *job, const ie_task_tokens *t, ie_cmdline *cl) {
    IE_TRY(ie_cmdline_add_raw(cl, "%s", t->program));
    IE_TRY(ie_cmdline_add(cl, "train"));
    IE_TRY(ie_cmdline_add(cl, "--config"));
    IE_TRY(add_word(cl, t->config ? t->config : job->config, t->config && t->config_raw));
    /* The same words, in the same order, as ie_cv_run_all and ie_sweep_run. */
    if (job->kind == IE_JOB_CV) {
        IE_TRY(ie_cmdline_add(cl, "--cross_validation_split_index"));
        IE_TRY(ie_cmdline_add_raw(cl, "%s", t->fold));
    }
    IE_TRY(ie_cmdline_add(cl, "--output-dir"));
    const char *out = t->output_dir ? t->output_dir : job->kind == IE_JOB_SWEEP ? job->parent : job->output_dir;
    IE_TRY(add_word(cl, out, t->output_dir && t->output_dir_raw));
    IE_TRY(ie_cmdline_add(cl, "--set"));
    if (job->kind == IE_JOB_SWEEP) {
        IE_TRY(ie_cmdline_add_raw(cl, "run.name=%s", t->trial_name));
        IE_TRY(ie_cmdline_add(cl, "--set"));
        IE_TRY(ie_cmdline_add(cl, "train.median_stop.siblings=%s", t->median_siblings ? job->parent : ""));
    } else {
        IE_TRY(ie_cmdline_add(cl, "run.name=%s", job->name));
    }
    if (t->threads > 0) {
        IE_TRY(ie_cmdline_add(cl, "--threads"));
        IE_TRY(ie_cmdline_add(cl, "%d", t->threads));
    }
    if (job->kind == IE_JOB_SWEEP)
        for (int i = 0; i < job->sweep.n_params; i++) {
            IE_TRY(ie_cmdline_add(cl, "--set"));
            IE_TRY(ie_cmdline_add_raw(cl, "%s=%s", job->sweep.params[i].key, t->values[i]));
        }
    for (int i = 0; i < t->n_sets; i++) {
        IE_TRY(ie_cmdline_add(cl, "--set"));
        IE_TRY(ie_cmdline_add(cl, "%s", t->sets[i]));
    }
    return IE_OK;
}

ie_status ie_job_write_file(const ie_job *job, const char *file, const char *text, int mode, char *path_out,
                            size_t size) {
    char path[4800];
    IE_TRY(ie_path_join(path, sizeof path, job->submit_dir, file));
    IE_TRY(ie_write_file_atomic(path, text, strlen(text)));
    if (chmod(path, (mode_t)mode) != 0) return ie_error_set(IE_ERR_IO, "%s: chmod: %s", path, strerror(errno));
    if (path_out) snprintf(path_out, size, "%s", path);
    return IE_OK;
}
