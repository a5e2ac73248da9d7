/* core/data - data_statistics.json: writing a run's training statistics and
 * building data for another CSV from them (format in classification_regression_statistics.h). */
#include "core/data/classification_regression_statistics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/classification_regression_data_impl.h"
#include "core/util/file_util.h"

#define FORMAT "innereye-scalar-statistics"
#define VERSION 1

/* ---- writing ---- */

/* A double as %.17g text: the exact value comes back from strtod. */
static cJSON *exact(double v) {
    char text[40];
    snprintf(text, sizeof text, "%.17g", v);
    return cJSON_CreateRaw(text);
}

static cJSON *strings(const char *const *s, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(s[i]));
    return a;
}

static cJSON *ints(const int64_t *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

ie_status ie_scalar_statistics_write(const ie_scalar_data *d, const int64_t image_shape[4], int n_train,
                                     const char *path) {
    const ie_scalar_config *c = &d->cfg;
    /* Overflowing sums would make the file invalid JSON and the run useless
     * for new data: refuse them here, naming the column. */
    for (int j = 0; j < c->n_numerical; j++)
        if (!isfinite(d->num_mean[j]) || !isfinite(d->num_sd[j]))
            return ie_error_set(IE_ERR_INVALID_ARG, "numerical column %s: the training split's mean or standard "
                                                    "deviation is not finite (values too large?); rescale the column",
                                c->numerical_columns[j]);
    for (int k = 0; c->target == IE_TARGET_REGRESSION && c->standardize_targets && k < d->K; k++)
        if (!isfinite(d->label_mean[k]) || !isfinite(d->label_scale[k]))
            return ie_error_set(IE_ERR_INVALID_ARG, "label column %s: the training split's mean or standard deviation "
                                                    "is not finite; rescale the column",
                                ie_scalar_data_output_name(d, k));
    cJSON *root = cJSON_CreateObject();
    if (!root) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    cJSON_AddStringToObject(root, "format", FORMAT);
    cJSON_AddNumberToObject(root, "version", VERSION);
    cJSON_AddStringToObject(root, "target", ie_scalar_target_name(c->target));
    cJSON *outputs = cJSON_AddArrayToObject(root, "outputs");
    for (int k = 0; outputs && k < d->K; k++)
        cJSON_AddItemToArray(outputs, cJSON_CreateString(ie_scalar_data_output_name(d, k)));
    cJSON_AddItemToObject(root, "label_columns", strings(c->label_columns, c->n_labels));
    int n_classes = c->target == IE_TARGET_MULTICLASS ? c->n_classes : 0;
    cJSON_AddItemToObject(root, "classes", strings(c->class_names, n_classes));
    cJSON_AddItemToObject(root, "image_columns", strings(c->image_columns, c->n_images));
    bool sized = c->image_size[0] > 0 || c->image_size[1] > 0 || c->image_size[2] > 0;
    cJSON_AddItemToObject(root, "image_size", ints(c->image_size, sized ? 3 : 0));
    cJSON_AddItemToObject(root, "image_shape", ints(image_shape, image_shape[0] > 0 ? 4 : 0));
    cJSON_AddStringToObject(root, "normalization", c->norm == IE_SEG_NORM_SIMPLE ? "SimpleNorm" : "None");
    cJSON *num = cJSON_AddArrayToObject(root, "numerical");
    for (int j = 0; num && j < c->n_numerical; j++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "column", c->numerical_columns[j]);
        cJSON_AddItemToObject(e, "mean", exact(d->num_mean[j]));
        cJSON_AddItemToObject(e, "std", exact(d->num_sd[j]));
        cJSON_AddItemToArray(num, e);
    }
    cJSON *cat = cJSON_AddArrayToObject(root, "categorical");
    for (int j = 0; cat && j < c->n_categorical; j++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "column", c->categorical_columns[j]);
        cJSON_AddItemToObject(e, "values", strings((const char *const *)d->cat[j].values, d->cat[j].n));
        cJSON_AddItemToArray(cat, e);
    }
    bool standardized = c->target == IE_TARGET_REGRESSION && c->standardize_targets;
    cJSON_AddBoolToObject(root, "standardize_targets", standardized);
    if (standardized) {
        cJSON *t = cJSON_AddArrayToObject(root, "targets");
        for (int k = 0; t && k < d->K; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "output", ie_scalar_data_output_name(d, k));
            cJSON_AddItemToObject(e, "mean", exact(d->label_mean[k]));
            cJSON_AddItemToObject(e, "std", exact(d->label_scale[k]));
            cJSON_AddItemToArray(t, e);
        }
    }
    cJSON_AddBoolToObject(root, "impute_missing", c->impute_missing);
    cJSON_AddItemToObject(root, "features", strings((const char *const *)d->feature_names, d->F));
    cJSON_AddNumberToObject(root, "training_subjects", n_train);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    char *with_newline = realloc(text, n + 2);
    if (!with_newline) {
        free(text);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    }
    with_newline[n] = '\n';
    with_newline[n + 1] = '\0';
    ie_status st = ie_write_file_atomic(path, with_newline, n + 1);
    free(with_newline);
    return st;
}

/* ---- reading ---- */

/* What the data owns when built from a file: the parsed JSON (its strings
 * are the config's) and the arrays of pointers into it. */
typedef struct owned {
    cJSON *root;
    const char **names;
} owned;

static void owned_free(void *p) {
    owned *o = p;
    if (!o) return;
    cJSON_Delete(o->root);
    free(o->names);
    free(o);
}

typedef struct reader {
    const char *path;
    cJSON *root;
    const char **next; /* free slots of owned.names */
} reader;

static ie_status bad(const reader *r, const char *field, const char *what) {
    return ie_error_set(IE_ERR_IO, "%s: \"%s\" %s; the file is written by innereye train (a classification or "
                                   "regression run) and must not be edited",
                        r->path, field, what);
}

static ie_status get_strings(reader *r, const char *field, const char *const **out, int *n) {
    cJSON *a = cJSON_GetObjectItemCaseSensitive(r->root, field);
    if (!cJSON_IsArray(a)) return bad(r, field, "is missing or not a list of strings");
    *n = 0;
    *out = r->next;
    cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsString(e)) return bad(r, field, "holds something that is not a string");
        *r->next++ = e->valuestring;
        ++*n;
    }
    return IE_OK;
}

static ie_status get_number(const reader *r, const cJSON *obj, const char *field, const char *where, double *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    char name[400];
    snprintf(name, sizeof name, "%.300s.%.60s", where, field);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(r, name, "is missing or not a finite number");
    *out = v->valuedouble;
    return IE_OK;
}

static ie_status get_bool(const reader *r, const char *field, bool *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, field);
    if (!cJSON_IsBool(v)) return bad(r, field, "is missing or not true/false");
    *out = cJSON_IsTrue(v);
    return IE_OK;
}

static ie_status get_ints(const reader *r, const char *field, int64_t *out, int capacity, int *n) {
    cJSON *a = cJSON_GetObjectItemCaseSensitive(r->root, field);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > capacity) return bad(r, field, "is missing or too long");
    *n = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble != floor(e->valuedouble))
            return bad(r, field, "holds something that is not a size");
        out[(*n)++] = (int64_t)e->valuedouble;
    }
    return IE_OK;
}

/* The config part: target, columns, classes, images, options. */
static ie_status read_config(reader *r, ie_scalar_config *c, int64_t image_shape[4]) {
    cJSON *format = cJSON_GetObjectItemCaseSensitive(r->root, "format");
    cJSON *version = cJSON_GetObjectItemCaseSensitive(r->root, "version");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, FORMAT) != 0)
        return ie_error_set(IE_ERR_IO, "%s is not a data statistics file (no \"format\": \"" FORMAT "\")", r->path);
    if (!cJSON_IsNumber(version) || version->valuedouble != VERSION)
        return ie_error_set(IE_ERR_IO, "%s: version %g; this innereye reads version %d", r->path,
                            cJSON_IsNumber(version) ? version->valuedouble : 0.0, VERSION);
    cJSON *target = cJSON_GetObjectItemCaseSensitive(r->root, "target");
    const char *t = cJSON_IsString(target) ? target->valuestring : "";
    if (!strcmp(t, "binary")) c->target = IE_TARGET_BINARY;
    else if (!strcmp(t, "multiclass")) c->target = IE_TARGET_MULTICLASS;
    else if (!strcmp(t, "regression")) c->target = IE_TARGET_REGRESSION;
    else return bad(r, "target", "is not \"binary\", \"multiclass\" or \"regression\"");
    IE_TRY(get_strings(r, "label_columns", &c->label_columns, &c->n_labels));
    IE_TRY(get_strings(r, "classes", &c->class_names, &c->n_classes));
    IE_TRY(get_strings(r, "image_columns", &c->image_columns, &c->n_images));
    int n = 0;
    IE_TRY(get_ints(r, "image_size", c->image_size, 3, &n));
    if (n != 0 && n != 3) return bad(r, "image_size", "must be [] or [D, H, W]");
    IE_TRY(get_ints(r, "image_shape", image_shape, 4, &n));
    if (n != 0 && n != 4) return bad(r, "image_shape", "must be [] or [C, D, H, W]");
    if ((n == 4) != (c->n_images > 0)) return bad(r, "image_shape", "does not agree with image_columns");
    cJSON *norm = cJSON_GetObjectItemCaseSensitive(r->root, "normalization");
    const char *nm = cJSON_IsString(norm) ? norm->valuestring : "";
    if (!strcmp(nm, "None")) c->norm = IE_SEG_NORM_NONE;
    else if (!strcmp(nm, "SimpleNorm")) c->norm = IE_SEG_NORM_SIMPLE;
    else return bad(r, "normalization", "is not \"None\" or \"SimpleNorm\"");
    IE_TRY(get_bool(r, "standardize_targets", &c->standardize_targets));
    IE_TRY(get_bool(r, "impute_missing", &c->impute_missing));
    /* The column names of the features: numerical and categorical. */
    cJSON *num = cJSON_GetObjectItemCaseSensitive(r->root, "numerical");
    cJSON *cat = cJSON_GetObjectItemCaseSensitive(r->root, "categorical");
    if (!cJSON_IsArray(num)) return bad(r, "numerical", "is missing or not a list");
    if (!cJSON_IsArray(cat)) return bad(r, "categorical", "is missing or not a list");
    cJSON *e;
    c->numerical_columns = r->next;
    c->n_numerical = 0;
    cJSON_ArrayForEach(e, num) {
        cJSON *col = cJSON_GetObjectItemCaseSensitive(e, "column");
        if (!cJSON_IsString(col)) return bad(r, "numerical", "has an entry without \"column\"");
        *r->next++ = col->valuestring;
        c->n_numerical++;
    }
    c->categorical_columns = r->next;
    c->n_categorical = 0;
    cJSON_ArrayForEach(e, cat) {
        cJSON *col = cJSON_GetObjectItemCaseSensitive(e, "column");
        if (!cJSON_IsString(col)) return bad(r, "categorical", "has an entry without \"column\"");
        *r->next++ = col->valuestring;
        c->n_categorical++;
    }
    return IE_OK;
}

/* The numbers: feature statistics, vocabularies, target scales. */
static ie_status read_statistics(const reader *r, ie_scalar_data *d) {
    cJSON *num = cJSON_GetObjectItemCaseSensitive(r->root, "numerical");
    for (int j = 0; j < d->cfg.n_numerical; j++) {
        cJSON *e = cJSON_GetArrayItem(num, j);
        char where[64];
        snprintf(where, sizeof where, "numerical[%d]", j);
        IE_TRY(get_number(r, e, "mean", where, &d->num_mean[j]));
        IE_TRY(get_number(r, e, "std", where, &d->num_sd[j]));
        if (d->num_sd[j] < 0) return bad(r, where, "has a negative std");
    }
    cJSON *cat = cJSON_GetObjectItemCaseSensitive(r->root, "categorical");
    for (int j = 0; j < d->cfg.n_categorical; j++) {
        cJSON *values = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cat, j), "values");
        char where[64];
        snprintf(where, sizeof where, "categorical[%d].values", j);
        if (!cJSON_IsArray(values)) return bad(r, where, "is missing or not a list");
        ie_scalar_categorical *c = &d->cat[j];
        int n = cJSON_GetArraySize(values);
        c->values = calloc((size_t)n + 1, sizeof *c->values);
        if (!c->values) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", r->path);
        cJSON *v;
        cJSON_ArrayForEach(v, values) {
            if (!cJSON_IsString(v)) return bad(r, where, "holds something that is not a string");
            /* The one-hot order is the sorted order: lookups rely on it. */
            if (c->n > 0 && strcmp(c->values[c->n - 1], v->valuestring) >= 0)
                return bad(r, where, "is not sorted and distinct");
            c->values[c->n] = strdup(v->valuestring);
            if (!c->values[c->n]) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", r->path);
            c->n++;
        }
    }
    if (d->cfg.target != IE_TARGET_REGRESSION || !d->cfg.standardize_targets) return IE_OK;
    cJSON *targets = cJSON_GetObjectItemCaseSensitive(r->root, "targets");
    if (!cJSON_IsArray(targets) || cJSON_GetArraySize(targets) != d->K)
        return bad(r, "targets", "must list the mean and std of every output (standardize_targets is on)");
    for (int k = 0; k < d->K; k++) {
        char where[64];
        snprintf(where, sizeof where, "targets[%d]", k);
        IE_TRY(get_number(r, cJSON_GetArrayItem(targets, k), "mean", where, &d->label_mean[k]));
        IE_TRY(get_number(r, cJSON_GetArrayItem(targets, k), "std", where, &d->label_scale[k]));
        if (!(d->label_scale[k] > 0)) return bad(r, where, "has a std that is not positive");
    }
    return IE_OK;
}

/* outputs and features as recorded must be what this data builds. */
static ie_status check_names(const reader *r, const ie_scalar_data *d) {
    cJSON *outputs = cJSON_GetObjectItemCaseSensitive(r->root, "outputs");
    bool same = cJSON_IsArray(outputs) && cJSON_GetArraySize(outputs) == d->K;
    for (int k = 0; same && k < d->K; k++) {
        cJSON *o = cJSON_GetArrayItem(outputs, k);
        same = cJSON_IsString(o) && !strcmp(o->valuestring, ie_scalar_data_output_name(d, k));
    }
    if (!same) return bad(r, "outputs", "does not match the label columns and classes");
    cJSON *features = cJSON_GetObjectItemCaseSensitive(r->root, "features");
    same = cJSON_IsArray(features) && cJSON_GetArraySize(features) == d->F;
    for (int f = 0; same && f < d->F; f++) {
        cJSON *o = cJSON_GetArrayItem(features, f);
        same = cJSON_IsString(o) && !strcmp(o->valuestring, d->feature_names[f]);
    }
    if (!same) return bad(r, "features", "does not match the numerical and categorical columns");
    return IE_OK;
}

static int count_strings(const cJSON *root) {
    int n = 0;
    static const char *const lists[] = {"label_columns", "classes", "image_columns", "numerical", "categorical"};
    for (int i = 0; i < 5; i++) {
        cJSON *a = cJSON_GetObjectItemCaseSensitive(root, lists[i]);
        if (cJSON_IsArray(a)) n += cJSON_GetArraySize(a);
    }
    return n;
}

ie_status ie_scalar_data_from_statistics(const char *stats_path, const ie_dataset *ds, bool require_labels,
                                         ie_scalar_data **out) {
    *out = NULL;
    char *text = NULL;
    IE_TRY(ie_read_file(stats_path, &text, NULL));
    ie_status st = ie_scalar_data_from_statistics_text(text, stats_path, ds, require_labels, out);
    free(text);
    return st;
}

ie_status ie_scalar_data_from_statistics_text(const char *text, const char *stats_path, const ie_dataset *ds,
                                              bool require_labels, ie_scalar_data **out) {
    *out = NULL;
    owned *o = calloc(1, sizeof *o);
    if (o) o->root = cJSON_Parse(text);
    if (!o || !o->root) {
        owned_free(o);
        return ie_error_set(IE_ERR_IO, "%s: not valid JSON", stats_path);
    }
    o->names = calloc((size_t)count_strings(o->root) + 1, sizeof *o->names);
    if (!o->names) {
        owned_free(o);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", stats_path);
    }
    reader r = {.path = stats_path, .root = o->root, .next = o->names};
    ie_scalar_config cfg = {.target = IE_TARGET_BINARY};
    int64_t image_shape[4] = {0, 0, 0, 0};
    ie_status st = read_config(&r, &cfg, image_shape);
    ie_scalar_data *d = NULL;
    if (st == IE_OK)
        st = ie_scalar_data_begin(&cfg, ds, require_labels ? IE_SCALAR_LABELS_REQUIRED : IE_SCALAR_LABELS_OPTIONAL,
                                  &d);
    if (st != IE_OK) {
        owned_free(o);
        return st;
    }
    d->owned = o;
    d->owned_free = owned_free;
    memcpy(d->image_shape, image_shape, sizeof image_shape);
    st = read_statistics(&r, d);
    if (st == IE_OK) st = ie_scalar_data_finish(d, NULL);
    if (st == IE_OK) st = check_names(&r, d);
    if (st != IE_OK) {
        ie_scalar_data_free(d);
        return st;
    }
    *out = d;
    return IE_OK;
}

void ie_scalar_data_image_shape(const ie_scalar_data *d, int64_t shape[4]) {
    memcpy(shape, d->image_shape, sizeof d->image_shape);
}

ie_status ie_scalar_describe_inputs(const ie_scalar_data *d, const int64_t image_shape[4], cJSON *params) {
    cJSON_DeleteItemFromObject(params, "inputs");
    cJSON *in = cJSON_AddObjectToObject(params, "inputs");
    cJSON *shape = in ? cJSON_AddArrayToObject(in, "image_shape") : NULL;
    if (!shape) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    for (int i = 0; image_shape[0] && i < 4; i++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)image_shape[i]));
    cJSON_AddNumberToObject(in, "features", ie_scalar_data_feature_count(d));
    cJSON_AddNumberToObject(in, "outputs", ie_scalar_data_output_count(d));
    cJSON_AddStringToObject(in, "target", ie_scalar_target_name(d->cfg.target));
    return IE_OK;
}
