/* core/task - the regression entry of the task table: one value per label
 * column, standardised for training when data.scalar.standardize_targets is
 * on; validation reports the mean absolute error per target, and the test
 * split's results are printed beside the training-mean baseline
 * (classification_regression.c holds what it shares with classification). */
#include "core/experiment/cv_ensemble.h"
#include "core/report/report_sections.h"
#include "core/task/classification_regression.h"

/* data.scalar.target "auto": regression. */
static ie_status setup(const ie_task_env *env, void **state) {
    return ie_scalar_task_setup(env, IE_TARGET_REGRESSION, state);
}

static ie_status eval_predictions(const char *predictions, const char *out) {
    return ie_scalar_task_eval(predictions, IE_SCALAR_REGRESSION, out);
}

const ie_task ie_task_regression = {
    .name = "regression",
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
    /* the trainer maps its outputs back from standardised units in plain C */
    .onnx_needs_postprocess = "a regression run cannot be exported to ONNX: its outputs are mapped back from "
                              "standardised units in plain C, outside the engine's op records (--format pytorch "
                              "and --format bundle take it)",
    .report_results = ie_report_classification_regression,
};
