/* core/experiment - ensemble_comparison.csv (cv_comparison.h). */
#include "core/experiment/cv_comparison.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/csv.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

#define MAX_FOLDS 100

/* The value of the first row of csv matching (what, metric) (and the
 * split), or NaN: also when the file lacks a column. */
static double fold_value(const ie_csv *csv, const ie_cv_comparison *c, const char *what, const char *metric) {
    if (!csv) return NAN;
    int cw = ie_csv_column(csv, c->columns[0]), cm = ie_csv_column(csv, c->columns[1]);
    int cv = ie_csv_column(csv, c->value_column), cs = c->split ? ie_csv_column(csv, "split") : -1;
    if (cw < 0 || cm < 0 || cv < 0 || (c->split && cs < 0)) return NAN;
    for (int r = 0; r < csv->n_rows; r++) {
        const char **row = csv->cells + (size_t)r * (size_t)csv->n_columns;
        if ((!c->split || !strcmp(row[cs], c->split)) && !strcmp(row[cw], what) && !strcmp(row[cm], metric))
            return strtod(row[cv], NULL);
    }
    return NAN;
}

ie_status ie_cv_comparison_write(const char *parent, int folds, const ie_cv_comparison *c) {
    if (folds > MAX_FOLDS)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: %d folds; the ensemble comparison takes at most %d", parent,
                            folds, MAX_FOLDS);
    ie_csv *fold_csv[MAX_FOLDS] = {0};
    char path[4400];
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < folds; i++) {
        st = ie_path_format(path, sizeof path, "%s/fold_%d/%s", parent, i, c->fold_file);
        if (st == IE_OK && ie_csv_read(path, &fold_csv[i]) != IE_OK) fold_csv[i] = NULL; /* a failed fold */
    }
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/ensemble_comparison.csv", parent);
    char *text = NULL;
    size_t size = 0;
    FILE *f = st == IE_OK ? open_memstream(&text, &size) : NULL; /* then written atomically */
    if (st == IE_OK && !f) st = ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    if (f) {
        ie_csv_write_field(f, c->columns[0]);
        fputc(',', f);
        ie_csv_write_field(f, c->columns[1]);
        for (int i = 0; i < folds; i++) fprintf(f, ",fold_%d", i);
        fprintf(f, ",folds_mean,ensemble\n");
        for (int r = 0; r < c->n_rows; r++) {
            const ie_cv_comparison_row *row = &c->rows[r];
            ie_csv_write_field(f, row->what);
            fputc(',', f);
            ie_csv_write_field(f, row->metric);
            double sum = 0;
            int n = 0;
            for (int i = 0; i < folds; i++) {
                double v = fold_value(fold_csv[i], c, row->what, row->metric);
                fprintf(f, ",%.9g", v);
                if (!isnan(v)) sum += v, n++;
            }
            fprintf(f, ",%.9g,%.9g\n", n ? sum / n : NAN, row->ensemble);
        }
        st = ie_write_stream_atomic(f, &text, &size, path);
    }
    for (int i = 0; i < folds; i++) ie_csv_free(fold_csv[i]);
    return st;
}
