/* tools - `innereye serve` for classification and regression models
 * (serve_scalar.h): a request becomes a one-row dataset CSV that
 * ie_scalar_infer predicts, as `innereye infer --dataset` does. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util/csv.h"
#include "core/data/classification_regression_statistics.h"
#include "core/run/ensemble.h"
#include "core/inference/classification_regression_infer.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "tools/serve_scalar.h"

/* The weights ie_scalar_infer uses without --checkpoint: a run's last
 * checkpoint (checkpoints/last.json names it), or the ensemble's members'. */
static ie_status weights_sha256(const char *run, char *hex) {
    static char configs[IE_ENSEMBLE_MAX_MEMBERS][4200], weights[IE_ENSEMBLE_MAX_MEMBERS][4200];
    int n = 1;
    if (ie_ensemble_is(run)) {
        IE_TRY(ie_ensemble_members(run, &n, configs, weights, IE_ENSEMBLE_MAX_MEMBERS));
    } else {
        char last[4300], *text = NULL;
        IE_TRY(ie_path_format(last, sizeof last, "%s/checkpoints/last.json", run));
        IE_TRY(ie_read_file(last, &text, NULL));
        cJSON *rec = cJSON_Parse(text);
        free(text);
        const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "weights"));
        ie_status st = file ? ie_path_format(weights[0], sizeof weights[0], "%s/checkpoints/%s", run, file) : IE_OK;
        cJSON_Delete(rec);
        IE_TRY(st);
        if (!file) return ie_error_set(IE_ERR_IO, "%s: no \"weights\" entry (was the run stopped before its first "
                                       "checkpoint?)", last);
    }
    /* One model: its file's digest; an ensemble: the digest of its members'. */
    uint8_t digest[IE_ENSEMBLE_MAX_MEMBERS][IE_SHA256_DIGEST_SIZE], all[IE_SHA256_DIGEST_SIZE];
    for (int i = 0; i < n; i++) IE_TRY(ie_sha256_file(weights[i], digest[i]));
    if (n == 1) memcpy(all, digest[0], sizeof all);
    else ie_sha256_buffer(digest, (size_t)n * IE_SHA256_DIGEST_SIZE, all);
    ie_sha256_hex(all, hex);
    return IE_OK;
}

static ie_status add_columns(ie_serve_scalar *m, const char *key) {
    int count = 0;
    if (!ie_config_has(m->cfg, key)) return IE_OK;
    IE_TRY(ie_config_get_string_array(m->cfg, key, m->columns + m->n_columns,
                                      IE_SERVE_SCALAR_MAX_COLUMNS - m->n_columns, &count));
    m->n_columns += count;
    return IE_OK;
}

ie_status ie_serve_scalar_open(const char *run, ie_serve_scalar *m) {
    memset(m, 0, sizeof *m);
    IE_TRY(ie_path_format(m->run, sizeof m->run, "%s", run));
    char path[4300];
    IE_TRY(ie_path_format(path, sizeof path,
                          ie_ensemble_is(run) ? "%s/members/0/config.resolved.json" : "%s/config.resolved.json", run));
    IE_TRY(ie_config_new(&m->cfg));
    IE_TRY(ie_config_add_file(m->cfg, path));
    IE_TRY(ie_config_resolve(m->cfg));
    IE_TRY(add_columns(m, "data.scalar.image_columns"));
    m->n_images = m->n_columns;
    IE_TRY(add_columns(m, "data.scalar.numerical_columns"));
    IE_TRY(add_columns(m, "data.scalar.categorical_columns"));
    /* What the model predicts, as the run's training statistics say it. */
    ie_ensemble_member member = {0};
    if (ie_ensemble_is(run)) IE_TRY(ie_ensemble_member_info(run, 0, &member));
    else IE_TRY(ie_path_format(member.statistics, sizeof member.statistics, "%s/" IE_SCALAR_STATISTICS_FILE, run));
    char *text = NULL;
    IE_TRY(ie_read_file(member.statistics, &text, NULL));
    m->statistics = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m->statistics, "target")))
        return ie_error_set(IE_ERR_IO, "%s: no \"target\" entry; train the run again with this innereye",
                            member.statistics);
    return weights_sha256(run, m->weights_sha256);
}

void ie_serve_scalar_close(ie_serve_scalar *m) {
    ie_config_free(m->cfg);
    cJSON_Delete(m->statistics);
    m->cfg = NULL;
    m->statistics = NULL;
}

char *ie_serve_scalar_model_json(const ie_serve_scalar *m, const char *source) {
    const char *name = "";
    ie_config_get_string(m->cfg, "model.name", &name);
    const char *target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m->statistics, "target"));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "task", !strcmp(target, "regression") ? "regression" : "classification");
    cJSON_AddStringToObject(j, "target", target);
    cJSON *outputs = cJSON_GetObjectItemCaseSensitive(m->statistics, "outputs");
    if (outputs) cJSON_AddItemToObject(j, "outputs", cJSON_Duplicate(outputs, true));
    cJSON_AddStringToObject(j, "weights_sha256", m->weights_sha256);
    cJSON *images = cJSON_AddArrayToObject(j, "image_columns"), *values = cJSON_AddArrayToObject(j, "value_columns");
    for (int c = 0; c < m->n_columns; c++)
        cJSON_AddItemToArray(c < m->n_images ? images : values, cJSON_CreateString(m->columns[c]));
    cJSON_AddStringToObject(j, "source", source);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) return NULL;
    char *out = malloc(strlen(text) + 2);
    if (out) sprintf(out, "%s\n", text);
    cJSON_free(text);
    return out;
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
 * where the CSV goes); a column without a field stays empty, for infer's
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

/* predictions.csv (subject,target,label,prediction,split,epoch) as the
 * answer, each prediction's text as infer wrote it. */
static ie_status answer_json(const char *path, ie_serve_reply *reply) {
    ie_csv *csv = NULL;
    IE_TRY(ie_csv_read(path, &csv));
    int target = ie_csv_column(csv, "target"), prediction = ie_csv_column(csv, "prediction");
    ie_status st = target < 0 || prediction < 0 ? ie_error_set(IE_ERR_INTERNAL, "%s: no target or prediction "
                                                               "column", path) : IE_OK;
    cJSON *j = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(j, "predictions");
    for (int r = 0; st == IE_OK && r < csv->n_rows; r++) {
        const char *text = ie_csv_cell(csv, r, prediction);
        char *end = NULL;
        double v = strtod(text, &end);
        if (!text[0] || *end || !isfinite(v)) {
            st = ie_error_set(IE_ERR_INTERNAL, "the model predicted '%s' for %s, not a finite number", text,
                              ie_csv_cell(csv, r, target));
            break;
        }
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "target", ie_csv_cell(csv, r, target));
        cJSON_AddItemToObject(row, "prediction", cJSON_CreateRaw(text)); /* infer's digits, not reprinted */
        cJSON_AddItemToArray(list, row);
    }
    char *text = st == IE_OK ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    ie_csv_free(csv);
    IE_TRY(st);
    if (!text) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    size_t n = strlen(text);
    reply->body = malloc(n + 2);
    if (reply->body) {
        memcpy(reply->body, text, n);
        reply->body[n] = '\n';
        reply->size = n + 1;
    }
    cJSON_free(text);
    return reply->body ? IE_OK : ie_error_set(IE_ERR_NOMEM, "out of memory");
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
    char csv[4400], out[4400], predictions[4500];
    if (ie_path_format(csv, sizeof csv, "%s/request.csv", work_dir) != IE_OK ||
        ie_path_format(out, sizeof out, "%s/out", work_dir) != IE_OK ||
        ie_path_format(predictions, sizeof predictions, "%s/predictions.csv", out) != IE_OK) {
        refuse(reply, 500, "%s", ie_error_message()); /* the server's --tmp folder is too deep */
        return;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size); /* then written atomically */
    if (!f) {
        refuse(reply, 503, "the server is out of memory");
        return;
    }
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
    ie_scalar_infer_request r = {.run = m->run, .dataset = csv, .out = out};
    ie_status st = ie_write_stream_atomic(f, &text, &size, csv);
    if (st != IE_OK) { /* the server's fault, not the request's */
        refuse(reply, st == IE_ERR_NOMEM ? 503 : 500, "%s", ie_error_message());
        return;
    }
    st = ie_scalar_infer(&r);
    if (st == IE_OK) st = answer_json(predictions, reply);
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
