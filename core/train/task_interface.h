/* core/train - the interface of a task-table entry (core/task/task.h), as
 * the layers below the table see it: the trainer and the cross-validation
 * call entries through it, and take the table from their callers (the
 * commands in tools/), since the entries themselves run inference,
 * evaluation and the folds' ensembles, which sit above train
 * (docs/architecture.md).  The entries are core/task's. */
#ifndef IE_CORE_TRAIN_TASK_INTERFACE_H
#define IE_CORE_TRAIN_TASK_INTERFACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/data/cv_settings.h"
#include "core/data/loader.h"
#include "core/data/split.h"
#include "core/plugin/loader.h"
#include "core/run/run_settings.h"
#include "core/train/default_loss.h"
#include "core/train/train_settings.h"
#include "innereye/config.h"

/* What the trainer lends a task (borrowed; model is set once created). */
typedef struct ie_task_env {
    const ie_config *cfg;
    const ie_run_settings *run; /* the run's settings (run.infer_test, ...), read once by the trainer */
    const ie_cv_settings *cv;   /* cv.*: the fold this run trains, ... */
    const char *run_dir; /* a new run's staging folder until its checks passed (core/run/run_dir.h) */
    const char *problems_path; /* where a data check that finds problems lists them (not in run_dir: a new
                                  run that fails its checks leaves no run folder) */
    const ie_dataset *ds;
    const ie_split *split;
    const ie_loaded_plugin *plugin;
    ie_model *model;
    const ie_host *host;
    ie_loss_spec *loss; /* setup may resolve train.loss.name "Auto" by its targets */
    uint64_t seed;
    const ie_train_settings *train; /* the loop's: the loader's (train->loader), where the model lives
                                       (train->device.device) */
    bool follower; /* a data-parallel process other than rank 0: it writes nothing into the run folder */
} ie_task_env;

/* `innereye infer` on a run whose model predicts a table (infer_table). */
typedef struct ie_task_infer_request {
    const char *run;        /* a run folder or an ensemble folder */
    const char *checkpoint; /* NULL: the run's last checkpoint; a file, or a name in RUN/checkpoints */
    const char *dataset;    /* the dataset CSV */
    const char *out;        /* must not exist */
} ie_task_infer_request;

struct ie_html;
struct ie_report_seg_files;

#define IE_TASK_MAX_METRICS 64

/* Validation metrics of one epoch: a train_log.csv column and a console
 * label per value. */
typedef struct ie_task_metrics {
    int count;
    char column[IE_TASK_MAX_METRICS][96]; /* "val_dice_anterior" */
    char label[IE_TASK_MAX_METRICS][96];  /* "dice anterior" */
    double value[IE_TASK_MAX_METRICS];    /* NaN when not measured */
} ie_task_metrics;

typedef struct ie_task {
    const char *name; /* "segmentation", "classification", "regression" */
    /* NULL: the task trains on any device; else why it trains on the CPU
     * only (the trainer refuses train.device cuda with this reason). */
    const char *cpu_only;

    /* ---- training (core/train/trainer.c) ---- */

    /* Before the run folder exists: the task's settings, so that a bad value
     * leaves nothing behind.  May be NULL. */
    ie_status (*check_config)(const ie_config *cfg);
    /* After the dataset is found (env: cfg, run_dir, ds, plugin, follower):
     * what the task requires of it.  May be NULL. */
    ie_status (*check_data)(const ie_task_env *env);
    /* After the split, before the model exists: reads the task's config and
     * prepares the data.  *state belongs to the task. */
    ie_status (*setup)(const ie_task_env *env, void **state);
    void (*destroy)(void *state);
    /* Default data hooks for training (a plugin's own hooks replace them). */
    ie_data_hooks (*hooks)(void *state);
    /* Labels of a batch are class indices below this (checked before they
     * move to a device); 0: not class indices. */
    int (*label_classes)(void *state);
    /* Adds what the model must know about its inputs to the config object
     * the plugin's create() receives (under model.params); may be NULL. */
    ie_status (*describe_inputs)(void *state, cJSON *model_params);
    /* Names of the per-epoch validation metrics (values NaN). */
    void (*metric_names)(void *state, ie_task_metrics *m);
    /* Mean loss and metrics on the validation split after `epoch` (1-based). */
    ie_status (*validate)(void *state, const ie_task_env *env, int epoch, double *loss, ie_task_metrics *m);
    /* After training: predictions and metrics on the held-out splits
     * (run.infer_test, run.infer_val), summary into record (run.json). */
    ie_status (*infer)(void *state, const ie_task_env *env, int epoch, cJSON *record);

    /* ---- cross-validation (core/experiment/cross_validation.c) ---- */

    /* What a run folder holds once the run predicted held-out subjects (a
     * file or folder name): the first fold that has it says which task the
     * folds are (ie_cv_task). */
    const char *predictions;
    /* The folds' ensemble evaluated on their shared test set, compared with
     * each fold in <parent>/ensemble_comparison.csv (cv_ensemble.h); nothing
     * when the folds did not predict a test set.  innereye: the command that
     * child processes run. */
    ie_status (*cv_ensemble)(const ie_config *cfg, const char *parent, int folds, const char *innereye);
    /* The ensemble reads the test subjects' files again (they must be on the
     * machine that evaluates it); false: it combines the folds' predictions. */
    bool cv_ensemble_reads_data;

    /* ---- the commands on a task's runs and outputs (tools/) ---- */

    /* `innereye infer --run RUN --dataset CSV --out DIR`: every subject of
     * the CSV predicted by the run or ensemble into DIR/predictions.csv.
     * NULL: the task's models segment images, which innereye infer does
     * itself (core/inference/infer.h). */
    ie_status (*infer_table)(const ie_task_infer_request *r);
    /* `innereye eval --task NAME --predictions CSV --out DIR`: the metrics
     * the task's runs report, from a predictions file in their format,
     * written into DIR (created) and printed.  NULL: innereye eval compares
     * label maps (--pred, --truth). */
    ie_status (*eval_predictions)(const char *predictions, const char *out);
    /* `innereye export --format onnx`: NULL when every model of the task
     * exports; else why one without its own postprocess cannot (the
     * message innereye export prints). */
    const char *onnx_needs_postprocess;

    /* ---- report.html of a run, a cross-validation or an ensemble (core/report) ---- */

    /* The results section: what the run (or the folds' ensemble) predicted,
     * from the files in dir (core/report/report_sections.h,
     * ie_report_results_fn: core/report's types, named here without its
     * header, which train may not include). */
    ie_status (*report_results)(struct ie_html *h, const char *dir, const struct ie_report_seg_files *files);
} ie_task;

/* The task table as the trainer and the cross-validation get it from their
 * callers (core/task/task.h: ie_all_tasks). */
typedef struct ie_task_table {
    const ie_task *const *entries; /* every entry, in a fixed order; NULL ends the list */
    /* The entry of a run: its plugin's task kind, unless the run's resolved
     * config names another target (a classifier trained for regression). */
    const ie_task *(*for_run)(ie_task_kind kind, const ie_config *cfg);
} ie_task_table;

#endif
