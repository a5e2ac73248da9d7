/* tests - metrics to an MLflow tracking server, without network or Python: a
 * fake MLflow server (a thread on 127.0.0.1, an ephemeral port) records every
 * request line, Authorization header and body and answers as a scripted
 * MLflow would.  Checked:
 *   - AzureML's tracking URI -> https URL and token URL on known URIs (the
 *     rule azureml-mlflow and AzureML's R helper apply), metric names, the
 *     environment (AzureML and plain servers, an unsupported scheme);
 *   - the client: batches within MLflow's limits, long params truncated,
 *     500 and 429 retried, 400 not, an AzureML 401 refreshing the token,
 *     basic auth, a server that never answers bounded by the timeout, a run
 *     created in an experiment created on the way;
 *   - `innereye train` (2 epochs of a tiny HelloWorld) with MLFLOW_* set:
 *     log-batch bodies are JSON whose values equal train_log.csv's numbers
 *     with step = epoch, the test metrics equal metrics.csv, the config is
 *     sent as params, the status FINISHED at the end, every request carries
 *     the token and the token is nowhere in the run folder or the output;
 *     a first 500 is retried; without MLFLOW_RUN_ID a run is created and
 *     reused; a server that is down costs one warning and exit 0;
 *     run.mlflow=off sends nothing; a handmade classification run folder
 *     read into metrics and params;
 *   - the sync in process: inside an AzureML job into the job's run without
 *     runs/update, nothing sent twice; a failing server tried for 3 syncs,
 *     then only at the end, with one warning;
 *   - an AzureML sweep's objective is a name the trials log. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util/csv.h"
#include "core/submit/azureml.h"
#include "core/submit/job_spec.h"
#include "core/tracking/mlflow_data.h"
#include "core/tracking/mlflow_remote.h"
#include "core/tracking/mlflow_rest.h"
#include "test_util.h"
#include "yaml_subset.h"

extern char **environ;

/* ------------------------------------------------------------ fake server */

#define MAX_REQUESTS 512

typedef struct request {
    char method[8], path[1024], auth[512];
    char *body;
    int status; /* what the server answered; 0: nothing */
} request;

static struct {
    int listen_fd, port;
    pthread_mutex_t lock;
    request req[MAX_REQUESTS];
    int n;
    /* the script */
    int fail_log_batch;      /* answer this many next log-batch requests 500 */
    int busy_log_batch;      /* ... 429 with Retry-After: 0 */
    int reject_log_batch;    /* ... 400 INVALID_PARAMETER_VALUE */
    int hang;                /* never answer this many next requests */
    char valid_token[64];    /* non-empty: other bearer tokens get 401 */
    char fresh_token[64];    /* what the AzureML token endpoint hands out */
    bool experiment_exists;
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void srv_reset(void) {
    pthread_mutex_lock(&srv.lock);
    for (int i = 0; i < srv.n; i++) free(srv.req[i].body);
    srv.n = 0;
    srv.fail_log_batch = srv.busy_log_batch = srv.reject_log_batch = srv.hang = 0;
    srv.valid_token[0] = srv.fresh_token[0] = '\0';
    srv.experiment_exists = false;
    pthread_mutex_unlock(&srv.lock);
}

static void send_all(int fd, const char *text, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, text, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        text += w, n -= (size_t)w;
    }
}

static void reply(int fd, int status, const char *extra_headers, const char *body) {
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s"
                                        "Connection: close\r\n\r\n",
                     status, strlen(body), extra_headers);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

/* Reads one request; false when the client went away first. */
static bool read_request(int fd, request *r) {
    char *buf = malloc(1 << 22);
    size_t n = 0, need = 0;
    char *body = NULL;
    for (;;) {
        ssize_t got = recv(fd, buf + n, (1 << 22) - 1 - n, 0);
        if (got <= 0) break;
        n += (size_t)got;
        buf[n] = '\0';
        if (!body && (body = strstr(buf, "\r\n\r\n"))) {
            body += 4;
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            need = (size_t)(body - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (body && n >= need) break;
    }
    if (!body) {
        free(buf);
        return false;
    }
    memset(r, 0, sizeof *r);
    sscanf(buf, "%7s %1023s", r->method, r->path);
    const char *auth = strcasestr(buf, "\r\nAuthorization: ");
    if (auth) sscanf(auth + 17, "%511[^\r]", r->auth);
    r->body = strdup(body);
    free(buf);
    return true;
}

static void *serve(void *arg) {
    (void)arg;
    for (;;) {
        int fd = accept(srv.listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return NULL;
        }
        request r;
        if (!read_request(fd, &r)) {
            close(fd);
            continue;
        }
        pthread_mutex_lock(&srv.lock);
        bool log_batch = strstr(r.path, "/runs/log-batch") != NULL;
        bool token_call = strstr(r.path, "/token") != NULL;
        char bearer[128] = "";
        snprintf(bearer, sizeof bearer, "Bearer %s", srv.valid_token);
        int status = 200;
        const char *headers = "", *body = "{}";
        char created[128];
        if (srv.hang > 0) {
            srv.hang--;
            status = 0;
        } else if (srv.valid_token[0] && !token_call && strcmp(r.auth, bearer) != 0) {
            status = 401, body = "{\"error_code\": \"UNAUTHENTICATED\", \"message\": \"token expired\"}";
        } else if (token_call) {
            snprintf(created, sizeof created, "{\"token\": \"%s\", \"expiryTimeUtc\": \"2030-01-01T00:00:00Z\"}",
                     srv.fresh_token);
            body = created;
        } else if (log_batch && srv.fail_log_batch > 0) {
            srv.fail_log_batch--;
            status = 500, body = "{\"error_code\": \"INTERNAL_ERROR\", \"message\": \"try later\"}";
        } else if (log_batch && srv.busy_log_batch > 0) {
            srv.busy_log_batch--;
            status = 429, headers = "Retry-After: 0\r\n", body = "{\"error_code\": \"REQUEST_LIMIT_EXCEEDED\"}";
        } else if (log_batch && srv.reject_log_batch > 0) {
            srv.reject_log_batch--;
            status = 400, body = "{\"error_code\": \"INVALID_PARAMETER_VALUE\", \"message\": \"bad\"}";
        } else if (strstr(r.path, "/experiments/get-by-name")) {
            if (srv.experiment_exists) body = "{\"experiment\": {\"experiment_id\": \"7\", \"name\": \"x\"}}";
            else status = 404, body = "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"no such\"}";
        } else if (strstr(r.path, "/experiments/create")) {
            srv.experiment_exists = true;
            body = "{\"experiment_id\": \"7\"}";
        } else if (strstr(r.path, "/runs/get?run_id=")) { /* a server with --serve-artifacts */
            snprintf(created, sizeof created, "{\"run\": {\"info\": {\"artifact_uri\": "
                                              "\"mlflow-artifacts:/7/%.40s/artifacts\"}}}",
                     strstr(r.path, "run_id=") + 7);
            body = created;
        } else if (strstr(r.path, "/runs/create")) {
            snprintf(created, sizeof created, "{\"run\": {\"info\": {\"run_id\": \"created%d\", \"experiment_id\": "
                                              "\"7\"}, \"data\": {}}}",
                     srv.n);
            body = created;
        }
        r.status = status;
        if (srv.n < MAX_REQUESTS) srv.req[srv.n++] = r;
        else free(r.body);
        pthread_mutex_unlock(&srv.lock);
        if (status) {
            reply(fd, status, headers, body);
        } else { /* hang until the client gives up */
            char sink[256];
            while (recv(fd, sink, sizeof sink, 0) > 0) {
            }
        }
        close(fd);
    }
}

static void srv_start(void) {
    srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t len = sizeof a;
    if (bind(srv.listen_fd, (struct sockaddr *)&a, sizeof a) || listen(srv.listen_fd, 16) ||
        getsockname(srv.listen_fd, (struct sockaddr *)&a, &len)) {
        perror("fake MLflow server");
        exit(1);
    }
    srv.port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, serve, NULL);
    pthread_detach(t);
}

static int count_path(const char *needle) {
    pthread_mutex_lock(&srv.lock);
    int k = 0;
    for (int i = 0; i < srv.n; i++) k += strstr(srv.req[i].path, needle) != NULL;
    pthread_mutex_unlock(&srv.lock);
    return k;
}

/* ------------------------------------------------------------ helpers */

static char root[256];

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, mem);
    fclose(f);
    fclose(mem);
    return text;
}

static ie_mlflow_client test_client(const char *path) {
    ie_mlflow_client c;
    memset(&c, 0, sizeof c);
    snprintf(c.base_url, sizeof c.base_url, "http://127.0.0.1:%d%s", srv.port, path);
    ie_mlflow_shown_url(c.base_url, c.shown, sizeof c.shown);
    snprintf(c.run_id, sizeof c.run_id, "R");
    snprintf(c.experiment_name, sizeof c.experiment_name, "innereye");
    c.connect_timeout_s = 5, c.total_timeout_s = 15, c.attempts = 3, c.backoff_s = 0.05;
    return c;
}

/* ------------------------------------------------------------ pure parts */

static void test_urls_and_names(void) {
    char out[2048];
    const char *ws = "/subscriptions/0a1b-2c/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices"
                     "/workspaces/ws1";
    char uri[1024], want[1024];
    snprintf(uri, sizeof uri, "azureml://westeurope.api.azureml.ms/mlflow/v1.0%s?is-remote=True", ws);
    snprintf(want, sizeof want, "https://westeurope.api.azureml.ms/mlflow/v1.0%s", ws);
    CHECK(ie_mlflow_azureml_base_url(uri, out, sizeof out) && !strcmp(out, want), "azureml:// -> %s", out);
    snprintf(uri, sizeof uri, "azureml://eastus2.api.azureml.ms/mlflow/v2.0%s/", ws);
    snprintf(want, sizeof want, "https://eastus2.api.azureml.ms/mlflow/v2.0%s", ws);
    CHECK(ie_mlflow_azureml_base_url(uri, out, sizeof out) && !strcmp(out, want), "trailing '/': %s", out);
    CHECK(!ie_mlflow_azureml_base_url("https://host/mlflow", out, sizeof out), "https is not azureml://");
    CHECK(!ie_mlflow_azureml_base_url("azureml:///mlflow/v1.0", out, sizeof out), "azureml:// without a host");
    snprintf(uri, sizeof uri, "https://westeurope.api.azureml.ms/mlflow/v1.0%s", ws);
    snprintf(want, sizeof want, "https://westeurope.api.azureml.ms/history/v1.0%s/experimentids/e-1/runs/run_7/token",
             ws);
    CHECK(ie_mlflow_azureml_token_url(uri, "e-1", "run_7", out, sizeof out) && !strcmp(out, want), "token URL %s",
          out);
    CHECK(!ie_mlflow_azureml_token_url(uri, "", "run_7", out, sizeof out), "no experiment id: no token URL");
    ie_mlflow_shown_url("https://user:pa55@mlflow.example.org:5000/prefix/x?y", out, sizeof out);
    CHECK(!strcmp(out, "https://mlflow.example.org:5000"), "shown URL without credentials: %s", out);
    ie_mlflow_key("val_dice spinal/cord:x", out, sizeof out);
    CHECK(!strcmp(out, "val_dice_spinal_cord_x"), "key %s", out);
    char long_name[400];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    ie_mlflow_key(long_name, out, sizeof out);
    CHECK(strlen(out) == IE_MLFLOW_KEY_MAX, "keys are cut at %d bytes: %zu", IE_MLFLOW_KEY_MAX, strlen(out));
}

static void clear_env(void) {
    static const char *const names[] = {"MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID",
                                        "MLFLOW_EXPERIMENT_NAME", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
                                        "MLFLOW_TRACKING_PASSWORD", "AZUREML_RUN_ID", "AZUREML_RUN_TOKEN",
                                        "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_SERVER_CERT_PATH"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) unsetenv(names[i]);
}

static void test_environment(void) {
    ie_mlflow_client c;
    bool on;
    clear_env();
    CHECK_OK(ie_mlflow_client_from_env(&c, &on));
    CHECK(!on, "no MLFLOW_TRACKING_URI: nothing to send");
    /* Inside an AzureML job. */
    setenv("MLFLOW_TRACKING_URI",
           "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/g/providers/"
           "Microsoft.MachineLearningServices/workspaces/w",
           1);
    setenv("AZUREML_RUN_ID", "job_42", 1);
    setenv("AZUREML_RUN_TOKEN", "aml-token\n", 1);
    setenv("MLFLOW_EXPERIMENT_ID", "exp-9", 1);
    CHECK_OK(ie_mlflow_client_from_env(&c, &on));
    CHECK(on && c.azureml && !strcmp(c.run_id, "job_42") && !strcmp(c.token, "aml-token") &&
              !strcmp(c.experiment_id, "exp-9") && !strcmp(c.shown, "https://westeurope.api.azureml.ms"),
          "AzureML: run %s, token from AZUREML_RUN_TOKEN (trimmed), shown %s", c.run_id, c.shown);
    ie_mlflow_client_free(&c);
    setenv("MLFLOW_RUN_ID", "mlflow_run", 1);
    setenv("MLFLOW_TRACKING_TOKEN", "mlflow-token", 1);
    CHECK_OK(ie_mlflow_client_from_env(&c, &on));
    CHECK(!strcmp(c.run_id, "mlflow_run") && !strcmp(c.token, "mlflow-token"), "MLFLOW_RUN_ID and "
          "MLFLOW_TRACKING_TOKEN come first");
    ie_mlflow_client_free(&c);
    /* A fold or trial started by a local cross-validation or sweep. */
    setenv(IE_MLFLOW_NESTED_ENV, "1", 1);
    CHECK_OK(ie_mlflow_client_from_env(&c, &on));
    CHECK(!c.run_id[0] && !strcmp(c.parent_run_id, "mlflow_run"), "a child run is created under MLFLOW_RUN_ID");
    ie_mlflow_client_free(&c);
    unsetenv(IE_MLFLOW_NESTED_ENV);
    /* A plain MLflow server with basic auth. */
    clear_env();
    setenv("MLFLOW_TRACKING_URI", "http://alice:pw@mlflow.local:5000/", 1);
    setenv("MLFLOW_TRACKING_USERNAME", "alice", 1);
    setenv("MLFLOW_TRACKING_PASSWORD", "pw", 1);
    setenv("AZUREML_RUN_ID", "ignored", 1);
    CHECK_OK(ie_mlflow_client_from_env(&c, &on));
    CHECK(on && !c.azureml && !strcmp(c.base_url, "http://alice:pw@mlflow.local:5000") && !c.run_id[0] &&
              !c.token && !strcmp(c.username, "alice") && !strcmp(c.experiment_name, "innereye") &&
              !strcmp(c.shown, "http://mlflow.local:5000"),
          "plain server: base %s, shown %s, run '%s'", c.base_url, c.shown, c.run_id);
    ie_mlflow_client_free(&c);
    setenv("MLFLOW_TRACKING_URI", "databricks://secret-profile", 1);
    CHECK_FAILS(ie_mlflow_client_from_env(&c, &on), IE_ERR_CONFIG, "'databricks:' URIs are not supported");
    CHECK(!strstr(ie_error_message(), "secret-profile"), "only the scheme is named: %s", ie_error_message());
    clear_env();
}

/* A run folder written by hand: a classification run (no Structure column
 * in metrics.csv: the test metrics come from run.json), a NaN val_loss. */
static void write_text(const char *dir, const char *name, const char *text) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void make_run(const char *name, char *dir, size_t size) {
    snprintf(dir, size, "%s/%s", root, name);
    mkdir(dir, 0755);
    write_text(dir, "train_log.csv", "epoch,lr,train_loss,val_loss,val_auroc_sick,seconds\n"
                                     "1,0.01,0.7,nan,0.5,1.5\n2,0.01,0.6,nan,0.75,2.0\n");
    write_text(dir, "metrics.csv", "split,epoch,target,metric,value\ntest,2,sick,AUROC,0.8\n");
    write_text(dir, "run.json", "{\"start_time\": \"2026-01-02T03:04:05Z\", \"end_time\": \"2026-01-02T03:05:00Z\", "
                                "\"test_metrics\": {\"sick\": {\"AUROC\": 0.8, \"accuracy\": 0.625}}}");
    write_text(dir, "config.resolved.json", "{\"run\": {\"mlflow\": \"off\", \"name\": \"a b\"}, "
                                            "\"data\": {\"crop\": [16, 16]}}");
}

static void test_run_data(void) {
    char dir[400];
    make_run("handmade", dir, sizeof dir);
    ie_mlflow_run_data d;
    CHECK_OK(ie_mlflow_run_data_read(dir, &d));
    long long start = ie_mlflow_iso_ms("2026-01-02T03:04:05Z");
    CHECK(start == 1767323045000LL, "ISO time -> ms: %lld", start);
    CHECK(d.start_ms == start && d.end_ms == start + 55000, "start and end");
    CHECK(d.n_epoch == 6, "3 finite columns x 2 epochs (val_loss nan left out): %d", d.n_epoch);
    if (d.n_epoch == 6) {
        CHECK(!strcmp(d.epoch[0].key, "lr") && d.epoch[0].step == 1 && d.epoch[0].timestamp_ms == start + 1500,
              "epoch 1 at start + its seconds");
        CHECK(!strcmp(d.epoch[5].key, "val_auroc_sick") && d.epoch[5].value == 0.75 && d.epoch[5].step == 2 &&
                  d.epoch[5].timestamp_ms == start + 3500,
              "epoch 2 at start + both epochs' seconds");
    }
    CHECK(d.n_test == 2 && !strcmp(d.test[0].key, "test_AUROC_sick") && d.test[0].value == 0.8 &&
              !strcmp(d.test[1].key, "test_accuracy_sick") && d.test[0].step == 0 &&
              d.test[0].timestamp_ms == d.end_ms,
          "classification test metrics from run.json: %d", d.n_test);
    CHECK(d.n_params == 3 && !strcmp(d.params[0].key, "run.mlflow") && !strcmp(d.params[1].value, "a b") &&
              !strcmp(d.params[2].key, "data.crop") && !strcmp(d.params[2].value, "[16,16]"),
          "params: dotted keys, strings as is, arrays as JSON");
    CHECK(!strcmp(d.mlflow_mode, "off"), "run.mlflow read: %s", d.mlflow_mode);
    ie_mlflow_run_data_free(&d);
}

/* ------------------------------------------------------------ the client */

static void test_client_batches(void) {
    srv_reset();
    ie_mlflow_client c = test_client("");
    enum { M = 2500, P = 250 };
    static ie_mlflow_metric m[M];
    static ie_mlflow_param p[P];
    static char values[P][700];
    for (int i = 0; i < M; i++) {
        snprintf(m[i].key, sizeof m[i].key, "m%d", i % 7);
        m[i].value = i * 0.25, m[i].timestamp_ms = 1700000000000LL + i, m[i].step = i;
    }
    for (int i = 0; i < P; i++) {
        snprintf(p[i].key, sizeof p[i].key, "k.%d", i);
        snprintf(values[i], sizeof values[i], "%d", i);
        p[i].value = values[i];
    }
    memset(values[3], 'x', 600);
    values[3][600] = '\0';
    memset(values[4], 'a', 499);
    strcpy(values[4] + 499, "\xc3\xa9"); /* é across the 500-byte limit */
    ie_mlflow_result r;
    CHECK(ie_mlflow_log_batch(&c, "R", m, M, p, P, &r) == IE_MLFLOW_OK, "log-batch: %s", r.detail);
    CHECK(srv.n == 6, "2500 metrics + 250 params: 3 + 3 requests, got %d", srv.n);
    int metrics = 0, params = 0;
    for (int i = 0; i < srv.n; i++) {
        cJSON *b = cJSON_Parse(srv.req[i].body);
        CHECK(b && !strcmp(srv.req[i].method, "POST") && !strcmp(srv.req[i].path, "/api/2.0/mlflow/runs/log-batch"),
              "request %d: %s %s", i, srv.req[i].method, srv.req[i].path);
        CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "run_id")), "R"), "run_id");
        int nm = cJSON_GetArraySize(cJSON_GetObjectItem(b, "metrics"));
        int np = cJSON_GetArraySize(cJSON_GetObjectItem(b, "params"));
        CHECK(nm <= 1000 && np <= 100 && (nm == 0 || np == 0), "request %d: %d metrics, %d params", i, nm, np);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "metrics")) {
            const ie_mlflow_metric *want = &m[metrics++];
            CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "key")), want->key) &&
                      cJSON_GetObjectItem(e, "value")->valuedouble == want->value &&
                      cJSON_GetObjectItem(e, "timestamp")->valuedouble == (double)want->timestamp_ms &&
                      cJSON_GetObjectItem(e, "step")->valuedouble == (double)want->step,
                  "metric %d round trip", metrics - 1);
        }
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "params")) {
            const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(e, "value"));
            if (params == 3) CHECK(strlen(v) == 500, "a 600-byte param is cut to 500: %zu", strlen(v));
            else if (params == 4) CHECK(strlen(v) == 499, "cut before a split UTF-8 character: %zu", strlen(v));
            else CHECK(!strcmp(v, values[params]), "param %d", params);
            params++;
        }
        cJSON_Delete(b);
    }
    CHECK(metrics == M && params == P, "everything sent once: %d metrics, %d params", metrics, params);
}

static void test_client_retries(void) {
    ie_mlflow_client c = test_client("");
    ie_mlflow_metric m = {.key = "loss", .value = 1, .timestamp_ms = 1, .step = 1};
    ie_mlflow_result r;
    srv_reset();
    srv.fail_log_batch = 1;
    CHECK(ie_mlflow_log_batch(&c, "R", &m, 1, NULL, 0, &r) == IE_MLFLOW_OK && srv.n == 2 && srv.req[0].status == 500,
          "500 then 200: retried (%d requests)", srv.n);
    srv_reset();
    srv.busy_log_batch = 1;
    CHECK(ie_mlflow_log_batch(&c, "R", &m, 1, NULL, 0, &r) == IE_MLFLOW_OK && srv.n == 2, "429 retried");
    srv_reset();
    srv.fail_log_batch = 5;
    CHECK(ie_mlflow_log_batch(&c, "R", &m, 1, NULL, 0, &r) == IE_MLFLOW_SERVER && srv.n == 3,
          "500 three times: a server failure after 3 attempts (%d)", srv.n);
    CHECK(strstr(r.detail, "HTTP 500 INTERNAL_ERROR: try later") != NULL, "detail: %s", r.detail);
    srv_reset();
    srv.reject_log_batch = 1;
    CHECK(ie_mlflow_log_batch(&c, "R", &m, 1, NULL, 0, &r) == IE_MLFLOW_REJECTED && srv.n == 1 &&
              !strcmp(r.error_code, "INVALID_PARAMETER_VALUE"),
          "400 is not retried (%d requests, %s)", srv.n, r.error_code);
    /* Basic auth. */
    srv_reset();
    c.username = "u", c.password = "p";
    CHECK(ie_mlflow_log_batch(&c, "R", &m, 1, NULL, 0, &r) == IE_MLFLOW_OK && !strcmp(srv.req[0].auth, "Basic dTpw"),
          "basic auth header: %s", srv.req[0].auth);
    c.username = c.password = NULL;
    /* A server that never answers: bounded by the total timeout, no retry. */
    srv_reset();
    srv.hang = 1;
    c.total_timeout_s = 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ie_mlflow_failure f = ie_mlflow_log_batch(&c, "R", &m, 1, NULL, 0, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK(f == IE_MLFLOW_UNREACHABLE && s < 3 && srv.n == 1, "no answer: unreachable after %.1f s (%s)", s, r.detail);
}

static void test_client_azureml_token(void) {
    srv_reset();
    const char *ws = "/mlflow/v1.0/subscriptions/S/resourceGroups/G/providers/Microsoft.MachineLearningServices/"
                     "workspaces/W";
    ie_mlflow_client c = test_client(ws);
    c.azureml = true;
    snprintf(c.experiment_id, sizeof c.experiment_id, "E");
    c.token = strdup("stale");
    snprintf(srv.valid_token, sizeof srv.valid_token, "fresh");
    snprintf(srv.fresh_token, sizeof srv.fresh_token, "fresh");
    ie_mlflow_metric m = {.key = "loss", .value = 1, .timestamp_ms = 1, .step = 1};
    ie_mlflow_result r;
    CHECK(ie_mlflow_log_batch(&c, "R", &m, 1, NULL, 0, &r) == IE_MLFLOW_OK, "401 -> token refresh -> ok: %s",
          r.detail);
    CHECK(srv.n == 3, "expired, token, again: %d requests", srv.n);
    if (srv.n == 3) {
        char want[512];
        snprintf(want, sizeof want, "%s/api/2.0/mlflow/runs/log-batch", ws);
        CHECK(!strcmp(srv.req[0].path, want) && srv.req[0].status == 401, "first: %s %d", srv.req[0].path,
              srv.req[0].status);
        const char *token_path = "/history/v1.0/subscriptions/S/resourceGroups/G/providers/"
                                 "Microsoft.MachineLearningServices/workspaces/W/experimentids/E/runs/R/token";
        CHECK(!strcmp(srv.req[1].method, "GET") && !strcmp(srv.req[1].path, token_path) &&
                  !strcmp(srv.req[1].auth, "Bearer stale"),
              "token refresh: %s %s", srv.req[1].method, srv.req[1].path);
        CHECK(!strcmp(srv.req[2].auth, "Bearer fresh") && srv.req[2].status == 200, "retried with the new token");
    }
    /* A token that cannot be refreshed: an auth failure, no loop. */
    srv_reset();
    snprintf(srv.valid_token, sizeof srv.valid_token, "other");
    snprintf(srv.fresh_token, sizeof srv.fresh_token, "still-wrong");
    CHECK(ie_mlflow_log_batch(&c, "R", &m, 1, NULL, 0, &r) == IE_MLFLOW_AUTH && srv.n == 3,
          "refused after one refresh (%d requests)", srv.n);
    ie_mlflow_client_free(&c);
}

static void test_client_create_run(void) {
    srv_reset();
    ie_mlflow_client c = test_client("/prefix");
    c.run_id[0] = '\0';
    snprintf(c.experiment_name, sizeof c.experiment_name, "my exp");
    char id[256] = "";
    ie_mlflow_result r;
    CHECK(ie_mlflow_create_run(&c, "run_a", 1700000000000LL, id, sizeof id, &r) == IE_MLFLOW_OK, "create: %s",
          r.detail);
    const char *lookup = "/prefix/api/2.0/mlflow/experiments/get-by-name?experiment_name=my%20exp";
    CHECK(srv.n == 3 && !strcmp(srv.req[0].path, lookup) &&
              strstr(srv.req[1].path, "/experiments/create") && strstr(srv.req[2].path, "/runs/create"),
          "lookup, create experiment, create run (%d requests)", srv.n);
    CHECK(!strcmp(c.experiment_id, "7") && !strncmp(id, "created", 7), "experiment %s, run %s", c.experiment_id, id);
    cJSON *b = srv.n == 3 ? cJSON_Parse(srv.req[2].body) : NULL;
    CHECK(b && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "experiment_id")), "7") &&
              !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "run_name")), "run_a"),
          "runs/create body");
    cJSON_Delete(b);
    /* Nested under a parent run: the mlflow.parentRunId tag. */
    srv_reset();
    snprintf(c.parent_run_id, sizeof c.parent_run_id, "parent_1");
    CHECK(ie_mlflow_create_run(&c, "fold_0", 1700000000000LL, id, sizeof id, &r) == IE_MLFLOW_OK, "nested: %s",
          r.detail);
    CHECK(srv.n == 1 && strstr(srv.req[0].body, "\"mlflow.parentRunId\"") && strstr(srv.req[0].body, "\"parent_1\""),
          "runs/create carries mlflow.parentRunId");
}

/* ------------------------------------------------------------ innereye train */

/* Runs the CLI with the parent's environment minus MLFLOW_* / AZUREML_*,
 * plus `env`; stdout and stderr to <root>/<name>.out / .err. */
static int run_cli(const char *name, const char *const *env, const char *const *argv) {
    const char *envp[512];
    int k = 0;
    for (char **e = environ; *e && k < 480; e++)
        if (strncmp(*e, "MLFLOW_", 7) && strncmp(*e, "AZUREML_", 8)) envp[k++] = *e;
    for (int i = 0; env && env[i]; i++) envp[k++] = env[i];
    envp[k] = NULL;
    char out[512], err[512];
    snprintf(out, sizeof out, "%s/%s.out", root, name);
    snprintf(err, sizeof err, "%s/%s.err", root, name);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, IE_CLI, &fa, NULL, (char *const *)argv, (char *const *)envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `innereye train` of a tiny HelloWorld (2 epochs) into <root>/<name>. */
static int train(const char *name, const char *const *env, const char *const *extra) {
    const char *argv[64] = {IE_CLI, "train", "--model", "HelloWorld", "--set", "data.synthetic=true",
                            "--set", "data.synthetic_subjects=9", "--set", "model.params.features=4",
                            "--set", "model.params.depth=2", "--set", "train.epochs=2",
                            "--set", "data.crop_size=[16,16,16]", "--set", "run.threads=1", "--output-dir", root};
    int n = 20;
    char run_name[64];
    snprintf(run_name, sizeof run_name, "run.name=%s", name);
    argv[n++] = "--set";
    argv[n++] = run_name;
    for (int i = 0; extra && extra[i]; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    return run_cli(name, env, argv);
}

static const char *secret_token = "tok-SECRET-4711";
static int secret_hits;

static int scan_for_secret(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)ftw;
    if (type != FTW_F || st->st_size > (64 << 20)) return 0;
    char *text = slurp(path);
    if (text && memmem(text, (size_t)st->st_size, secret_token, strlen(secret_token))) {
        fprintf(stderr, "the token is in %s\n", path);
        secret_hits++;
    }
    free(text);
    return 0;
}

static double csv_number(const char *path, int row, const char *column) {
    ie_csv *csv = NULL;
    if (ie_csv_read(path, &csv) != IE_OK) return NAN;
    int c = ie_csv_column(csv, column);
    double v = c >= 0 && row < csv->n_rows ? strtod(ie_csv_cell(csv, row, c), NULL) : NAN;
    ie_csv_free(csv);
    return v;
}

/* The metric (key, step) of the log-batch requests answered 200; NAN when
 * absent; *copies: how often it was sent. */
static double sent_metric(const char *key, long step, int *copies) {
    double v = NAN;
    *copies = 0;
    for (int i = 0; i < srv.n; i++) {
        if (!strstr(srv.req[i].path, "/runs/log-batch") || srv.req[i].status != 200) continue;
        cJSON *b = cJSON_Parse(srv.req[i].body);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "metrics")) {
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "key")), key) ||
                cJSON_GetObjectItem(e, "step")->valuedouble != (double)step)
                continue;
            CHECK(cJSON_GetObjectItem(e, "timestamp")->valuedouble > 1.5e12, "%s: a timestamp in ms", key);
            v = cJSON_GetObjectItem(e, "value")->valuedouble;
            ++*copies;
        }
        cJSON_Delete(b);
    }
    return v;
}

static const char *sent_param(const char *key) {
    static char value[600];
    value[0] = '\0';
    for (int i = 0; i < srv.n; i++) {
        if (!strstr(srv.req[i].path, "/runs/log-batch") || srv.req[i].status != 200) continue;
        cJSON *b = cJSON_Parse(srv.req[i].body);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "params"))
            if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "key")), key))
                snprintf(value, sizeof value, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(e, "value")));
        cJSON_Delete(b);
    }
    return value;
}

static void test_train_with_server(void) {
    srv_reset();
    srv.fail_log_batch = 1; /* the first log-batch gets a 500 */
    char uri[128], token[128];
    snprintf(uri, sizeof uri, "MLFLOW_TRACKING_URI=http://127.0.0.1:%d/", srv.port);
    snprintf(token, sizeof token, "MLFLOW_TRACKING_TOKEN=%s", secret_token);
    const char *env[] = {uri, token, "MLFLOW_RUN_ID=run-e2e", NULL};
    int rc = train("e2e", env, NULL);
    CHECK(rc == 0, "innereye train with an MLflow server: exit %d", rc);
    char run[512], path[600];
    snprintf(run, sizeof run, "%s/e2e", root);
    snprintf(path, sizeof path, "%s/e2e.err", root);
    char *err = slurp(path);
    CHECK(err && !strstr(err, "warning"), "no warning when the server works: %s", err ? err : "");
    free(err);

    pthread_mutex_lock(&srv.lock);
    int batches = 0, ok_batches = 0;
    for (int i = 0; i < srv.n; i++) {
        CHECK(!strcmp(srv.req[i].auth, "Bearer tok-SECRET-4711"), "request %d (%s) carries the token: '%s'", i,
              srv.req[i].path, srv.req[i].auth);
        if (strcmp(srv.req[i].path, "/api/2.0/mlflow/runs/log-batch")) continue;
        batches++;
        ok_batches += srv.req[i].status == 200;
        cJSON *b = cJSON_Parse(srv.req[i].body);
        CHECK(b != NULL, "a log-batch body is JSON: %.200s", srv.req[i].body);
        CHECK(b && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "run_id")), "run-e2e"), "into MLFLOW_RUN_ID");
        cJSON_Delete(b);
    }
    CHECK(batches == ok_batches + 1 && srv.req[0].status == 500, "the first 500 was retried (%d batches, %d ok)",
          batches, ok_batches);

    /* Every train_log.csv column but epoch and seconds, per epoch, once. */
    snprintf(path, sizeof path, "%s/train_log.csv", run);
    ie_csv *log = NULL;
    CHECK_OK(ie_csv_read(path, &log));
    CHECK(log->n_rows == 2, "2 epochs logged");
    int checked = 0;
    for (int r = 0; r < log->n_rows; r++)
        for (int c = 0; c < log->n_columns; c++) {
            const char *h = log->header[c];
            if (!strcmp(h, "epoch") || !strcmp(h, "seconds")) continue;
            long epoch = atol(ie_csv_cell(log, r, ie_csv_column(log, "epoch")));
            int copies;
            double v = sent_metric(h, epoch, &copies);
            CHECK(copies == 1 && v == strtod(ie_csv_cell(log, r, c), NULL), "%s at step %ld: sent %d times, %.9g vs %s",
                  h, epoch, copies, v, ie_csv_cell(log, r, c));
            checked++;
        }
    CHECK(checked == 2 * 5, "lr, train_loss, val_loss, 2 Dice columns x 2 epochs: %d", checked);
    ie_csv_free(log);
    /* The sweep objective's name (train.median_stop.metric) is among them. */
    snprintf(path, sizeof path, "%s/config.resolved.json", run);
    char *text = slurp(path);
    cJSON *cfg = cJSON_Parse(text);
    free(text);
    const char *objective = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "train"), "median_stop"), "metric"));
    char key[IE_MLFLOW_KEY_MAX + 1];
    ie_mlflow_key(objective ? objective : "?", key, sizeof key);
    int copies;
    CHECK(!isnan(sent_metric(key, 2, &copies)), "the objective %s is logged per epoch", key);
    cJSON_Delete(cfg);
    /* Test metrics: the mean per structure of metrics.csv (one test subject). */
    snprintf(path, sizeof path, "%s/metrics.csv", run);
    double dice = csv_number(path, 0, "Dice"), sent = sent_metric("test_Dice_anterior", 0, &copies);
    CHECK(copies == 1 && fabs(sent - dice) < 1e-6, "test_Dice_anterior %.9g vs metrics.csv %.9g", sent, dice);
    CHECK(!strcmp(sent_param("train.epochs"), "2") && !strcmp(sent_param("model.name"), "HelloWorld"),
          "the config as params: train.epochs=%s", sent_param("train.epochs"));
    /* The report and the metrics tables as artifacts of the run, through the
     * server's artifact proxy, byte for byte (core/tracking/mlflow_artifacts.h). */
    static const char *const artifacts[] = {"report.html", "metrics.csv", "metrics_aggregates.csv", "train_log.csv"};
    for (int k = 0; k < 4; k++) {
        char want[300];
        snprintf(want, sizeof want, "/api/2.0/mlflow-artifacts/artifacts/7/run-e2e/artifacts/%s", artifacts[k]);
        snprintf(path, sizeof path, "%s/%s", run, artifacts[k]);
        char *file = slurp(path);
        int found = 0;
        for (int i = 0; i < srv.n; i++)
            if (!strcmp(srv.req[i].method, "PUT") && !strcmp(srv.req[i].path, want)) {
                found++;
                CHECK(file && !strcmp(srv.req[i].body, file), "%s uploaded byte for byte", artifacts[k]);
            }
        CHECK(file && found == 1, "%s uploaded once as an artifact of the run (%d)", artifacts[k], found);
        free(file);
    }
    /* The end: FINISHED with the end time. */
    int updates = 0;
    for (int i = 0; i < srv.n; i++) {
        if (!strstr(srv.req[i].path, "/runs/update")) continue;
        updates++;
        cJSON *b = cJSON_Parse(srv.req[i].body);
        CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "status")), "FINISHED") &&
                  cJSON_GetObjectItem(b, "end_time")->valuedouble > 1.5e12,
              "runs/update FINISHED with end_time: %s", srv.req[i].body);
        cJSON_Delete(b);
    }
    CHECK(updates == 1, "one runs/update: %d", updates);
    pthread_mutex_unlock(&srv.lock);
    /* The token is nowhere in the run folder or the output. */
    secret_hits = 0;
    nftw(root, scan_for_secret, 16, FTW_PHYS);
    CHECK(secret_hits == 0, "the token was found in %d files", secret_hits);
}

/* The run id of every log-batch / runs/update body equals `id`. */
static void check_run_ids(const char *id) {
    for (int i = 0; id && i < srv.n; i++) {
        if (!strstr(srv.req[i].path, "/runs/log-batch") && !strstr(srv.req[i].path, "/runs/update")) continue;
        cJSON *b = cJSON_Parse(srv.req[i].body);
        CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "run_id")), id), "%s into run %s", srv.req[i].path,
              id);
        cJSON_Delete(b);
    }
}

static const char *update_status(void) {
    static char status[32];
    status[0] = '\0';
    for (int i = 0; i < srv.n; i++) {
        if (!strstr(srv.req[i].path, "/runs/update")) continue;
        cJSON *b = cJSON_Parse(srv.req[i].body);
        snprintf(status, sizeof status, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(b, "status")));
        cJSON_Delete(b);
    }
    return status;
}

/* No MLFLOW_RUN_ID: a run is created (in an experiment created on the way);
 * stopped after epoch 1 it is FAILED; resumed, it continues in the same run
 * with epoch 2 only, and ends FINISHED. */
static void test_train_creates_run(void) {
    srv_reset();
    char uri[128];
    snprintf(uri, sizeof uri, "MLFLOW_TRACKING_URI=http://127.0.0.1:%d", srv.port);
    const char *env[] = {uri, "MLFLOW_EXPERIMENT_NAME=seg", NULL};
    const char *stop[] = {"--stop-after-epochs", "1", NULL};
    CHECK(train("created", env, stop) != 0, "stopped after epoch 1");
    CHECK(count_path("/experiments/get-by-name?experiment_name=seg") == 1 && count_path("/experiments/create") == 1 &&
              count_path("/runs/create") == 1,
          "experiment looked up, created; one run created");
    char path[600];
    snprintf(path, sizeof path, "%s/created/mlflow_run.json", root);
    char *text = slurp(path);
    cJSON *state = cJSON_Parse(text ? text : "");
    free(text);
    char id[128] = "";
    const char *created = cJSON_GetStringValue(cJSON_GetObjectItem(state, "run_id"));
    snprintf(id, sizeof id, "%s", created ? created : "");
    CHECK(!strncmp(id, "created", 7) && cJSON_IsTrue(cJSON_GetObjectItem(state, "created")) &&
              cJSON_GetObjectItem(state, "epochs_sent")->valuedouble == 1,
          "mlflow_run.json keeps the created run: %s", id);
    cJSON_Delete(state);
    check_run_ids(id);
    int copies;
    CHECK(!isnan(sent_metric("train_loss", 1, &copies)) && !strcmp(update_status(), "FAILED"),
          "epoch 1 sent, the stopped run FAILED (%s)", update_status());

    srv_reset();
    snprintf(path, sizeof path, "%s/created", root);
    const char *resume[] = {IE_CLI, "train", "--resume", path, NULL};
    CHECK(run_cli("resumed", env, resume) == 0, "resumed");
    CHECK(count_path("/runs/create") == 0 && count_path("/experiments/") == 0, "no new run");
    check_run_ids(id);
    CHECK(isnan(sent_metric("train_loss", 1, &copies)) && !isnan(sent_metric("train_loss", 2, &copies)) &&
              copies == 1 && !isnan(sent_metric("test_Dice_anterior", 0, &copies)),
          "only epoch 2 and the test metrics are new");
    int params = 0;
    for (int i = 0; i < srv.n; i++) params += strstr(srv.req[i].body, "\"params\"") != NULL;
    CHECK(params == 0 && !strcmp(update_status(), "FINISHED"), "params not again (%d); FINISHED", params);
}

static void test_train_server_down(void) {
    /* A port nobody listens on: bound, then closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    char uri[128], token[128];
    snprintf(uri, sizeof uri, "MLFLOW_TRACKING_URI=http://127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(token, sizeof token, "MLFLOW_TRACKING_TOKEN=%s", secret_token);
    const char *env[] = {uri, token, "MLFLOW_RUN_ID=r", NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = train("down", env, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(rc == 0, "the server down: training still finishes (exit %d)", rc);
    char path[600];
    snprintf(path, sizeof path, "%s/down.err", root);
    char *err = slurp(path);
    int warnings = 0;
    for (const char *p = err; p && (p = strstr(p, "warning: MLflow")); p++) warnings++;
    CHECK(warnings == 1 && strstr(err, "cannot be reached"), "one warning: %s", err ? err : "");
    CHECK(!strstr(err ? err : "", secret_token), "no token in the warning");
    free(err);
    snprintf(path, sizeof path, "%s/down/run.json", root);
    CHECK(access(path, R_OK) == 0, "the run is complete");
    printf("server down: training took %.1f s\n",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
}

static void test_train_off(void) {
    srv_reset();
    char uri[128];
    snprintf(uri, sizeof uri, "MLFLOW_TRACKING_URI=http://127.0.0.1:%d", srv.port);
    const char *env[] = {uri, "MLFLOW_RUN_ID=r", NULL};
    const char *off[] = {"--set", "run.mlflow=off", "--set", "train.epochs=1", NULL};
    CHECK(train("off", env, off) == 0 && srv.n == 0, "run.mlflow=off: %d requests", srv.n);
}

/* ------------------------------------------------------------ the sync, in process */

static int count_warnings(const char *path) {
    char *text = slurp(path);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, "warning: MLflow")); p++) n++;
    free(text);
    return n;
}

/* Inside an AzureML job: into the job's run (AZUREML's path on the server),
 * no runs/update; a second final sync sends nothing. */
static void test_sync_azureml_job(void) {
    srv_reset();
    const char *ws = "/mlflow/v1.0/subscriptions/S/resourceGroups/G/providers/Microsoft.MachineLearningServices/"
                     "workspaces/W";
    ie_mlflow_client c = test_client(ws);
    c.azureml = true;
    snprintf(c.run_id, sizeof c.run_id, "job_1");
    c.token = strdup("job-token");
    ie_mlflow_remote_set_client(&c);
    char dir[400];
    make_run("azureml_job", dir, sizeof dir);
    ie_mlflow_run_data d;
    CHECK_OK(ie_mlflow_run_data_read(dir, &d));
    ie_mlflow_remote_sync(dir, &d, "RUNNING");
    ie_mlflow_remote_sync(dir, &d, "FINISHED");
    char want[512];
    snprintf(want, sizeof want, "%s/api/2.0/mlflow/runs/log-batch", ws);
    CHECK(srv.n == 3, "epochs, params, test metrics: %d requests", srv.n);
    for (int i = 0; i < srv.n; i++) {
        cJSON *b = cJSON_Parse(srv.req[i].body);
        CHECK(!strcmp(srv.req[i].path, want) && !strcmp(srv.req[i].auth, "Bearer job-token") &&
                  !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b, "run_id")), "job_1"),
              "request %d: %s into the job's run", i, srv.req[i].path);
        cJSON_Delete(b);
    }
    CHECK(count_path("/runs/update") == 0, "the job's own run gets no runs/update");
    srv_reset();
    ie_mlflow_remote_sync(dir, &d, "FINISHED");
    CHECK(srv.n == 0, "nothing new, nothing sent: %d", srv.n);
    ie_mlflow_run_data_free(&d);
}

/* A server failing every log-batch: 3 syncs try, the 4th is skipped, the
 * final one tries again; one warning for the kind. */
static void test_sync_failing_server(void) {
    srv_reset();
    srv.fail_log_batch = 1000;
    ie_mlflow_client c = test_client("");
    c.attempts = 1;
    ie_mlflow_remote_set_client(&c);
    char dir[400], log[500];
    make_run("failing", dir, sizeof dir);
    ie_mlflow_run_data d;
    CHECK_OK(ie_mlflow_run_data_read(dir, &d));
    snprintf(log, sizeof log, "%s/failing.err", root);
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    for (int i = 0; i < 3; i++) ie_mlflow_remote_sync(dir, &d, "RUNNING");
    int after3 = srv.n;
    ie_mlflow_remote_sync(dir, &d, "RUNNING");
    int after4 = srv.n;
    ie_mlflow_remote_sync(dir, &d, "FINISHED");
    fflush(stderr);
    dup2(saved, 2);
    close(fd);
    close(saved);
    CHECK(after3 == 6 && after4 == 6, "3 syncs x (epochs, params), then none: %d, %d", after3, after4);
    CHECK(srv.n == 10 && count_path("/runs/update") == 1, "the final sync tries everything: %d", srv.n);
    CHECK(count_warnings(log) == 1, "one warning: %d", count_warnings(log));
    ie_mlflow_run_data_free(&d);
}

/* ------------------------------------------------------------ the sweep objective */

static void test_sweep_objective(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir -p repo/docker && cd repo && git init -q . && echo FROM > docker/Dockerfile && "
             "git add docker && git -c user.name=t -c user.email=t@t commit -qm snapshot",
             root);
    CHECK(system(cmd) == 0, "a repository to snapshot");
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, "{\"model\": {\"name\": \"HelloWorld\"}, \"data\": {\"synthetic\": true}}", "t"));
    char out_dir[400];
    snprintf(out_dir, sizeof out_dir, "output.dir=%s", root);
    CHECK_OK(ie_config_set(cfg, out_dir, "t"));
    CHECK_OK(ie_config_set(cfg, "run.name=sweep", "t"));
    CHECK_OK(ie_config_set(cfg, "train.median_stop.metric=val_dice spinal cord", "t"));
    CHECK_OK(ie_config_resolve(cfg));
    ie_sweep_spec spec = {.early_stop = true, .trials = 2};
    CHECK_OK(ie_sweep_add(&spec, "train.batch_size=2,4", false));
    ie_job job;
    CHECK_OK(ie_job_prepare(cfg, &spec, 2, "azureml", &job));
    char repo[400];
    snprintf(repo, sizeof repo, "%s/repo", root);
    ie_azureml_opts o = {.compute = "cpu", .repo = repo, .dry_run = true};
    FILE *out = tmpfile();
    CHECK_OK(ie_azureml_submit(&job, cfg, &o, out));
    fclose(out);
    char path[8300], err[256] = "";
    snprintf(path, sizeof path, "%s/sweep.yml", job.submit_dir);
    char *text = slurp(path);
    cJSON *y = text ? yaml_parse(text, err, sizeof err) : NULL;
    free(text);
    char key[IE_MLFLOW_KEY_MAX + 1];
    ie_mlflow_key("val_dice spinal cord", key, sizeof key);
    CHECK(y && !strcmp(yaml_str(y, "objective.primary_metric"), key) && !strcmp(key, "val_dice_spinal_cord"),
          "primary_metric %s is the name the trials log (%s)", y ? yaml_str(y, "objective.primary_metric") : err,
          key);
    CHECK(y && yaml_num(y, "limits.max_total_trials") == 2, "a sweep of 2 trials");
    cJSON_Delete(y);
    ie_config_free(cfg);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/ie_test_mlflow_XXXXXX");
    if (!mkdtemp(root)) return 1;
    srv_start();
    test_urls_and_names();
    test_environment();
    test_run_data();
    test_client_batches();
    test_client_retries();
    test_client_azureml_token();
    test_client_create_run();
    test_train_with_server();
    test_train_creates_run();
    test_train_server_down();
    test_train_off();
    test_sync_azureml_job();
    test_sync_failing_server();
    test_sweep_objective();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (test_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return test_summary();
}
