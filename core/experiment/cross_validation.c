/* core/experiment - cross-validation: folds as processes, then aggregation. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/data/cv_settings.h"
#include "core/dist/comm.h"
#include "core/experiment/child_check.h"
#include "core/experiment/child_runs.h"
#include "core/experiment/cross_validation.h"
#include "core/experiment/cv_ensemble.h"
#include "core/plugin/model_settings.h"
#include "core/run/run_dir.h"
#include "core/run/run_settings.h"
#include "core/train/task_interface.h"
#include "core/train/trainer.h"
#include "core/util/path.h"
#include "innereye/threads.h"

#define MAX_FOLDS 64

static ie_status mkdir_if_missing(const char *dir) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
    return IE_OK;
}

/* The parent folder of a cross-validation: <output.dir>/<run.name>. */
static ie_status parent_path(ie_config *cfg, bool create_new, char *out, size_t size) {
    ie_run_settings run;
    ie_model_settings model;
    IE_TRY(ie_run_settings_read(cfg, &run));
    IE_TRY(ie_model_settings_read(cfg, &model));
    const char *dir = run.output_dir, *name = run.name;
    if (create_new) {
        char prefix[256];
        snprintf(prefix, sizeof prefix, "%s_cv", model.name);
        return ie_run_dir_create(dir, name, prefix, out, size);
    }
    if (!name[0])
        return ie_error_set(IE_ERR_CONFIG, "a single cross-validation fold needs run.name: the folder that holds "
                                           "all folds of this cross-validation (every fold's job uses the same)");
    IE_TRY(mkdir_if_missing(dir));
    if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size) return ie_error_set(IE_ERR_IO, "path too long");
    return mkdir_if_missing(out);
}

static ie_status write_parent_config(ie_config *cfg, const char *parent) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", parent));
    struct stat st;
    if (stat(path, &st) == 0) return IE_OK; /* written by the first fold or the full run */
    /* The parent's config is the cross-validation as a whole: no fold. */
    ie_config *copy = NULL;
    ie_status s = ie_config_new(&copy);
    if (s == IE_OK) s = ie_config_add_text(copy, ie_config_text(cfg), "resolved config");
    if (s == IE_OK) s = ie_config_set(copy, "cv.split_index=-1", "cross-validation");
    if (s == IE_OK) s = ie_config_resolve(copy);
    if (s == IE_OK) {
        const char *text = ie_config_text_pretty(copy);
        s = ie_write_file_atomic(path, text, strlen(text));
    }
    ie_config_free(copy);
    return s;
}

ie_status ie_cv_run_fold(ie_config *cfg, const ie_task_table *tasks, int threads_override, char *run_dir,
                         size_t size) {
    return ie_cv_run_fold_on(cfg, tasks, threads_override, NULL, run_dir, size);
}

ie_status ie_cv_run_fold_on(ie_config *cfg, const ie_task_table *tasks, int threads_override, struct ie_comm *comm,
                            char *run_dir, size_t size) {
    ie_cv_settings cv;
    IE_TRY(ie_cv_settings_read(cfg, &cv));
    char parent[4096];
    IE_TRY(parent_path(cfg, false, parent, sizeof parent));
    if (ie_comm_rank(comm) == 0) IE_TRY(write_parent_config(cfg, parent));
    ie_config *child = NULL;
    char assignment[4200], name[64];
    snprintf(name, sizeof name, "fold_%d", cv.split_index);
    ie_status st = ie_config_new(&child);
    if (st == IE_OK) st = ie_config_add_text(child, ie_config_text(cfg), "resolved config");
    snprintf(assignment, sizeof assignment, "run.name=%s", name);
    if (st == IE_OK) st = ie_config_set(child, assignment, "cross-validation");
    snprintf(assignment, sizeof assignment, "output.dir=%s", parent);
    if (st == IE_OK) st = ie_config_set(child, assignment, "cross-validation");
    if (st == IE_OK) st = ie_config_resolve(child);
    ie_train_request req = {.config = child, .threads_override = threads_override, .comm = comm, .tasks = tasks};
    if (st == IE_OK) st = ie_train(&req, run_dir, size);
    ie_config_free(child);
    return st;
}

ie_status ie_cv_run_all(ie_config *cfg, const ie_task_table *tasks, const char *innereye, char *parent, size_t size) {
    ie_cv_settings cv;
    ie_run_settings run;
    IE_TRY(ie_cv_settings_read(cfg, &cv));
    IE_TRY(ie_run_settings_read(cfg, &run));
    int folds = cv.splits, parallel = cv.parallel, threads = run.threads;
    const char *output_dir = run.output_dir;
    if (folds < 2 || folds > MAX_FOLDS)
        return ie_error_set(IE_ERR_CONFIG, "cv.splits must be 2 to %d for cross-validation, got %d", MAX_FOLDS,
                            folds);
    /* The first fold's checks pass before the parent folder is made
     * (core/experiment/child_check.h). */
    char prefix[256];
    const char *first_fold[] = {"cv.split_index=0"};
    ie_model_settings model;
    IE_TRY(ie_model_settings_read(cfg, &model));
    snprintf(prefix, sizeof prefix, "%s_cv", model.name);
    /* A failed check names its (removed) staging folder as a run's does,
     * which innereye train's exit code tells from a setting's error. */
    IE_TRY(ie_child_check(cfg, tasks, first_fold, 1, prefix, threads, parent, size));
    IE_TRY(parent_path(cfg, true, parent, size));
    IE_TRY(write_parent_config(cfg, parent));
    const char *name = strrchr(parent, '/') ? strrchr(parent, '/') + 1 : parent;
    if (parallel > folds) parallel = folds;
    /* The cores are shared out between the folds running at once. */
    int cores = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int per_fold = cores / parallel > 0 ? cores / parallel : 1;
    printf("cross-validation: %d folds, %d at a time, %d threads each, in %s\n", folds, parallel, per_fold,
           parent);
    char config[4200], threads_s[32], set_name[4200], index[MAX_FOLDS][16], logs[MAX_FOLDS][4200],
        labels[MAX_FOLDS][32];
    char *argvs[MAX_FOLDS][16];
    ie_child_run runs[MAX_FOLDS];
    IE_TRY(ie_path_format(config, sizeof config, "%s/config.resolved.json", parent));
    snprintf(threads_s, sizeof threads_s, "%d", per_fold);
    snprintf(set_name, sizeof set_name, "run.name=%s", name);
    for (int i = 0; i < folds; i++) {
        snprintf(index[i], sizeof index[i], "%d", i);
        snprintf(logs[i], sizeof logs[i], "%s/fold_%d.log", parent, i);
        snprintf(labels[i], sizeof labels[i], "fold %d", i);
        char *argv[] = {(char *)innereye, "train", "--config", config, "--cross_validation_split_index", index[i],
                        "--output-dir", (char *)output_dir, "--set", set_name, "--threads", threads_s, NULL};
        memcpy(argvs[i], argv, sizeof argv);
        runs[i] = (ie_child_run){.argv = argvs[i], .log = logs[i], .label = labels[i]};
    }
    ie_status st = ie_child_runs(runs, folds, parallel);
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/cv_status.csv", parent));
    char *text = NULL;
    size_t text_size = 0;
    FILE *f = open_memstream(&text, &text_size); /* then written atomically */
    int failed = 0;
    if (f) fprintf(f, "fold,status,exit_code,run_dir\n");
    for (int i = 0; i < folds; i++) {
        bool ok = runs[i].exit_code == 0;
        failed += !ok;
        if (f) fprintf(f, "%d,%s,%d,%s/fold_%d\n", i, ok ? "finished" : "failed", runs[i].exit_code, parent, i);
    }
    ie_status status = f ? ie_write_stream_atomic(f, &text, &text_size, path)
                         : ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    if (status != IE_OK) return status; /* before anything else sets the error message */
    ie_status agg = ie_cv_aggregate(parent, folds);
    if (st != IE_OK) return st;
    if (agg != IE_OK) return agg;
    ie_status ens = ie_cv_ensemble_folds(cfg, tasks, parent, folds, innereye);
    if (ens != IE_OK) return ens;
    if (failed)
        return ie_error_set(IE_ERR_STATE, "%d of %d folds failed (see %s/cv_status.csv and fold_<i>.log); the "
                                          "other folds' results are in %s/cv_metrics.csv",
                            failed, folds, parent, parent);
    return IE_OK;
}

ie_status ie_cv_read_config(const char *parent, ie_config **cfg, int *folds) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", parent));
    ie_cv_settings cv = {0};
    *cfg = NULL;
    ie_status st = ie_config_new(cfg);
    if (st == IE_OK) st = ie_config_add_file(*cfg, path);
    if (st == IE_OK) st = ie_config_resolve(*cfg);
    if (st == IE_OK) st = ie_cv_settings_read(*cfg, &cv);
    if (st == IE_OK && cv.splits < 2)
        st = ie_error_set(IE_ERR_CONFIG, "%s: cv.splits is %d; not a cross-validation", path, cv.splits);
    if (st != IE_OK) {
        ie_config_free(*cfg);
        *cfg = NULL;
        return st;
    }
    *folds = cv.splits;
    return IE_OK;
}

const ie_task *ie_cv_task(const ie_task_table *tasks, const char *parent, int folds) {
    char path[4200];
    struct stat s;
    for (int i = 0; i < folds; i++)
        for (int t = 0; tasks->entries[t]; t++) {
            snprintf(path, sizeof path, "%s/fold_%d/%s", parent, i, tasks->entries[t]->predictions);
            if (stat(path, &s) == 0) return tasks->entries[t];
        }
    return NULL;
}

/* A cross-validation ends with its folds' ensemble evaluated on the shared
 * test set, the way the folds' task does it (core/task/task.h). */
ie_status ie_cv_ensemble_folds(const ie_config *cfg, const ie_task_table *tasks, const char *parent, int folds,
                               const char *innereye) {
    ie_run_settings run;
    IE_TRY(ie_run_settings_read(cfg, &run));
    if (!run.infer_test) return IE_OK;
    const ie_task *task = ie_cv_task(tasks, parent, folds);
    return task ? task->cv_ensemble(cfg, parent, folds, innereye) : IE_OK;
}

/* For cluster submission: the parent's config exactly as a local
 * cross-validation writes it, before any fold runs. */
ie_status ie_cv_write_parent_config(ie_config *cfg, const char *parent) { return write_parent_config(cfg, parent); }
