/* core/data - scalar datasets: checks, feature statistics, loading,
 * flips and collate (rules in classification_regression_hooks.h).  The statistics come from a
 * training split here (ie_scalar_data_prepare) or from a run's saved
 * statistics (classification_regression_statistics.c); both then build the data the same way
 * (ie_scalar_data_finish). */
#include "core/data/classification_regression_hooks.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/data/sample_util.h"
#include "core/data/classification_regression_data_impl.h"

#define MAX_PROBLEMS_SHOWN 20

const char *ie_scalar_target_name(ie_scalar_target t) {
    return t == IE_TARGET_BINARY ? "binary" : t == IE_TARGET_MULTICLASS ? "multiclass" : "regression";
}

/* ---- problems: collected over the whole dataset, reported at once ---- */

void ie_scalar_data_problem(ie_scalar_data *d, const char *fmt, ...) {
    if (d->problem_count++ >= MAX_PROBLEMS_SHOWN) return;
    va_list ap;
    va_start(ap, fmt);
    size_t size = sizeof d->problem_text;
    if (d->problem_len + 4 < size) {
        d->problem_text[d->problem_len++] = '\n';
        d->problem_text[d->problem_len++] = ' ';
        d->problem_text[d->problem_len++] = ' ';
        int n = vsnprintf(d->problem_text + d->problem_len, size - d->problem_len, fmt, ap);
        if (n > 0) d->problem_len = d->problem_len + (size_t)n < size ? d->problem_len + (size_t)n : size - 1;
    }
    va_end(ap);
}

/* The collected problems as one error (IE_OK when there are none). */
static ie_status report_problems(ie_scalar_data *d, const char *what) {
    int n = d->problem_count;
    if (!n) return IE_OK;
    ie_status st = ie_error_set(IE_ERR_CONFIG, "%s: %d %s%s%s:%s%s", ie_dataset_path(d->ds), n, what,
                                n > 1 ? "s" : "", n > MAX_PROBLEMS_SHOWN ? " (the first 20)" : "", d->problem_text,
                                n > MAX_PROBLEMS_SHOWN ? "\n  ..." : "");
    d->problem_count = 0;
    d->problem_len = 0;
    return st;
}

/* ---- parsing ---- */

static bool is_missing(const char *s) {
    return !s[0] || !strcasecmp(s, "NA") || !strcasecmp(s, "NaN") || !strcasecmp(s, "N/A");
}

static bool parse_double(const char *s, double *out) {
    char *end = NULL;
    double v = strtod(s, &end);
    while (end && (*end == ' ' || *end == '\t')) end++;
    if (end == s || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

static const char *value_of(const ie_dataset_item *item, int col) { return item->values[col]; }

static void column_list(const ie_dataset *ds, char *have, size_t size) {
    have[0] = '\0';
    const char *const *cols = ie_dataset_columns(ds);
    for (int i = 0; i < ie_dataset_column_count(ds); i++) {
        size_t n = strlen(have);
        snprintf(have + n, size - n, "%s%s", i ? ", " : "", cols[i]);
    }
}

static int find_column(ie_scalar_data *d, const char *name, const char *key) {
    int c = ie_dataset_column(d->ds, name);
    if (c < 0) {
        char have[1024];
        column_list(d->ds, have, sizeof have);
        ie_scalar_data_problem(d, "%s lists column \"%s\", which %s does not have (its columns: %s)", key, name,
                               ie_dataset_path(d->ds), have);
    }
    return c;
}

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int category_index(const ie_scalar_categorical *c, const char *v) {
    const char *key = v;
    char **hit = bsearch(&key, c->values, (size_t)c->n, sizeof *c->values, by_string);
    return hit ? (int)(hit - c->values) : -1;
}

/* Sorted distinct non-missing training values of a categorical column. */
static ie_status collect_categories(ie_scalar_data *d, ie_scalar_categorical *c, const int *train, int n_train) {
    c->values = malloc((size_t)(n_train ? n_train : 1) * sizeof *c->values);
    if (!c->values) return ie_error_set(IE_ERR_NOMEM, "scalar data: out of memory");
    int n = 0;
    for (int i = 0; i < n_train; i++) {
        const char *v = value_of(ie_dataset_item_at(d->ds, train[i]), c->column);
        if (!is_missing(v)) c->values[n++] = (char *)v; /* borrowed until deduplicated */
    }
    qsort(c->values, (size_t)n, sizeof *c->values, by_string);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || strcmp(c->values[m - 1], c->values[i]) != 0) c->values[m++] = c->values[i];
    for (int i = 0; i < m; i++) c->values[i] = strdup(c->values[i]);
    c->n = m;
    for (int i = 0; i < m; i++)
        if (!c->values[i]) return ie_error_set(IE_ERR_NOMEM, "scalar data: out of memory");
    return IE_OK;
}

/* Mean and population standard deviation of a numerical column over the
 * training split (values that are missing or malformed are left out here
 * and reported by the checks). */
static void numerical_statistics(ie_scalar_data *d, int j, const int *train, int n_train) {
    double sum = 0, sq = 0;
    int n = 0;
    for (int t = 0; t < n_train; t++) {
        double x;
        if (parse_double(value_of(ie_dataset_item_at(d->ds, train[t]), d->num_col[j]), &x)) sum += x, n++;
    }
    if (n == 0) {
        ie_scalar_data_problem(d, "numerical column %s has no value in the training split",
                               d->cfg.numerical_columns[j]);
        return;
    }
    double mean = sum / n;
    for (int t = 0; t < n_train; t++) {
        double x;
        if (parse_double(value_of(ie_dataset_item_at(d->ds, train[t]), d->num_col[j]), &x))
            sq += (x - mean) * (x - mean);
    }
    d->num_mean[j] = mean;
    d->num_sd[j] = sqrt(sq / n);
}

/* A path too long to make counts as missing: no file has it. */
static bool file_exists(const ie_dataset_item *item, const char *file) {
    char path[4200];
    if (ie_dataset_item_file(item, file, path, sizeof path) != IE_OK) return false;
    struct stat st;
    return stat(path, &st) == 0;
}

static void parse_label(ie_scalar_data *d, int i, const ie_dataset_item *item, int line) {
    const ie_scalar_config *cfg = &d->cfg;
    for (int k = 0; k < cfg->n_labels; k++) {
        const char *col = cfg->label_columns[k], *v = value_of(item, d->label_col[k]);
        double x = 0;
        if (is_missing(v)) {
            ie_scalar_data_problem(d, "subject %s (line %d): no label in column %s", item->subject, line, col);
            continue;
        }
        if (cfg->target == IE_TARGET_MULTICLASS) {
            int cls = -1;
            for (int c = 0; c < cfg->n_classes; c++)
                if (!strcmp(v, cfg->class_names[c])) cls = c;
            if (cls < 0 && parse_double(v, &x) && x == floor(x) && x >= 0 && x < cfg->n_classes) cls = (int)x;
            if (cls < 0) {
                ie_scalar_data_problem(d, "subject %s (line %d): column %s is \"%s\"; it must be a class index 0..%d "
                                          "or a name in data.classes",
                                       item->subject, line, col, v, cfg->n_classes - 1);
                continue;
            }
            d->classes[i] = cls;
            for (int c = 0; c < d->K; c++) d->labels[(size_t)i * d->K + c] = c == cls;
        } else if (!parse_double(v, &x) || (cfg->target == IE_TARGET_BINARY && x != 0.0 && x != 1.0)) {
            ie_scalar_data_problem(d, "subject %s (line %d): column %s is \"%s\"; it must be %s", item->subject, line,
                                   col, v,
                                   cfg->target == IE_TARGET_BINARY ? "0 or 1 (binary classification)"
                                                                   : "a number (regression)");
        } else {
            d->labels[(size_t)i * d->K + k] = x;
        }
    }
}

/* ---- features from the statistics ---- */

/* What to do about a missing value: in training, turn imputation on; for
 * other data (is_train NULL) the run's setting holds. */
static const char *impute_hint(const bool *is_train) {
    return is_train ? "(or set data.scalar.impute_missing)"
                    : "(the run was trained without data.scalar.impute_missing, so values cannot be imputed)";
}

static void build_features(ie_scalar_data *d, const bool *is_train, int *imputed) {
    const ie_scalar_config *cfg = &d->cfg;
    int f = 0;
    for (int j = 0; j < cfg->n_numerical; j++, f++) {
        double mean = d->num_mean[j], sd = d->num_sd[j];
        for (int i = 0; i < d->n_items; i++) {
            const ie_dataset_item *item = ie_dataset_item_at(d->ds, i);
            const char *v = value_of(item, d->num_col[j]);
            double x = mean;
            if (is_missing(v)) {
                if (cfg->impute_missing) ++*imputed;
                else
                    ie_scalar_data_problem(d, "subject %s (line %d): no value in numerical column %s %s",
                                           item->subject, ie_dataset_line(d->ds, i, 0), cfg->numerical_columns[j],
                                           impute_hint(is_train));
            } else if (!parse_double(v, &x)) {
                ie_scalar_data_problem(d, "subject %s (line %d): numerical column %s is \"%s\", not a number",
                                       item->subject, ie_dataset_line(d->ds, i, 0), cfg->numerical_columns[j], v);
            }
            d->features[(size_t)i * d->F + f] = sd > 1e-12 ? (float)((x - mean) / sd) : 0.0f;
        }
    }
    for (int j = 0; j < cfg->n_categorical; j++) {
        const ie_scalar_categorical *c = &d->cat[j];
        for (int i = 0; i < d->n_items; i++) {
            const ie_dataset_item *item = ie_dataset_item_at(d->ds, i);
            const char *v = value_of(item, c->column);
            int at = is_missing(v) ? -1 : category_index(c, v);
            if (at < 0 && cfg->impute_missing) ++*imputed;
            else if (at < 0 && is_missing(v))
                ie_scalar_data_problem(d, "subject %s (line %d): no value in categorical column %s %s",
                                       item->subject, ie_dataset_line(d->ds, i, 0), cfg->categorical_columns[j],
                                       impute_hint(is_train));
            else if (at < 0 && is_train)
                ie_scalar_data_problem(d, "subject %s (line %d, %s split): categorical column %s is \"%s\", a value "
                                          "the training split does not hold (or set data.scalar.impute_missing)",
                                       item->subject, ie_dataset_line(d->ds, i, 0),
                                       is_train[i] ? "training" : "another", cfg->categorical_columns[j], v);
            else if (at < 0)
                ie_scalar_data_problem(d, "subject %s (line %d): categorical column %s is \"%s\", a value the "
                                          "model's training split did not hold (the model knows %d value%s; the "
                                          "run was trained without data.scalar.impute_missing)",
                                       item->subject, ie_dataset_line(d->ds, i, 0), cfg->categorical_columns[j], v,
                                       c->n, c->n == 1 ? "" : "s");
            if (at >= 0) d->features[(size_t)i * d->F + f + at] = 1.0f;
        }
        f += c->n;
    }
}

static ie_status name_features(ie_scalar_data *d) {
    d->feature_names = calloc((size_t)(d->F ? d->F : 1), sizeof *d->feature_names);
    if (!d->feature_names) return ie_error_set(IE_ERR_NOMEM, "scalar data: out of memory");
    int f = 0;
    for (int j = 0; j < d->cfg.n_numerical; j++) d->feature_names[f++] = strdup(d->cfg.numerical_columns[j]);
    for (int j = 0; j < d->cfg.n_categorical; j++)
        for (int v = 0; v < d->cat[j].n; v++) {
            size_t n = strlen(d->cfg.categorical_columns[j]) + strlen(d->cat[j].values[v]) + 2;
            d->feature_names[f] = malloc(n);
            if (d->feature_names[f]) snprintf(d->feature_names[f], n, "%s=%s", d->cfg.categorical_columns[j],
                                              d->cat[j].values[v]);
            f++;
        }
    for (int i = 0; i < d->F; i++)
        if (!d->feature_names[i]) return ie_error_set(IE_ERR_NOMEM, "scalar data: out of memory");
    return IE_OK;
}

static void standardize_targets(ie_scalar_data *d, const int *train, int n_train) {
    if (d->cfg.target != IE_TARGET_REGRESSION || !d->cfg.standardize_targets || n_train == 0) return;
    for (int k = 0; k < d->K; k++) {
        double sum = 0, sq = 0;
        for (int t = 0; t < n_train; t++) sum += d->labels[(size_t)train[t] * d->K + k];
        double mean = sum / n_train;
        for (int t = 0; t < n_train; t++) {
            double x = d->labels[(size_t)train[t] * d->K + k] - mean;
            sq += x * x;
        }
        double sd = sqrt(sq / n_train);
        d->label_mean[k] = mean;
        d->label_scale[k] = sd > 1e-12 ? sd : 1.0;
    }
}

static ie_status check_config(const ie_scalar_config *cfg) {
    if (cfg->n_labels < 1)
        return ie_error_set(IE_ERR_CONFIG, "data.scalar.label_columns is empty: name the column(s) holding the "
                                           "labels");
    if (cfg->target == IE_TARGET_MULTICLASS && cfg->n_labels != 1)
        return ie_error_set(IE_ERR_CONFIG, "multi-class classification reads one label column (the class), "
                                           "data.scalar.label_columns lists %d",
                            cfg->n_labels);
    if (cfg->target == IE_TARGET_MULTICLASS && cfg->n_classes < 2)
        return ie_error_set(IE_ERR_CONFIG, "multi-class classification needs data.classes to name the classes (at "
                                           "least 2), it lists %d",
                            cfg->n_classes);
    if (cfg->n_images == 0 && cfg->n_numerical == 0 && cfg->n_categorical == 0)
        return ie_error_set(IE_ERR_CONFIG, "no model inputs: set data.scalar.image_columns, "
                                           "data.scalar.numerical_columns or data.scalar.categorical_columns");
    return IE_OK;
}

/* ---- building ---- */

/* Label columns when they are optional: all or none. */
static void find_label_columns(ie_scalar_data *d, ie_scalar_labels labels) {
    const ie_scalar_config *cfg = &d->cfg;
    int present = 0;
    for (int k = 0; k < cfg->n_labels; k++) present += ie_dataset_column(d->ds, cfg->label_columns[k]) >= 0;
    d->has_labels = labels == IE_SCALAR_LABELS_REQUIRED || present > 0;
    if (labels == IE_SCALAR_LABELS_OPTIONAL && present > 0 && present < cfg->n_labels) {
        for (int k = 0; k < cfg->n_labels; k++)
            if (ie_dataset_column(d->ds, cfg->label_columns[k]) < 0)
                ie_scalar_data_problem(d, "label column \"%s\" is missing while other label columns are there; give "
                                          "every label column (%d) for metrics, or none for predictions only",
                                       cfg->label_columns[k], cfg->n_labels);
        return;
    }
    for (int k = 0; d->has_labels && k < cfg->n_labels; k++)
        d->label_col[k] = find_column(d, cfg->label_columns[k], "data.scalar.label_columns");
}

ie_status ie_scalar_data_begin(const ie_scalar_config *cfg, const ie_dataset *ds, ie_scalar_labels labels,
                               ie_scalar_data **out) {
    *out = NULL;
    IE_TRY(check_config(cfg));
    ie_scalar_data *d = calloc(1, sizeof *d);
    if (!d) return ie_error_set(IE_ERR_NOMEM, "scalar data: out of memory");
    d->cfg = *cfg;
    d->ds = ds;
    d->n_items = ie_dataset_count(ds);
    d->K = cfg->target == IE_TARGET_MULTICLASS ? cfg->n_classes : cfg->n_labels;
    d->label_col = calloc((size_t)cfg->n_labels + 1, sizeof *d->label_col);
    d->image_col = calloc((size_t)cfg->n_images + 1, sizeof *d->image_col);
    d->num_col = calloc((size_t)cfg->n_numerical + 1, sizeof *d->num_col);
    d->num_mean = calloc((size_t)cfg->n_numerical + 1, sizeof *d->num_mean);
    d->num_sd = calloc((size_t)cfg->n_numerical + 1, sizeof *d->num_sd);
    d->cat = calloc((size_t)cfg->n_categorical + 1, sizeof *d->cat);
    d->label_mean = calloc((size_t)d->K + 1, sizeof *d->label_mean);
    d->label_scale = calloc((size_t)d->K + 1, sizeof *d->label_scale);
    if (!d->label_col || !d->image_col || !d->num_col || !d->num_mean || !d->num_sd || !d->cat || !d->label_mean ||
        !d->label_scale) {
        ie_scalar_data_free(d);
        return ie_error_set(IE_ERR_NOMEM, "scalar data: out of memory");
    }
    for (int k = 0; k < d->K; k++) d->label_scale[k] = 1;
    if (!ds) { /* no subjects: the data only describes the model's inputs and outputs */
        *out = d;
        return IE_OK;
    }
    find_label_columns(d, labels);
    for (int k = 0; k < cfg->n_images; k++)
        d->image_col[k] = find_column(d, cfg->image_columns[k], "data.scalar.image_columns");
    for (int k = 0; k < cfg->n_numerical; k++)
        d->num_col[k] = find_column(d, cfg->numerical_columns[k], "data.scalar.numerical_columns");
    for (int k = 0; k < cfg->n_categorical; k++)
        d->cat[k].column = find_column(d, cfg->categorical_columns[k], "data.scalar.categorical_columns");
    ie_status st = report_problems(d, "column problem");
    if (st != IE_OK) {
        ie_scalar_data_free(d);
        return st;
    }
    *out = d;
    return IE_OK;
}

ie_status ie_scalar_data_finish(ie_scalar_data *d, const bool *is_train) {
    const ie_scalar_config *cfg = &d->cfg;
    const ie_dataset *ds = d->ds;
    d->F = cfg->n_numerical;
    for (int k = 0; k < cfg->n_categorical; k++) d->F += d->cat[k].n;
    size_t n = (size_t)d->n_items;
    d->labels = calloc(n * (size_t)d->K + 1, sizeof *d->labels);
    d->classes = calloc(n + 1, sizeof *d->classes);
    d->features = calloc(n * (size_t)d->F + 1, sizeof *d->features);
    if (!d->labels || !d->classes || !d->features)
        return ie_error_set(IE_ERR_NOMEM, "scalar data: out of memory for %d subjects", d->n_items);
    for (int i = 0; i < d->n_items; i++) {
        const ie_dataset_item *item = ie_dataset_item_at(ds, i);
        int line = ie_dataset_line(ds, i, 0);
        if (item->n_rows != 1) {
            ie_scalar_data_problem(d, "subject %s has %d rows (lines %d and %d); a classification or regression "
                                      "dataset has one row per subject",
                                   item->subject, item->n_rows, line, ie_dataset_line(ds, i, 1));
            continue;
        }
        if (d->has_labels) parse_label(d, i, item, line);
        for (int k = 0; k < cfg->n_images; k++) {
            const char *file = value_of(item, d->image_col[k]);
            if (!file[0])
                ie_scalar_data_problem(d, "subject %s (line %d): empty image path in column %s", item->subject, line,
                                       cfg->image_columns[k]);
            else if (!file_exists(item, file))
                ie_scalar_data_problem(d, "subject %s (line %d): image %s (column %s) does not exist", item->subject,
                                       line, file, cfg->image_columns[k]);
        }
    }
    int imputed = 0;
    if (d->problem_count == 0) build_features(d, is_train, &imputed);
    IE_TRY(report_problems(d, "problem"));
    IE_TRY(name_features(d));
    if (imputed) printf("note: %d missing or unseen feature values imputed (data.scalar.impute_missing)\n", imputed);
    return IE_OK;
}

ie_status ie_scalar_data_prepare(const ie_scalar_config *cfg, const ie_dataset *ds, const int *train, int n_train,
                                 ie_scalar_data **out) {
    ie_scalar_data *d = NULL;
    IE_TRY(ie_scalar_data_begin(cfg, ds, IE_SCALAR_LABELS_REQUIRED, &d));
    bool *is_train = calloc((size_t)d->n_items + 1, sizeof *is_train);
    ie_status st = is_train ? IE_OK : ie_error_set(IE_ERR_NOMEM, "scalar data: out of memory");
    for (int t = 0; st == IE_OK && t < n_train; t++) is_train[train[t]] = true;
    for (int k = 0; st == IE_OK && k < cfg->n_categorical; k++) st = collect_categories(d, &d->cat[k], train, n_train);
    for (int j = 0; st == IE_OK && j < cfg->n_numerical; j++) numerical_statistics(d, j, train, n_train);
    if (st == IE_OK) st = ie_scalar_data_finish(d, is_train);
    if (st == IE_OK) standardize_targets(d, train, n_train);
    free(is_train);
    if (st != IE_OK) {
        ie_scalar_data_free(d);
        return st;
    }
    *out = d;
    return IE_OK;
}

void ie_scalar_data_free(ie_scalar_data *d) {
    if (!d) return;
    for (int k = 0; d->cat && k < d->cfg.n_categorical; k++) {
        for (int v = 0; v < d->cat[k].n; v++) free(d->cat[k].values[v]);
        free(d->cat[k].values);
    }
    for (int f = 0; d->feature_names && f < d->F; f++) free(d->feature_names[f]);
    free(d->feature_names);
    free(d->cat);
    free(d->label_col);
    free(d->image_col);
    free(d->num_col);
    free(d->num_mean);
    free(d->num_sd);
    free(d->labels);
    free(d->classes);
    free(d->features);
    free(d->label_mean);
    free(d->label_scale);
    if (d->owned_free) d->owned_free(d->owned);
    free(d);
}

int ie_scalar_data_output_count(const ie_scalar_data *d) { return d->K; }
const char *ie_scalar_data_output_name(const ie_scalar_data *d, int k) {
    return d->cfg.target == IE_TARGET_MULTICLASS ? d->cfg.class_names[k] : d->cfg.label_columns[k];
}
int ie_scalar_data_feature_count(const ie_scalar_data *d) { return d->F; }
const char *ie_scalar_data_feature_name(const ie_scalar_data *d, int f) { return d->feature_names[f]; }
const ie_scalar_config *ie_scalar_data_config(const ie_scalar_data *d) { return &d->cfg; }
bool ie_scalar_data_has_labels(const ie_scalar_data *d) { return d->has_labels; }
const ie_dataset *ie_scalar_data_dataset(const ie_scalar_data *d) { return d->ds; }

void ie_scalar_data_target_scale(const ie_scalar_data *d, int k, double *scale, double *offset) {
    *scale = d->label_scale[k];
    *offset = d->label_mean[k];
}

double ie_scalar_data_label(const ie_scalar_data *d, int i, int k) {
    return d->has_labels ? d->labels[(size_t)i * d->K + k] : NAN;
}

/* ---- loading ---- */

/* One channel as float, normalised, fitted to image_size. */
static ie_status load_channel(const ie_scalar_data *d, const ie_dataset_item *item, const ie_host *host, int k,
                              ie_tensor **out) {
    const char *file = value_of(item, d->image_col[k]);
    char path[4200];
    IE_TRY(ie_dataset_item_file(item, file, path, sizeof path));
    ie_tensor *raw = NULL;
    IE_TRY(host->read_image(host, path, IE_F32, &raw));
    int nd = ie_tensor_ndim(raw);
    int64_t size[3] = {nd == 3 ? ie_tensor_dim(raw, 0) : 1, ie_tensor_dim(raw, -2), ie_tensor_dim(raw, -1)};
    int64_t n = ie_tensor_numel(raw);
    float *x = ie_tensor_data_f32(raw);
    if (d->cfg.norm == IE_SEG_NORM_SIMPLE && n > 0) { /* as the segmentation loader's SimpleNorm */
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < n; i++) sum += x[i];
        double mean = sum / (double)n;
        for (int64_t i = 0; i < n; i++) sq += ((double)x[i] - mean) * ((double)x[i] - mean);
        double sd = sqrt(sq / (double)n), scale = 1.0 / (sd > 1e-6 ? sd : 1e-6);
        for (int64_t i = 0; i < n; i++) x[i] = (float)(((double)x[i] - mean) * scale);
    }
    int64_t target[3], off[3];
    for (int a = 0; a < 3; a++) {
        target[a] = d->cfg.image_size[a] > 0 ? d->cfg.image_size[a] : size[a];
        off[a] = target[a] >= size[a] ? -((target[a] - size[a]) / 2) : (size[a] - target[a]) / 2;
    }
    ie_status st = ie_tensor_zeros(IE_F32, 3, target, IE_CPU, out);
    if (st == IE_OK) {
        float *y = ie_tensor_data_f32(*out);
        for (int64_t z = 0; z < target[0]; z++) {
            int64_t sz = z + off[0];
            if (sz < 0 || sz >= size[0]) continue;
            for (int64_t r = 0; r < target[1]; r++) {
                int64_t sy = r + off[1];
                if (sy < 0 || sy >= size[1]) continue;
                for (int64_t c = 0; c < target[2]; c++) {
                    int64_t sx = c + off[2];
                    if (sx >= 0 && sx < size[2]) y[(z * target[1] + r) * target[2] + c] = x[(sz * size[1] + sy) * size[2] + sx];
                }
            }
        }
    }
    ie_tensor_release(raw);
    return st;
}

static ie_status load_image(const ie_scalar_data *d, const ie_dataset_item *item, const ie_host *host,
                            ie_tensor **out) {
    ie_tensor *ch[16] = {NULL};
    int C = d->cfg.n_images;
    if (C > 16) return ie_error_set(IE_ERR_CONFIG, "data.scalar.image_columns: at most 16 image channels");
    ie_status st = IE_OK;
    for (int k = 0; st == IE_OK && k < C; k++) st = load_channel(d, item, host, k, &ch[k]);
    for (int k = 1; st == IE_OK && k < C; k++)
        if (!ie_tensor_same_shape(ch[k], ch[0])) {
            char a[64], b[64];
            st = ie_error_set(IE_ERR_SHAPE, "image columns %s and %s hold images of different sizes (%s, %s); set "
                                            "data.scalar.image_size to bring them to one size",
                              d->cfg.image_columns[0], d->cfg.image_columns[k], ie_tensor_describe(ch[0], a, sizeof a),
                              ie_tensor_describe(ch[k], b, sizeof b));
        }
    if (st == IE_OK) {
        int64_t shape[4] = {C, ie_tensor_dim(ch[0], 0), ie_tensor_dim(ch[0], 1), ie_tensor_dim(ch[0], 2)};
        st = ie_tensor_empty(IE_F32, 4, shape, IE_CPU, out);
        int64_t n = ie_tensor_numel(ch[0]);
        for (int k = 0; st == IE_OK && k < C; k++)
            memcpy(ie_tensor_data_f32(*out) + k * n, ie_tensor_data_f32(ch[k]), (size_t)n * sizeof(float));
    }
    for (int k = 0; k < C; k++) ie_tensor_release(ch[k]);
    return st;
}

ie_status ie_scalar_load(const ie_scalar_data *d, const ie_dataset_item *item, const ie_host *host, ie_sample *out) {
    int i = ie_dataset_find(d->ds, item->subject);
    if (i < 0) return ie_error_set(IE_ERR_INTERNAL, "subject %s is not in the prepared dataset", item->subject);
    ie_sample s = {.struct_size = sizeof s, .subject = item->subject};
    ie_status st = IE_OK;
    if (!d->has_labels) {
        /* inference on data without labels: the batch has none */
    } else if (d->cfg.target == IE_TARGET_MULTICLASS) {
        st = ie_tensor_empty(IE_I64, 0, NULL, IE_CPU, &s.labels);
        if (st == IE_OK) *(int64_t *)ie_tensor_data(s.labels) = d->classes[i];
    } else {
        int64_t shape[1] = {d->K};
        st = ie_tensor_empty(IE_F32, 1, shape, IE_CPU, &s.labels);
        for (int k = 0; st == IE_OK && k < d->K; k++)
            ie_tensor_data_f32(s.labels)[k] =
                (float)((d->labels[(size_t)i * d->K + k] - d->label_mean[k]) / d->label_scale[k]);
    }
    if (st == IE_OK && d->F > 0) {
        int64_t shape[1] = {d->F};
        st = ie_tensor_empty(IE_F32, 1, shape, IE_CPU, &s.features);
        if (st == IE_OK)
            memcpy(ie_tensor_data_f32(s.features), d->features + (size_t)i * d->F, (size_t)d->F * sizeof(float));
    }
    if (st == IE_OK && d->cfg.n_images > 0) st = load_image(d, item, host, &s.image);
    if (st != IE_OK) {
        ie_data_sample_release(&s);
        return ie_error_wrap(st, "subject %s", item->subject);
    }
    *out = s;
    return IE_OK;
}

/* ---- hooks ---- */

static ie_status hook_load(ie_model *ctx, const ie_dataset_item *item, const ie_host *host, ie_sample *out) {
    return ie_scalar_load((const ie_scalar_data *)ctx, item, host, out);
}

/* Flips build a new image, never writing into the one received (so the hooks
 * set augment_keeps_input). */
static ie_status hook_augment(ie_model *ctx, ie_sample *s, const ie_rng *rng) {
    const ie_scalar_data *d = (const ie_scalar_data *)ctx;
    bool flip[3];
    for (int a = 0; a < 3; a++) flip[a] = d->cfg.flip[a] && ie_rng_uniform_at(rng, 64 + (uint64_t)a) < 0.5f;
    if (!s->image || !(flip[0] || flip[1] || flip[2])) return IE_OK;
    const int64_t *sh = ie_tensor_shape(s->image);
    int64_t C = sh[0], D = sh[1], H = sh[2], W = sh[3];
    ie_tensor *out = NULL;
    IE_TRY(ie_tensor_empty(IE_F32, 4, sh, IE_CPU, &out));
    const float *x = ie_tensor_data_f32(s->image);
    float *y = ie_tensor_data_f32(out);
    for (int64_t c = 0; c < C; c++)
        for (int64_t z = 0; z < D; z++)
            for (int64_t r = 0; r < H; r++) {
                const float *src = x + ((c * D + (flip[0] ? D - 1 - z : z)) * H + (flip[1] ? H - 1 - r : r)) * W;
                float *dst = y + ((c * D + z) * H + r) * W;
                for (int64_t w = 0; w < W; w++) dst[w] = src[flip[2] ? W - 1 - w : w];
            }
    ie_tensor_release(s->image);
    s->image = out;
    return IE_OK;
}

static ie_status hook_collate(ie_model *ctx, const ie_sample *const *samples, int count, ie_batch *out) {
    (void)ctx;
    for (int i = 1; i < count; i++)
        if (samples[0]->image && samples[i]->image && !ie_tensor_same_shape(samples[0]->image, samples[i]->image)) {
            char a[64], b[64];
            return ie_error_set(IE_ERR_SHAPE, "subjects %s and %s have images of different sizes (%s, %s); set "
                                              "data.scalar.image_size to bring every image to one size",
                                samples[0]->subject, samples[i]->subject,
                                ie_tensor_describe(samples[0]->image, a, sizeof a),
                                ie_tensor_describe(samples[i]->image, b, sizeof b));
        }
    return ie_seg_collate(samples, count, out);
}

ie_data_hooks ie_scalar_hooks(const ie_scalar_data *d) {
    ie_data_hooks h = {
        .load_item = hook_load,
        .load_item_ctx = (void *)d,
        .augment = hook_augment,
        .augment_ctx = (void *)d,
        .collate = hook_collate,
        .collate_ctx = NULL,
        .augment_keeps_input = true,
    };
    return h;
}
