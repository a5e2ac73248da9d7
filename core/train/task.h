/* core/train - what differs between kinds of model inside a training run:
 * the default data hooks, what the model learns about its inputs, the
 * validation metrics of every epoch and the inference on held-out subjects
 * after training.  The trainer's loop calls only through this table, so it
 * stays the same for segmentation, classification and regression.
 *
 * Segmentation's entries live in trainer.c next to its whole-volume
 * evaluation; classification and regression (one table for both) in
 * task_scalar.c. */
#ifndef IE_CORE_TRAIN_TASK_H
#define IE_CORE_TRAIN_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/data/loader.h"
#include "core/data/split.h"
#include "core/plugin/loader.h"
#include "core/train/default_loss.h"
#include "innereye/config.h"

/* What the trainer lends a task (borrowed; model is set once created). */
typedef struct ie_task_env {
    const ie_config *cfg;
    const char *run_dir;
    const ie_dataset *ds;
    const ie_split *split;
    const ie_loaded_plugin *plugin;
    ie_model *model;
    const ie_host *host;
    ie_loss_spec *loss; /* setup may resolve train.loss.name "Auto" by its targets */
    uint64_t seed;
    int batch_size, workers, prefetch;
    size_t cache_bytes;
    bool follower; /* a data-parallel process other than rank 0: it writes nothing into the run folder */
} ie_task_env;

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
    const char *name;
    /* After the split, before the model exists: reads the task's config and
     * prepares the data.  *state belongs to the task. */
    ie_status (*setup)(const ie_task_env *env, void **state);
    void (*destroy)(void *state);
    /* Default data hooks for training (a plugin's own hooks replace them). */
    ie_data_hooks (*hooks)(void *state);
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
} ie_task;

/* Classification and regression (plugins of task kind classification or
 * regression). */
const ie_task *ie_task_scalar(void);

#endif
