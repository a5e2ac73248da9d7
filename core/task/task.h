/* core/task - everything that differs between kinds of model, behind one
 * table: the default data and what the model learns about its inputs, the
 * checks of a task's settings and data, the validation metrics of every
 * epoch, the inference and evaluation on held-out subjects after training,
 * the cross-validation ensemble of a task's folds, and `innereye infer` /
 * `innereye eval` on a task's runs.  The trainer, inference, evaluation,
 * cross-validation and the CLI call only through this table, so none of
 * them names a kind of model (docs/tasks.md).
 *
 * One entry per kind, each in its own file: segmentation.c,
 * classification.c, regression.c (the last two share classification_regression.c: the
 * same data and predictions file, other targets and metrics).  A plugin's
 * task kind picks the entry (ie_task_for_kind), unless the run's config
 * names another target (ie_task_for_run: the Classifier trained with
 * data.scalar.target "regression" is a regression run); a run folder's
 * plugin and config pick it for the commands that get a run
 * (ie_task_of_run).  The entry's type is
 * declared in core/train/task_interface.h, below the trainer and the
 * cross-validation that call it. */
#ifndef IE_CORE_TASK_TASK_H
#define IE_CORE_TASK_TASK_H

#include "core/report/report_sections.h"
#include "core/train/task_interface.h"

/* The entries (segmentation.c, classification.c, regression.c). */
extern const ie_task ie_task_segmentation;
extern const ie_task ie_task_classification;
extern const ie_task ie_task_regression;

/* Every entry, in a fixed order; NULL ends the list. */
extern const ie_task *const ie_tasks[];

/* The table as the trainer and the cross-validation take it (ie_tasks and
 * ie_task_for_run): the commands pass it in (core/train/task_interface.h). */
extern const ie_task_table ie_all_tasks;

/* The entry of a plugin's task kind.  IE_TASK_OTHER trains with the
 * segmentation entry: its plugin brings its own data loading
 * (load_item, collate), and its outputs are scored per voxel. */
const ie_task *ie_task_for_kind(ie_task_kind kind);

/* The entry of a run of a plugin of `kind` with the resolved config `cfg`:
 * ie_task_for_kind's, except that a classification or regression plugin's
 * run takes the entry its data.scalar.target names ("regression": the
 * regression entry; "binary", "multiclass": classification; "auto": the
 * plugin's kind), so the trainer, innereye runs / show, reports, infer,
 * serve and export all call the run what it was trained as. */
const ie_task *ie_task_for_run(ie_task_kind kind, const ie_config *cfg);

/* The entry named `name` ("classification"), or NULL. */
const ie_task *ie_task_by_name(const char *name);

/* The entry of a run folder's or an ensemble folder's model (its plugin's
 * task kind and its config: ie_task_for_run); *task NULL when the folder has no config.resolved.json (the
 * caller says what it expected).  Fails when the config or the plugin
 * cannot be read. */
ie_status ie_task_of_run(const char *run_dir, const ie_task **task);

/* The results section of report.html for the run in run_dir: its task's
 * report_results (ie_task_of_run); *results NULL when the folder has no
 * config.resolved.json.  What the commands pass to core/report
 * (ie_report_write, ie_report_after: ie_report_results_of). */
ie_status ie_task_report_results(const char *run_dir, ie_report_results_fn *results);

#endif
