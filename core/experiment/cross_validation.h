/* core/experiment - k-fold cross-validation on one machine.
 *
 * Layout: <output.dir>/<run>/ holds config.resolved.json (the CV config),
 * fold_<i>/ (an ordinary run folder per fold), fold_<i>.log, cv_status.csv,
 * cv_metrics.csv (every fold's metrics.csv with a `fold` column) and
 * cv_summary.csv (per group and metric: mean and std across folds of the
 * fold means).  Every fold runs as its own `innereye train` process, so a
 * fold run alone (--cross_validation_split_index i, what a cluster job runs)
 * executes exactly what the same fold executes inside a full
 * cross-validation, and a failing fold cannot take the others down. */
#ifndef IE_CORE_EXPERIMENT_CROSS_VALIDATION_H
#define IE_CORE_EXPERIMENT_CROSS_VALIDATION_H

#include <stddef.h>

#include "innereye/config.h"

#include "core/train/task_interface.h"

struct ie_comm; /* core/dist/comm.h */

/* `tasks` below: the task table (core/task/task.h: &ie_all_tasks), passed in
 * by the caller, since the table sits above experiment. */

/* Runs all cv.splits folds of a resolved config (cv.split_index = -1),
 * cv.parallel at a time, then aggregates and evaluates the folds'
 * ensemble.  `innereye` is the path of the command to start folds with. */
ie_status ie_cv_run_all(ie_config *cfg, const ie_task_table *tasks, const char *innereye, char *parent_dir,
                        size_t size);

/* Runs the single fold cv.split_index of a resolved config into
 * <output.dir>/<run.name>/fold_<i> (the parent folder is created when
 * missing and shared with the other folds). */
ie_status ie_cv_run_fold(ie_config *cfg, const ie_task_table *tasks, int threads_override, char *run_dir,
                         size_t size);
/* The same on the processes of `comm` (core/dist/comm.h; NULL: this one):
 * rank 0 writes the parent's config and the fold's folder. */
ie_status ie_cv_run_fold_on(ie_config *cfg, const ie_task_table *tasks, int threads_override, struct ie_comm *comm,
                            char *run_dir, size_t size);

/* The config of an existing cross-validation folder (its
 * config.resolved.json) and its fold count (cv.splits, at least 2). */
ie_status ie_cv_read_config(const char *parent, ie_config **cfg, int *folds);

/* The task of the folds: the entry of `tasks` whose predictions
 * (ie_task.predictions) the first fold with any holds; NULL when no fold
 * predicted anything. */
const ie_task *ie_cv_task(const ie_task_table *tasks, const char *parent, int folds);

/* Builds the folds' ensemble and evaluates it on the shared test set, for
 * any task whose folds predicted the test set (cv_ensemble.h); nothing when
 * they did not (run.infer_test off, no test subjects). */
ie_status ie_cv_ensemble_folds(const ie_config *cfg, const ie_task_table *tasks, const char *parent, int folds,
                               const char *innereye);
/* Writes the config.resolved.json of a cross-validation's parent folder
 * (the whole cross-validation: cv.split_index -1), as ie_cv_run_all does;
 * used when the folds run elsewhere (a cluster), after the submission made
 * the folder (ie_run_dir_create, named <run.name> or <model>_cv_<time>). */
ie_status ie_cv_write_parent_config(ie_config *cfg, const char *parent);

/* Aggregates the metrics.csv of every fold folder found in parent_dir. */
ie_status ie_cv_aggregate(const char *parent_dir, int folds);

#endif
