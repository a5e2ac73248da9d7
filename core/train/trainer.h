/* core/train - the training run: a plugin, a dataset and a config in; a run
 * folder with a trained model, logs, checkpoints and test metrics out.
 *
 * Reproducible by construction: the split, the order of every epoch, every
 * crop and flip are pure functions of the seed (core/data), the engine is
 * deterministic on any thread count (docs/engine.md), and resuming restores
 * weights, buffers and optimiser state exactly, so a resumed run ends with
 * the same bytes as an uninterrupted one. */
#ifndef IE_CORE_TRAIN_TRAINER_H
#define IE_CORE_TRAIN_TRAINER_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/config.h"

struct ie_task_table; /* core/train/task_interface.h */

typedef struct ie_train_request {
    ie_config *config;       /* resolved; ignored when resuming */
    const char *resume_dir;  /* continue this run folder, or NULL */
    int threads_override;    /* > 0: compute threads (also when resuming) */
    int stop_after_epochs;   /* > 0: stop (as if killed) after this many epochs; tests */
    /* Resuming: "KEY=VALUE" assignments from --set; only keys that never
     * change results are accepted (core/train/resume.h), others refused. */
    const char *const *resume_set;
    int n_resume_set;
    /* The run's processes (core/dist/comm.h); NULL: this one alone.  Rank 0
     * sets up and writes the run folder, every rank trains its share of each
     * step (docs/distributed.md). */
    struct ie_comm *comm;
    /* The task table (core/task/task.h: &ie_all_tasks), passed in by the
     * caller: the plugin's task kind picks the run's entry.  Required. */
    const struct ie_task_table *tasks;
    /* Only the checks a new run makes before its run folder exists (config,
     * plugin, data, split, model, starting weights), in a staging folder
     * that is removed afterwards; nothing is trained, and run_dir gets the
     * staging folder's path (gone by then; empty when a check failed before
     * it was made, as for a run).  An experiment runs them for its first child before it makes its
     * own folder, so that one whose checks fail leaves no folder behind. */
    bool check_only;
    /* The prefix of a generated run name and of the data check's list of
     * problems (OUTPUT_DIR/PREFIX.data_problems.txt); NULL: the model's name.
     * An experiment's check gives its own ("HelloWorld_cv"). */
    const char *name_prefix;
} ie_train_request;

/* The training seed of cross-validation fold `fold` of a run with `seed`. */
uint64_t ie_fold_seed(uint64_t seed, int fold);

/* Runs training (and, per run.infer_test, inference and metrics on the test
 * split).  The run folder's path is written to run_dir. */
ie_status ie_train(const ie_train_request *request, char *run_dir, size_t run_dir_size);

#endif
