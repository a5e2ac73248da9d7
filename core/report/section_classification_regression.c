/* core/report - classification and regression results, from the run's
 * predictions.csv (the curves) and metrics.csv (every number printed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/report/report_impl.h"

#define MAX_NAMES 256
#define CURVE_POINTS 400 /* ROC / PR points drawn at most (the areas come from metrics.csv) */

typedef struct pair {
    double p, y;
} pair;

static int by_p_desc(const void *a, const void *b) {
    const pair *x = a, *y = b;
    return x->p > y->p ? -1 : x->p < y->p;
}

/* Distinct values of a column in order of appearance. */
static int distinct(const ie_csv *csv, int column, const char **out, int cap) {
    int n = 0;
    for (int r = 0; column >= 0 && r < csv->n_rows; r++) {
        const char *v = ie_csv_cell(csv, r, column);
        int k = 0;
        while (k < n && strcmp(out[k], v) != 0) k++;
        if (k == n && n < cap) out[n++] = v;
    }
    return n;
}

/* The value metrics.csv gives (as spelt there), or NULL. */
static const char *metric(const ie_csv *m, const char *split, const char *target, const char *name) {
    int cs = ie_csv_column(m, "split"), ct = ie_csv_column(m, "target"), cm = ie_csv_column(m, "metric"),
        cv = ie_csv_column(m, "value");
    for (int r = 0; m && ct >= 0 && cm >= 0 && cv >= 0 && r < m->n_rows; r++)
        if ((cs < 0 || !strcmp(ie_csv_cell(m, r, cs), split)) && !strcmp(ie_csv_cell(m, r, ct), target) &&
            !strcmp(ie_csv_cell(m, r, cm), name))
            return ie_csv_cell(m, r, cv);
    return NULL;
}

/* Keeps at most CURVE_POINTS of a curve, the first and last included. */
static int thin(double *x, double *y, int n) {
    if (n <= CURVE_POINTS) return n;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (i == n - 1 || (long)i * (CURVE_POINTS - 1) / (n - 1) != (long)(i + 1) * (CURVE_POINTS - 1) / (n - 1) ||
            i == 0)
            x[k] = x[i], y[k] = y[i], k++;
    return k;
}

static void binary_target(ie_html *h, const ie_csv *metrics, const char *split, const char *target, pair *v, int n) {
    qsort(v, (size_t)n, sizeof *v, by_p_desc);
    int pos = 0;
    for (int i = 0; i < n; i++) pos += v[i].y > 0.5;
    int neg = n - pos;
    double *fx = malloc(sizeof(double) * (size_t)(n + 2)), *fy = malloc(sizeof(double) * (size_t)(n + 2));
    double *rx = malloc(sizeof(double) * (size_t)(n + 2)), *ry = malloc(sizeof(double) * (size_t)(n + 2));
    if (!fx || !fy || !rx || !ry) goto done;
    int k = 0, tp = 0, fp = 0;
    fx[0] = fy[0] = rx[0] = 0;
    ry[0] = 1;
    for (int i = 0; i < n;) { /* one point per distinct prediction, from the highest */
        double t = v[i].p;
        for (; i < n && v[i].p == t; i++) v[i].y > 0.5 ? tp++ : fp++;
        k++;
        fx[k] = neg ? (double)fp / neg : 0, fy[k] = pos ? (double)tp / pos : 0;
        rx[k] = fy[k], ry[k] = (double)tp / (tp + fp);
    }
    int nr = thin(fx, fy, k + 1), np = thin(rx, ry, k + 1);
    const char *auroc = metric(metrics, split, target, "area_under_roc_curve"),
               *auprc = metric(metrics, split, target, "area_under_pr_curve"),
               *fpr = metric(metrics, split, target, "false_positive_rate_at_optimal_threshold"),
               *fnr = metric(metrics, split, target, "false_negative_rate_at_optimal_threshold"),
               *thr = metric(metrics, split, target, "optimal_threshold");
    char title[300], id[300];
    snprintf(title, sizeof title, "ROC %s: AUROC %s", target, auroc ? auroc : "?");
    snprintf(id, sizeof id, "roc:%s:%s", split, target);
    ie_plot_series roc[3] = {{.name = "ROC", .x = fx, .y = fy, .n = nr, .style = IE_PLOT_LINE}};
    int n_roc = 1;
    double yx = ie_report_number(fpr), yy = 1.0 - ie_report_number(fnr), diag[2] = {0, 1};
    roc[n_roc++] = (ie_plot_series){.name = "chance", .x = diag, .y = diag, .n = 2, .color = "#bbbbbb",
                                    .dashed = true};
    char youden[96];
    snprintf(youden, sizeof youden, "Youden point, threshold %s", thr ? thr : "?");
    if (isfinite(yx) && isfinite(yy))
        roc[n_roc++] = (ie_plot_series){.name = youden, .x = &yx, .y = &yy, .n = 1, .style = IE_PLOT_MARK,
                                        .color = "#D55E00"};
    ie_plot p = {.id = id, .title = title, .x_label = "false positive rate", .y_label = "true positive rate",
                 .fixed_x = true, .x_min = 0, .x_max = 1, .fixed_y = true, .y_min = 0, .y_max = 1.02};
    ie_plot_xy(h, &p, roc, n_roc);
    snprintf(title, sizeof title, "Precision-recall %s: AUPRC %s", target, auprc ? auprc : "?");
    snprintf(id, sizeof id, "pr:%s:%s", split, target);
    ie_plot_series pr = {.name = "PR", .x = rx, .y = ry, .n = np, .style = IE_PLOT_LINE};
    ie_plot q = {.id = id, .title = title, .x_label = "recall", .y_label = "precision", .fixed_x = true, .x_min = 0,
                 .x_max = 1, .fixed_y = true, .y_min = 0, .y_max = 1.02};
    ie_plot_xy(h, &q, &pr, 1);
    /* Calibration: 10 equal-width bins of the predicted probability. */
    double mp[10], fr[10];
    int count[10] = {0}, nb = 0;
    double sp[10] = {0}, sy[10] = {0};
    for (int i = 0; i < n; i++) {
        int b = (int)(v[i].p * 10);
        b = b < 0 ? 0 : b > 9 ? 9 : b;
        sp[b] += v[i].p, sy[b] += v[i].y > 0.5, count[b]++;
    }
    for (int b = 0; b < 10; b++)
        if (count[b]) mp[nb] = sp[b] / count[b], fr[nb] = sy[b] / count[b], nb++;
    snprintf(title, sizeof title, "Calibration %s (10 bins)", target);
    snprintf(id, sizeof id, "calibration:%s:%s", split, target);
    ie_plot_series cal = {.name = "observed", .x = mp, .y = fr, .n = nb, .style = IE_PLOT_LINE_POINTS};
    ie_plot c = {.id = id, .title = title, .x_label = "mean predicted probability", .y_label = "fraction positive",
                 .identity = true, .fixed_x = true, .x_min = 0, .x_max = 1, .fixed_y = true, .y_min = 0, .y_max = 1};
    ie_plot_xy(h, &c, &cal, 1);
    /* The confusion matrix at 0.5, the threshold of accuracy_at_threshold_05
     * (predicted positive when p > 0.5). */
    int cm[2][2] = {{0}};
    for (int i = 0; i < n; i++) cm[v[i].y > 0.5][v[i].p > 0.5]++;
    ie_html_printf(h, "<table data-confusion=\"%s:%s\"><tr><th>%s, threshold 0.5</th><th>predicted 0</th>"
                      "<th>predicted 1</th></tr><tr><th>true 0</th><td class=\"num\">%d</td><td class=\"num\">%d</td>"
                      "</tr><tr><th>true 1</th><td class=\"num\">%d</td><td class=\"num\">%d</td></tr></table>\n",
                   split, target, target, cm[0][0], cm[0][1], cm[1][0], cm[1][1]);
done:
    free(fx), free(fy), free(rx), free(ry);
}

static void regression_target(ie_html *h, const char *split, const char *target, pair *v, int n) {
    double *x = malloc(sizeof(double) * (size_t)(n + 1)), *y = malloc(sizeof(double) * (size_t)(n + 1)),
           *res = malloc(sizeof(double) * (size_t)(n + 1));
    for (int i = 0; x && y && res && i < n; i++) x[i] = v[i].y, y[i] = v[i].p, res[i] = v[i].p - v[i].y;
    if (x && y && res) {
        char title[300], id[300];
        snprintf(title, sizeof title, "%s: predicted against true", target);
        snprintf(id, sizeof id, "scatter:%s:%s", split, target);
        ie_plot_series s = {.name = target, .x = x, .y = y, .n = n, .style = IE_PLOT_POINTS};
        ie_plot p = {.id = id, .title = title, .x_label = "true", .y_label = "predicted", .identity = true};
        ie_plot_xy(h, &p, &s, 1);
        snprintf(title, sizeof title, "%s: residuals", target);
        snprintf(id, sizeof id, "residuals:%s:%s", split, target);
        ie_plot_series r = {.name = "predicted - true", .x = x, .y = res, .n = n, .style = IE_PLOT_POINTS};
        ie_plot q = {.id = id, .title = title, .x_label = "true", .y_label = "predicted - true", .zero_line = true};
        ie_plot_xy(h, &q, &r, 1);
    }
    free(x), free(y), free(res);
}

/* confusion_matrix.csv of one split as a table: true classes down,
 * predicted across. */
static void multiclass_confusion(ie_html *h, const ie_csv *cm, const char *split) {
    int cs = ie_csv_column(cm, "split"), ct = ie_csv_column(cm, "true_class"),
        cp = ie_csv_column(cm, "predicted_class"), cc = ie_csv_column(cm, "count");
    if (ct < 0 || cp < 0 || cc < 0) return;
    const char *classes[MAX_NAMES];
    int n = distinct(cm, ct, classes, MAX_NAMES);
    ie_html_printf(h, "<h4>Confusion matrix (confusion_matrix.csv)</h4>\n<table data-file=\"confusion_matrix.csv\" "
                      "data-split=\"");
    ie_html_text(h, split);
    ie_html_printf(h, "\"><tr><th>true \\ predicted</th>");
    for (int j = 0; j < n; j++) {
        ie_html_printf(h, "<th>");
        ie_html_text(h, classes[j]);
        ie_html_printf(h, "</th>");
    }
    ie_html_printf(h, "</tr>\n");
    for (int i = 0; i < n; i++) {
        ie_html_printf(h, "<tr><th>");
        ie_html_text(h, classes[i]);
        ie_html_printf(h, "</th>");
        for (int j = 0; j < n; j++) {
            const char *count = "0";
            for (int r = 0; r < cm->n_rows; r++)
                if ((cs < 0 || !strcmp(ie_csv_cell(cm, r, cs), split)) && !strcmp(ie_csv_cell(cm, r, ct), classes[i]) &&
                    !strcmp(ie_csv_cell(cm, r, cp), classes[j]))
                    count = ie_csv_cell(cm, r, cc);
            ie_html_printf(h, "<td class=\"num\"%s>", i == j ? " style=\"font-weight:bold\"" : "");
            ie_html_text(h, count);
            ie_html_printf(h, "</td>");
        }
        ie_html_printf(h, "</tr>\n");
    }
    ie_html_printf(h, "</table>\n");
}

ie_status ie_report_classification_regression(ie_html *h, const char *dir, const ie_report_seg_files *unused) {
    (void)unused; /* the results section's signature (report_sections.h): no images to find */
    ie_csv *pred = NULL, *metrics = NULL, *cm = NULL;
    IE_TRY(ie_report_csv(dir, "predictions.csv", &pred));
    if (!pred) return IE_OK;
    ie_status st = ie_report_csv(dir, "metrics.csv", &metrics);
    if (st == IE_OK) st = ie_report_csv(dir, "confusion_matrix.csv", &cm);
    int cs = ie_csv_column(pred, "split"), ct = ie_csv_column(pred, "target"), cl = ie_csv_column(pred, "label"),
        cp = ie_csv_column(pred, "prediction");
    if (st == IE_OK && (ct < 0 || cl < 0 || cp < 0))
        st = ie_error_set(IE_ERR_IO, "%s/predictions.csv: needs the columns target, label and prediction "
                                     "(docs/classification.md)", dir);
    cJSON *record = ie_report_json(dir, "run.json");
    const char *kind = ie_report_json_string(record, "predictions.kind", NULL);
    /* run.json says what the predictions are; an ensemble has no run.json,
     * and then metrics.csv says it (areas under curves: classification). */
    bool regression = kind && !strcmp(kind, "regression");
    if (!kind) {
        int col = metrics ? ie_csv_column(metrics, "metric") : -1;
        regression = true;
        for (int r = 0; col >= 0 && r < metrics->n_rows; r++)
            if (!strcmp(ie_csv_cell(metrics, r, col), "area_under_roc_curve")) regression = false;
    }
    const char *splits[16] = {"test"}, *targets[MAX_NAMES];
    int n_splits = st == IE_OK ? (cs >= 0 ? distinct(pred, cs, splits, 16) : 1) : 0;
    int n_targets = st == IE_OK ? distinct(pred, ct, targets, MAX_NAMES) : 0;
    pair *v = st == IE_OK ? malloc(sizeof *v * (size_t)(pred->n_rows + 1)) : NULL;
    if (st == IE_OK) {
        ie_html_printf(h, "<h2 id=\"%s\">%s</h2>\n<p class=\"note\">Curves from predictions.csv; every number printed "
                          "(areas, thresholds, rates) from metrics.csv.</p>\n",
                       regression ? "regression" : "classification", regression ? "Regression" : "Classification");
    }
    for (int s = 0; v && s < n_splits; s++) {
        ie_html_printf(h, "<h3>Split: ");
        ie_html_text(h, splits[s]);
        ie_html_printf(h, "</h3>\n");
        if (metrics) {
            int col = ie_csv_column(metrics, "split"), *rows = malloc(sizeof(int) * (size_t)(metrics->n_rows + 1)), n = 0;
            for (int r = 0; rows && r < metrics->n_rows; r++)
                if (col < 0 || !strcmp(ie_csv_cell(metrics, r, col), splits[s])) rows[n++] = r;
            ie_html_printf(h, "<details open><summary>metrics.csv (%d rows)</summary>\n", n);
            if (rows) ie_report_csv_table(h, metrics, "metrics.csv", rows, n);
            ie_html_printf(h, "</details>\n");
            free(rows);
        }
        if (cm && !regression) multiclass_confusion(h, cm, splits[s]);
        for (int t = 0; t < n_targets; t++) {
            int n = 0;
            for (int r = 0; r < pred->n_rows; r++) {
                if ((cs >= 0 && strcmp(ie_csv_cell(pred, r, cs), splits[s]) != 0) ||
                    strcmp(ie_csv_cell(pred, r, ct), targets[t]) != 0)
                    continue;
                double y = ie_report_number(ie_csv_cell(pred, r, cl)), p = ie_report_number(ie_csv_cell(pred, r, cp));
                if (!isnan(y) && !isnan(p)) v[n++] = (pair){p, y};
            }
            if (n == 0) continue;
            ie_html_printf(h, "<h4>");
            ie_html_text(h, targets[t]);
            ie_html_printf(h, " (%d subjects)</h4>\n<div class=\"plots\">\n", n);
            if (regression) regression_target(h, splits[s], targets[t], v, n);
            else binary_target(h, metrics, splits[s], targets[t], v, n);
            ie_html_printf(h, "</div>\n");
        }
    }
    free(v);
    cJSON_Delete(record);
    ie_csv_free(pred);
    ie_csv_free(metrics);
    ie_csv_free(cm);
    return st;
}
