/* core/experiment - the ensemble of a classification or regression
 * cross-validation's folds on the shared test set (the cv_ensemble of both
 * entries of core/task/task.h).
 *
 * Every fold has already predicted the test subjects with its final model
 * (<fold>/predictions.csv, split "test": probabilities for classification,
 * values in the labels' units for regression, each fold with its own
 * feature statistics).  The ensemble's prediction for a subject and target
 * is the mean of the folds' predictions: exactly what running the ensemble
 * folder on the test set computes, without predicting everything again.
 * The folds must agree on the test subjects, targets and labels; anything
 * else means the folds did not come from one cross-validation, and is
 * refused with the fold, subject and target. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/experiment/cv_comparison.h"
#include "core/experiment/cv_ensemble.h"
#include "core/run/ensemble.h"
#include "core/metrics/classification_regression_predictions.h"
#include "core/metrics/classification_regression_report.h"
#include "core/run/run_dir.h"
#include "core/util/path.h"

#define MAX_FOLDS 100

static bool exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0;
}

/* The test rows of one fold, sorted by (subject, target). */
typedef struct fold_rows {
    const ie_prediction_row **rows;
    int count;
} fold_rows;

static int by_subject_target(const void *a, const void *b) {
    const ie_prediction_row *x = *(const ie_prediction_row *const *)a, *y = *(const ie_prediction_row *const *)b;
    int c = strcmp(x->subject, y->subject);
    return c ? c : strcmp(x->target, y->target);
}

static ie_status test_rows(const ie_predictions *p, fold_rows *out) {
    int n = ie_predictions_count(p);
    out->rows = calloc(n ? (size_t)n : 1, sizeof *out->rows);
    if (!out->rows) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    out->count = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(ie_predictions_row(p, i)->split, "test")) out->rows[out->count++] = ie_predictions_row(p, i);
    qsort(out->rows, (size_t)out->count, sizeof *out->rows, by_subject_target);
    return IE_OK;
}

/* "classification" or "regression", as the fold's run.json records it. */
static ie_status fold_kind(const char *run, ie_scalar_kind *kind) {
    cJSON *j = NULL;
    IE_TRY(ie_run_record_read(run, &j));
    cJSON *k = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "predictions"), "kind");
    ie_status st = IE_OK;
    if (cJSON_IsString(k) && !strcmp(k->valuestring, "classification")) *kind = IE_SCALAR_CLASSIFICATION;
    else if (cJSON_IsString(k) && !strcmp(k->valuestring, "regression")) *kind = IE_SCALAR_REGRESSION;
    else
        st = ie_error_set(IE_ERR_STATE, "%s/run.json: no predictions.kind (classification or regression); the run "
                                        "was made by an older version: train the fold again",
                          run);
    cJSON_Delete(j);
    return st;
}

/* The mean of the folds' test predictions, row by row. */
static ie_status average(const fold_rows *folds, const int *fold_index, int n, ie_predictions *out) {
    const fold_rows *first = &folds[0];
    for (int f = 1; f < n; f++)
        if (folds[f].count != first->count)
            return ie_error_set(IE_ERR_STATE, "fold_%d predicted %d test rows and fold_%d %d; the folds of one "
                                              "cross-validation share the test set",
                                fold_index[0], first->count, fold_index[f], folds[f].count);
    for (int r = 0; r < first->count; r++) {
        const ie_prediction_row *a = first->rows[r];
        double sum = a->prediction;
        for (int f = 1; f < n; f++) {
            const ie_prediction_row *b = folds[f].rows[r];
            if (strcmp(a->subject, b->subject) || strcmp(a->target, b->target))
                return ie_error_set(IE_ERR_STATE, "fold_%d has a test prediction for subject %s, target %s that "
                                                  "fold_%d does not; the folds of one cross-validation share the "
                                                  "test set",
                                    fold_index[0], a->subject, a->target, fold_index[f]);
            if (a->label != b->label && !(isnan(a->label) && isnan(b->label)))
                return ie_error_set(IE_ERR_STATE, "subject %s, target %s: label %g in fold_%d but %g in fold_%d",
                                    a->subject, a->target, a->label, fold_index[0], b->label, fold_index[f]);
            sum += b->prediction;
        }
        IE_TRY(ie_predictions_add(out, a->subject, a->target, a->label, sum / n, "test", -1));
    }
    return IE_OK;
}

/* ensemble_comparison.csv: each fold's test metric (metrics.csv) beside the
 * ensemble's. */
static ie_status compare(const char *parent, int folds, const ie_scalar_report *ensemble) {
    int n = ie_scalar_report_count(ensemble);
    ie_cv_comparison_row *rows = calloc(n ? (size_t)n : 1, sizeof *rows);
    if (!rows) return ie_error_set(IE_ERR_NOMEM, "%s/ensemble_comparison.csv: out of memory", parent);
    for (int e = 0; e < n; e++) {
        const ie_metric_entry *m = ie_scalar_report_entry(ensemble, e);
        rows[e] = (ie_cv_comparison_row){m->target, m->metric, m->value};
    }
    ie_cv_comparison c = {.fold_file = "metrics.csv", .columns = {"target", "metric"}, .value_column = "value",
                          .split = "test", .n_rows = n, .rows = rows};
    ie_status st = ie_cv_comparison_write(parent, folds, &c);
    free(rows);
    return st;
}

/* Whether a predictions.csv holds rows of the test split. */
static bool has_test_rows(const char *path) {
    ie_csv *csv = NULL;
    if (ie_csv_read(path, &csv) != IE_OK) return false;
    int c = ie_csv_column(csv, "split");
    bool found = false;
    for (int r = 0; c >= 0 && r < csv->n_rows && !found; r++) found = !strcmp(ie_csv_cell(csv, r, c), "test");
    ie_csv_free(csv);
    return found;
}

static ie_status evaluate(const char *parent, int folds) {
    const char *runs[MAX_FOLDS];
    char run_paths[MAX_FOLDS][4200], path[4400], ens[4200] = "";
    int index[MAX_FOLDS], n = 0;
    for (int i = 0; i < folds && i < MAX_FOLDS; i++) {
        IE_TRY(ie_path_format(run_paths[n], sizeof run_paths[n], "%s/fold_%d", parent, i));
        IE_TRY(ie_path_format(path, sizeof path, "%s/checkpoints/last.json", run_paths[n]));
        char predictions[4400];
        IE_TRY(ie_path_format(predictions, sizeof predictions, "%s/predictions.csv", run_paths[n]));
        if (exists(path) && exists(predictions)) runs[n] = run_paths[n], index[n] = i, n++;
    }
    if (n < 2) return ie_error_set(IE_ERR_STATE, "%s: fewer than 2 folds finished with predictions; no ensemble", parent);

    ie_scalar_kind kind = IE_SCALAR_CLASSIFICATION, other;
    IE_TRY(fold_kind(runs[0], &kind));
    ie_predictions *fold_p[MAX_FOLDS] = {0}, *mean = NULL, *written = NULL;
    fold_rows rows[MAX_FOLDS] = {0};
    ie_scalar_report *report = NULL;
    ie_status st = IE_OK;
    for (int f = 0; st == IE_OK && f < n; f++) {
        st = fold_kind(runs[f], &other);
        if (st == IE_OK && other != kind)
            st = ie_error_set(IE_ERR_STATE, "%s is a %s run but %s a %s one; they cannot form one ensemble", runs[f],
                              other == IE_SCALAR_REGRESSION ? "regression" : "classification", runs[0],
                              kind == IE_SCALAR_REGRESSION ? "regression" : "classification");
        if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/predictions.csv", runs[f]);
        if (st == IE_OK) st = ie_predictions_read_csv(path, &fold_p[f]);
        if (st == IE_OK) st = test_rows(fold_p[f], &rows[f]);
        if (st == IE_OK && rows[f].count == 0)
            st = ie_error_set(IE_ERR_STATE, "%s: no test rows; the test split is empty or run.infer_test is off, so "
                                            "there is nothing to evaluate the ensemble on",
                              path);
    }
    /* The ensemble folder (ensemble.h) makes the averaged model usable by
     * `innereye infer` later; an existing one of the same folds is kept. */
    if (st == IE_OK) st = ie_cv_ensemble_folder(parent, runs, n, ens, sizeof ens);
    if (st == IE_OK) st = ie_predictions_new(&mean);
    if (st == IE_OK) st = average(rows, index, n, mean);
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/predictions.csv", ens);
    if (st == IE_OK) st = ie_predictions_write_csv(mean, path);
    /* Metrics from the file as written: what `innereye eval` gets from it. */
    if (st == IE_OK) st = ie_predictions_read_csv(path, &written);
    if (st == IE_OK) st = ie_scalar_report_compute(written, kind, &report);
    if (st == IE_OK) st = ie_scalar_report_write(report, ens);
    if (st == IE_OK) st = compare(parent, folds, report);
    if (st == IE_OK) {
        printf("ensemble of %d folds on the test set:\n", n);
        ie_scalar_report_print(report, stdout);
    }
    ie_scalar_report_free(report);
    ie_predictions_free(written);
    ie_predictions_free(mean);
    for (int f = 0; f < n; f++) {
        free(rows[f].rows);
        ie_predictions_free(fold_p[f]);
    }
    return st;
}

ie_status ie_cv_ensemble_average(const ie_config *cfg, const char *parent, int folds, const char *innereye) {
    (void)cfg;
    (void)innereye;
    /* Scalar datasets may take their test subjects from a split column, so
     * data.split.test says nothing here: the first predicted fold does. */
    char path[4200];
    for (int i = 0; i < folds; i++) {
        IE_TRY(ie_path_format(path, sizeof path, "%s/fold_%d/predictions.csv", parent, i));
        if (!exists(path)) continue;
        if (!has_test_rows(path)) return IE_OK;
        break;
    }
    IE_TRY(evaluate(parent, folds));
    printf("ensemble of the folds: %s/ensemble (predictions.csv, metrics.csv), compared with each fold in "
           "%s/ensemble_comparison.csv\n", parent, parent);
    return IE_OK;
}
