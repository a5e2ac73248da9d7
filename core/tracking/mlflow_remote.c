/* core/tracking - incremental sync of a run folder to an MLflow server. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util/file_util.h"
#include "core/tracking/mlflow_remote.h"
#include "core/tracking/mlflow_rest.h"

#define STATE_FILE "mlflow_run.json"
#define FAILED_SYNCS_MAX 3

/* One tracking server per process (the environment does not change). */
static struct {
    bool initialised, usable;
    ie_mlflow_client client;
    unsigned warned; /* bit 1 << kind; bit 0: the setup */
    int failed_syncs; /* in a row */
} g;

typedef struct state {
    char run_id[256];
    bool created, params_sent, test_sent;
    long epochs_sent;
    char status_sent[16];
} state;

bool ie_mlflow_remote_wanted(void) {
    const char *uri = getenv("MLFLOW_TRACKING_URI");
    return uri && uri[0];
}

void ie_mlflow_remote_set_client(const ie_mlflow_client *c) {
    if (g.initialised) ie_mlflow_client_free(&g.client);
    memset(&g, 0, sizeof g);
    g.client = *c;
    g.initialised = g.usable = true;
}

static bool client(void) {
    if (!g.initialised) {
        g.initialised = true;
        if (ie_mlflow_client_from_env(&g.client, &g.usable) != IE_OK) {
            g.usable = false;
            g.warned |= 1;
            fprintf(stderr, "warning: metrics are not sent to MLflow: %s\n", ie_error_message());
        }
    }
    return g.usable;
}

struct ie_mlflow_client *ie_mlflow_remote_client(void) {
    return client() ? &g.client : NULL;
}

bool ie_mlflow_remote_warned(void) { return g.warned != 0; }

static void warn(ie_mlflow_failure kind, const ie_mlflow_result *r, const char *what) {
    if (kind == IE_MLFLOW_OK || (g.warned & (1u << kind))) return;
    g.warned |= 1u << kind;
    static const char *const says[IE_MLFLOW_FAILURE_KINDS] = {
        [IE_MLFLOW_UNREACHABLE] = "cannot be reached",
        [IE_MLFLOW_AUTH] = "refused the credentials (MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
                           "MLFLOW_TRACKING_PASSWORD)",
        [IE_MLFLOW_REJECTED] = "rejected a request",
        [IE_MLFLOW_SERVER] = "failed, also when asked again",
        [IE_MLFLOW_BAD_REPLY] = "gave an unexpected reply",
    };
    fprintf(stderr,
            "warning: MLflow tracking server %s %s while %s: %s; training goes on and the metrics stay in "
            "train_log.csv (this kind of failure is not reported again)\n",
            g.client.shown, says[kind], what, r->detail[0] ? r->detail : "no detail");
    fflush(stderr);
}

static void load_state(const char *abs_run, state *s) {
    memset(s, 0, sizeof *s);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" STATE_FILE, abs_run);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *j = cJSON_Parse(text);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "run_id"));
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status_sent"));
    snprintf(s->run_id, sizeof s->run_id, "%s", id ? id : "");
    snprintf(s->status_sent, sizeof s->status_sent, "%s", status ? status : "");
    s->created = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "created"));
    s->params_sent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "params_sent"));
    s->test_sent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "test_sent"));
    const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(j, "epochs_sent");
    s->epochs_sent = cJSON_IsNumber(epochs) ? (long)epochs->valuedouble : 0;
    cJSON_Delete(j);
}

static void save_state(const char *abs_run, const state *s) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "server", g.client.shown);
    cJSON_AddStringToObject(j, "run_id", s->run_id);
    cJSON_AddBoolToObject(j, "created", s->created);
    cJSON_AddNumberToObject(j, "epochs_sent", (double)s->epochs_sent);
    cJSON_AddBoolToObject(j, "params_sent", s->params_sent);
    cJSON_AddBoolToObject(j, "test_sent", s->test_sent);
    cJSON_AddStringToObject(j, "status_sent", s->status_sent);
    char *text = cJSON_Print(j);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" STATE_FILE, abs_run);
    if (text && ie_write_file_atomic(path, text, strlen(text)) != IE_OK)
        fprintf(stderr, "warning: MLflow: %s\n", ie_error_message());
    free(text);
    cJSON_Delete(j);
}

/* The run to log into: MLFLOW_RUN_ID, else the one created earlier for this
 * run folder, else a new one named after the folder. */
static ie_mlflow_failure pick_run(const char *abs_run, const ie_mlflow_run_data *d, state *s, ie_mlflow_result *r) {
    if (g.client.run_id[0]) {
        if (strcmp(s->run_id, g.client.run_id) != 0) { /* another MLflow run: send everything */
            memset(s, 0, sizeof *s);
            snprintf(s->run_id, sizeof s->run_id, "%s", g.client.run_id);
        }
        return IE_MLFLOW_OK;
    }
    if (s->run_id[0] && s->created) return IE_MLFLOW_OK;
    const char *slash = strrchr(abs_run, '/');
    char id[256];
    if (ie_mlflow_create_run(&g.client, slash ? slash + 1 : abs_run, d->start_ms, id, sizeof id, r) != IE_MLFLOW_OK)
        return r->failure;
    memset(s, 0, sizeof *s);
    snprintf(s->run_id, sizeof s->run_id, "%s", id);
    s->created = true;
    save_state(abs_run, s);
    return IE_MLFLOW_OK;
}

void ie_mlflow_remote_sync(const char *abs_run, const ie_mlflow_run_data *d, const char *status) {
    bool final = strcmp(status, "RUNNING") != 0;
    if (!client() || (g.failed_syncs >= FAILED_SYNCS_MAX && !final)) return;
    state s;
    load_state(abs_run, &s);
    ie_mlflow_result r = {0};
    bool failed = false;
    if (pick_run(abs_run, d, &s, &r) != IE_MLFLOW_OK) {
        warn(r.failure, &r, "creating a run");
        g.failed_syncs++;
        return;
    }
    /* Epochs not sent yet: the rows of train_log.csv are in epoch order.  A
     * resumed run trains the epochs after its checkpoint again, to the same
     * bits, so what was sent for them stays right. */
    int first = 0;
    while (first < d->n_epoch && d->epoch[first].step <= s.epochs_sent) first++;
    /* In requests of whole epochs (MLflow appends: a metric sent twice shows
     * twice), each remembered as sent as soon as the server took it. */
    while (first < d->n_epoch) {
        int end = first;
        while (end < d->n_epoch && end - first < IE_MLFLOW_BATCH_METRICS) end++;
        int boundary = end;
        while (boundary < d->n_epoch && boundary > first && d->epoch[boundary].step == d->epoch[boundary - 1].step)
            boundary--;
        if (boundary > first) end = boundary;
        if (ie_mlflow_log_batch(&g.client, s.run_id, d->epoch + first, end - first, NULL, 0, &r) != IE_MLFLOW_OK) {
            warn(r.failure, &r, "logging the epoch metrics"), failed = true;
            break;
        }
        s.epochs_sent = d->epoch[end - 1].step;
        first = end;
    }
    /* A server that does not answer costs one timeout per sync, not one
     * per request. */
    bool gone = r.failure == IE_MLFLOW_UNREACHABLE;
    if (!gone && !s.params_sent && d->n_params) {
        ie_mlflow_failure f = ie_mlflow_log_batch(&g.client, s.run_id, NULL, 0, d->params, d->n_params, &r);
        /* Rejected params (e.g. changed values in a resumed run: MLflow never
         * overwrites one) are not sent again. */
        if (f == IE_MLFLOW_OK || f == IE_MLFLOW_REJECTED) s.params_sent = true;
        if (f != IE_MLFLOW_OK) warn(f, &r, "logging the config as params"), failed = true;
        gone = f == IE_MLFLOW_UNREACHABLE;
    }
    if (!gone && final && !s.test_sent && d->n_test) {
        if (ie_mlflow_log_batch(&g.client, s.run_id, d->test, d->n_test, NULL, 0, &r) == IE_MLFLOW_OK)
            s.test_sent = true;
        else
            warn(r.failure, &r, "logging the test metrics"), failed = true;
        gone = r.failure == IE_MLFLOW_UNREACHABLE;
    }
    /* An AzureML job's own run gets its status from the job's exit status. */
    bool owns_status = !g.client.azureml || s.created;
    if (!gone && final && owns_status && strcmp(s.status_sent, status) != 0) {
        if (ie_mlflow_update_run(&g.client, s.run_id, status, d->end_ms, &r) == IE_MLFLOW_OK)
            snprintf(s.status_sent, sizeof s.status_sent, "%s", status);
        else
            warn(r.failure, &r, "setting the run's status"), failed = true;
    }
    save_state(abs_run, &s);
    g.failed_syncs = failed ? g.failed_syncs + 1 : 0;
}
