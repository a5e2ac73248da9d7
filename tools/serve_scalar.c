/* tools - `innereye serve` for classification and regression models
 * (serve_scalar.h): the run opened once; a request becomes a one-row
 * dataset that the opened run predicts, as `innereye infer --dataset`
 * does. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/data/dataset.h"
#include "core/plugin/model_settings.h"
#include "core/metrics/classification_regression_predictions.h"
#include "core/run/ensemble.h"
#include "core/util/csv.h"
#include "tools/serve_scalar.h"

static ie_status add_columns(ie_serve_scalar *m, const char *const *names, int n) {
    if (m->n_columns + n > IE_SERVE_SCALAR_MAX_COLUMNS)
        return ie_error_set(IE_ERR_UNSUPPORTED, "the model takes more than %d columns; innereye serve answers at "
                            "most %d (use innereye infer --dataset)", IE_SERVE_SCALAR_MAX_COLUMNS,
                            IE_SERVE_SCALAR_MAX_COLUMNS);
    for (int c = 0; c < n; c++) m->columns[m->n_columns++] = names[c];
    return IE_OK;
}

ie_status ie_serve_scalar_open(const char *run, ie_serve_scalar *m) {
    memset(m, 0, sizeof *m);
    IE_TRY(ie_scalar_session_open(run, NULL, &m->session));
    /* The columns the statistics prepare: what a request must give. */
    const ie_scalar_config *c = ie_scalar_data_config(m->session.members[0].model.data);
    IE_TRY(add_columns(m, c->image_columns, c->n_images));
    m->n_images = m->n_columns;
    IE_TRY(add_columns(m, c->numerical_columns, c->n_numerical));
    IE_TRY(add_columns(m, c->categorical_columns, c->n_categorical));
    return IE_OK;
}

void ie_serve_scalar_close(ie_serve_scalar *m) { ie_scalar_session_close(&m->session); }

char *ie_serve_scalar_model_json(const ie_serve_scalar *m, const char *source) {
    const ie_scalar_model *first = &m->session.members[0].model;
    ie_model_settings model = {.name = ""};
    ie_model_settings_read(first->cfg, &model); /* the member's config is resolved: it cannot fail */
    const char *name = model.name;
    ie_scalar_target target = ie_scalar_data_config(first->data)->target;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "task", target == IE_TARGET_REGRESSION ? "regression" : "classification");
    cJSON_AddStringToObject(j, "target", ie_scalar_target_name(target));
    cJSON *outputs = cJSON_AddArrayToObject(j, "outputs");
    for (int k = 0; k < ie_scalar_data_output_count(first->data); k++)
        cJSON_AddItemToArray(outputs, cJSON_CreateString(ie_scalar_data_output_name(first->data, k)));
    cJSON_AddNumberToObject(j, "members", m->session.n_members);
    cJSON_AddStringToObject(j, "weights_sha256", m->session.weights_sha256);
    cJSON *images = cJSON_AddArrayToObject(j, "image_columns"), *values = cJSON_AddArrayToObject(j, "value_columns");
    for (int c = 0; c < m->n_columns; c++)
        cJSON_AddItemToArray(c < m->n_images ? images : values, cJSON_CreateString(m->columns[c]));
    cJSON_AddStringToObject(j, "source", source);
    return ie_serve_json_text(j, NULL);
}

static void refuse(ie_serve_reply *reply, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(ie_serve_reply *reply, int status, const char *fmt, ...) {
    reply->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply->message, sizeof reply->message, fmt, ap);
    va_end(ap);
}

/* "age, bmi (values), filePath (files)" for messages. */
static void column_names(const ie_serve_scalar *m, char *out, size_t size) {
    out[0] = '\0';
    for (int c = 0; c < m->n_columns; c++) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s (%s)", c ? ", " : "", m->columns[c], c < m->n_images ? "a file" : "a value");
    }
}

/* The inputs as one text per column (a file's path relative to work_dir,
 * the request dataset's root); a column without a field stays empty, for infer's
 * own checks (a missing value is refused, or imputed if the run imputes). */
static bool cells_of(const ie_serve_scalar *m, const ie_serve_input *in, int n, const char *work_dir,
                     const char **cells, ie_serve_reply *reply) {
    char names[2000];
    column_names(m, names, sizeof names);
    for (int c = 0; c < m->n_columns; c++) cells[c] = "";
    size_t skip = strlen(work_dir) + 1;
    if (!in[0].name) {
        if (m->n_columns == 1 && m->n_images == 1) {
            cells[0] = in[0].image + skip;
            return true;
        }
        refuse(reply, 400, "the model takes the columns %s: send them as multipart/form-data fields (curl -F "
               "NAME=@FILE for a file, -F NAME=VALUE for a value)", names);
        return false;
    }
    for (int i = 0; i < n; i++) {
        int c = 0;
        while (c < m->n_columns && strcmp(in[i].name, m->columns[c]) != 0) c++;
        if (c == m->n_columns) {
            refuse(reply, 400, "the multipart field '%.100s' is not a column this model takes; its columns are %s",
                   in[i].name, names);
            return false;
        }
        bool file = c < m->n_images;
        if (file != (in[i].image != NULL)) {
            refuse(reply, 400, "the multipart field '%.100s' must be %s", in[i].name,
                   file ? "a file (curl -F NAME=@FILE)" : "a value (curl -F NAME=VALUE), not a file");
            return false;
        }
        if (!file)
            for (const char *p = in[i].value; *p; p++)
                if ((unsigned char)*p < ' ') {
                    refuse(reply, 400, "the value of field '%.100s' holds a line break or control character: give "
                           "one line of text", in[i].name);
                    return false;
                }
        cells[c] = file ? in[i].image + skip : in[i].value;
    }
    return true;
}

/* The predictions of the request's one subject as JSON, each the text
 * infer writes into predictions.csv. */
static ie_status answer_json(const ie_scalar_data *data, const double *mean, ie_serve_reply *reply) {
    cJSON *j = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(j, "predictions");
    for (int k = 0; k < ie_scalar_data_output_count(data); k++) {
        if (!isfinite(mean[k])) {
            cJSON_Delete(j);
            return ie_error_set(IE_ERR_INTERNAL, "the model predicted %g for %s, not a finite number", mean[k],
                                ie_scalar_data_output_name(data, k));
        }
        char text[IE_PREDICTION_TEXT_SIZE];
        ie_prediction_text(mean[k], text);
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "target", ie_scalar_data_output_name(data, k));
        cJSON_AddItemToObject(row, "prediction", cJSON_CreateRaw(text)); /* infer's digits, not reprinted */
        cJSON_AddItemToArray(list, row);
    }
    reply->body = ie_serve_json_text(j, &reply->size);
    return reply->body ? IE_OK : ie_error_set(IE_ERR_NOMEM, "out of memory");
}

/* The request as a one-row dataset CSV (subject "upload"), files relative
 * to work_dir. */
static ie_status request_dataset(const ie_serve_scalar *m, const char *const *cells, const char *work_dir,
                                 ie_dataset **ds) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    fputs("subject", f);
    for (int c = 0; c < m->n_columns; c++) {
        fputc(',', f);
        ie_csv_write_field(f, m->columns[c]);
    }
    fputs("\nupload", f);
    for (int c = 0; c < m->n_columns; c++) {
        fputc(',', f);
        ie_csv_write_field(f, cells[c]);
    }
    fputc('\n', f);
    if (fclose(f) != 0) {
        free(text);
        return ie_error_set(IE_ERR_NOMEM, "out of memory");
    }
    ie_status st = ie_dataset_parse(text, size, "the request", work_dir, "subject", ds);
    free(text);
    return st;
}

void ie_serve_scalar_answer(void *ctx, const ie_serve_input *inputs, int n_inputs, ie_serve_format format,
                            const char *work_dir, ie_serve_reply *reply) {
    ie_serve_scalar *m = ctx;
    if (format != IE_SERVE_NIFTI) {
        refuse(reply, 400, "format= is for segmentation models; a classification or regression model answers "
               "JSON: leave format out");
        return;
    }
    const char *cells[IE_SERVE_SCALAR_MAX_COLUMNS];
    if (!cells_of(m, inputs, n_inputs, work_dir, cells, reply)) return;
    ie_dataset *ds = NULL;
    ie_scalar_data *data = NULL;
    double *mean = NULL;
    ie_status st = request_dataset(m, cells, work_dir, &ds);
    if (st == IE_OK) st = ie_scalar_session_predict(&m->session, ds, &data, &mean);
    if (st == IE_OK) st = answer_json(data, mean, reply);
    free(mean);
    ie_scalar_data_free(data);
    ie_dataset_free(ds);
    if (st != IE_OK) {
        /* The request's fault unless the server or a plugin broke. */
        refuse(reply, st == IE_ERR_NOMEM                                                    ? 503
                      : st == IE_ERR_INTERNAL || st == IE_ERR_PLUGIN || st == IE_ERR_STATE ? 500
                                                                                          : 400,
               "%s", ie_error_message());
        return;
    }
    reply->status = 200;
    reply->content_type = "application/json";
}
