/* core/metrics - the predictions table and its CSV (format in
 * classification_regression_predictions.h). */
#include "core/metrics/classification_regression_predictions.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/util/strmap.h"

struct ie_predictions {
    char *name;
    ie_prediction_row *rows;
    int count, capacity;
    /* Subjects, targets, splits and epochs repeat: each distinct string is
     * stored once. */
    ie_strmap strings;
    char **pool;
    int pool_count, pool_capacity;
};

ie_status ie_predictions_new(ie_predictions **out) {
    ie_predictions *p = calloc(1, sizeof *p);
    if (!p || ie_strmap_init(&p->strings, 64) != IE_OK) {
        free(p);
        return ie_error_set(IE_ERR_NOMEM, "predictions: out of memory");
    }
    p->name = strdup("predictions");
    *out = p;
    return IE_OK;
}

void ie_predictions_free(ie_predictions *p) {
    if (!p) return;
    for (int i = 0; i < p->pool_count; i++) free(p->pool[i]);
    free(p->pool);
    ie_strmap_free(&p->strings);
    free(p->rows);
    free(p->name);
    free(p);
}

static ie_status intern(ie_predictions *p, const char *s, const char **out) {
    int at = ie_strmap_get(&p->strings, s);
    if (at >= 0) {
        *out = p->pool[at];
        return IE_OK;
    }
    if (p->pool_count == p->pool_capacity) {
        int cap = p->pool_capacity ? 2 * p->pool_capacity : 256;
        char **grown = realloc(p->pool, (size_t)cap * sizeof *grown);
        if (!grown) return ie_error_set(IE_ERR_NOMEM, "predictions: out of memory");
        p->pool = grown;
        p->pool_capacity = cap;
    }
    char *copy = strdup(s);
    if (!copy) return ie_error_set(IE_ERR_NOMEM, "predictions: out of memory");
    p->pool[p->pool_count] = copy;
    IE_TRY(ie_strmap_put(&p->strings, copy, p->pool_count, NULL));
    p->pool_count++;
    *out = copy;
    return IE_OK;
}

static ie_status add_row(ie_predictions *p, const char *subject, const char *target, double label,
                         double prediction, const char *split, const char *epoch, int line) {
    if (p->count == p->capacity) {
        int cap = p->capacity ? 2 * p->capacity : 1024;
        ie_prediction_row *grown = realloc(p->rows, (size_t)cap * sizeof *grown);
        if (!grown) return ie_error_set(IE_ERR_NOMEM, "predictions: out of memory for %d rows", cap);
        p->rows = grown;
        p->capacity = cap;
    }
    ie_prediction_row *r = &p->rows[p->count];
    IE_TRY(intern(p, subject, &r->subject));
    IE_TRY(intern(p, target, &r->target));
    IE_TRY(intern(p, split, &r->split));
    IE_TRY(intern(p, epoch, &r->epoch));
    r->label = label;
    r->prediction = prediction;
    r->line = line;
    p->count++;
    return IE_OK;
}

ie_status ie_predictions_add(ie_predictions *p, const char *subject, const char *target, double label,
                             double prediction, const char *split, int epoch) {
    char e[32] = "";
    if (epoch >= 0) snprintf(e, sizeof e, "%d", epoch);
    return add_row(p, subject, target, label, prediction, split, e, 0);
}

int ie_predictions_count(const ie_predictions *p) { return p->count; }
const ie_prediction_row *ie_predictions_row(const ie_predictions *p, int i) { return &p->rows[i]; }
const char *ie_predictions_name(const ie_predictions *p) { return p->name; }

void ie_prediction_text(double prediction, char text[IE_PREDICTION_TEXT_SIZE]) {
    snprintf(text, IE_PREDICTION_TEXT_SIZE, "%.9g", prediction);
}

ie_status ie_predictions_write_csv(const ie_predictions *p, const char *path) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    fputs("subject,target,label,prediction,split,epoch\n", f);
    for (int i = 0; i < p->count; i++) {
        const ie_prediction_row *r = &p->rows[i];
        ie_csv_write_field(f, r->subject);
        fputc(',', f);
        ie_csv_write_field(f, r->target);
        /* No label (inference on data without label columns): an empty field. */
        char prediction[IE_PREDICTION_TEXT_SIZE];
        ie_prediction_text(r->prediction, prediction);
        if (isnan(r->label)) fprintf(f, ",,%s,", prediction);
        else fprintf(f, ",%.9g,%s,", r->label, prediction);
        ie_csv_write_field(f, r->split);
        fputc(',', f);
        ie_csv_write_field(f, r->epoch);
        fputc('\n', f);
    }
    return ie_write_stream_atomic(f, &text, &size, path);
}

static ie_status parse_number(const ie_csv *csv, int row, int col, double *out) {
    const char *s = ie_csv_cell(csv, row, col);
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    while (end && (*end == ' ' || *end == '\t')) end++;
    if (!s[0] || end == s || *end || !isfinite(v))
        return ie_error_set(IE_ERR_IO, "%s:%d: column %s is \"%s\"; it must be a finite number", csv->name,
                            csv->lines[row], csv->header[col], s);
    *out = v;
    return IE_OK;
}

/* (split, epoch, subject, target) must be unique: a key per row, checked in a map. */
static ie_status check_unique(ie_predictions *p) {
    ie_strmap seen;
    IE_TRY(ie_strmap_init(&seen, (size_t)p->count));
    char **keys = calloc((size_t)p->count + 1, sizeof *keys);
    ie_status st = keys ? IE_OK : ie_error_set(IE_ERR_NOMEM, "%s: out of memory", p->name);
    for (int i = 0; st == IE_OK && i < p->count; i++) {
        const ie_prediction_row *r = &p->rows[i];
        size_t n = strlen(r->split) + strlen(r->epoch) + strlen(r->subject) + strlen(r->target) + 4;
        keys[i] = malloc(n);
        if (!keys[i]) {
            st = ie_error_set(IE_ERR_NOMEM, "%s: out of memory", p->name);
            break;
        }
        /* \x1f (unit separator) cannot be confused with text in a field. */
        snprintf(keys[i], n, "%s\x1f%s\x1f%s\x1f%s", r->split, r->epoch, r->subject, r->target);
        int existing = -1;
        st = ie_strmap_put(&seen, keys[i], i, &existing);
        if (st == IE_OK && existing >= 0)
            st = ie_error_set(IE_ERR_IO,
                              "%s:%d: subject %s, target %s (split %s%s%s) appears twice (first on line %d); each "
                              "subject has one prediction per target",
                              p->name, r->line, r->subject, r->target, r->split, r->epoch[0] ? ", epoch " : "",
                              r->epoch, p->rows[existing].line);
    }
    ie_strmap_free(&seen);
    if (keys)
        for (int i = 0; i < p->count; i++) free(keys[i]);
    free(keys);
    return st;
}

ie_status ie_predictions_read_csv(const char *path, ie_predictions **out) {
    *out = NULL;
    ie_csv *csv = NULL;
    IE_TRY(ie_csv_read(path, &csv));
    static const char *const required[] = {"subject", "target", "label", "prediction"};
    int col[4];
    for (int k = 0; k < 4; k++) {
        col[k] = ie_csv_column(csv, required[k]);
        if (col[k] < 0) {
            ie_status st = ie_error_set(IE_ERR_IO,
                                        "%s: no column \"%s\"; a predictions CSV has the columns subject, target, "
                                        "label, prediction and optionally split, epoch",
                                        path, required[k]);
            ie_csv_free(csv);
            return st;
        }
    }
    int split_col = ie_csv_column(csv, "split"), epoch_col = ie_csv_column(csv, "epoch");
    ie_predictions *p = NULL;
    ie_status st = ie_predictions_new(&p);
    if (st == IE_OK) {
        free(p->name);
        p->name = strdup(path);
        if (!p->name) st = ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int i = 0; st == IE_OK && i < csv->n_rows; i++) {
        double label = 0, prediction = 0;
        const char *subject = ie_csv_cell(csv, i, col[0]), *target = ie_csv_cell(csv, i, col[1]);
        if (!subject[0] || !target[0]) {
            st = ie_error_set(IE_ERR_IO, "%s:%d: empty %s", path, csv->lines[i], subject[0] ? "target" : "subject");
            break;
        }
        st = parse_number(csv, i, col[2], &label);
        if (st == IE_OK) st = parse_number(csv, i, col[3], &prediction);
        if (st == IE_OK)
            st = add_row(p, subject, target, label, prediction, split_col >= 0 ? ie_csv_cell(csv, i, split_col) : "all",
                         epoch_col >= 0 ? ie_csv_cell(csv, i, epoch_col) : "", csv->lines[i]);
    }
    if (st == IE_OK && csv->n_rows == 0) st = ie_error_set(IE_ERR_IO, "%s: no predictions (only a header)", path);
    if (st == IE_OK) st = check_unique(p);
    ie_csv_free(csv);
    if (st != IE_OK) {
        ie_predictions_free(p);
        return st;
    }
    *out = p;
    return IE_OK;
}
