/* The task table (core/task/task.h): every entry fills the fields its
 * callers call without checking (the trainer, cross-validation), names are
 * unique and found by ie_task_by_name, a plugin's task kind picks the entry
 * docs/tasks.md says, the table the commands pass to the trainer and the
 * cross-validation (ie_all_tasks) is this one, every entry names its
 * report section (report.html asks the table, never a run's files) and
 * what ONNX export refuses, and a folder that is not a run has no task
 * (nor report section). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/task/task.h"
#include "core/train/trainer.h"
#include "test_util.h"

static void test_entries(void) {
    int n = 0;
    for (int t = 0; ie_tasks[t]; t++, n++) {
        const ie_task *e = ie_tasks[t];
        CHECK(e->name && e->name[0], "entry %d has a name", t);
        const char *name = e->name ? e->name : "?";
        CHECK(e->setup && e->destroy && e->hooks && e->label_classes && e->metric_names && e->validate && e->infer,
              "%s: every training entry the trainer calls unchecked", name);
        CHECK(e->predictions && e->predictions[0] && e->cv_ensemble, "%s: the cross-validation entries", name);
        CHECK(!e->infer_table == !e->eval_predictions, "%s: a task that predicts tables also evaluates them", name);
        CHECK(e->report_results != NULL, "%s: report.html has a results section for it", name);
        CHECK(ie_task_by_name(name) == e, "%s is found by its name", name);
        for (int u = 0; u < t; u++)
            CHECK(strcmp(ie_tasks[u]->name, name) != 0, "%s: one entry per name", name);
    }
    CHECK(n == 3, "three entries (segmentation, classification, regression), got %d", n);
    CHECK(!ie_task_by_name("segmentations") && !ie_task_by_name("") && !ie_task_by_name(NULL), "unknown names");
}

static void test_kinds(void) {
    CHECK(ie_task_for_kind(IE_TASK_SEGMENTATION) == &ie_task_segmentation, "segmentation");
    CHECK(ie_task_for_kind(IE_TASK_CLASSIFICATION) == &ie_task_classification, "classification");
    CHECK(ie_task_for_kind(IE_TASK_REGRESSION) == &ie_task_regression, "regression");
    /* "other" plugins load their own data and are scored per voxel. */
    CHECK(ie_task_for_kind(IE_TASK_OTHER) == &ie_task_segmentation, "other trains as segmentation");
    /* Only classification and regression runs predict tables; segmentation
     * runs are segmented by innereye infer itself, and read their data again
     * for the folds' ensemble. */
    CHECK(!ie_task_segmentation.infer_table && ie_task_segmentation.cv_ensemble_reads_data, "segmentation");
    CHECK(ie_task_classification.infer_table && !ie_task_classification.cv_ensemble_reads_data, "classification");
    CHECK(ie_task_regression.infer_table && !ie_task_regression.cv_ensemble_reads_data, "regression");
    CHECK(ie_task_classification.cpu_only && ie_task_regression.cpu_only && !ie_task_segmentation.cpu_only,
          "CPU only: classification and regression");
    /* The report sections: segmentation's box plots and overlays; one
     * section for the two tasks that share a predictions table. */
    CHECK(ie_task_segmentation.report_results == ie_report_segmentation, "segmentation's report section");
    CHECK(ie_task_classification.report_results == ie_report_classification_regression &&
              ie_task_regression.report_results == ie_report_classification_regression,
          "classification's and regression's report section");
    /* ONNX: only regression's rescaling of outputs is outside the traced ops. */
    CHECK(ie_task_regression.onnx_needs_postprocess && !ie_task_classification.onnx_needs_postprocess &&
              !ie_task_segmentation.onnx_needs_postprocess,
          "ONNX export needs a postprocess for regression only");
}

/* The trainer and the cross-validation sit below core/task and take the
 * table from their callers (core/train/task_interface.h); a request without
 * one is refused before anything happens. */
static void test_table_passed_in(void) {
    CHECK(ie_all_tasks.entries == ie_tasks, "ie_all_tasks lists ie_tasks");
    const ie_task_kind kinds[] = {IE_TASK_SEGMENTATION, IE_TASK_CLASSIFICATION, IE_TASK_REGRESSION, IE_TASK_OTHER};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        CHECK(ie_all_tasks.for_run && ie_all_tasks.for_run(kinds[k], NULL) == ie_task_for_kind(kinds[k]),
              "ie_all_tasks picks the entry of kind %s as ie_task_for_kind does", ie_task_kind_name(kinds[k]));
    ie_train_request req = {.config = NULL};
    char run_dir[64] = "";
    CHECK_FAILS(ie_train(&req, run_dir, sizeof run_dir), IE_ERR_INVALID_ARG, "request.tasks");
}

/* A run's resolved config with data.scalar.target = `target`. */
static ie_config *config_with_target(const char *target) {
    ie_config *cfg = NULL;
    char assignment[64];
    snprintf(assignment, sizeof assignment, "data.scalar.target=%s", target);
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_set(cfg, assignment, "test"));
    CHECK_OK(ie_config_resolve(cfg));
    return cfg;
}

/* The built-in Classifier declares classification; trained with
 * data.scalar.target "regression" its run is a regression run everywhere
 * (trainer, runs, show, report, export), as its config says.  Only a
 * classification or regression plugin's entry follows the target. */
static void test_target_picks_scalar_entry(void) {
    static const struct {
        const char *target;
        ie_task_kind kind;
        const ie_task *want;
    } cases[] = {
        {"regression", IE_TASK_CLASSIFICATION, &ie_task_regression},
        {"auto", IE_TASK_CLASSIFICATION, &ie_task_classification},
        {"binary", IE_TASK_CLASSIFICATION, &ie_task_classification},
        {"multiclass", IE_TASK_REGRESSION, &ie_task_classification},
        {"auto", IE_TASK_REGRESSION, &ie_task_regression},
        {"regression", IE_TASK_SEGMENTATION, &ie_task_segmentation},
        {"regression", IE_TASK_OTHER, &ie_task_segmentation},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ie_config *cfg = config_with_target(cases[i].target);
        const ie_task *got = ie_task_for_run(cases[i].kind, cfg);
        CHECK(got == cases[i].want, "a %s plugin with data.scalar.target %s: the %s entry, got %s",
              ie_task_kind_name(cases[i].kind), cases[i].target, cases[i].want->name, got ? got->name : "none");
        CHECK(ie_all_tasks.for_run(cases[i].kind, cfg) == got, "ie_all_tasks picks it the same way");
        ie_config_free(cfg);
    }
}

static void test_not_a_run(void) {
    char dir[] = "/tmp/ie_test_task_table_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temporary folder");
    const ie_task *task = &ie_task_regression;
    CHECK_OK(ie_task_of_run(dir, &task));
    CHECK(task == NULL, "a folder without config.resolved.json has no task");
    ie_report_results_fn section = ie_report_segmentation;
    CHECK_OK(ie_task_report_results(dir, &section));
    CHECK(section == NULL, "nor a report section");
    rmdir(dir);
}

int main(void) {
    test_entries();
    test_kinds();
    test_table_passed_in();
    test_target_picks_scalar_entry();
    test_not_a_run();
    return test_summary();
}
