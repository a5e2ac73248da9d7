/* core/task - the entries classification.c and regression.c share: one
 * dataset of label, image and feature columns (core/data/classification_regression_hooks.h),
 * one predictions.csv and its metrics (core/metrics/classification_regression_report.h); the
 * two entries differ in the target a run has when data.scalar.target is
 * "auto" (classification_regression.c says what each entry does). */
#ifndef IE_CORE_TASK_SCALAR_TASK_H
#define IE_CORE_TASK_SCALAR_TASK_H

#include "core/data/classification_regression_hooks.h"
#include "core/metrics/classification_regression_report.h"
#include "core/task/task.h"

/* The task's reason to train on the CPU only (ie_task.cpu_only). */
#define IE_SCALAR_TASK_CPU_ONLY \
    "classification and regression models train on the CPU only so far (their evaluation reads outputs on the host)"

/* default_target: the target of data.scalar.target "auto" (IE_TARGET_BINARY
 * stands for "binary, or multi-class when data.classes lists classes"). */
ie_status ie_scalar_task_setup(const ie_task_env *env, ie_scalar_target default_target, void **state);
void ie_scalar_task_destroy(void *state);
ie_data_hooks ie_scalar_task_hooks(void *state);
int ie_scalar_task_label_classes(void *state);
ie_status ie_scalar_task_describe_inputs(void *state, cJSON *model_params);
void ie_scalar_task_metric_names(void *state, ie_task_metrics *m);
ie_status ie_scalar_task_validate(void *state, const ie_task_env *env, int epoch, double *loss, ie_task_metrics *m);
ie_status ie_scalar_task_infer(void *state, const ie_task_env *env, int epoch, cJSON *record);
/* innereye infer on a run or ensemble (core/inference/classification_regression_infer.h). */
ie_status ie_scalar_task_infer_table(const ie_task_infer_request *r);
/* innereye eval --task: the report of a predictions CSV read as `kind`. */
ie_status ie_scalar_task_eval(const char *predictions, ie_scalar_kind kind, const char *out);

#endif
