/* core/inference - `innereye infer` on a classification or regression run
 * or ensemble: every member predicts the dataset with its own statistics
 * and weights, the predictions are averaged, and predictions.csv, metrics
 * (when the CSV has labels) and inference.json are written into a hidden
 * folder that becomes the output folder once complete (classification_regression_infer.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/data/dataset.h"
#include "core/data/classification_regression_statistics.h"
#include "core/run/ensemble.h"
#include "core/inference/classification_regression_infer.h"
#include "core/metrics/classification_regression_report.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "core/util/sha256.h"
#include "innereye/threads.h"

#define PATH_SIZE 4200

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- files ---- */

static cJSON *member_record(const ie_scalar_member *member) {
    const ie_scalar_model *m = &member->model;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "source_run", member->source);
    cJSON_AddStringToObject(j, "config", m->config_path);
    cJSON_AddStringToObject(j, "config_sha256", m->config_sha256);
    cJSON_AddStringToObject(j, "weights", m->weights);
    cJSON_AddStringToObject(j, "weights_sha256", m->weights_sha256);
    if (m->epoch >= 0) cJSON_AddNumberToObject(j, "epoch", m->epoch);
    cJSON_AddStringToObject(j, "statistics", m->statistics);
    cJSON_AddStringToObject(j, "statistics_sha256", m->statistics_sha256);
    cJSON *p = cJSON_AddObjectToObject(j, "plugin");
    cJSON_AddStringToObject(p, "name", m->plugin->table.name);
    cJSON_AddStringToObject(p, "version", m->plugin->table.version);
    cJSON_AddStringToObject(p, "path", m->plugin->path);
    cJSON_AddStringToObject(p, "sha256", m->plugin->sha256);
    cJSON_AddNumberToObject(j, "batch_size", m->loader.batch_size);
    return j;
}

static ie_status write_json(const char *path, cJSON *root) {
    char *text = cJSON_Print(root);
    if (!text) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    ie_status st = ie_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

/* mkdir -p of the folder that will hold out. */
static ie_status make_parent(const char *out) {
    char buf[PATH_SIZE];
    IE_TRY(ie_path_format(buf, sizeof buf, "%s", out));
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return IE_OK;
    *slash = '\0';
    return ie_make_dirs(buf);
}

static void remove_partial(const char *dir) {
    static const char *const files[] = {"predictions.csv", "metrics.csv", "confusion_matrix.csv", "inference.json"};
    char path[PATH_SIZE + 128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (ie_path_join(path, sizeof path, dir, files[i]) == IE_OK) unlink(path);
    }
    rmdir(dir);
}

/* predictions.csv (and metrics when there are labels) into dir. */
static ie_status write_results(const char *dir, const ie_scalar_data *d, const double *mean, int epoch,
                               cJSON *record) {
    const ie_dataset *ds = ie_scalar_data_dataset(d);
    int n = ie_dataset_count(ds), K = ie_scalar_data_output_count(d);
    ie_predictions *p = NULL, *written = NULL;
    ie_scalar_report *report = NULL;
    IE_TRY(ie_predictions_new(&p));
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < n; i++)
        for (int k = 0; st == IE_OK && k < K; k++)
            st = ie_predictions_add(p, ie_dataset_item_at(ds, i)->subject, ie_scalar_data_output_name(d, k),
                                    ie_scalar_data_label(d, i, k), mean[(size_t)i * K + k], "infer", epoch);
    char path[PATH_SIZE + 128];
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/predictions.csv", dir);
    if (st == IE_OK) st = ie_predictions_write_csv(p, path);
    cJSON *files = cJSON_AddArrayToObject(record, "files");
    cJSON_AddItemToArray(files, cJSON_CreateString("predictions.csv"));
    if (st == IE_OK && ie_scalar_data_has_labels(d)) {
        ie_scalar_kind kind =
            ie_scalar_data_config(d)->target == IE_TARGET_REGRESSION ? IE_SCALAR_REGRESSION : IE_SCALAR_CLASSIFICATION;
        /* From the file as written: the numbers `innereye eval --task` gets. */
        st = ie_predictions_read_csv(path, &written);
        if (st == IE_OK) st = ie_scalar_report_compute(written, kind, &report);
        if (st == IE_OK) st = ie_scalar_report_write(report, dir);
        if (st == IE_OK) {
            ie_scalar_report_print(report, stdout);
            cJSON_AddItemToArray(files, cJSON_CreateString("metrics.csv"));
            if (ie_scalar_data_config(d)->target == IE_TARGET_MULTICLASS)
                cJSON_AddItemToArray(files, cJSON_CreateString("confusion_matrix.csv"));
        }
    }
    ie_scalar_report_free(report);
    ie_predictions_free(written);
    ie_predictions_free(p);
    return st;
}

/* ---- the job ---- */

typedef struct job {
    const ie_scalar_infer_request *r;
    ie_dataset *ds;
    ie_scalar_session session;
    ie_scalar_data *data; /* member 0's data for ds: labels and names */
    double *mean;
    cJSON *record;
    char partial[PATH_SIZE + 64];
} job;

static ie_status predict_members(job *j) {
    IE_TRY(ie_scalar_session_open(j->r->run, j->r->checkpoint, &j->session));
    IE_TRY(ie_scalar_session_predict(&j->session, j->ds, &j->data, &j->mean));
    int n = ie_dataset_count(j->ds);
    for (int i = 0; i < j->session.n_members; i++) {
        const ie_scalar_model *m = &j->session.members[i].model;
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(j->record, "members"),
                             member_record(&j->session.members[i]));
        char epoch[32] = "";
        if (m->epoch >= 0) snprintf(epoch, sizeof epoch, " (epoch %d)", m->epoch);
        printf("member %d: %s %s, weights %s%s: %d subjects predicted\n", i, m->plugin->table.name,
               m->plugin->table.version, m->weights, epoch, n);
    }
    fflush(stdout);
    return IE_OK;
}

static ie_status start_record(job *j) {
    const ie_scalar_infer_request *r = j->r;
    char hex[IE_SHA256_HEX_SIZE];
    IE_TRY(ie_sha256_file_hex(r->dataset, hex));
    j->record = cJSON_CreateObject();
    if (!j->record) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(j->record, "kind", "innereye-scalar-inference");
    cJSON_AddStringToObject(j->record, ie_ensemble_is(r->run) ? "ensemble" : "run", r->run);
    cJSON_AddStringToObject(j->record, "dataset_csv", r->dataset);
    cJSON_AddStringToObject(j->record, "dataset_csv_sha256", hex);
    cJSON_AddNumberToObject(j->record, "subjects", ie_dataset_count(j->ds));
    cJSON_AddNumberToObject(j->record, "threads", ie_threads_get());
    cJSON_AddArrayToObject(j->record, "members");
    return IE_OK;
}

static void finish_record(job *j) {
    const ie_scalar_data *d = j->data;
    const ie_scalar_config *c = ie_scalar_data_config(d);
    cJSON_AddStringToObject(j->record, "target", ie_scalar_target_name(c->target));
    cJSON *outputs = cJSON_AddArrayToObject(j->record, "outputs");
    for (int k = 0; k < ie_scalar_data_output_count(d); k++)
        cJSON_AddItemToArray(outputs, cJSON_CreateString(ie_scalar_data_output_name(d, k)));
    cJSON_AddBoolToObject(j->record, "labels", ie_scalar_data_has_labels(d));
    if (j->session.n_members > 1)
        cJSON_AddStringToObject(j->record, "combine", c->target == IE_TARGET_REGRESSION
                                                          ? "mean of the members' values"
                                                          : "mean of the members' probabilities");
}

static ie_status run_job(job *j) {
    const ie_scalar_infer_request *r = j->r;
    if (exists(r->out))
        return ie_error_set(IE_ERR_IO, "%s already exists; inference never overwrites results: give another --out "
                            "folder, or move it away", r->out);
    IE_TRY(ie_dataset_load(r->dataset, IE_DATASET_DEFAULT_SUBJECT_COLUMN, &j->ds));
    IE_TRY(start_record(j));
    printf("%s: %d subject%s of %s -> %s; %d thread%s\n", r->run, ie_dataset_count(j->ds),
           ie_dataset_count(j->ds) == 1 ? "" : "s", r->dataset, r->out, ie_threads_get(),
           ie_threads_get() == 1 ? "" : "s");
    IE_TRY(predict_members(j));
    finish_record(j);
    if (!ie_scalar_data_has_labels(j->data)) printf("the CSV has no label columns: predictions only, no metrics\n");

    /* Everything goes into a hidden sibling folder, renamed when complete. */
    IE_TRY(make_parent(r->out));
    const char *base = strrchr(r->out, '/');
    size_t parent = base ? (size_t)(base - r->out + 1) : 0;
    IE_TRY(ie_path_format(j->partial, sizeof j->partial, "%.*s.%s.partial.%ld", (int)parent, r->out,
                          base ? base + 1 : r->out, (long)getpid()));
    if (mkdir(j->partial, 0755) != 0) {
        ie_status st = ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", j->partial, strerror(errno));
        j->partial[0] = '\0';
        return st;
    }
    int epoch = j->session.n_members == 1 ? j->session.members[0].model.epoch : -1;
    IE_TRY(write_results(j->partial, j->data, j->mean, epoch, j->record));
    char path[PATH_SIZE + 128];
    IE_TRY(ie_path_format(path, sizeof path, "%s/inference.json", j->partial));
    IE_TRY(write_json(path, j->record));
    if (exists(r->out))
        return ie_error_set(IE_ERR_IO, "%s appeared while inference ran; it is left as it is (nothing written)",
                            r->out);
    if (rename(j->partial, r->out) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot rename %s to it: %s", r->out, j->partial, strerror(errno));
    j->partial[0] = '\0';
    return IE_OK;
}

ie_status ie_scalar_infer(const ie_scalar_infer_request *r) {
    job j = {.r = r};
    ie_status st = run_job(&j);
    if (j.partial[0]) remove_partial(j.partial);
    ie_scalar_session_close(&j.session);
    ie_scalar_data_free(j.data);
    cJSON_Delete(j.record);
    free(j.mean);
    ie_dataset_free(j.ds);
    if (st == IE_OK) printf("predictions: %s/predictions.csv\n", r->out);
    return st;
}
