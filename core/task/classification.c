/* core/task - the classification entry of the task table: binary and
 * multi-label targets (one logit per label column) or multi-class ones (one
 * logit per data.classes entry); validation reports AUROC per target, or
 * accuracy (classification_regression.c holds what it shares with regression). */
#include "core/experiment/cv_ensemble.h"
#include "core/report/report_sections.h"
#include "core/task/classification_regression.h"

/* data.scalar.target "auto": multi-class when data.classes names classes,
 * else binary (multi-label with several label columns). */
static ie_status setup(const ie_task_env *env, void **state) {
    return ie_scalar_task_setup(env, IE_TARGET_BINARY, state);
}

static ie_status eval_predictions(const char *predictions, const char *out) {
    return ie_scalar_task_eval(predictions, IE_SCALAR_CLASSIFICATION, out);
}

const ie_task ie_task_classification = {
    .name = "classification",
    .cpu_only = IE_SCALAR_TASK_CPU_ONLY,
    .setup = setup,
    .destroy = ie_scalar_task_destroy,
    .hooks = ie_scalar_task_hooks,
    .label_classes = ie_scalar_task_label_classes,
    .describe_inputs = ie_scalar_task_describe_inputs,
    .metric_names = ie_scalar_task_metric_names,
    .validate = ie_scalar_task_validate,
    .infer = ie_scalar_task_infer,
    .predictions = "predictions.csv",
    .cv_ensemble = ie_cv_ensemble_average,
    .infer_table = ie_scalar_task_infer_table,
    .eval_predictions = eval_predictions,
    .report_results = ie_report_classification_regression,
};
