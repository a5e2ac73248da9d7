/* core/report - cross-validations, ensembles and sweeps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/report/report_impl.h"
#include "core/run/median_stop_settings.h"
#include "core/util/path.h"
#include "innereye/config.h"

#define MAX_COLUMNS 128
#define MAX_ITEMS 1024

/* ensemble_comparison.csv: Structure,Metric,fold_0..fold_K-1,folds_mean,ensemble
 * (or target,metric,...): one chart per metric, one series per structure. */
static void comparison_charts(ie_html *h, const ie_csv *c) {
    int group = 0, metric = 1, first = 2, last = c->n_columns - 1; /* fold columns .. ensemble */
    if (c->n_columns < 4) return;
    const char *categories[MAX_COLUMNS];
    int n_cat = 0;
    for (int k = first; k <= last && n_cat < MAX_COLUMNS; k++) categories[n_cat++] = c->header[k];
    double x[MAX_COLUMNS];
    for (int k = 0; k < n_cat; k++) x[k] = k;
    const char *metrics[MAX_ITEMS];
    int n_metrics = 0;
    for (int r = 0; r < c->n_rows; r++) {
        int k = 0;
        while (k < n_metrics && strcmp(metrics[k], ie_csv_cell(c, r, metric)) != 0) k++;
        if (k == n_metrics && n_metrics < MAX_ITEMS) metrics[n_metrics++] = ie_csv_cell(c, r, metric);
    }
    ie_html_printf(h, "<div class=\"plots\">\n");
    for (int m = 0; m < n_metrics; m++) {
        ie_plot_series s[16];
        double *ys[16];
        int n = 0;
        for (int r = 0; r < c->n_rows && n < 16; r++) {
            if (strcmp(ie_csv_cell(c, r, metric), metrics[m]) != 0) continue;
            ys[n] = malloc(sizeof(double) * (size_t)n_cat);
            for (int k = 0; ys[n] && k < n_cat; k++) ys[n][k] = ie_report_number(ie_csv_cell(c, r, first + k));
            if (ys[n]) s[n] = (ie_plot_series){.name = ie_csv_cell(c, r, group), .x = x, .y = ys[n], .n = n_cat,
                                               .style = IE_PLOT_POINTS}, n++;
        }
        char id[300];
        snprintf(id, sizeof id, "folds:%s", metrics[m]);
        ie_plot p = {.id = id, .title = metrics[m], .x_label = "fold, the folds' mean, the ensemble",
                     .y_label = metrics[m], .x_categories = categories, .n_categories = n_cat,
                     .width = 120 + 60 * n_cat};
        ie_plot_xy(h, &p, s, n);
        for (int i = 0; i < n; i++) free(ys[i]);
    }
    ie_html_printf(h, "</div>\n");
}

ie_status ie_report_cross_validation(ie_html *h, const char *dir) {
    ie_csv *status = NULL, *comparison = NULL, *summary = NULL, *post = NULL;
    ie_status st = ie_report_csv(dir, "cv_status.csv", &status);
    if (st == IE_OK) st = ie_report_csv(dir, "postprocessing.csv", &post);
    if (st == IE_OK) st = ie_report_csv(dir, "ensemble_comparison.csv", &comparison);
    if (st == IE_OK) st = ie_report_csv(dir, "cv_summary.csv", &summary);
    if (st == IE_OK) {
        ie_html_printf(h, "<h2 id=\"folds\">Cross-validation folds</h2>\n");
        if (status) {
            ie_report_csv_table(h, status, "cv_status.csv", NULL, 0);
            int fold = ie_csv_column(status, "fold");
            ie_html_printf(h, "<p>Each fold's own report:");
            for (int r = 0; fold >= 0 && r < status->n_rows; r++) {
                char name[64];
                snprintf(name, sizeof name, "fold_%s/report.html", ie_csv_cell(status, r, fold));
                if (!ie_report_has(dir, name)) continue;
                ie_html_printf(h, " <a href=\"");
                ie_html_text(h, name);
                ie_html_printf(h, "\">fold %s</a>", ie_csv_cell(status, r, fold));
            }
            ie_html_printf(h, "</p>\n");
        } else {
            ie_html_printf(h, "<p class=\"note\">No cv_status.csv (the folds ran elsewhere).</p>\n");
        }
        if (comparison) {
            ie_html_printf(h, "<h3>Each fold beside the folds' mean and the ensemble (ensemble_comparison.csv)</h3>\n"
                              "<p class=\"note\">Segmentation: each value is the mean over the shared test "
                              "subjects.</p>\n");
            comparison_charts(h, comparison);
            ie_report_csv_table(h, comparison, "ensemble_comparison.csv", NULL, 0);
        }
        if (summary) {
            ie_html_printf(h, "<h3>Mean and standard deviation across folds (cv_summary.csv)</h3>\n");
            ie_report_csv_table(h, summary, "cv_summary.csv", NULL, 0);
        }
        if (post) {
            ie_html_printf(h, "<h3 id=\"postprocessing\">Post-processing chosen on the folds' validation predictions "
                              "(postprocessing.csv)</h3>\n<p class=\"note\">Per structure, the mean Dice over every "
                              "fold's validation subjects as predicted, keeping only the largest connected "
                              "component, and removing components smaller than the threshold; the ensemble applies "
                              "the chosen one (ensemble/postprocess.json) only where it is strictly better than "
                              "none. docs/experiments.md gives the rule.</p>\n");
            ie_report_csv_table(h, post, "postprocessing.csv", NULL, 0);
        }
    }
    ie_csv_free(post);
    ie_csv_free(status);
    ie_csv_free(comparison);
    ie_csv_free(summary);
    return st;
}

ie_status ie_report_ensemble_members(ie_html *h, const char *dir) {
    cJSON *m = ie_report_json(dir, "manifest.json");
    if (!m) return ie_error_set(IE_ERR_IO, "%s/manifest.json is missing or not JSON", dir);
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(m, "members");
    ie_html_printf(h, "<h2 id=\"members\">Ensemble members (manifest.json)</h2>\n<p>");
    ie_html_text(h, ie_report_json_string(m, "combine", ""));
    ie_html_printf(h, "</p>\n<table data-file=\"manifest.json\"><tr><th>member</th><th>source run</th><th>epoch</th>"
                      "<th>config SHA-256</th><th>weights SHA-256</th></tr>\n");
    int i = 0;
    for (const cJSON *e = members ? members->child : NULL; e; e = e->next, i++) {
        const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(e, "epoch");
        char index[16], ep[32];
        snprintf(index, sizeof index, "%d", i);
        snprintf(ep, sizeof ep, "%.0f", cJSON_IsNumber(epoch) ? epoch->valuedouble : NAN);
        const char *cells[5] = {index, ie_report_json_string(e, "source_run", ""), ep,
                                ie_report_json_string(e, "config_sha256", ""),
                                ie_report_json_string(e, "weights_sha256", "")};
        ie_html_row(h, cells, 5, 0);
    }
    ie_html_printf(h, "</table>\n");
    cJSON_Delete(m);
    return IE_OK;
}

/* sweep.csv: trial,status,<keys...>,<metric>,epochs,stopped_early. */
ie_status ie_report_sweep(ie_html *h, const char *dir) {
    ie_csv *sweep = NULL;
    IE_TRY(ie_report_csv(dir, "sweep.csv", &sweep));
    if (!sweep) {
        ie_html_printf(h, "<p class=\"note\">No sweep.csv yet: no trial has been ranked (innereye sweep-aggregate "
                          "ranks trials that ran elsewhere).</p>\n");
        return IE_OK;
    }
    int epochs = ie_csv_column(sweep, "epochs"), trial = ie_csv_column(sweep, "trial"),
        status = ie_csv_column(sweep, "status");
    if (epochs < 3 || trial < 0 || status < 0) {
        ie_csv_free(sweep);
        return ie_error_set(IE_ERR_IO, "%s/sweep.csv: expected trial,status,<keys>,<metric>,epochs,stopped_early", dir);
    }
    int metric = epochs - 1, first_key = status + 1;
    ie_median_stop_settings stop = {.maximize = false}; /* goal "min" when the config cannot be read */
    ie_config *cfg = NULL;
    char path[4200];
    if (ie_path_format(path, sizeof path, "%s/config.resolved.json", dir) == IE_OK && ie_config_new(&cfg) == IE_OK &&
        ie_config_add_file(cfg, path) == IE_OK && ie_config_resolve(cfg) == IE_OK)
        ie_median_stop_settings_read(cfg, &stop);
    bool maximize = stop.maximize;
    /* Ranked: the best first; trials without a value last, in trial order. */
    int n = sweep->n_rows, *order = malloc(sizeof(int) * (size_t)(n + 1));
    double *value = ie_report_column(sweep, metric, NULL, 0);
    for (int i = 0; order && i < n; i++) order[i] = i;
    for (int i = 1; order && value && i < n; i++) /* insertion sort: stable, trials are few */
        for (int j = i; j > 0; j--) {
            double a = value[order[j - 1]], b = value[order[j]];
            bool swap = !isnan(b) && (isnan(a) || (maximize ? b > a : b < a));
            if (!swap) break;
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    ie_html_printf(h, "<h2 id=\"trials\">Trials ranked by %s (%s is better)</h2>\n<p class=\"note\">sweep.csv; the "
                      "value is the best over the trial's epochs of train_log.csv's column.</p>\n",
                   sweep->header[metric], maximize ? "larger" : "smaller");
    if (order) ie_report_csv_table(h, sweep, "sweep.csv", order, n);
    ie_html_printf(h, "<div class=\"plots\">\n");
    for (int k = first_key; value && k < metric; k++) {
        double *x = ie_report_column(sweep, k, NULL, 0);
        bool numeric = x != NULL;
        for (int i = 0; x && i < n; i++) numeric = numeric && !isnan(x[i]);
        const char *categories[MAX_ITEMS];
        int n_cat = 0;
        if (!numeric && x) { /* choice values: one column per distinct value */
            for (int i = 0; i < n; i++) {
                int c = 0;
                while (c < n_cat && strcmp(categories[c], ie_csv_cell(sweep, i, k)) != 0) c++;
                if (c == n_cat && n_cat < MAX_ITEMS) categories[n_cat++] = ie_csv_cell(sweep, i, k);
                x[i] = c;
            }
        }
        char id[300], title[300];
        snprintf(id, sizeof id, "sweep:%s", sweep->header[k]);
        snprintf(title, sizeof title, "%s against %s", sweep->header[metric], sweep->header[k]);
        ie_plot_series s = {.name = sweep->header[k], .x = x, .y = value, .n = n, .style = IE_PLOT_POINTS};
        ie_plot p = {.id = id, .title = title, .x_label = sweep->header[k], .y_label = sweep->header[metric],
                     .x_categories = numeric ? NULL : categories, .n_categories = numeric ? 0 : n_cat};
        if (x) ie_plot_xy(h, &p, &s, 1);
        free(x);
    }
    /* Each trial's objective per epoch (its train_log.csv). */
    ie_plot_series curves[64];
    double *cx[64], *cy[64];
    char names[64][32];
    int n_curves = 0;
    for (int i = 0; i < n && n_curves < 64; i++) {
        char sub[4200];
        ie_csv *log = NULL;
        if (ie_path_format(sub, sizeof sub, "%s/trial_%s", dir, ie_csv_cell(sweep, i, trial)) != IE_OK ||
            ie_report_csv(sub, "train_log.csv", &log) != IE_OK || !log) {
            ie_csv_free(log);
            continue;
        }
        int e = ie_csv_column(log, "epoch"), c = ie_csv_column(log, sweep->header[metric]);
        if (e >= 0 && c >= 0 && log->n_rows > 0) {
            cx[n_curves] = ie_report_column(log, e, NULL, 0);
            cy[n_curves] = ie_report_column(log, c, NULL, 0);
            snprintf(names[n_curves], sizeof names[0], "trial %s", ie_csv_cell(sweep, i, trial));
            curves[n_curves] = (ie_plot_series){.name = names[n_curves], .x = cx[n_curves], .y = cy[n_curves],
                                                .n = log->n_rows, .style = IE_PLOT_LINE_POINTS};
            n_curves++;
        }
        ie_csv_free(log);
    }
    if (n_curves) {
        char title[300];
        snprintf(title, sizeof title, "%s per epoch, each trial", sweep->header[metric]);
        ie_plot p = {.id = "sweep:curves", .title = title, .x_label = "epoch", .y_label = sweep->header[metric],
                     .width = 480};
        ie_plot_xy(h, &p, curves, n_curves);
    }
    for (int i = 0; i < n_curves; i++) free(cx[i]), free(cy[i]);
    ie_html_printf(h, "</div>\n<p>Each trial's own report:");
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "trial_%s/report.html", ie_csv_cell(sweep, i, trial));
        if (!ie_report_has(dir, name)) continue;
        ie_html_printf(h, " <a href=\"");
        ie_html_text(h, name);
        ie_html_printf(h, "\">trial %s</a>", ie_csv_cell(sweep, i, trial));
    }
    ie_html_printf(h, "</p>\n");
    free(order);
    free(value);
    ie_config_free(cfg);
    ie_csv_free(sweep);
    return IE_OK;
}
