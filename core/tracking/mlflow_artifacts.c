/* core/tracking - the report and metrics files as MLflow artifacts. */
#include "core/tracking/mlflow_artifacts.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/tracking/mlflow_files.h"
#include "core/tracking/mlflow_data.h"
#include "core/tracking/mlflow_remote.h"
#include "core/tracking/mlflow_rest.h"
#include "core/util/file_util.h"
#include "innereye/config.h"

static const char *const FILES[] = {"report.html",     "metrics.csv",           "metrics_aggregates.csv",
                                    "train_log.csv",   "predictions.csv",       "confusion_matrix.csv",
                                    "cv_summary.csv",  "cv_metrics.csv",        "ensemble_comparison.csv",
                                    "sweep.csv",       "val_metrics.csv",       "val_metrics_aggregates.csv",
                                    "postprocessing.csv"};
#define N_FILES (int)(sizeof FILES / sizeof FILES[0])

static unsigned warned; /* one warning per kind of problem and process */

static void warn_once(unsigned bit, const char *fmt, const char *a, const char *b) {
    if (warned & bit) return;
    warned |= bit;
    fprintf(stderr, fmt, a, b);
    fflush(stderr);
}

static bool is_file(const char *path) {
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static bool mlflow_off(const char *dir) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config.resolved.json", dir);
    ie_config *cfg = NULL;
    const char *mode = "auto";
    bool off = false;
    if (ie_config_new(&cfg) == IE_OK && ie_config_add_file(cfg, path) == IE_OK && ie_config_resolve(cfg) == IE_OK &&
        ie_config_get_string(cfg, "run.mlflow", &mode) == IE_OK)
        off = !strcmp(mode, "off");
    ie_config_free(cfg);
    return off;
}

/* Inside an AzureML job: beside the metrics the run wrote into mlruns/. */
static void copy_to_file_store(const char *abs_dir) {
    char id[256], run[PATH_MAX + 300], artifacts[PATH_MAX + 320];
    ie_mlflow_key(ie_azureml_run_id(), id, sizeof id);
    for (char *p = id; *p; p++)
        if (*p == '.') *p = '_'; /* as mlflow_files.c names the run */
    snprintf(run, sizeof run, "%s/mlruns/0/%s", abs_dir, id);
    struct stat s;
    if (stat(run, &s) != 0) return; /* this folder logged no MLflow run (a cross-validation's parent) */
    snprintf(artifacts, sizeof artifacts, "%s/artifacts", run);
    if (ie_make_dirs(artifacts) != IE_OK) {
        warn_once(1, "warning: MLflow: %s%s\n", ie_error_message(), "");
        return;
    }
    for (int i = 0; i < N_FILES; i++) {
        char from[PATH_MAX + 64], to[PATH_MAX + 400], *text = NULL;
        size_t size = 0;
        snprintf(from, sizeof from, "%s/%s", abs_dir, FILES[i]);
        snprintf(to, sizeof to, "%s/%s", artifacts, FILES[i]);
        if (!is_file(from)) continue;
        if (ie_read_file(from, &text, &size) != IE_OK || ie_write_file_atomic(to, text, size) != IE_OK)
            warn_once(1, "warning: MLflow: the artifacts were not copied into mlruns/: %s%s\n", ie_error_message(), "");
        free(text);
    }
}

/* The MLflow run the folder's metrics went to. */
static bool run_id_of(const char *abs_dir, const ie_mlflow_client *c, char *out, size_t size) {
    char path[PATH_MAX + 32], *text = NULL;
    snprintf(path, sizeof path, "%s/mlflow_run.json", abs_dir);
    out[0] = '\0';
    if (is_file(path) && ie_read_file(path, &text, NULL) == IE_OK) {
        cJSON *j = cJSON_Parse(text);
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "run_id"));
        if (id) snprintf(out, size, "%s", id);
        cJSON_Delete(j);
        free(text);
    }
    if (!out[0] && c->run_id[0]) snprintf(out, size, "%s", c->run_id);
    return out[0] != '\0';
}

static void upload(const char *abs_dir, ie_mlflow_client *c) {
    char run_id[256];
    if (!run_id_of(abs_dir, c, run_id, sizeof run_id)) return; /* nothing logged this folder */
    char endpoint[512];
    snprintf(endpoint, sizeof endpoint, "runs/get?run_id=%s", run_id);
    ie_mlflow_result r;
    if (ie_mlflow_call(c, "GET", endpoint, NULL, &r) != IE_MLFLOW_OK) {
        if (r.failure == IE_MLFLOW_UNREACHABLE && ie_mlflow_remote_warned()) { /* the metrics' warning said it */
            cJSON_Delete(r.json);
            return;
        }
        warn_once(2, "warning: MLflow: the run's artifact location could not be read (%s)%s; the report stays in "
                     "the run folder\n", r.detail, "");
        cJSON_Delete(r.json);
        return;
    }
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r.json, "run"), "info");
    const char *uri = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(info, "artifact_uri"));
    static const char proxy[] = "mlflow-artifacts:";
    char where[2048] = "";
    if (uri && !strncmp(uri, proxy, sizeof proxy - 1)) {
        const char *path = uri + sizeof proxy - 1;
        if (!strncmp(path, "//", 2)) path = strchr(path + 2, '/') ? strchr(path + 2, '/') : ""; /* //host:port/path */
        while (*path == '/') path++;
        snprintf(where, sizeof where, "%s", path);
    }
    if (!where[0]) {
        warn_once(4, "warning: MLflow: the run keeps its artifacts at %s, which only MLflow's Python client "
                     "writes; start the server with --serve-artifacts to receive the report%s (it stays in the "
                     "run folder)\n", uri ? uri : "(no artifact_uri)", "");
        cJSON_Delete(r.json);
        return;
    }
    cJSON_Delete(r.json);
    for (int i = 0; i < N_FILES; i++) {
        char path[PATH_MAX + 64], target[4096], *data = NULL;
        size_t size = 0;
        snprintf(path, sizeof path, "%s/%s", abs_dir, FILES[i]);
        if (!is_file(path) || ie_read_file(path, &data, &size) != IE_OK) continue;
        snprintf(target, sizeof target, "%s/%s", where, FILES[i]);
        const char *type = strstr(FILES[i], ".html") ? "text/html" : "text/csv";
        ie_mlflow_result u;
        if (ie_mlflow_upload_artifact(c, target, data, size, type, &u) != IE_MLFLOW_OK)
            warn_once(8, "warning: MLflow: uploading %s failed: %s; the files stay in the run folder\n", FILES[i],
                      u.detail);
        cJSON_Delete(u.json);
        free(data);
        if (u.failure == IE_MLFLOW_UNREACHABLE) break; /* one timeout, not one per file */
    }
}

void ie_mlflow_log_artifacts(const char *dir) {
    bool files = ie_azureml_run_id() != NULL, remote = ie_mlflow_remote_wanted();
    if (!files && !remote) return;
    char message[2048], abs_dir[PATH_MAX];
    snprintf(message, sizeof message, "%s", ie_error_message());
    if (!realpath(dir, abs_dir)) {
        warn_once(1, "warning: MLflow: %s: %s\n", dir, strerror(errno));
    } else if (!mlflow_off(abs_dir)) {
        if (files) copy_to_file_store(abs_dir);
        ie_mlflow_client *c = remote ? ie_mlflow_remote_client() : NULL;
        if (c && !c->azureml) upload(abs_dir, c); /* AzureML: the job's outputs hold the folder itself */
    }
    ie_error_set(IE_ERR_IO, "%s", message);
}
