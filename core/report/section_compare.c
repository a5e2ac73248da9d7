/* core/report - the comparison section: B against A per structure and
 * metric, drawn only from what `innereye compare` wrote (compare.csv,
 * compare_subjects.csv, compare.json; core/report/compare.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/metrics/wilcoxon.h"
#include "core/report/report_impl.h"
#include "core/util/path.h"

/* B against A per subject for one structure and metric, from
 * compare_subjects.csv. */
static void scatter(ie_html *h, const ie_csv *subjects, const char *structure, const char *metric,
                    const char *p_value) {
    int cs = ie_csv_column(subjects, "structure"), cm = ie_csv_column(subjects, "metric"),
        ca = ie_csv_column(subjects, "a"), cb = ie_csv_column(subjects, "b"), n = 0;
    if (cs < 0 || cm < 0 || ca < 0 || cb < 0) return;
    double *x = malloc(sizeof(double) * (size_t)(subjects->n_rows + 1)),
           *y = malloc(sizeof(double) * (size_t)(subjects->n_rows + 1));
    for (int r = 0; x && y && r < subjects->n_rows; r++)
        if (!strcmp(ie_csv_cell(subjects, r, cs), structure) && !strcmp(ie_csv_cell(subjects, r, cm), metric)) {
            x[n] = ie_report_number(ie_csv_cell(subjects, r, ca));
            y[n++] = ie_report_number(ie_csv_cell(subjects, r, cb));
        }
    char id[300], title[300];
    snprintf(id, sizeof id, "compare:%s:%s", structure, metric);
    snprintf(title, sizeof title, "%s %s: p = %s", structure, metric, p_value);
    ie_plot_series s = {.name = "subjects", .x = x, .y = y, .n = n, .style = IE_PLOT_POINTS};
    ie_plot p = {.id = id, .title = title, .x_label = "A", .y_label = "B", .identity = true};
    if (x && y) ie_plot_xy(h, &p, &s, 1);
    free(x);
    free(y);
}

ie_status ie_report_comparison(ie_html *h, const char *dir, const char *sub) {
    char where[4200], file[300];
    IE_TRY(ie_path_format(where, sizeof where, "%s%s%s", dir, sub[0] ? "/" : "", sub));
    ie_csv *table = NULL, *subjects = NULL;
    IE_TRY(ie_report_csv(where, "compare.csv", &table));
    if (!table) return IE_OK;
    ie_status st = ie_report_csv(where, "compare_subjects.csv", &subjects);
    if (st == IE_OK && !subjects)
        st = ie_error_set(IE_ERR_IO, "%s/compare_subjects.csv is missing; run innereye compare again", where);
    if (st != IE_OK) {
        ie_csv_free(table);
        return st;
    }
    cJSON *j = ie_report_json(where, "compare.json");
    ie_html_printf(h, "<h2 id=\"compare\">B against A: paired comparison (%scompare.csv)</h2>\n<p>A: ", sub);
    ie_html_text(h, ie_report_json_string(j, "a_metrics", "?"));
    ie_html_printf(h, "<br>B: ");
    ie_html_text(h, ie_report_json_string(j, "b_metrics", "?"));
    ie_html_printf(h, "</p>\n");
    cJSON_Delete(j);
    ie_html_printf(h, "<p class=\"note\">Difference = B - A per subject; Wilcoxon signed-rank test, two-sided (exact "
                      "for up to %d pairs without zero or tied differences, else the normal approximation with tie "
                      "and continuity corrections); mean difference with its 95%% t interval over the finite "
                      "differences; better / worse: subjects whose value improved / got worse (Dice: higher is "
                      "better; distances: lower).</p>\n", IE_WILCOXON_EXACT_MAX);
    snprintf(file, sizeof file, "%scompare.csv", sub);
    ie_report_csv_table(h, table, file, NULL, 0);
    /* The subjects that got worse, as compare_subjects.csv lists them. */
    int worse = ie_csv_column(subjects, "worse"), n = 0;
    int *rows = malloc(sizeof(int) * (size_t)(subjects->n_rows + 1));
    for (int r = 0; rows && worse >= 0 && r < subjects->n_rows; r++)
        if (!strcmp(ie_csv_cell(subjects, r, worse), "1")) rows[n++] = r;
    snprintf(file, sizeof file, "%scompare_subjects.csv", sub);
    ie_html_printf(h, "<h3 id=\"worse\">Subjects that got worse (%d; %s)</h3>\n", n, file);
    if (rows && n) ie_report_csv_table(h, subjects, file, rows, n);
    free(rows);
    ie_html_printf(h, "<div class=\"plots\">\n");
    int cs = ie_csv_column(table, "structure"), cm = ie_csv_column(table, "metric"),
        cp = ie_csv_column(table, "p_value");
    for (int r = 0; cs >= 0 && cm >= 0 && cp >= 0 && r < table->n_rows; r++)
        scatter(h, subjects, ie_csv_cell(table, r, cs), ie_csv_cell(table, r, cm), ie_csv_cell(table, r, cp));
    ie_html_printf(h, "</div>\n");
    ie_csv_free(subjects);
    ie_csv_free(table);
    return IE_OK;
}
