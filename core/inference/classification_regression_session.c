/* core/inference - a classification or regression run or ensemble opened
 * once and used for any number of datasets (classification_regression_infer.h): `innereye
 * infer` predicts one, `innereye serve` one per request.  Every file of the
 * run (config, statistics, weights) is read when the session opens; a
 * prediction reads only the dataset's own images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/data/classification_regression_statistics.h"
#include "core/inference/classification_regression_infer.h"
#include "core/run/ensemble.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

#define PATH_SIZE 4200

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Where one member's files are. */
typedef struct member_files {
    char config[PATH_SIZE], weights[PATH_SIZE], statistics[PATH_SIZE], source[PATH_SIZE];
    int epoch;
} member_files;

/* The weights of a single run: checkpoint (a file, or a name in
 * RUN/checkpoints), else the last checkpoint's. */
static ie_status run_weights(const char *run, const char *checkpoint, member_files *f) {
    f->epoch = -1;
    if (checkpoint) {
        IE_TRY(ie_path_format(f->weights, sizeof f->weights, "%s", checkpoint));
        if (!exists(f->weights))
            IE_TRY(ie_path_format(f->weights, sizeof f->weights, "%s/checkpoints/%s", run, checkpoint));
        if (!exists(f->weights))
            return ie_error_set(IE_ERR_IO, "--checkpoint %s: no such file (nor %s/checkpoints/%s)", checkpoint, run,
                                checkpoint);
        return IE_OK;
    }
    char last[PATH_SIZE], *text = NULL;
    IE_TRY(ie_path_format(last, sizeof last, "%s/checkpoints/last.json", run));
    char fold0[PATH_SIZE];
    IE_TRY(ie_path_format(fold0, sizeof fold0, "%s/fold_0", run));
    if (!exists(last) && exists(fold0))
        return ie_error_set(IE_ERR_IO, "%s is a cross-validation, not one run: give --run %s/ensemble (the folds' "
                                       "ensemble) or --run %s/fold_<i>", run, run, run);
    if (!exists(last))
        return ie_error_set(IE_ERR_IO, "%s has no checkpoint (%s is missing): was the run stopped before its first "
                            "checkpoint?", run, last);
    IE_TRY(ie_read_file(last, &text, NULL));
    cJSON *rec = cJSON_Parse(text);
    free(text);
    cJSON *weights = cJSON_GetObjectItemCaseSensitive(rec, "weights");
    cJSON *epoch = cJSON_GetObjectItemCaseSensitive(rec, "epoch");
    ie_status st = cJSON_IsString(weights) ? IE_OK : ie_error_set(IE_ERR_IO, "%s: no \"weights\" entry", last);
    if (st == IE_OK) st = ie_path_format(f->weights, sizeof f->weights, "%s/checkpoints/%s", run, weights->valuestring);
    if (st == IE_OK && cJSON_IsNumber(epoch)) f->epoch = (int)epoch->valuedouble;
    cJSON_Delete(rec);
    return st;
}

static ie_status find_members(const char *run, const char *checkpoint, member_files **out, int *count) {
    *out = NULL;
    *count = 0;
    bool ensemble = ie_ensemble_is(run);
    if (ensemble && checkpoint)
        return ie_error_set(IE_ERR_CONFIG, "--checkpoint goes with a single run; %s is an ensemble, whose members' "
                            "weights are fixed", run);
    ie_ensemble_paths *paths = NULL;
    int n = 1;
    if (ensemble) IE_TRY(ie_ensemble_members(run, &paths, &n));
    member_files *f = calloc((size_t)n, sizeof *f);
    ie_status st = f ? IE_OK : ie_error_set(IE_ERR_NOMEM, "out of memory");
    if (st == IE_OK && !ensemble) {
        st = ie_path_format(f->config, sizeof f->config, "%s/config.resolved.json", run);
        if (st == IE_OK)
            st = ie_path_format(f->statistics, sizeof f->statistics, "%s/" IE_SCALAR_STATISTICS_FILE, run);
        if (st == IE_OK) st = ie_path_format(f->source, sizeof f->source, "%s", run);
        if (st == IE_OK) st = run_weights(run, checkpoint, f);
        if (st == IE_OK && !exists(f->statistics))
            st = ie_error_set(IE_ERR_IO, "%s has no " IE_SCALAR_STATISTICS_FILE " (the training statistics that "
                              "prepare new data): the run was made by an older innereye; train it again to predict "
                              "new data", run);
    }
    for (int i = 0; ensemble && st == IE_OK && i < n; i++) {
        ie_ensemble_member info;
        st = ie_path_format(f[i].config, sizeof f[i].config, "%s", paths[i].config);
        if (st == IE_OK) st = ie_path_format(f[i].weights, sizeof f[i].weights, "%s", paths[i].weights);
        if (st == IE_OK) st = ie_ensemble_member_info(run, i, &info);
        if (st == IE_OK && !info.statistics[0])
            st = ie_error_set(IE_ERR_IO, "%s: member %d (from %s) has no " IE_SCALAR_STATISTICS_FILE ": build the "
                              "ensemble again from runs that have it (innereye ensemble)", run, i,
                              info.source_run[0] ? info.source_run : "?");
        if (st == IE_OK) {
            st = ie_path_format(f[i].statistics, sizeof f[i].statistics, "%s", info.statistics);
            if (st == IE_OK) st = ie_path_format(f[i].source, sizeof f[i].source, "%s", info.source_run);
            f[i].epoch = info.epoch;
        }
    }
    free(paths);
    if (st != IE_OK) {
        free(f);
        return st;
    }
    *out = f;
    *count = n;
    return IE_OK;
}

/* Members must predict the same things. */
static ie_status check_same_outputs(const ie_scalar_model *a, const ie_scalar_model *b, const char *run) {
    const ie_scalar_config *ca = ie_scalar_data_config(a->data), *cb = ie_scalar_data_config(b->data);
    int K = ie_scalar_data_output_count(a->data);
    bool same = ca->target == cb->target && K == ie_scalar_data_output_count(b->data);
    for (int k = 0; same && k < K; k++)
        same = !strcmp(ie_scalar_data_output_name(a->data, k), ie_scalar_data_output_name(b->data, k));
    same = same && ca->n_labels == cb->n_labels;
    for (int k = 0; same && k < ca->n_labels; k++) same = !strcmp(ca->label_columns[k], cb->label_columns[k]);
    if (!same)
        return ie_error_set(IE_ERR_CONFIG, "%s: members %s and %s predict different outputs (targets, label columns "
                            "or classes); an ensemble averages the same outputs", run, a->statistics, b->statistics);
    return IE_OK;
}

ie_status ie_scalar_session_open(const char *run, const char *checkpoint, ie_scalar_session *s) {
    memset(s, 0, sizeof *s);
    member_files *files = NULL;
    int n = 0;
    IE_TRY(find_members(run, checkpoint, &files, &n));
    s->members = calloc((size_t)n, sizeof *s->members);
    ie_status st = s->members ? IE_OK : ie_error_set(IE_ERR_NOMEM, "out of memory");
    for (int i = 0; st == IE_OK && i < n; i++) {
        const member_files *f = &files[i];
        ie_scalar_member *m = &s->members[i];
        const char *run_dir = n == 1 ? run : ""; /* members run outside their source runs */
        st = ie_scalar_model_open(f->config, f->statistics, f->weights, f->epoch, run_dir, NULL, false, &m->model);
        if (st != IE_OK) {
            if (n > 1) ie_error_wrap(st, "ensemble member %d (%s)", i, f->config);
            break;
        }
        s->n_members++;
        snprintf(m->source, sizeof m->source, "%s", f->source);
        if (i > 0) st = check_same_outputs(&s->members[0].model, &m->model, run);
    }
    free(files);
    if (st == IE_OK) { /* find_members gives at most IE_ENSEMBLE_MAX_MEMBERS */
        uint8_t digests[IE_ENSEMBLE_MAX_MEMBERS][IE_SHA256_DIGEST_SIZE], all[IE_SHA256_DIGEST_SIZE];
        for (int i = 0; i < s->n_members; i++)
            memcpy(digests[i], s->members[i].model.weights_digest, IE_SHA256_DIGEST_SIZE);
        ie_sha256_of_members((const uint8_t (*)[IE_SHA256_DIGEST_SIZE])digests, s->n_members, all);
        ie_sha256_hex(all, s->weights_sha256);
    }
    if (st != IE_OK) ie_scalar_session_close(s);
    return st;
}

ie_status ie_scalar_session_predict(ie_scalar_session *s, const ie_dataset *ds, ie_scalar_data **data,
                                    double **mean) {
    *data = NULL;
    *mean = NULL;
    int n = ie_dataset_count(ds), K = ie_scalar_data_output_count(s->members[0].model.data);
    double *sum = calloc((size_t)n * (size_t)K + 1, sizeof *sum);
    if (!sum) return ie_error_set(IE_ERR_NOMEM, "out of memory for %d subjects", n);
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < s->n_members; i++) {
        ie_scalar_data *d = NULL;
        float *pred = NULL;
        st = ie_scalar_model_predict_dataset(&s->members[i].model, ds, &d, &pred);
        for (size_t x = 0; st == IE_OK && x < (size_t)n * (size_t)K; x++) sum[x] += pred[x];
        free(pred);
        if (i == 0) *data = d;
        else ie_scalar_data_free(d);
        if (st != IE_OK && s->n_members > 1)
            ie_error_wrap(st, "ensemble member %d (%s)", i, s->members[i].model.config_path);
    }
    if (st != IE_OK) {
        free(sum);
        ie_scalar_data_free(*data);
        *data = NULL;
        return st;
    }
    for (size_t x = 0; x < (size_t)n * (size_t)K; x++) sum[x] /= s->n_members;
    *mean = sum;
    return IE_OK;
}

void ie_scalar_session_close(ie_scalar_session *s) {
    for (int i = 0; s->members && i < s->n_members; i++) ie_scalar_model_close(&s->members[i].model);
    free(s->members);
    memset(s, 0, sizeof *s);
}
