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
#include "core/experiment/cross_validation.h"
#include "core/train/median_stop.h"
#include "core/submit/job_spec.h"
#include "core/data/cv_settings.h"
#include "core/plugin/model_settings.h"
#include "core/run/run_dir.h"
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

/* One run: <output.dir>/<name> must not exist yet (the job creates it); the
 * engine's files go beside it. */
static ie_status prepare_single(ie_config *cfg, const char *engine, ie_job *job) {
    ie_run_settings run;
    ie_model_settings model;
    IE_TRY(ie_run_settings_read(cfg, &run));
    IE_TRY(ie_model_settings_read(cfg, &model));
    const char *out = run.output_dir, *name = run.name;
    if (strchr(name, '/')) return ie_error_set(IE_ERR_CONFIG, "run.name '%s' must be a plain folder name (no '/')", name);
    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the output folder: %s", out, strerror(errno));
    IE_TRY(absolute(out, job->output_dir, sizeof job->output_dir));
    if (name[0]) {
        snprintf(job->name, sizeof job->name, "%s", name);
    } else {
        char stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        snprintf(job->name, sizeof job->name, "%s_%s", model.name, stamp);
    }
    snprintf(job->parent, sizeof job->parent, "%s/%s", job->output_dir, job->name);
    snprintf(job->submit_dir, sizeof job->submit_dir, "%s.%s", job->parent, engine);
    if (exists(job->parent))
        return ie_error_set(IE_ERR_IO, "run folder %s already exists; runs are never overwritten: choose another "
                                       "run.name (--set run.name=NAME)", job->parent);
    if (mkdir(job->submit_dir, 0755) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the submission folder: %s%s", job->submit_dir,
                            strerror(errno), errno == EEXIST ? " (submitted before? choose another run.name)" : "");
    /* The config the job starts from, with its run name fixed. */
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

ie_status ie_job_prepare(ie_config *cfg, const ie_sweep_spec *sweep, int parallel, const char *engine, ie_job *job) {
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
    char parent[4096];
    if (sweep && sweep->n_params > 0) {
        if (folds >= 2)
            return ie_error_set(IE_ERR_INVALID_ARG, "submit: a sweep and a cross-validation at once is not supported; "
                                                    "submit the sweep, then cross-validate the best trial's config");
        IE_TRY(check_keys(sweep));
        job->kind = IE_JOB_SWEEP;
        job->sweep = *sweep;
        job->tasks = ie_sweep_trial_count(sweep);
        ie_model_settings model;
        IE_TRY(ie_model_settings_read(cfg, &model));
        char prefix[256];
        snprintf(prefix, sizeof prefix, "%s_sweep", model.name);
        IE_TRY(ie_run_dir_create(run.output_dir, run.name, prefix, parent, sizeof parent));
        char path[4200];
        IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", parent));
        const char *text = ie_config_text_pretty(cfg);
        IE_TRY(ie_write_file_atomic(path, text, strlen(text)));
        IE_TRY(ie_sweep_write_trials(parent, sweep, job->seed));
    } else if (folds >= 2) {
        if (cv.split_index >= 0)
            return ie_error_set(IE_ERR_INVALID_ARG, "submit: give --cv K without --cross_validation_split_index; every "
                                                    "fold becomes one task (resubmit one with --resubmit RUN --task I)");
        job->kind = IE_JOB_CV;
        job->tasks = folds;
        IE_TRY(ie_cv_prepare_parent(cfg, parent, sizeof parent));
    } else {
        job->kind = IE_JOB_SINGLE;
        job->tasks = 1;
        return prepare_single(cfg, engine, job);
    }
    IE_TRY(absolute(parent, job->parent, sizeof job->parent));
    char *slash = strrchr(job->parent, '/');
    snprintf(job->name, sizeof job->name, "%s", slash + 1);
    snprintf(job->output_dir, sizeof job->output_dir, "%.*s", (int)(slash - job->parent), job->parent);
    snprintf(job->config, sizeof job->config, "%s/config.resolved.json", job->parent);
    snprintf(job->submit_dir, sizeof job->submit_dir, "%s/%s", job->parent, engine);
    if (mkdir(job->submit_dir, 0755) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the submission folder: %s", job->submit_dir, strerror(errno));
    return IE_OK;
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
