/* core/train - median stopping rule. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/csv.h"
#include "core/train/median_stop.h"
#include "core/run/run_dir.h"
#include "core/util/path.h"

ie_status ie_median_stop_from_config(const ie_config *cfg, const char *run_dir, ie_median_stop *out) {
    memset(out, 0, sizeof *out);
    ie_median_stop_settings settings;
    IE_TRY(ie_median_stop_settings_read(cfg, &settings));
    ie_status st = ie_path_format(out->siblings, sizeof out->siblings, "%s", settings.siblings);
    if (st != IE_OK) return ie_error_wrap(st, "train.median_stop.siblings");
    snprintf(out->metric, sizeof out->metric, "%s", settings.metric);
    out->maximize = settings.maximize;
    out->min_epochs = settings.min_epochs;
    const char *slash = strrchr(run_dir, '/');
    IE_TRY(ie_path_format(out->own_name, sizeof out->own_name, "%s", slash ? slash + 1 : run_dir));
    out->best = NAN;
    return IE_OK;
}

static bool better(double a, double b, bool maximize) { return maximize ? a > b : a < b; }

double ie_train_log_best(const char *log_path, const char *metric, bool maximize, int epoch, int *epochs_seen) {
    ie_csv *csv = NULL;
    if (epochs_seen) *epochs_seen = 0;
    if (ie_csv_read(log_path, &csv) != IE_OK) return NAN;
    int col = ie_csv_column(csv, metric), ecol = ie_csv_column(csv, "epoch");
    double best = NAN;
    for (int r = 0; col >= 0 && ecol >= 0 && r < csv->n_rows; r++) {
        int e = atoi(csv->cells[(size_t)r * (size_t)csv->n_columns + (size_t)ecol]);
        double v = strtod(csv->cells[(size_t)r * (size_t)csv->n_columns + (size_t)col], NULL);
        if (epochs_seen && e > *epochs_seen) *epochs_seen = e;
        if (epoch > 0 && e > epoch) continue;
        if (!isnan(v) && (isnan(best) || better(v, best, maximize))) best = v;
    }
    ie_csv_free(csv);
    return best;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

bool ie_median_stop_check(ie_median_stop *rule, int epoch, double value, double *median) {
    *median = NAN;
    if (!isnan(value) && (isnan(rule->best) || better(value, rule->best, rule->maximize))) rule->best = value;
    if (!rule->siblings[0] || epoch < rule->min_epochs || isnan(rule->best)) return false;
    DIR *d = opendir(rule->siblings);
    if (!d) return false;
    double values[1024];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, rule->own_name)) continue;
        char path[8400], run[8400];
        /* siblings < 4096 and a name < 256 bytes: both always fit */
        if (ie_path_join(run, sizeof run, rule->siblings, e->d_name) != IE_OK) continue;
        /* Only finished trials count: a running one has no full history. */
        if (!ie_run_finished(run)) continue;
        if (ie_path_format(path, sizeof path, "%s/%s/train_log.csv", rule->siblings, e->d_name) != IE_OK) continue;
        int seen = 0;
        double v = ie_train_log_best(path, rule->metric, rule->maximize, epoch, &seen);
        if (!isnan(v) && seen >= epoch) values[n++] = v;
    }
    closedir(d);
    if (n == 0) return false;
    qsort(values, (size_t)n, sizeof values[0], by_value);
    *median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    return better(*median, rule->best, rule->maximize);
}
