/* core/metrics - writing metrics.csv and metrics_aggregates.csv. */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util/csv.h"
#include "core/metrics/metrics_csv.h"
#include "core/util/file_util.h"

#define METRICS_HEADER "Patient,Structure,Dice,HausdorffDistance_mm,HD95_mm,MeanDistance_mm\n"
#define AGGREGATES_HEADER "Structure,Metric,count,nan_count,inf_count,mean,std,min,max\n"

/* ------------------------------------------------ files moved into place */

/* A file written under a temporary name in its destination folder. */
typedef struct out_file {
    char *path, *tmp;
    FILE *f;
    bool overwrite;
} out_file;

static void out_discard(out_file *o) {
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
}

static ie_status out_open(const char *op, const char *path, bool overwrite, out_file *o) {
    memset(o, 0, sizeof *o);
    if (!path || !path[0]) return ie_error_set(IE_ERR_INVALID_ARG, "%s: no file name given", op);
    if (!overwrite && access(path, F_OK) == 0)
        return ie_error_set(IE_ERR_IO, "%s: %s already exists; it is not overwritten (move it away or write "
                                       "elsewhere)",
                            op, path);
    /* unique per process and call: concurrent writers never share a name */
    static atomic_ulong counter;
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    size_t size = strlen(path) + 64;
    o->path = strdup(path);
    o->tmp = malloc(size);
    if (!o->path || !o->tmp) {
        out_discard(o);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", op);
    }
    snprintf(o->tmp, size, "%.*s.%s.tmp-%ld-%lu", dir_len, path, path + dir_len, (long)getpid(),
             atomic_fetch_add(&counter, 1));
    o->overwrite = overwrite;
    o->f = fopen(o->tmp, "w");
    if (!o->f) {
        ie_status st = ie_error_set(IE_ERR_IO, "%s: cannot create %s: %s", op, o->tmp, strerror(errno));
        free(o->tmp);
        o->tmp = NULL; /* nothing to remove */
        out_discard(o);
        return st;
    }
    return IE_OK;
}

/* Flushes, fsyncs, closes and moves the file to its path; frees o in every
 * case.  A stream writer rather than ie_write_file_atomic/_exclusive: rows
 * are added subject by subject, and a folder that cannot take the file fails
 * at open, before any subject is evaluated. */
static ie_status out_commit(const char *op, out_file *o) {
    ie_status st = IE_OK;
    bool ok = fflush(o->f) == 0 && !ferror(o->f);
    int err = ok ? 0 : errno;
    if (ok && (err = ie_sync_fd(fileno(o->f))) != 0) ok = false;
    if (fclose(o->f) != 0 && ok) ok = false, err = errno;
    o->f = NULL;
    if (!ok) {
        st = ie_error_set(IE_ERR_IO, "%s: writing %s failed: %s; %s (%s was not written)", op, o->tmp,
                          strerror(err ? err : EIO), err == ENOSPC ? "free some disk space" : "check the folder",
                          o->path);
    } else if (o->overwrite) {
        if (rename(o->tmp, o->path) != 0)
            st = ie_error_set(IE_ERR_IO, "%s: cannot move %s to %s: %s", op, o->tmp, o->path, strerror(errno));
    } else if (link(o->tmp, o->path) != 0) {
        /* link() never replaces a file; where it is unsupported, check, then rename. */
        int e = errno;
        if (e == EEXIST || access(o->path, F_OK) == 0)
            st = ie_error_set(IE_ERR_IO, "%s: %s appeared while it was being written; it is not overwritten", op,
                              o->path);
        else if (rename(o->tmp, o->path) != 0)
            st = ie_error_set(IE_ERR_IO, "%s: cannot move %s to %s: %s", op, o->tmp, o->path, strerror(errno));
    }
    out_discard(o); /* removes the temporary name (a no-op after rename) */
    return st;
}

static void write_value(FILE *f, double v) {
    if (isnan(v)) fputs("nan", f);
    else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.6f", v);
}

/* ------------------------------------------------------------ metrics.csv */

struct ie_metrics_writer {
    out_file out;
};

ie_status ie_metrics_writer_open(const char *path, bool overwrite, ie_metrics_writer **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "metrics.csv: NULL output");
    *out = NULL;
    ie_metrics_writer *w = calloc(1, sizeof *w);
    if (!w) return ie_error_set(IE_ERR_NOMEM, "metrics.csv: out of memory");
    ie_status st = out_open("metrics.csv", path, overwrite, &w->out);
    if (st != IE_OK) {
        free(w);
        return st;
    }
    fputs(METRICS_HEADER, w->out.f);
    *out = w;
    return IE_OK;
}

ie_status ie_metrics_writer_add(ie_metrics_writer *w, const char *patient, const char *structure,
                                const ie_seg_metrics *m) {
    if (!w || !patient || !structure || !m)
        return ie_error_set(IE_ERR_INVALID_ARG, "metrics.csv: add needs a writer, patient, structure and metrics");
    FILE *f = w->out.f;
    ie_csv_write_field(f, patient);
    fputc(',', f);
    ie_csv_write_field(f, structure);
    const double v[4] = {m->dice, m->hausdorff_mm, m->hd95_mm, m->mean_distance_mm};
    for (int i = 0; i < 4; i++) {
        fputc(',', f);
        write_value(f, v[i]);
    }
    fputc('\n', f);
    return ferror(f) ? ie_error_set(IE_ERR_IO, "metrics.csv: writing %s failed", w->out.tmp) : IE_OK;
}

ie_status ie_metrics_writer_add_subject(ie_metrics_writer *w, const char *patient, const ie_tensor *pred,
                                        const ie_tensor *truth, const ie_image_geometry *geometry, int n_classes,
                                        const char *const *class_names, ie_seg_metrics *metrics) {
    if (!w || !patient || !class_names || n_classes < 1)
        return ie_error_set(IE_ERR_INVALID_ARG, "metrics.csv: add_subject needs a writer, patient, class names "
                                                "and n_classes >= 1");
    ie_seg_metrics *m = metrics ? metrics : malloc(sizeof *m * (size_t)(n_classes > 1 ? n_classes - 1 : 1));
    if (!m) return ie_error_set(IE_ERR_NOMEM, "metrics.csv: out of memory");
    ie_status st = ie_seg_metrics_labels(pred, truth, geometry, n_classes, m);
    for (int c = 1; st == IE_OK && c < n_classes; c++)
        st = ie_metrics_writer_add(w, patient, class_names[c], &m[c - 1]);
    if (st != IE_OK) ie_error_wrap(st, "subject %s", patient);
    if (!metrics) free(m);
    return st;
}

ie_status ie_metrics_writer_commit(ie_metrics_writer *w) {
    if (!w) return ie_error_set(IE_ERR_INVALID_ARG, "metrics.csv: commit of a NULL writer");
    ie_status st = out_commit("metrics.csv", &w->out);
    free(w);
    return st;
}

void ie_metrics_writer_discard(ie_metrics_writer *w) {
    if (!w) return;
    out_discard(&w->out);
    free(w);
}

/* ---------------------------------------------------------- aggregates */

void ie_metric_stats_compute(const double *values, int n, ie_metric_stats *out) {
    ie_metric_stats s = {.mean = NAN, .std = NAN, .min = NAN, .max = NAN};
    double sum = 0;
    int finite = 0;
    for (int i = 0; i < n; i++) {
        double v = values[i];
        if (isnan(v)) {
            s.nan_count++;
            continue;
        }
        if (s.count == 0 || v < s.min) s.min = v;
        if (s.count == 0 || v > s.max) s.max = v;
        s.count++;
        if (isinf(v)) {
            s.inf_count++;
            continue;
        }
        sum += v;
        finite++;
    }
    if (finite > 0) s.mean = sum / finite;
    if (finite > 1) {
        double ss = 0;
        for (int i = 0; i < n; i++)
            if (isfinite(values[i])) ss += (values[i] - s.mean) * (values[i] - s.mean);
        s.std = sqrt(ss / (finite - 1));
    }
    *out = s;
}

static ie_status parse_value(const ie_csv *csv, int row, int col, double *out) {
    const char *text = ie_csv_cell(csv, row, col);
    while (*text == ' ' || *text == '\t') text++;
    if (!*text) {
        *out = NAN; /* pandas writes NaN as an empty cell */
        return IE_OK;
    }
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == text || *end)
        return ie_error_set(IE_ERR_IO, "%s:%d: column %s: '%s' is not a number (write nan or inf for missing "
                                       "or infinite values)",
                            csv->name, csv->lines[row], csv->header[col], ie_csv_cell(csv, row, col));
    return IE_OK;
}

static ie_status write_aggregates(const ie_csv *csv, int structure_col, FILE *f) {
    int n = csv->n_rows;
    double *values = malloc(sizeof(double) * (size_t)(n ? n : 1));
    bool *seen = calloc((size_t)(n ? n : 1), sizeof(bool));
    ie_status st = IE_OK;
    if (!values || !seen) st = ie_error_set(IE_ERR_NOMEM, "metrics aggregates: out of memory");
    for (int first = 0; st == IE_OK && first < n; first++) {
        if (seen[first]) continue;
        const char *name = ie_csv_cell(csv, first, structure_col);
        for (int r = first; r < n; r++)
            if (!strcmp(ie_csv_cell(csv, r, structure_col), name)) seen[r] = true;
        for (int col = 0; st == IE_OK && col < csv->n_columns; col++) {
            if (col == structure_col || !strcmp(csv->header[col], "Patient")) continue;
            int k = 0;
            for (int r = first; st == IE_OK && r < n; r++)
                if (!strcmp(ie_csv_cell(csv, r, structure_col), name)) st = parse_value(csv, r, col, &values[k++]);
            if (st != IE_OK) break;
            ie_metric_stats s;
            ie_metric_stats_compute(values, k, &s);
            ie_csv_write_field(f, name);
            fputc(',', f);
            ie_csv_write_field(f, csv->header[col]);
            fprintf(f, ",%d,%d,%d", s.count, s.nan_count, s.inf_count);
            const double v[4] = {s.mean, s.std, s.min, s.max};
            for (int i = 0; i < 4; i++) {
                fputc(',', f);
                write_value(f, v[i]);
            }
            fputc('\n', f);
        }
    }
    free(values);
    free(seen);
    return st;
}

ie_status ie_metrics_aggregates_write(const char *metrics_path, const char *aggregates_path, bool overwrite) {
    ie_csv *csv = NULL;
    IE_TRY(ie_csv_read(metrics_path, &csv));
    int structure_col = ie_csv_column(csv, "Structure"), metric_cols = 0;
    for (int c = 0; c < csv->n_columns; c++)
        metric_cols += c != structure_col && strcmp(csv->header[c], "Patient") != 0;
    ie_status st = IE_OK;
    if (structure_col < 0 || metric_cols == 0)
        st = ie_error_set(IE_ERR_IO,
                          "%s: needs a Structure column and at least one metric column (the header of a "
                          "metrics.csv is %.*s)",
                          metrics_path, (int)strlen(METRICS_HEADER) - 1, METRICS_HEADER);
    out_file o;
    if (st == IE_OK) st = out_open("metrics aggregates", aggregates_path, overwrite, &o);
    if (st == IE_OK) {
        fputs(AGGREGATES_HEADER, o.f);
        st = write_aggregates(csv, structure_col, o.f);
        if (st == IE_OK) st = out_commit("metrics aggregates", &o);
        else out_discard(&o);
    }
    ie_csv_free(csv);
    return st;
}
