/* core/tracking - MLflow tracking REST client (libcurl). */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "core/tracking/mlflow_rest.h"

#ifndef IE_VERSION_STRING
#define IE_VERSION_STRING "dev"
#endif

#define REPLY_MAX (4 << 20) /* a reply larger than this is not MLflow's */

/* ------------------------------------------------------------ URLs */

bool ie_mlflow_azureml_base_url(const char *uri, char *out, size_t size) {
    static const char scheme[] = "azureml://";
    if (!uri || strncasecmp(uri, scheme, sizeof scheme - 1) != 0) return false;
    const char *rest = uri + sizeof scheme - 1;
    size_t n = strcspn(rest, "?#");
    while (n > 0 && rest[n - 1] == '/') n--;
    if (n == 0 || rest[0] == '/') return false; /* no host */
    int len = snprintf(out, size, "https://%.*s", (int)n, rest);
    return len > 0 && (size_t)len < size;
}

bool ie_mlflow_azureml_token_url(const char *base_url, const char *experiment_id, const char *run_id, char *out,
                                 size_t size) {
    const char *at = strstr(base_url, "/mlflow/v");
    if (!at || !experiment_id || !experiment_id[0] || !run_id || !run_id[0]) return false;
    const char *after = strchr(at + 9, '/'); /* the path after /mlflow/vX.Y */
    int len = snprintf(out, size, "%.*s/history/v1.0%s/experimentids/%s/runs/%s/token", (int)(at - base_url),
                       base_url, after ? after : "", experiment_id, run_id);
    return len > 0 && (size_t)len < size;
}

void ie_mlflow_shown_url(const char *url, char *out, size_t size) {
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t end = strcspn(host, "/?#");
    const char *at = memchr(host, '@', end); /* user:password@ */
    const char *from = at ? at + 1 : host;
    snprintf(out, size, "%.*s%.*s", (int)(host - url), url, (int)(host + end - from), from);
}

/* ------------------------------------------------------------ environment */

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static char *dup_trimmed(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--; /* a stray newline would break the header */
    return strndup(s, n);
}

ie_status ie_mlflow_client_from_env(ie_mlflow_client *c, bool *configured) {
    memset(c, 0, sizeof *c);
    *configured = false;
    const char *uri = env("MLFLOW_TRACKING_URI");
    if (!uri) return IE_OK;
    if (ie_mlflow_azureml_base_url(uri, c->base_url, sizeof c->base_url)) {
        c->azureml = true;
    } else if (!strncasecmp(uri, "http://", 7) || !strncasecmp(uri, "https://", 8)) {
        size_t n = strcspn(uri, "?#");
        while (n > 0 && uri[n - 1] == '/') n--;
        if (n >= sizeof c->base_url) return ie_error_set(IE_ERR_CONFIG, "MLFLOW_TRACKING_URI is too long");
        memcpy(c->base_url, uri, n);
        c->base_url[n] = '\0';
    } else {
        /* Only the scheme is named: the rest may hold credentials. */
        size_t n = strcspn(uri, ":");
        return ie_error_set(IE_ERR_CONFIG,
                            "MLFLOW_TRACKING_URI: '%.*s:' URIs are not supported; give an MLflow server as "
                            "http(s)://host:port, or AzureML's azureml:// tracking URI",
                            (int)(n < 32 ? n : 32), uri);
    }
    ie_mlflow_shown_url(c->base_url, c->shown, sizeof c->shown);
    const char *run = env("MLFLOW_RUN_ID");
    if (!run && c->azureml) run = env("AZUREML_RUN_ID");
    snprintf(c->run_id, sizeof c->run_id, "%s", run ? run : "");
    if (env(IE_MLFLOW_NESTED_ENV) && c->run_id[0]) { /* a fold or trial: its own run, under that one */
        snprintf(c->parent_run_id, sizeof c->parent_run_id, "%s", c->run_id);
        c->run_id[0] = '\0';
    }
    const char *experiment_id = env("MLFLOW_EXPERIMENT_ID"), *experiment_name = env("MLFLOW_EXPERIMENT_NAME");
    snprintf(c->experiment_id, sizeof c->experiment_id, "%s", experiment_id ? experiment_id : "");
    snprintf(c->experiment_name, sizeof c->experiment_name, "%s", experiment_name ? experiment_name : "innereye");
    const char *token = env("MLFLOW_TRACKING_TOKEN");
    if (!token && c->azureml) token = env("AZUREML_RUN_TOKEN");
    c->token = dup_trimmed(token);
    c->username = dup_trimmed(env("MLFLOW_TRACKING_USERNAME"));
    c->password = dup_trimmed(env("MLFLOW_TRACKING_PASSWORD"));
    const char *insecure = env("MLFLOW_TRACKING_INSECURE_TLS");
    c->insecure_tls = insecure && !strcasecmp(insecure, "true");
    snprintf(c->ca_path, sizeof c->ca_path, "%s",
             env("MLFLOW_TRACKING_SERVER_CERT_PATH") ? env("MLFLOW_TRACKING_SERVER_CERT_PATH") : "");
    c->connect_timeout_s = 5;
    c->total_timeout_s = 15;
    c->attempts = 3;
    c->backoff_s = 1.0;
    *configured = true;
    return IE_OK;
}

static void wipe(char **secret) {
    if (*secret) {
        memset(*secret, 0, strlen(*secret));
        free(*secret);
        *secret = NULL;
    }
}

void ie_mlflow_client_free(ie_mlflow_client *c) {
    wipe(&c->token);
    wipe(&c->username);
    wipe(&c->password);
}

/* ------------------------------------------------------------ HTTP */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct buffer {
    char *data;
    size_t size, cap;
} buffer;

static size_t on_body(char *data, size_t one, size_t n, void *user) {
    buffer *b = user;
    size_t len = one * n;
    if (b->size + len + 1 > REPLY_MAX) return 0; /* aborts the transfer */
    if (b->size + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->size + len + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return 0;
        b->data = grown, b->cap = cap;
    }
    memcpy(b->data + b->size, data, len);
    b->size += len;
    b->data[b->size] = '\0';
    return len;
}

static size_t on_header(char *data, size_t one, size_t n, void *user) {
    static const char name[] = "retry-after:";
    size_t len = one * n;
    if (len > sizeof name && !strncasecmp(data, name, sizeof name - 1)) {
        char value[32];
        size_t v = len - (sizeof name - 1) < sizeof value - 1 ? len - (sizeof name - 1) : sizeof value - 1;
        memcpy(value, data + sizeof name - 1, v);
        value[v] = '\0';
        *(double *)user = atof(value); /* seconds; an HTTP date reads as 0: our own backoff */
    }
    return len;
}

/* One HTTP exchange, no retries.  *http: the status (0 when none). */
static CURLcode perform(const ie_mlflow_client *c, const char *method, const char *url, const char *body,
                        size_t body_size, const char *content_type, long *http, buffer *reply, double *retry_after,
                        char *error, size_t error_size) {
    pthread_once(&curl_once, curl_init);
    *http = 0;
    *retry_after = 0;
    reply->size = 0;
    if (reply->data) reply->data[0] = '\0';
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(error, error_size, "libcurl could not start a request");
        return CURLE_FAILED_INIT;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    char type_header[128];
    snprintf(type_header, sizeof type_header, "Content-Type: %s", content_type ? content_type : "application/json");
    if (body) headers = curl_slist_append(headers, type_header);
    if (c->token) { /* libcurl builds the header: no copy of the token of ours, whatever its length */
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->token);
    } else if (c->username && c->password) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "innereye/" IE_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* the trainer has threads; timeouts must not use SIGALRM */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->total_timeout_s);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* never carry the token to another host */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, retry_after);
    if (c->insecure_tls) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->ca_path[0]) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_path);
    if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_size : 0));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        if (!strcmp(method, "PUT")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT"); /* the body sent as a POST's */
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
    if (rc != CURLE_OK) snprintf(error, error_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return rc;
}

static void pause_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* AzureML: a fresh token for the job's run, replacing c->token. */
static bool refresh_token(ie_mlflow_client *c) {
    char url[4096], error[CURL_ERROR_SIZE];
    if (!c->token || !ie_mlflow_azureml_token_url(c->base_url, c->experiment_id, c->run_id, url, sizeof url))
        return false;
    buffer reply = {0};
    long http;
    double retry_after;
    CURLcode rc = perform(c, "GET", url, NULL, 0, NULL, &http, &reply, &retry_after, error, sizeof error);
    cJSON *json = rc == CURLE_OK && http / 100 == 2 && reply.data ? cJSON_Parse(reply.data) : NULL;
    const char *token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "token"));
    bool ok = token && token[0];
    if (ok) {
        wipe(&c->token);
        c->token = dup_trimmed(token);
    }
    cJSON_Delete(json);
    if (reply.data) memset(reply.data, 0, reply.size);
    free(reply.data);
    return ok && c->token;
}

/* MLflow's error body: {"error_code": "...", "message": "..."}. */
static void describe_error(const buffer *reply, ie_mlflow_result *r) {
    cJSON *json = reply->data ? cJSON_Parse(reply->data) : NULL;
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "error_code"));
    const char *message = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "message"));
    snprintf(r->error_code, sizeof r->error_code, "%s", code ? code : "");
    char text[200] = "";
    if (message) snprintf(text, sizeof text, "%s", message);
    else if (!json && reply->data) snprintf(text, sizeof text, "%s", reply->data);
    char *to = text; /* one line: runs of white space become one space */
    for (const char *p = text; *p; p++)
        if (!isspace((unsigned char)*p) || (to > text && to[-1] != ' ')) *to++ = isspace((unsigned char)*p) ? ' ' : *p;
    *to = '\0';
    snprintf(r->detail, sizeof r->detail, "HTTP %ld%s%s%s%s", r->http, code ? " " : "", code ? code : "",
             text[0] ? ": " : "", text);
    cJSON_Delete(json);
}

/* One request with the retries and token refresh of ie_mlflow_call, to a
 * full URL with a body of any type. */
static ie_mlflow_failure request(ie_mlflow_client *c, const char *method, const char *url, const char *text,
                                 size_t text_size, const char *content_type, ie_mlflow_result *r) {
    buffer reply = {0};
    bool refreshed = false;
    double wait = c->backoff_s;
    for (int attempt = 1;; attempt++) {
        char error[CURL_ERROR_SIZE] = "";
        double retry_after;
        CURLcode rc = perform(c, method, url, text, text_size, content_type, &r->http, &reply, &retry_after, error,
                              sizeof error);
        bool last = attempt >= c->attempts;
        if (rc != CURLE_OK) {
            /* A dropped connection may be a restart: retried.  A refused or
             * timed-out one is not: the next epoch tries again anyway. */
            bool dropped = rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING;
            if (dropped && !last) {
                pause_s(wait);
                wait *= 2;
                continue;
            }
            snprintf(r->detail, sizeof r->detail, "%s", error);
            r->failure = IE_MLFLOW_UNREACHABLE;
            break;
        }
        if (r->http / 100 == 2) {
            const char *p = reply.data ? reply.data : "";
            while (isspace((unsigned char)*p)) p++;
            if (*p) {
                r->json = cJSON_Parse(p);
                if (!r->json) {
                    snprintf(r->detail, sizeof r->detail, "HTTP %ld with a reply that is not JSON", r->http);
                    r->failure = IE_MLFLOW_BAD_REPLY;
                }
            }
            break;
        }
        if (r->http == 401 && c->azureml && !refreshed) {
            refreshed = true;
            if (refresh_token(c)) {
                attempt--; /* the same attempt with the new token */
                continue;
            }
        }
        if ((r->http == 429 || r->http >= 500) && !last) {
            pause_s(retry_after > 0 ? (retry_after < 5 ? retry_after : 5) : wait);
            wait *= 2;
            continue;
        }
        describe_error(&reply, r);
        r->failure = r->http == 401 || r->http == 403       ? IE_MLFLOW_AUTH
                     : r->http == 429 || r->http >= 500      ? IE_MLFLOW_SERVER
                     : r->http >= 400 && r->http < 500       ? IE_MLFLOW_REJECTED
                                                            : IE_MLFLOW_BAD_REPLY;
        break;
    }
    free(reply.data);
    return r->failure;
}

ie_mlflow_failure ie_mlflow_call(ie_mlflow_client *c, const char *method, const char *endpoint, const cJSON *body,
                                 ie_mlflow_result *r) {
    memset(r, 0, sizeof *r);
    char url[4096];
    snprintf(url, sizeof url, "%s/api/2.0/mlflow/%s", c->base_url, endpoint);
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (body && !text) {
        snprintf(r->detail, sizeof r->detail, "out of memory");
        return r->failure = IE_MLFLOW_BAD_REPLY;
    }
    request(c, method, url, text, text ? strlen(text) : 0, NULL, r);
    free(text);
    return r->failure;
}

ie_mlflow_failure ie_mlflow_upload_artifact(ie_mlflow_client *c, const char *artifact_path, const char *data,
                                            size_t size, const char *content_type, ie_mlflow_result *r) {
    memset(r, 0, sizeof *r);
    char url[4096];
    snprintf(url, sizeof url, "%s/api/2.0/mlflow-artifacts/artifacts/%s", c->base_url, artifact_path);
    return request(c, "PUT", url, data ? data : "", size, content_type, r);
}

/* ------------------------------------------------------------ API */

static cJSON *run_body(const char *run_id) {
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "run_id", run_id);
    return b;
}

static void add_pair(cJSON *array, const char *key, const char *value) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "key", key);
    cJSON_AddStringToObject(p, "value", value);
    cJSON_AddItemToArray(array, p);
}

ie_mlflow_failure ie_mlflow_log_batch(ie_mlflow_client *c, const char *run_id, const ie_mlflow_metric *metrics,
                                      int n_metrics, const ie_mlflow_param *params, int n_params,
                                      ie_mlflow_result *r) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < n_metrics; i += IE_MLFLOW_BATCH_METRICS) {
        cJSON *b = run_body(run_id), *list = cJSON_AddArrayToObject(b, "metrics");
        for (int j = i; j < n_metrics && j < i + IE_MLFLOW_BATCH_METRICS; j++) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "key", metrics[j].key);
            cJSON_AddNumberToObject(m, "value", metrics[j].value);
            cJSON_AddNumberToObject(m, "timestamp", (double)metrics[j].timestamp_ms);
            cJSON_AddNumberToObject(m, "step", (double)metrics[j].step);
            cJSON_AddItemToArray(list, m);
        }
        ie_mlflow_call(c, "POST", "runs/log-batch", b, r);
        cJSON_Delete(b);
        cJSON_Delete(r->json);
        r->json = NULL;
        if (r->failure) return r->failure;
    }
    for (int i = 0; i < n_params; i += IE_MLFLOW_BATCH_PARAMS) {
        cJSON *b = run_body(run_id), *list = cJSON_AddArrayToObject(b, "params");
        for (int j = i; j < n_params && j < i + IE_MLFLOW_BATCH_PARAMS; j++) {
            if (!params[j].value[0]) continue; /* not every server takes an empty value; it tells nothing */
            char value[IE_MLFLOW_PARAM_VALUE_MAX + 1];
            size_t n = strlen(params[j].value);
            if (n > IE_MLFLOW_PARAM_VALUE_MAX) {
                n = IE_MLFLOW_PARAM_VALUE_MAX;
                while (n > 0 && ((unsigned char)params[j].value[n] & 0xC0) == 0x80) n--; /* whole UTF-8 characters */
            }
            memcpy(value, params[j].value, n);
            value[n] = '\0';
            add_pair(list, params[j].key, value);
        }
        ie_mlflow_call(c, "POST", "runs/log-batch", b, r);
        cJSON_Delete(b);
        cJSON_Delete(r->json);
        r->json = NULL;
        if (r->failure) return r->failure;
    }
    return IE_MLFLOW_OK;
}

ie_mlflow_failure ie_mlflow_update_run(ie_mlflow_client *c, const char *run_id, const char *status,
                                       long long end_ms, ie_mlflow_result *r) {
    cJSON *b = run_body(run_id);
    cJSON_AddStringToObject(b, "run_uuid", run_id); /* servers before MLflow 1.x's run_id */
    cJSON_AddStringToObject(b, "status", status);
    if (end_ms > 0) cJSON_AddNumberToObject(b, "end_time", (double)end_ms);
    ie_mlflow_call(c, "POST", "runs/update", b, r);
    cJSON_Delete(b);
    cJSON_Delete(r->json);
    r->json = NULL;
    return r->failure;
}

static void url_escape(const char *in, char *out, size_t size) {
    size_t j = 0;
    for (; *in && j + 4 < size; in++) {
        unsigned char ch = (unsigned char)*in;
        if (isalnum(ch) || strchr("-_.~", ch)) out[j++] = (char)ch;
        else j += (size_t)snprintf(out + j, size - j, "%%%02X", ch);
    }
    out[j] = '\0';
}

static const char *json_path(const cJSON *json, const char *a, const char *b, const char *c) {
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(json, a);
    if (b) node = cJSON_GetObjectItemCaseSensitive(node, b);
    if (c) node = cJSON_GetObjectItemCaseSensitive(node, c);
    return cJSON_GetStringValue(node);
}

/* The experiment named c->experiment_name, created when missing. */
static ie_mlflow_failure find_experiment(ie_mlflow_client *c, ie_mlflow_result *r) {
    char endpoint[1024], name[768];
    url_escape(c->experiment_name, name, sizeof name);
    snprintf(endpoint, sizeof endpoint, "experiments/get-by-name?experiment_name=%s", name);
    for (int tries = 0; tries < 2; tries++) {
        if (ie_mlflow_call(c, "GET", endpoint, NULL, r) == IE_MLFLOW_OK) {
            const char *id = json_path(r->json, "experiment", "experiment_id", NULL);
            if (id) snprintf(c->experiment_id, sizeof c->experiment_id, "%s", id);
            cJSON_Delete(r->json);
            r->json = NULL;
            if (id) return IE_MLFLOW_OK;
            snprintf(r->detail, sizeof r->detail, "experiments/get-by-name gave no experiment_id");
            return r->failure = IE_MLFLOW_BAD_REPLY;
        }
        if (r->failure != IE_MLFLOW_REJECTED || strcmp(r->error_code, "RESOURCE_DOES_NOT_EXIST") != 0)
            return r->failure;
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", c->experiment_name);
        ie_mlflow_call(c, "POST", "experiments/create", b, r);
        cJSON_Delete(b);
        const char *id = json_path(r->json, "experiment_id", NULL, NULL);
        if (id) snprintf(c->experiment_id, sizeof c->experiment_id, "%s", id);
        cJSON_Delete(r->json);
        r->json = NULL;
        if (id) return IE_MLFLOW_OK;
        /* Another run created it meanwhile: look it up again. */
        if (r->failure != IE_MLFLOW_REJECTED || strcmp(r->error_code, "RESOURCE_ALREADY_EXISTS") != 0)
            return r->failure ? r->failure : (r->failure = IE_MLFLOW_BAD_REPLY);
    }
    return r->failure;
}

ie_mlflow_failure ie_mlflow_create_run(ie_mlflow_client *c, const char *run_name, long long start_ms, char *run_id,
                                       size_t size, ie_mlflow_result *r) {
    memset(r, 0, sizeof *r);
    if (!c->experiment_id[0] && find_experiment(c, r) != IE_MLFLOW_OK) return r->failure;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "experiment_id", c->experiment_id);
    cJSON_AddNumberToObject(b, "start_time", (double)start_ms);
    cJSON_AddStringToObject(b, "run_name", run_name);
    cJSON *tags = cJSON_AddArrayToObject(b, "tags");
    add_pair(tags, "mlflow.runName", run_name); /* servers before run_name */
    add_pair(tags, "mlflow.source.name", "innereye");
    if (c->parent_run_id[0]) add_pair(tags, "mlflow.parentRunId", c->parent_run_id);
    ie_mlflow_call(c, "POST", "runs/create", b, r);
    cJSON_Delete(b);
    const char *id = json_path(r->json, "run", "info", "run_id");
    if (!id) id = json_path(r->json, "run", "info", "run_uuid");
    if (id) snprintf(run_id, size, "%s", id);
    cJSON_Delete(r->json);
    r->json = NULL;
    if (!r->failure && !id) {
        snprintf(r->detail, sizeof r->detail, "runs/create gave no run id");
        r->failure = IE_MLFLOW_BAD_REPLY;
    }
    return r->failure;
}
