/* core/submit - MLflow file-store mirror of a run's metrics. */
#define _GNU_SOURCE /* timegm */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/checkpoint/checkpoint.h"
#include "core/data/csv.h"
#include "core/submit/azureml.h"
#include "core/submit/mlflow_files.h"

static ie_status mkdir_one(const char *path) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", path, strerror(errno));
    return IE_OK;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    if (text) text[got] = '\0';
    return text;
}

/* MLflow names: letters, digits and _-. /; anything else becomes '_'. */
static void safe_name(const char *in, char *out, size_t size) {
    size_t j = 0;
    for (; *in && j + 1 < size; in++)
        out[j++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", *in) ? *in : '_';
    out[j] = '\0';
}

/* "2026-11-26T21:45:03Z" -> ms since the epoch; 0 when unreadable. */
static long long iso_ms(const char *iso) {
    struct tm tm = {0};
    if (!iso || sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                       &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000;
}

static ie_status write(const char *dir, const char *name, const char *text) {
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return ie_write_file_atomic(path, text, strlen(text));
}

/* Scalar config values as params/<dotted key>. */
static ie_status params(const char *dir, const cJSON *node, const char *prefix) {
    const cJSON *c;
    cJSON_ArrayForEach(c, node) {
        char key[512], name[512];
        snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", c->string ? c->string : "");
        if (cJSON_IsObject(c)) {
            IE_TRY(params(dir, c, key));
            continue;
        }
        char *value = cJSON_IsString(c) ? strdup(c->valuestring) : cJSON_PrintUnformatted(c);
        if (!value) return ie_error_set(IE_ERR_NOMEM, "out of memory");
        safe_name(key, name, sizeof name);
        ie_status st = write(dir, name, value);
        free(value);
        IE_TRY(st);
    }
    return IE_OK;
}

/* Every numeric column of train_log.csv but epoch and seconds, one line per
 * epoch; the timestamps are the run's start plus the epochs' seconds. */
static ie_status epoch_metrics(const char *run_dir, const char *dir, long long start_ms) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/train_log.csv", run_dir);
    ie_csv *csv = NULL;
    if (ie_csv_read(path, &csv) != IE_OK) return IE_OK; /* no epoch yet */
    int epoch_col = ie_csv_column(csv, "epoch"), seconds_col = ie_csv_column(csv, "seconds");
    ie_status st = IE_OK;
    for (int c = 0; st == IE_OK && c < csv->n_columns; c++) {
        if (c == epoch_col || c == seconds_col) continue;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
        double elapsed = 0;
        for (int r = 0; r < csv->n_rows; r++) {
            char *end;
            double v = strtod(ie_csv_cell(csv, r, c), &end);
            if (seconds_col >= 0) elapsed += atof(ie_csv_cell(csv, r, seconds_col));
            if (*end || !isfinite(v)) continue;
            long epoch = epoch_col >= 0 ? atol(ie_csv_cell(csv, r, epoch_col)) : r + 1;
            fprintf(f, "%lld %.9g %ld\n", start_ms + (long long)(elapsed * 1000), v, epoch);
        }
        fclose(f);
        char name[256];
        safe_name(csv->header[c], name, sizeof name);
        if (size) st = write(dir, name, text);
        free(text);
    }
    ie_csv_free(csv);
    return st;
}

/* metrics.csv: the mean of each metric column per structure over the test
 * subjects, as test_<metric>_<structure> (e.g. test_Dice_anterior). */
static ie_status test_metrics(const char *run_dir, const char *dir, long long ms) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    ie_csv *csv = NULL;
    if (ie_csv_read(path, &csv) != IE_OK) return IE_OK;
    int group = ie_csv_column(csv, "Structure");
    ie_status st = IE_OK;
    for (int c = 0; st == IE_OK && c < csv->n_columns; c++) {
        const char *h = csv->header[c];
        if (c == group || !strcmp(h, "Patient") || !strcmp(h, "subject")) continue;
        /* One metric file per (column, structure). */
        for (int r = 0; st == IE_OK && r < csv->n_rows; r++) {
            const char *g = group >= 0 ? ie_csv_cell(csv, r, group) : "all";
            bool seen = false;
            for (int q = 0; q < r && group >= 0; q++) seen |= !strcmp(ie_csv_cell(csv, q, group), g);
            if (seen) continue;
            double sum = 0;
            int n = 0;
            for (int q = r; q < csv->n_rows; q++) {
                if (group >= 0 && strcmp(ie_csv_cell(csv, q, group), g)) continue;
                char *end;
                double v = strtod(ie_csv_cell(csv, q, c), &end);
                if (!*end && isfinite(v)) sum += v, n++;
            }
            if (!n) continue;
            char key[512], name[512], line[128];
            snprintf(key, sizeof key, "test_%s_%s", h, g);
            safe_name(key, name, sizeof name);
            snprintf(line, sizeof line, "%lld %.9g 0\n", ms, sum / n);
            st = write(dir, name, line);
        }
    }
    ie_csv_free(csv);
    return st;
}

ie_status ie_mlflow_sync(const char *run_dir, const char *status) {
    const char *run_id = ie_azureml_run_id();
    if (!run_id) return IE_OK;
    char abs_run[PATH_MAX], id[256], exp_dir[PATH_MAX + 32], dir[PATH_MAX + 300], sub[PATH_MAX + 320];
    if (!realpath(run_dir, abs_run)) return ie_error_set(IE_ERR_IO, "%s: %s", run_dir, strerror(errno));
    /* MLflow run ids are [A-Za-z0-9_-] (AzureML's may hold dots). */
    safe_name(run_id, id, sizeof id);
    for (char *p = id; *p; p++)
        if (*p == '.') *p = '_';
    char *record_text = NULL, path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/run.json", abs_run);
    record_text = read_text(path);
    cJSON *record = record_text ? cJSON_Parse(record_text) : NULL;
    free(record_text);
    long long start = iso_ms(cJSON_GetStringValue(cJSON_GetObjectItem(record, "start_time")));
    long long end = iso_ms(cJSON_GetStringValue(cJSON_GetObjectItem(record, "end_time")));
    cJSON_Delete(record);
    long long now = (long long)time(NULL) * 1000;
    if (!start) start = now;

    snprintf(exp_dir, sizeof exp_dir, "%s/mlruns", abs_run);
    IE_TRY(mkdir_one(exp_dir));
    snprintf(exp_dir, sizeof exp_dir, "%s/mlruns/0", abs_run);
    IE_TRY(mkdir_one(exp_dir));
    const char *experiment = getenv("AZUREML_ARM_PROJECT_NAME");
    char text[4 * PATH_MAX];
    snprintf(text, sizeof text,
             "artifact_location: file://%s\ncreation_time: %lld\nexperiment_id: '0'\nlast_update_time: %lld\n"
             "lifecycle_stage: active\nname: %s\n",
             exp_dir, start, now, experiment && experiment[0] ? experiment : "Default");
    IE_TRY(write(exp_dir, "meta.yaml", text));
    snprintf(dir, sizeof dir, "%s/%s", exp_dir, id);
    IE_TRY(mkdir_one(dir));
    /* MLflow's RunStatus: RUNNING 1, FINISHED 3, FAILED 4. */
    int code = !strcmp(status, "FINISHED") ? 3 : !strcmp(status, "FAILED") ? 4 : 1;
    const char *slash = strrchr(abs_run, '/');
    char end_text[32];
    if (code == 1) snprintf(end_text, sizeof end_text, "null");
    else snprintf(end_text, sizeof end_text, "%lld", end ? end : now);
    snprintf(text, sizeof text,
             "artifact_uri: file://%s/artifacts\nend_time: %s\nentry_point_name: ''\nexperiment_id: '0'\n"
             "lifecycle_stage: active\nrun_id: %s\nrun_name: %s\nrun_uuid: %s\nsource_name: ''\nsource_type: 4\n"
             "source_version: ''\nstart_time: %lld\nstatus: %d\ntags: []\nuser_id: innereye\n",
             dir, end_text, id, slash ? slash + 1 : abs_run, id, start, code);
    IE_TRY(write(dir, "meta.yaml", text));
    snprintf(sub, sizeof sub, "%s/metrics", dir);
    IE_TRY(mkdir_one(sub));
    IE_TRY(epoch_metrics(abs_run, sub, start));
    IE_TRY(test_metrics(abs_run, sub, end ? end : now));
    snprintf(sub, sizeof sub, "%s/tags", dir);
    IE_TRY(mkdir_one(sub));
    IE_TRY(write(sub, "mlflow.runName", slash ? slash + 1 : abs_run));
    snprintf(sub, sizeof sub, "%s/params", dir);
    IE_TRY(mkdir_one(sub));
    snprintf(path, sizeof path, "%s/config.resolved.json", abs_run);
    char *config_text = read_text(path);
    cJSON *config = config_text ? cJSON_Parse(config_text) : NULL;
    free(config_text);
    ie_status st = config ? params(sub, config, "") : IE_OK;
    cJSON_Delete(config);
    return st;
}

void ie_mlflow_mirror(const char *run_dir, const char *status) {
    if (!ie_azureml_run_id()) return;
    char message[2048];
    snprintf(message, sizeof message, "%s", ie_error_message()); /* keep the run's own error message */
    if (ie_mlflow_sync(run_dir, status) != IE_OK)
        fprintf(stderr, "warning: the MLflow copy of the metrics (mlruns/) was not updated: %s\n", ie_error_message());
    ie_error_set(IE_ERR_IO, "%s", message);
}
