/* core/tracking - a client of MLflow's tracking REST API (libcurl), enough to
 * log a training run: runs/log-batch, runs/update, runs/create and the
 * experiment lookup it needs.
 *
 * Where requests go (ie_mlflow_client_from_env), as MLflow's own clients
 * read the environment:
 *   MLFLOW_TRACKING_URI   http(s)://host[:port][/prefix] of any MLflow
 *                         server; or AzureML's azureml://<region>.api.
 *                         azureml.ms/mlflow/v1.0/subscriptions/<id>/
 *                         resourceGroups/<rg>/providers/Microsoft.
 *                         MachineLearningServices/workspaces/<ws>, which is
 *                         served at the same host and path over https (what
 *                         azureml-mlflow does: "https://" + netloc + path, the
 *                         query dropped);
 *   MLFLOW_RUN_ID         the run to log into (AzureML sets it to the job's
 *                         run; AZUREML_RUN_ID is the fallback there); empty:
 *                         a run is created (ie_mlflow_create_run);
 *   MLFLOW_EXPERIMENT_ID, MLFLOW_EXPERIMENT_NAME (default "innereye")
 *                         where a created run goes;
 *   MLFLOW_TRACKING_TOKEN bearer token (AzureML: the job's token, with
 *                         AZUREML_RUN_TOKEN as fallback); else
 *   MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD  basic auth;
 *   MLFLOW_TRACKING_INSECURE_TLS=true, MLFLOW_TRACKING_SERVER_CERT_PATH.
 * Credentials live only in memory and in request headers: no message, file
 * or log line shows them (messages name the server as scheme://host:port).
 *
 * Every call is bounded: connect timeout 5 s, whole request 15 s; HTTP 429
 * and 5xx (and a dropped connection) are retried twice, after 1 s and 2 s (or
 * the server's Retry-After, at most 5 s); an AzureML 401 fetches a fresh token
 * (GET .../history/v1.0/.../experimentids/<exp>/runs/<run>/token, as
 * AzureML's own MLflow helpers do) and retries once. */
#ifndef IE_CORE_TRACKING_MLFLOW_REST_H
#define IE_CORE_TRACKING_MLFLOW_REST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/tracking/mlflow_data.h"
#include "innereye/status.h"

struct cJSON;

/* MLflow's LogBatch limits per request, and the parameter value length every
 * MLflow version accepts (500; 2.x allows 6000). */
#define IE_MLFLOW_BATCH_METRICS 1000
#define IE_MLFLOW_BATCH_PARAMS 100
#define IE_MLFLOW_PARAM_VALUE_MAX 500

typedef enum ie_mlflow_failure {
    IE_MLFLOW_OK = 0,
    IE_MLFLOW_UNREACHABLE, /* no HTTP answer: DNS, connect, TLS, timeout */
    IE_MLFLOW_AUTH,        /* 401 / 403 */
    IE_MLFLOW_REJECTED,    /* another 4xx: the request or the run is wrong */
    IE_MLFLOW_SERVER,      /* 429 / 5xx, still after the retries */
    IE_MLFLOW_BAD_REPLY,   /* 2xx whose body is not the JSON expected */
    IE_MLFLOW_FAILURE_KINDS
} ie_mlflow_failure;

typedef struct ie_mlflow_result {
    ie_mlflow_failure failure;
    long http;              /* the last HTTP status; 0: none */
    char error_code[64];    /* MLflow's error_code of a 4xx (RESOURCE_DOES_NOT_EXIST, ...) */
    char detail[512];       /* what went wrong, for a warning */
    struct cJSON *json;     /* a 2xx reply's body (NULL when empty); the caller deletes it */
} ie_mlflow_result;

/* Set by a cross-validation or sweep for its child processes: their runs are
 * created nested under the run MLFLOW_RUN_ID (or AzureML's job run) names,
 * instead of all logging into that one run. */
#define IE_MLFLOW_NESTED_ENV "IE_MLFLOW_NESTED"

typedef struct ie_mlflow_client {
    char base_url[2048];     /* requests go to <base_url>/api/2.0/mlflow/<endpoint> */
    char shown[512];         /* scheme://host[:port] of base_url, for messages */
    bool azureml;            /* an AzureML workspace: token refresh; the job owns the run status */
    char run_id[256];        /* "" when the run is to be created */
    char parent_run_id[256]; /* a created run is nested under it (mlflow.parentRunId); "" if none */
    char experiment_id[128]; /* "" when unknown */
    char experiment_name[256];
    char *token;             /* bearer token, or NULL */
    char *username, *password;
    bool insecure_tls;
    char ca_path[1024];
    long connect_timeout_s, total_timeout_s;
    int attempts;            /* per request, for 429 / 5xx / dropped connections */
    double backoff_s;        /* the first wait; doubled after each retry */
} ie_mlflow_client;

/* azureml://HOST/PATH?QUERY -> https://HOST/PATH (no trailing '/'); false
 * when `uri` is not an azureml:// URI or does not fit. */
bool ie_mlflow_azureml_base_url(const char *uri, char *out, size_t size);

/* The token endpoint of an AzureML workspace's base URL: /mlflow/vX.Y ->
 * /history/v1.0, + /experimentids/<experiment_id>/runs/<run_id>/token. */
bool ie_mlflow_azureml_token_url(const char *base_url, const char *experiment_id, const char *run_id, char *out,
                                 size_t size);

/* scheme://host[:port] of a URL, without user:password@ or path. */
void ie_mlflow_shown_url(const char *url, char *out, size_t size);

/* Fills `c` from the environment (above).  *configured is false when
 * MLFLOW_TRACKING_URI is unset or empty (IE_OK).  An unusable URI (another
 * scheme) is an IE_ERR_CONFIG naming it. */
ie_status ie_mlflow_client_from_env(ie_mlflow_client *c, bool *configured);
void ie_mlflow_client_free(ie_mlflow_client *c);

/* One request: method "GET" (endpoint may carry a ?query) or "POST" (body
 * JSON).  Returns result->failure; free result->json. */
ie_mlflow_failure ie_mlflow_call(ie_mlflow_client *c, const char *method, const char *endpoint,
                                 const struct cJSON *body, ie_mlflow_result *result);

/* PUT of a file's bytes to MLflow's artifact proxy (a server started with
 * --serve-artifacts, the default since MLflow 2.0):
 * <base>/api/2.0/mlflow-artifacts/artifacts/<artifact_path>, where
 * artifact_path is the run's artifact URI after "mlflow-artifacts:/" plus
 * the file's name. */
ie_mlflow_failure ie_mlflow_upload_artifact(ie_mlflow_client *c, const char *artifact_path, const char *data,
                                            size_t size, const char *content_type, ie_mlflow_result *r);

/* runs/log-batch of metrics and params into `run_id`, split into requests
 * within MLflow's limits (params, truncated to IE_MLFLOW_PARAM_VALUE_MAX,
 * in their own requests; empty values left out).  Stops at the first
 * failure. */
ie_mlflow_failure ie_mlflow_log_batch(ie_mlflow_client *c, const char *run_id, const ie_mlflow_metric *metrics,
                                      int n_metrics, const ie_mlflow_param *params, int n_params,
                                      ie_mlflow_result *result);

/* runs/update: status "FINISHED" / "FAILED" / "RUNNING", end_time (ms; 0:
 * not sent). */
ie_mlflow_failure ie_mlflow_update_run(ie_mlflow_client *c, const char *run_id, const char *status,
                                       long long end_ms, ie_mlflow_result *result);

/* runs/create in c->experiment_id, or else in the experiment named
 * c->experiment_name (looked up, created when missing); the new run's id
 * goes to run_id. */
ie_mlflow_failure ie_mlflow_create_run(ie_mlflow_client *c, const char *run_name, long long start_ms, char *run_id,
                                       size_t size, ie_mlflow_result *result);

#endif
