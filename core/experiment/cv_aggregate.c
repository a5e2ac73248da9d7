/* core/experiment - a cross-validation's fold metrics in one table and
 * their summary across folds.
 *
 * A fold's metrics.csv comes in one of two layouts:
 *   wide (segmentation): Patient,Structure,Dice,HausdorffDistance_mm,...,
 *     one row per subject and structure; a row's group is its non-metric,
 *     non-subject columns (Structure) and its metrics the numeric columns;
 *   long (classification, regression): split,epoch,target,metric,value, one
 *     row per metric; a row's group is split|target and its metric the
 *     `metric` column, so validation and test rows never mix.
 * cv_metrics.csv: every fold's rows with a leading fold column.
 * cv_summary.csv: group,metric,folds,mean,std: per group and metric, each
 * fold's mean over its rows, then the mean and sample standard deviation of
 * those across the folds that have the metric.  A fold without metrics.csv
 * (a failed fold, reported in cv_status.csv) is left out.  Both files are
 * written atomically; numbers with 9 significant digits. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/experiment/cross_validation.h"
#include "core/util/path.h"

#define MAX_GROUPS 512
#define MAX_METRICS 64

typedef struct aggregate {
    int folds, n_groups, n_metrics;
    char groups[MAX_GROUPS][256];
    char metrics[MAX_METRICS][64];
    double *sum; /* [group][metric][fold]: finite values */
    int *count;
    bool *seen;  /* [group][metric]: the metric appears in the group (NaN or not) */
} aggregate;

static bool parse_number(const char *s, double *v) {
    if (!s || !*s) return false;
    if (!strcasecmp(s, "nan")) { *v = NAN; return true; }
    if (!strcasecmp(s, "inf") || !strcasecmp(s, "+inf") || !strcasecmp(s, "infinity")) { *v = INFINITY; return true; }
    char *end;
    *v = strtod(s, &end);
    return *end == '\0';
}

/* Columns that name a row rather than group it. */
static bool is_row_name(const char *name) {
    return !strcasecmp(name, "Patient") || !strcasecmp(name, "subject") || !strcasecmp(name, "epoch");
}

static int find_or_add(char (*names)[256], int *n, int capacity, const char *name) {
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], name)) return i;
    if (*n == capacity) return -1;
    snprintf(names[*n], 256, "%s", name);
    return (*n)++;
}

static int metric_index(aggregate *a, const char *name) {
    for (int i = 0; i < a->n_metrics; i++)
        if (!strcmp(a->metrics[i], name)) return i;
    if (a->n_metrics == MAX_METRICS) return -1;
    snprintf(a->metrics[a->n_metrics], sizeof a->metrics[0], "%s", name);
    return a->n_metrics++;
}

static void add(aggregate *a, const char *group, const char *metric, int fold, const char *text) {
    int g = find_or_add(a->groups, &a->n_groups, MAX_GROUPS, group), m = metric_index(a, metric);
    if (g < 0 || m < 0) return;
    a->seen[(size_t)g * MAX_METRICS + (size_t)m] = true;
    double v;
    if (!parse_number(text, &v) || !isfinite(v)) return;
    size_t at = ((size_t)g * MAX_METRICS + (size_t)m) * (size_t)a->folds + (size_t)fold;
    a->sum[at] += v;
    a->count[at]++;
}

/* One fold's rows into the aggregate. */
static void add_fold(aggregate *a, const ie_csv *csv, int fold) {
    int c_metric = ie_csv_column(csv, "metric"), c_value = ie_csv_column(csv, "value");
    bool long_form = c_metric >= 0 && c_value >= 0;
    /* Wide layout: metric columns are numeric in the first row. */
    bool numeric[256] = {false};
    for (int c = 0; !long_form && c < csv->n_columns && c < 256 && csv->n_rows > 0; c++) {
        double v;
        numeric[c] = !is_row_name(csv->header[c]) && parse_number(ie_csv_cell(csv, 0, c), &v);
    }
    for (int r = 0; r < csv->n_rows; r++) {
        char group[256] = "";
        for (int c = 0; c < csv->n_columns && c < 256; c++) {
            if (is_row_name(csv->header[c]) || c == c_metric || c == c_value || (!long_form && numeric[c])) continue;
            size_t len = strlen(group);
            snprintf(group + len, sizeof group - len, "%s%s", len ? "|" : "", ie_csv_cell(csv, r, c));
        }
        if (long_form) {
            add(a, group[0] ? group : "all", ie_csv_cell(csv, r, c_metric), fold, ie_csv_cell(csv, r, c_value));
            continue;
        }
        for (int c = 0; c < csv->n_columns && c < 256; c++)
            if (numeric[c]) add(a, group[0] ? group : "all", csv->header[c], fold, ie_csv_cell(csv, r, c));
    }
}

static ie_status write_summary(const aggregate *a, const char *parent) {
    char path[4200], *text = NULL;
    size_t size = 0;
    IE_TRY(ie_path_format(path, sizeof path, "%s/cv_summary.csv", parent));
    FILE *f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    fprintf(f, "group,metric,folds,mean,std\n");
    for (int g = 0; g < a->n_groups; g++)
        for (int m = 0; m < a->n_metrics; m++) {
            if (!a->seen[(size_t)g * MAX_METRICS + (size_t)m]) continue; /* a metric of another group */
            double s = 0, s2 = 0;
            int n = 0;
            for (int fold = 0; fold < a->folds; fold++) {
                size_t at = ((size_t)g * MAX_METRICS + (size_t)m) * (size_t)a->folds + (size_t)fold;
                if (!a->count[at]) continue;
                double mean = a->sum[at] / a->count[at];
                s += mean;
                s2 += mean * mean;
                n++;
            }
            double mean = n ? s / n : NAN, var = n > 1 ? (s2 - n * mean * mean) / (n - 1) : NAN;
            ie_csv_write_field(f, a->groups[g]);
            fputc(',', f);
            ie_csv_write_field(f, a->metrics[m]);
            fprintf(f, ",%d,%.9g,%.9g\n", n, mean, var > 0 ? sqrt(var) : (n > 1 ? 0.0 : NAN));
        }
    return ie_write_stream_atomic(f, &text, &size, path);
}

ie_status ie_cv_aggregate(const char *parent, int folds) {
    char path[4200], out_path[4200], *text = NULL;
    size_t size = 0;
    aggregate *a = calloc(1, sizeof *a);
    if (a) {
        a->folds = folds;
        a->sum = calloc((size_t)MAX_GROUPS * MAX_METRICS * (size_t)folds, sizeof *a->sum);
        a->count = calloc((size_t)MAX_GROUPS * MAX_METRICS * (size_t)folds, sizeof *a->count);
        a->seen = calloc((size_t)MAX_GROUPS * MAX_METRICS, sizeof *a->seen);
    }
    if (!a || !a->sum || !a->count || !a->seen) {
        if (a) free(a->sum), free(a->count), free(a->seen);
        free(a);
        return ie_error_set(IE_ERR_NOMEM, "cross-validation aggregation: out of memory");
    }
    ie_status st = ie_path_format(out_path, sizeof out_path, "%s/cv_metrics.csv", parent);
    FILE *out = st == IE_OK ? open_memstream(&text, &size) : NULL;
    if (st == IE_OK && !out) st = ie_error_set(IE_ERR_NOMEM, "%s: out of memory", out_path);
    bool header = false;
    for (int fold = 0; st == IE_OK && fold < folds; fold++) {
        st = ie_path_format(path, sizeof path, "%s/fold_%d/metrics.csv", parent, fold);
        ie_csv *csv = NULL;
        if (st != IE_OK || ie_csv_read(path, &csv) != IE_OK) continue; /* a failed fold: reported in cv_status.csv */
        if (!header) {
            fprintf(out, "fold");
            for (int c = 0; c < csv->n_columns; c++) {
                fputc(',', out);
                ie_csv_write_field(out, csv->header[c]);
            }
            fputc('\n', out);
            header = true;
        }
        for (int r = 0; r < csv->n_rows; r++) {
            fprintf(out, "%d", fold);
            for (int c = 0; c < csv->n_columns; c++) {
                fputc(',', out);
                ie_csv_write_field(out, ie_csv_cell(csv, r, c));
            }
            fputc('\n', out);
        }
        add_fold(a, csv, fold);
        ie_csv_free(csv);
    }
    if (out) {
        ie_status written = ie_write_stream_atomic(out, &text, &size, out_path);
        if (st == IE_OK) st = written;
    }
    if (st == IE_OK) st = write_summary(a, parent);
    free(a->sum);
    free(a->count);
    free(a->seen);
    free(a);
    return st;
}
