/* core/report - which page a folder gets, and writing it. */
#include "core/report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/report/report_impl.h"
#include "core/run/run_settings.h"
#include "core/tracking/mlflow_artifacts.h"
#include "core/util/path.h"
#include "innereye/config.h"

const char *ie_report_kind_name(ie_report_kind kind) {
    static const char *const names[] = {"run", "cross-validation", "ensemble", "sweep", "comparison"};
    return names[kind];
}

ie_status ie_report_kind_of(const char *dir, ie_report_kind *kind) {
    if (!ie_report_has(dir, ".")) return ie_error_set(IE_ERR_IO, "%s: no such folder", dir);
    if (ie_report_has(dir, "manifest.json")) *kind = IE_REPORT_ENSEMBLE;
    else if (ie_report_has(dir, "sweep.csv") || ie_report_has(dir, "trials.csv")) *kind = IE_REPORT_SWEEP;
    else if (ie_report_has(dir, "cv_status.csv") || ie_report_has(dir, "cv_metrics.csv") ||
             ie_report_has(dir, "fold_0"))
        *kind = IE_REPORT_CROSS_VALIDATION;
    else if (ie_report_has(dir, "run.json")) *kind = IE_REPORT_RUN;
    else if (ie_report_has(dir, "compare.csv")) *kind = IE_REPORT_COMPARISON;
    else
        return ie_error_set(IE_ERR_IO, "%s is not a run, cross-validation, ensemble, sweep or comparison folder (it "
                                       "has no run.json, cv_status.csv, manifest.json, sweep.csv or compare.csv); "
                                       "give the folder that innereye train, ensemble, sweep or compare made", dir);
    return IE_OK;
}

static const char *base_name(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    const char *p = dir + n;
    while (p > dir && p[-1] != '/') p--;
    return p;
}

/* A folder's results: the section of the task of the run in run_dir (the
 * run, fold 0 of a cross-validation, or the ensemble), from the task table
 * through results_of. */
static ie_status results(ie_html *h, ie_report_results_of results_of, const char *run_dir, const char *dir,
                         const ie_report_seg_files *files) {
    if (!results_of)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: the report of a run needs the task table to show its results "
                                                "(ie_report_write's results_of is NULL)", dir);
    ie_report_results_fn section = NULL;
    IE_TRY(results_of(run_dir, &section));
    if (section) return section(h, dir, files);
    ie_html_printf(h, "<p class=\"note\">No results: ");
    ie_html_text(h, run_dir);
    ie_html_printf(h, " has no config.resolved.json, which names the model and so its task.</p>\n");
    return IE_OK;
}

static ie_status run_page(ie_html *h, const char *dir, ie_report_results_of results_of) {
    cJSON *record = ie_report_json(dir, "run.json");
    if (!record) return ie_error_set(IE_ERR_IO, "%s/run.json is missing or not JSON", dir);
    ie_report_what_ran(h, record, dir);
    cJSON_Delete(record);
    IE_TRY(ie_report_curves(h, dir));
    char pred[4200];
    IE_TRY(ie_path_format(pred, sizeof pred, "%s/predictions", dir));
    ie_report_seg_files files = {.run_dir = dir, .pred_dir = pred, .pred_subfolders = false};
    return results(h, results_of, dir, dir, &files);
}

static ie_status cv_page(ie_html *h, const char *dir, ie_report_results_of results_of) {
    char fold0[4200], ensemble[4200], pred[4300];
    IE_TRY(ie_path_format(fold0, sizeof fold0, "%s/fold_0", dir));
    cJSON *record = ie_report_json(fold0, "run.json");
    ie_html_printf(h, "<p class=\"note\">Code, machine and data below are fold 0's (run.json); the config is the "
                      "cross-validation's.</p>\n");
    ie_report_what_ran(h, record, dir);
    cJSON_Delete(record);
    IE_TRY(ie_report_cross_validation(h, dir));
    IE_TRY(ie_path_format(ensemble, sizeof ensemble, "%s/ensemble", dir));
    if (!ie_report_has(ensemble, "metrics.csv")) return IE_OK;
    ie_html_printf(h, "<h2 id=\"ensemble\">The folds' ensemble on the test set (ensemble/)</h2>\n");
    IE_TRY(ie_path_format(pred, sizeof pred, "%s/test_predictions", ensemble));
    ie_report_seg_files files = {.run_dir = fold0, .pred_dir = pred, .pred_subfolders = true};
    return results(h, results_of, fold0, ensemble, &files);
}

static ie_status ensemble_page(ie_html *h, const char *dir, ie_report_results_of results_of) {
    IE_TRY(ie_report_ensemble_members(h, dir));
    if (!ie_report_has(dir, "metrics.csv")) {
        ie_html_printf(h, "<p class=\"note\">This ensemble has not been evaluated here (no metrics.csv).</p>\n");
        return IE_OK;
    }
    /* A cross-validation's ensemble: the folds' dataset is fold 0's. */
    char run[4200], pred[4200];
    IE_TRY(ie_path_format(run, sizeof run, "%s/../fold_0", dir));
    IE_TRY(ie_path_format(pred, sizeof pred, "%s/test_predictions", dir));
    ie_report_seg_files files = {.run_dir = run, .pred_dir = pred, .pred_subfolders = true};
    return results(h, results_of, dir, dir, ie_report_has(run, "run.json") ? &files : NULL);
}

static ie_status sweep_page(ie_html *h, const char *dir) {
    ie_report_what_ran(h, NULL, dir);
    return ie_report_sweep(h, dir);
}

ie_status ie_report_write(const char *dir, ie_report_results_of results_of, char *path_out, size_t size) {
    ie_report_kind kind;
    IE_TRY(ie_report_kind_of(dir, &kind));
    char title[512], path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/report.html", dir));
    snprintf(title, sizeof title, "%s: %s report", base_name(dir), ie_report_kind_name(kind));
    ie_html h;
    IE_TRY(ie_html_begin(&h, title));
    ie_html_printf(&h, "<h1>");
    ie_html_text(&h, title);
    ie_html_printf(&h, "</h1>\n<p class=\"note\">Folder: ");
    ie_html_text(&h, dir);
    ie_html_printf(&h, ". Written by innereye report from the folder's own files; docs/reports.md explains each "
                       "section.</p>\n");
    ie_status st = kind == IE_REPORT_RUN                ? run_page(&h, dir, results_of)
                   : kind == IE_REPORT_CROSS_VALIDATION ? cv_page(&h, dir, results_of)
                   : kind == IE_REPORT_ENSEMBLE         ? ensemble_page(&h, dir, results_of)
                   : kind == IE_REPORT_SWEEP            ? sweep_page(&h, dir)
                                                        : ie_report_comparison(&h, dir, "");
    /* This folder against another (innereye report DIR --compare OTHER). */
    if (st == IE_OK && kind != IE_REPORT_COMPARISON && kind != IE_REPORT_SWEEP)
        st = ie_report_comparison(&h, dir, IE_REPORT_COMPARISON_DIR "/");
    if (st != IE_OK) {
        ie_html_discard(&h);
        return ie_error_wrap(st, "writing %s", path);
    }
    IE_TRY(ie_html_commit(&h, path));
    if (path_out) IE_TRY(ie_path_format(path_out, size, "%s", path));
    return IE_OK;
}

void ie_report_after(const char *dir, ie_report_results_of results_of) {
    char path[4200], message[2048];
    snprintf(message, sizeof message, "%s", ie_error_message()); /* keep the work's own error message */
    ie_report_kind kind;
    if (ie_report_kind_of(dir, &kind) != IE_OK) { /* failed before the folder held anything */
        ie_error_set(IE_ERR_IO, "%s", message);
        return;
    }
    ie_run_settings run = {.report = true}; /* a report when the config cannot be read */
    ie_config *cfg = NULL;
    if (ie_path_format(path, sizeof path, "%s/config.resolved.json", dir) == IE_OK &&
        ie_config_new(&cfg) == IE_OK && ie_config_add_file(cfg, path) == IE_OK && ie_config_resolve(cfg) == IE_OK)
        ie_run_settings_read(cfg, &run);
    bool wanted = run.report;
    ie_config_free(cfg);
    if (wanted) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (ie_report_write(dir, results_of, path, sizeof path) == IE_OK) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            printf("report: %s (%.1f s)\n", path,
                   (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
            fflush(stdout);
        } else {
            fprintf(stderr, "warning: the report was not written: %s; the results themselves are complete: write "
                            "it with `innereye report %s`\n", ie_error_message(), dir);
        }
    }
    ie_mlflow_log_artifacts(dir); /* the report and the metrics CSVs, where a tracking server is set */
    ie_error_set(IE_ERR_IO, "%s", message);
}
