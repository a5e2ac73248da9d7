/* core/tracking - MLflow file-store mirror of a run's metrics. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/util/file_util.h"
#include "core/tracking/mlflow_data.h"
#include "core/tracking/mlflow_files.h"
#include "core/util/path.h"

const char *ie_azureml_run_id(void) {
    const char *id = getenv("AZUREML_RUN_ID");
    return id && id[0] ? id : NULL;
}

static ie_status mkdir_one(const char *path) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", path, strerror(errno));
    return IE_OK;
}

static ie_status write(const char *dir, const char *name, const char *text) {
    char path[2 * PATH_MAX];
    IE_TRY(ie_path_join(path, sizeof path, dir, name));
    return ie_write_file_atomic(path, text, strlen(text));
}

/* metrics/<key>: one "<timestamp ms> <value> <step>" line per entry of that
 * key, in the order given. */
static ie_status write_metrics(const char *dir, const ie_mlflow_metric *m, int n) {
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(m[j].key, m[i].key);
        if (seen) continue;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
        for (int j = i; j < n; j++)
            if (!strcmp(m[j].key, m[i].key)) fprintf(f, "%lld %.9g %ld\n", m[j].timestamp_ms, m[j].value, m[j].step);
        fclose(f);
        st = write(dir, m[i].key, text);
        free(text);
    }
    return st;
}

ie_status ie_mlflow_files_write(const char *abs_run, const ie_mlflow_run_data *d, const char *status) {
    char id[256], exp_dir[PATH_MAX + 32], dir[PATH_MAX + 300], sub[PATH_MAX + 320];
    /* MLflow run ids are [A-Za-z0-9_-] (AzureML's may hold dots). */
    ie_mlflow_key(ie_azureml_run_id(), id, sizeof id);
    for (char *p = id; *p; p++)
        if (*p == '.') *p = '_';
    long long now = (long long)time(NULL) * 1000, start = d->start_ms;
    IE_TRY(ie_path_format(exp_dir, sizeof exp_dir, "%s/mlruns", abs_run));
    IE_TRY(mkdir_one(exp_dir));
    IE_TRY(ie_path_format(exp_dir, sizeof exp_dir, "%s/mlruns/0", abs_run));
    IE_TRY(mkdir_one(exp_dir));
    const char *experiment = getenv("AZUREML_ARM_PROJECT_NAME");
    char text[4 * PATH_MAX];
    snprintf(text, sizeof text,
             "artifact_location: file://%s\ncreation_time: %lld\nexperiment_id: '0'\nlast_update_time: %lld\n"
             "lifecycle_stage: active\nname: %s\n",
             exp_dir, start, now, experiment && experiment[0] ? experiment : "Default");
    IE_TRY(write(exp_dir, "meta.yaml", text));
    IE_TRY(ie_path_join(dir, sizeof dir, exp_dir, id));
    IE_TRY(mkdir_one(dir));
    /* MLflow's RunStatus: RUNNING 1, FINISHED 3, FAILED 4. */
    int code = !strcmp(status, "FINISHED") ? 3 : !strcmp(status, "FAILED") ? 4 : 1;
    const char *slash = strrchr(abs_run, '/');
    char end_text[32];
    if (code == 1) snprintf(end_text, sizeof end_text, "null");
    else snprintf(end_text, sizeof end_text, "%lld", d->end_ms ? d->end_ms : now);
    snprintf(text, sizeof text,
             "artifact_uri: file://%s/artifacts\nend_time: %s\nentry_point_name: ''\nexperiment_id: '0'\n"
             "lifecycle_stage: active\nrun_id: %s\nrun_name: %s\nrun_uuid: %s\nsource_name: ''\nsource_type: 4\n"
             "source_version: ''\nstart_time: %lld\nstatus: %d\ntags: []\nuser_id: innereye\n",
             dir, end_text, id, slash ? slash + 1 : abs_run, id, start, code);
    IE_TRY(write(dir, "meta.yaml", text));
    IE_TRY(ie_path_format(sub, sizeof sub, "%s/metrics", dir));
    IE_TRY(mkdir_one(sub));
    IE_TRY(write_metrics(sub, d->epoch, d->n_epoch));
    IE_TRY(write_metrics(sub, d->test, d->n_test));
    IE_TRY(ie_path_format(sub, sizeof sub, "%s/tags", dir));
    IE_TRY(mkdir_one(sub));
    IE_TRY(write(sub, "mlflow.runName", slash ? slash + 1 : abs_run));
    IE_TRY(ie_path_format(sub, sizeof sub, "%s/params", dir));
    IE_TRY(mkdir_one(sub));
    for (int i = 0; i < d->n_params; i++) IE_TRY(write(sub, d->params[i].key, d->params[i].value));
    return IE_OK;
}
