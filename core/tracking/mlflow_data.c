/* core/tracking - a run folder's metrics, parameters and times for MLflow. */
#define _GNU_SOURCE /* timegm */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/util/csv.h"
#include "core/tracking/mlflow_data.h"
#include "core/util/path.h"

void ie_mlflow_key(const char *name, char *out, size_t size) {
    static const char keep[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
    size_t j = 0, limit = size - 1 < IE_MLFLOW_KEY_MAX ? size - 1 : IE_MLFLOW_KEY_MAX;
    for (; *name && j < limit; name++) out[j++] = strchr(keep, *name) ? *name : '_';
    out[j] = '\0';
}

long long ie_mlflow_iso_ms(const char *iso) {
    struct tm tm = {0};
    if (!iso || sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                       &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000;
}

static cJSON *read_json(const char *run_dir, const char *name) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    char buf[8192];
    size_t n;
    while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, mem);
    fclose(f);
    if (mem) fclose(mem);
    cJSON *json = text ? cJSON_Parse(text) : NULL;
    free(text);
    return json;
}

/* Arrays hold 16, 32, 64, ... entries: full when n is 16 or a larger power
 * of two (or still unallocated). */
static bool grow_now(int n) {
    return n == 0 || (n >= 16 && (n & (n - 1)) == 0);
}

/* Appends to a growing array of metrics. */
static ie_status add_metric(ie_mlflow_metric **list, int *n, const char *name, double value, long long ms,
                            long step) {
    if (grow_now(*n)) {
        ie_mlflow_metric *grown = realloc(*list, (size_t)(*n ? 2 * *n : 16) * sizeof **list);
        if (!grown) return ie_error_set(IE_ERR_NOMEM, "out of memory");
        *list = grown;
    }
    ie_mlflow_metric *m = &(*list)[(*n)++];
    ie_mlflow_key(name, m->key, sizeof m->key);
    m->value = value, m->timestamp_ms = ms, m->step = step;
    return IE_OK;
}

static ie_status epoch_metrics(const char *run_dir, ie_mlflow_run_data *d) {
    char path[PATH_MAX + 64];
    IE_TRY(ie_path_format(path, sizeof path, "%s/train_log.csv", run_dir));
    ie_csv *csv = NULL;
    if (ie_csv_read(path, &csv) != IE_OK) return IE_OK; /* no epoch yet */
    int epoch_col = ie_csv_column(csv, "epoch"), seconds_col = ie_csv_column(csv, "seconds");
    ie_status st = IE_OK;
    double elapsed = 0;
    for (int r = 0; st == IE_OK && r < csv->n_rows; r++) {
        if (seconds_col >= 0) elapsed += atof(ie_csv_cell(csv, r, seconds_col));
        long epoch = epoch_col >= 0 ? atol(ie_csv_cell(csv, r, epoch_col)) : r + 1;
        for (int c = 0; st == IE_OK && c < csv->n_columns; c++) {
            if (c == epoch_col || c == seconds_col) continue;
            char *end;
            double v = strtod(ie_csv_cell(csv, r, c), &end);
            if (*end || end == ie_csv_cell(csv, r, c) || !isfinite(v)) continue; /* e.g. nan: no validation */
            st = add_metric(&d->epoch, &d->n_epoch, csv->header[c], v, d->start_ms + (long long)(elapsed * 1000),
                            epoch);
        }
    }
    ie_csv_free(csv);
    return st;
}

/* Segmentation: metrics.csv (Patient, Structure, metric columns). */
static ie_status structure_means(const ie_csv *csv, int group, ie_mlflow_run_data *d, long long ms) {
    ie_status st = IE_OK;
    for (int c = 0; st == IE_OK && c < csv->n_columns; c++) {
        const char *h = csv->header[c];
        if (c == group || !strcmp(h, "Patient") || !strcmp(h, "subject")) continue;
        for (int r = 0; st == IE_OK && r < csv->n_rows; r++) {
            const char *g = ie_csv_cell(csv, r, group);
            bool seen = false;
            for (int q = 0; q < r; q++) seen |= !strcmp(ie_csv_cell(csv, q, group), g);
            if (seen) continue;
            double sum = 0;
            int n = 0;
            for (int q = r; q < csv->n_rows; q++) {
                if (strcmp(ie_csv_cell(csv, q, group), g)) continue;
                char *end;
                double v = strtod(ie_csv_cell(csv, q, c), &end);
                if (!*end && end != ie_csv_cell(csv, q, c) && isfinite(v)) sum += v, n++;
            }
            char name[512];
            snprintf(name, sizeof name, "test_%s_%s", h, g);
            if (n) st = add_metric(&d->test, &d->n_test, name, sum / n, ms, 0);
        }
    }
    return st;
}

static ie_status test_metrics(const char *run_dir, const cJSON *record, ie_mlflow_run_data *d) {
    long long ms = d->end_ms ? d->end_ms : (long long)time(NULL) * 1000;
    char path[PATH_MAX + 64];
    IE_TRY(ie_path_format(path, sizeof path, "%s/metrics.csv", run_dir));
    ie_csv *csv = NULL;
    if (ie_csv_read(path, &csv) == IE_OK) {
        int group = ie_csv_column(csv, "Structure");
        ie_status st = group >= 0 ? structure_means(csv, group, d, ms) : IE_OK;
        ie_csv_free(csv);
        if (group >= 0) return st;
    }
    /* Classification and regression: run.json's {target: {metric: value}}. */
    const cJSON *target;
    cJSON_ArrayForEach(target, cJSON_GetObjectItemCaseSensitive(record, "test_metrics")) {
        const cJSON *m;
        if (cJSON_IsNumber(target) && isfinite(target->valuedouble)) {
            char name[512];
            snprintf(name, sizeof name, "test_%s", target->string);
            IE_TRY(add_metric(&d->test, &d->n_test, name, target->valuedouble, ms, 0));
        }
        cJSON_ArrayForEach(m, target) {
            if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble)) continue;
            char name[512];
            snprintf(name, sizeof name, "test_%s_%s", m->string, target->string);
            IE_TRY(add_metric(&d->test, &d->n_test, name, m->valuedouble, ms, 0));
        }
    }
    return IE_OK;
}

static ie_status add_params(const cJSON *node, const char *prefix, ie_mlflow_run_data *d) {
    const cJSON *c;
    cJSON_ArrayForEach(c, node) {
        char key[1024];
        snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", c->string ? c->string : "");
        if (cJSON_IsObject(c)) {
            IE_TRY(add_params(c, key, d));
            continue;
        }
        if (grow_now(d->n_params)) {
            ie_mlflow_param *grown = realloc(d->params, (size_t)(d->n_params ? 2 * d->n_params : 16) * sizeof *grown);
            if (!grown) return ie_error_set(IE_ERR_NOMEM, "out of memory");
            d->params = grown;
        }
        ie_mlflow_param *p = &d->params[d->n_params];
        p->value = cJSON_IsString(c) ? strdup(c->valuestring) : cJSON_PrintUnformatted(c);
        if (!p->value) return ie_error_set(IE_ERR_NOMEM, "out of memory");
        ie_mlflow_key(key, p->key, sizeof p->key);
        d->n_params++;
    }
    return IE_OK;
}

ie_status ie_mlflow_run_data_read(const char *run_dir, ie_mlflow_run_data *d) {
    memset(d, 0, sizeof *d);
    snprintf(d->mlflow_mode, sizeof d->mlflow_mode, "auto");
    cJSON *record = read_json(run_dir, "run.json");
    d->start_ms = ie_mlflow_iso_ms(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "start_time")));
    d->end_ms = ie_mlflow_iso_ms(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "end_time")));
    if (!d->start_ms) d->start_ms = (long long)time(NULL) * 1000;
    ie_status st = epoch_metrics(run_dir, d);
    if (st == IE_OK) st = test_metrics(run_dir, record, d);
    cJSON_Delete(record);
    cJSON *config = st == IE_OK ? read_json(run_dir, "config.resolved.json") : NULL;
    if (config) {
        st = add_params(config, "", d);
        const char *mode = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(config, "run"), "mlflow"));
        if (mode) snprintf(d->mlflow_mode, sizeof d->mlflow_mode, "%s", mode);
        cJSON_Delete(config);
    }
    if (st != IE_OK) ie_mlflow_run_data_free(d);
    return st;
}

void ie_mlflow_run_data_free(ie_mlflow_run_data *d) {
    for (int i = 0; i < d->n_params; i++) free(d->params[i].value);
    free(d->params);
    free(d->epoch);
    free(d->test);
    memset(d, 0, sizeof *d);
}
