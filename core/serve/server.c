/* core/serve - the HTTP side of the inference service (serve.h): routing,
 * the token, the limits, the queue between libmicrohttpd's connection
 * threads and the one thread that segments, the request log. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/serve/serve.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "innereye/image_io.h"

#define MB (1024.0 * 1024.0)

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state;

/* One field of a multipart/form-data body. */
typedef struct field {
    char name[128];
    bool is_file; /* it had a filename */
    char *data;   /* NUL-terminated for a value */
    size_t size, cap;
} field;

static void fields_free(field *f, int n) {
    for (int i = 0; f && i < n; i++) free(f[i].data);
    free(f);
}

/* One upload handed to the segmenting thread.  The connection's thread owns
 * it, unless it gave up waiting while the job ran (abandoned): then the
 * segmenting thread frees it. */
typedef struct job {
    char *body; /* the whole body, or NULL with fields */
    size_t size;
    field *fields;
    int n_fields;
    ie_serve_format format;
    job_state state;
    bool abandoned;
    ie_serve_reply reply;
} job;

typedef struct server {
    const ie_serve_options *opt;
    const ie_serve_app *app;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or stopping */
    pthread_cond_t done; /* a job finished, or stopping */
    int active;          /* requests holding a slot (max_requests) */
    job **queue;         /* ring of max_requests */
    int head, count;
    bool stopping;
    pthread_mutex_t log_lock;
} server;

/* One HTTP request, from its headers to its log line. */
typedef struct request {
    server *srv;
    struct timespec start; /* CLOCK_MONOTONIC */
    time_t wall;
    long wall_ms;
    char client[64];
    char method[16];
    char path[200];
    bool has_slot;
    char *body;
    size_t size, cap;
    /* multipart/form-data: parsed as it arrives into fields */
    struct MHD_PostProcessor *post;
    field *fields;
    int n_fields;
    char field_error[512]; /* why the parser was stopped */
    ie_serve_format format;
    int status; /* answered with; 0: not answered */
    size_t sent;
    bool cut; /* answered in the middle of its body, then closed (refuse_body) */
} request;

static const char *format_names[] = {"nifti", "dicom-seg", "rtstruct"};

static double since(const struct timespec *t0);

/* ---- responses ---- */

static enum MHD_Result respond(struct MHD_Connection *c, request *r, int status, const char *type, char *body,
                               size_t size, const char *filename) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (filename) {
        char disposition[256];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
        MHD_add_response_header(resp, "Content-Disposition", disposition);
    }
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->sent = size;
    return ok;
}

char *ie_serve_json_text(cJSON *j, size_t *size) {
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) return NULL;
    size_t n = strlen(text);
    char *out = malloc(n + 2);
    if (out) {
        memcpy(out, text, n);
        out[n] = '\n';
        out[n + 1] = '\0';
        if (size) *size = n + 1;
    }
    cJSON_free(text);
    return out;
}

/* {"error": message, "status": status}: every refusal says what is wrong,
 * whether answered as a response (respond_error) or on the socket
 * (refuse_body). */
static char *error_body(int status, const char *fmt, va_list ap, size_t *size) __attribute__((format(printf, 2, 0)));
static char *error_body(int status, const char *fmt, va_list ap, size_t *size) {
    char message[2400];
    vsnprintf(message, sizeof message, fmt, ap);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", message);
    cJSON_AddNumberToObject(j, "status", status);
    return ie_serve_json_text(j, size);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, request *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result respond_error(struct MHD_Connection *c, request *r, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t size = 0;
    char *body = error_body(status, fmt, ap, &size);
    va_end(ap);
    if (!body) return MHD_NO;
    return respond(c, r, status, "application/json", body, size, NULL);
}

/* A refusal in the middle of a body.  libmicrohttpd (0.9.75) queues a
 * response only before the body or after all of it, and reading the rest
 * of a body the server refuses (one over the limit may never end) is what
 * the limit is there to prevent.  So the answer is written on the socket
 * here, on the connection's own thread while libmicrohttpd is reading, not
 * writing (plain HTTP; the server has no TLS), and MHD_NO makes it close
 * the connection.  Closing a socket with unread bytes resets it, which can
 * make the client lose the answer, so what the client still sends is
 * discarded (kept nowhere) until it closes, for at most 2 s and 16 MiB: a
 * client that reads answers while it sends (curl does) stops at once. */
static enum MHD_Result refuse_body(struct MHD_Connection *c, request *r, int status, const char *reason,
                                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum MHD_Result refuse_body(struct MHD_Connection *c, request *r, int status, const char *reason,
                                   const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t size = 0;
    char *body = error_body(status, fmt, ap, &size);
    va_end(ap);
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!body || !info) {
        free(body);
        return MHD_NO;
    }
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", status, reason, size);
    bool sent = send(info->connect_fd, head, (size_t)n, MSG_NOSIGNAL) == n &&
                send(info->connect_fd, body, size, MSG_NOSIGNAL) == (ssize_t)size;
    shutdown(info->connect_fd, SHUT_WR); /* the answer is complete */
    free(body);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char sink[16384];
    size_t dropped = 0;
    for (double left = 2.0; sent && left > 0 && dropped < (16u << 20); left = 2.0 - since(&t0)) {
        struct pollfd p = {.fd = info->connect_fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) break;
        ssize_t got = recv(info->connect_fd, sink, sizeof sink, 0);
        if (got <= 0 && !(got < 0 && (errno == EAGAIN || errno == EINTR))) break; /* closed */
        if (got > 0) dropped += (size_t)got;
    }
    if (sent) {
        r->status = status;
        r->sent = size;
        r->cut = true;
    }
    return MHD_NO;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, request *r, int status, const char *text) {
    char *body = strdup(text);
    if (!body) return MHD_NO;
    return respond(c, r, status, "application/json", body, strlen(body), NULL);
}

/* ---- the segmenting thread's side ---- */

static void reply_error(ie_serve_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_error(ie_serve_reply *reply, int status, const char *fmt, ...) {
    reply->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply->message, sizeof reply->message, fmt, ap);
    va_end(ap);
}

/* One file of the upload (the body, or a field: `name`) unpacked into dir
 * and checked; false with the reply set when refused. */
static bool unpack_file(const ie_serve_options *o, const char *name, const char *data, size_t size, const char *dir,
                        ie_serve_input *in, char *image, size_t image_size, double *voxels, ie_serve_reply *reply) {
    char what[200] = "";
    if (name) snprintf(what, sizeof what, "field '%.100s': ", name);
    bool over_limit = false;
    ie_status st = ie_upload_unpack(data, size, o->max_image, dir, &in->kind, image, image_size, &over_limit);
    ie_image_geometry g;
    if (st != IE_OK) {
        reply_error(reply,
                    over_limit                 ? MHD_HTTP_CONTENT_TOO_LARGE
                    : st == IE_ERR_UNSUPPORTED ? MHD_HTTP_UNSUPPORTED_MEDIA_TYPE
                    : st == IE_ERR_NOMEM       ? MHD_HTTP_SERVICE_UNAVAILABLE
                                               : MHD_HTTP_BAD_REQUEST,
                    "%s%s", what, ie_error_message());
        return false;
    }
    if (ie_image_read_geometry(image, &g) != IE_OK) {
        reply_error(reply, MHD_HTTP_BAD_REQUEST, "%sthe image cannot be read: %s", what, ie_error_message());
        return false;
    }
    *voxels += (double)g.size[0] * (double)g.size[1] * (double)(g.ndim == 3 ? g.size[2] : 1);
    if (*voxels * 4.0 > (double)o->max_image) {
        reply_error(reply, MHD_HTTP_CONTENT_TOO_LARGE, "%sthe upload's images have %.0f voxels (%.0f MB as float32), "
                    "more than --max-image-mb %.0f allows", what, *voxels, *voxels * 4.0 / MB,
                    (double)o->max_image / MB);
        return false;
    }
    in->image = image;
    return true;
}

/* The upload on disk, checked, then answered by the app. */
static void process(server *srv, job *j) {
    const ie_serve_options *o = srv->opt;
    char dir[4200];
    bool fits = ie_path_format(dir, sizeof dir, "%s/innereye-serve-XXXXXX", o->tmp_dir) == IE_OK;
    if (!fits || !mkdtemp(dir)) {
        reply_error(&j->reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "the server cannot make a work folder in %.200s: %s",
                    o->tmp_dir, fits ? strerror(errno) : "the path is too long");
        return;
    }
    ie_serve_input inputs[IE_SERVE_MAX_FIELDS] = {{0}};
    static char images[IE_SERVE_MAX_FIELDS][4400]; /* the one segmenting thread's */
    int n = j->fields ? j->n_fields : 1;
    double voxels = 0;
    bool ok = true;
    if (!j->fields) {
        ok = unpack_file(o, NULL, j->body, j->size, dir, &inputs[0], images[0], sizeof images[0], &voxels, &j->reply);
        free(j->body); /* on disk now */
        j->body = NULL;
        if (ok && j->format != IE_SERVE_NIFTI && inputs[0].kind != IE_UPLOAD_DICOM_ZIP) {
            reply_error(&j->reply, MHD_HTTP_BAD_REQUEST, "format=%s answers with a DICOM object that references the "
                        "slices of the input series: send a zip of a DICOM series, or ask for format=nifti",
                        format_names[j->format]);
            ok = false;
        }
    }
    for (int i = 0; j->fields && ok && i < n; i++) {
        field *f = &j->fields[i];
        inputs[i].name = f->name;
        if (!f->is_file) {
            inputs[i].value = f->data ? f->data : "";
            continue;
        }
        char sub[4300];
        if (ie_path_format(sub, sizeof sub, "%s/field_%d", dir, i) != IE_OK || mkdir(sub, 0700) != 0) {
            reply_error(&j->reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "the server cannot make %.200s: %s", sub,
                        strerror(errno));
            ok = false;
        } else {
            ok = unpack_file(o, f->name, f->data, f->size, sub, &inputs[i], images[i], sizeof images[i], &voxels,
                             &j->reply);
        }
        free(f->data); /* on disk now */
        f->data = NULL;
    }
    if (ok) srv->app->segment(srv->app->ctx, inputs, n, j->format, dir, &j->reply);
    ie_remove_tree(dir);
}

static job *queue_pop(server *srv) {
    job *j = srv->queue[srv->head];
    srv->head = (srv->head + 1) % srv->opt->max_requests;
    srv->count--;
    return j;
}

static void job_free(job *j) {
    free(j->body);
    fields_free(j->fields, j->n_fields);
    free(j->reply.body);
    free(j);
}

/* The calling thread segments queued jobs one by one until stopping, then
 * answers the ones still waiting. */
static void segment_loop(server *srv) {
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        while (!srv->stopping && srv->count == 0) pthread_cond_wait(&srv->work, &srv->lock);
        if (srv->stopping) break;
        job *j = queue_pop(srv);
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&srv->lock);
        process(srv, j);
        pthread_mutex_lock(&srv->lock);
        j->state = JOB_DONE;
        if (j->abandoned) job_free(j);
        else pthread_cond_broadcast(&srv->done);
    }
    while (srv->count > 0) {
        job *j = queue_pop(srv);
        reply_error(&j->reply, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is shutting down");
        j->state = JOB_DONE;
    }
    pthread_cond_broadcast(&srv->done);
    pthread_mutex_unlock(&srv->lock);
}

/* ---- the connection threads' side ---- */

static bool authorised(const server *srv, struct MHD_Connection *c) {
    const char *token = srv->opt->token;
    if (!token) return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    /* Compared in a time that does not depend on where they differ. */
    size_t n = strlen(h), m = strlen(token);
    unsigned diff = n != m;
    for (size_t i = 0; i < m; i++) diff |= (unsigned)(unsigned char)token[i] ^ (unsigned char)(i < n ? h[i] : 0);
    return diff == 0;
}

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

/* The body is complete: queue it, wait for the answer or the deadline. */
static enum MHD_Result answer_segment(server *srv, struct MHD_Connection *c, request *r) {
    job *j = calloc(1, sizeof *j);
    if (!j) return respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is out of memory; retry later");
    j->body = r->body;
    j->size = r->size;
    j->fields = r->fields;
    j->n_fields = r->n_fields;
    j->format = r->format;
    r->body = NULL;
    r->fields = NULL;
    r->n_fields = 0;
    pthread_mutex_lock(&srv->lock);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->lock);
        job_free(j);
        return respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is shutting down");
    }
    /* This request holds a slot, so the ring (max_requests) has room. */
    srv->queue[(srv->head + srv->count) % srv->opt->max_requests] = j;
    srv->count++;
    pthread_cond_signal(&srv->work);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += srv->opt->timeout_s;
    while (j->state != JOB_DONE)
        if (pthread_cond_timedwait(&srv->done, &srv->lock, &deadline) == ETIMEDOUT) break;
    if (j->state == JOB_QUEUED) { /* still waiting: out of the queue */
        int at = -1, cap = srv->opt->max_requests;
        for (int i = 0; i < srv->count; i++)
            if (srv->queue[(srv->head + i) % cap] == j) at = i;
        if (at >= 0) { /* always: a queued job is in the ring */
            for (int i = at; i + 1 < srv->count; i++)
                srv->queue[(srv->head + i) % cap] = srv->queue[(srv->head + i + 1) % cap];
            srv->count--;
        }
        pthread_mutex_unlock(&srv->lock);
        job_free(j);
        return respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the request waited %d s (--timeout) behind others "
                             "and was not started; retry later", srv->opt->timeout_s);
    }
    if (j->state == JOB_RUNNING) { /* the segmenting thread frees it */
        j->abandoned = true;
        pthread_mutex_unlock(&srv->lock);
        return respond_error(c, r, MHD_HTTP_GATEWAY_TIMEOUT, "the segmentation took longer than %d s (--timeout); "
                             "its result is dropped", srv->opt->timeout_s);
    }
    pthread_mutex_unlock(&srv->lock);
    enum MHD_Result ok;
    if (j->reply.status == MHD_HTTP_OK) {
        ok = respond(c, r, MHD_HTTP_OK, j->reply.content_type, j->reply.body, j->reply.size, j->reply.filename);
        j->reply.body = NULL; /* MHD frees it */
    } else {
        ok = respond_error(c, r, j->reply.status, "%s", j->reply.message);
    }
    job_free(j);
    return ok;
}

/* MHD's multipart parser hands over each field's bytes in order; a field
 * starts at offset 0 (an empty first call does not count as a field of
 * its own).  The fields' bytes never pass the body's, which receive()
 * bounds by max_upload, and so does the memory they hold: a finished field
 * is shrunk to its size, and the one being received grows by doubling but
 * never beyond what the rest of the body could bring. */
static enum MHD_Result take_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                  const char *content_type, const char *transfer_encoding, const char *data,
                                  uint64_t off, size_t size) {
    (void)kind, (void)content_type, (void)transfer_encoding;
    request *r = cls;
    field *f = r->n_fields ? &r->fields[r->n_fields - 1] : NULL;
    bool same = f && off > 0 && !strcmp(f->name, key ? key : "");
    bool restart = f && off == 0 && f->size == 0 && !strcmp(f->name, key ? key : "");
    if (!same && !restart) {
        if (!key || !key[0] || strlen(key) >= sizeof f->name) {
            snprintf(r->field_error, sizeof r->field_error, "a multipart field has %s name: give each field the "
                     "name of what it is (an image channel of GET /v1/model, mask, ...)",
                     key && key[0] ? "a too long" : "no");
            return MHD_NO;
        }
        for (int i = 0; i < r->n_fields; i++)
            if (!strcmp(r->fields[i].name, key)) {
                snprintf(r->field_error, sizeof r->field_error, "the multipart field '%.100s' is given twice", key);
                return MHD_NO;
            }
        if (r->n_fields == IE_SERVE_MAX_FIELDS) {
            snprintf(r->field_error, sizeof r->field_error, "more than %d multipart fields", IE_SERVE_MAX_FIELDS);
            return MHD_NO;
        }
        if (!r->fields && !(r->fields = calloc(IE_SERVE_MAX_FIELDS, sizeof *r->fields))) return MHD_NO;
        if (f && f->cap > f->size + 1) {
            char *shrunk = realloc(f->data, f->size + 1);
            if (shrunk) f->data = shrunk, f->cap = f->size + 1;
        }
        f = &r->fields[r->n_fields++];
        snprintf(f->name, sizeof f->name, "%s", key);
    }
    if (filename) f->is_file = true;
    if (f->size + size + 1 > f->cap) {
        size_t need = f->size + size + 1, cap = f->cap ? f->cap : 4096;
        while (cap < need) cap *= 2;
        size_t most = need + (r->srv->opt->max_upload - r->size); /* r->size counts this chunk already */
        if (cap > most) cap = most;
        char *grown = realloc(f->data, cap);
        if (!grown) return MHD_NO;
        f->data = grown;
        f->cap = cap;
    }
    if (size) memcpy(f->data + f->size, data, size);
    f->size += size;
    f->data[f->size] = '\0'; /* a value is text */
    return MHD_YES;
}

/* The headers are in: route, authorise, check the limits, take a slot. */
static enum MHD_Result first_call(server *srv, struct MHD_Connection *c, request *r, const char *url,
                                  const char *method) {
    bool get = !strcmp(method, MHD_HTTP_METHOD_GET), post = !strcmp(method, MHD_HTTP_METHOD_POST);
    if (!strcmp(url, "/v1/health")) {
        if (!get) return respond_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "/v1/health answers GET");
        cJSON *j = cJSON_CreateObject();
        pthread_mutex_lock(&srv->lock);
        int active = srv->active;
        pthread_mutex_unlock(&srv->lock);
        cJSON_AddStringToObject(j, "status", "ok");
        cJSON_AddStringToObject(j, "model_sha256", srv->app->model_sha256);
        cJSON_AddNumberToObject(j, "requests", active);
        cJSON_AddNumberToObject(j, "max_requests", srv->opt->max_requests);
        size_t size = 0;
        char *body = ie_serve_json_text(j, &size);
        return body ? respond(c, r, MHD_HTTP_OK, "application/json", body, size, NULL) : MHD_NO;
    }
    bool model = !strcmp(url, "/v1/model"), segment = !strcmp(url, "/v1/segment");
    if (!model && !segment)
        return respond_error(c, r, MHD_HTTP_NOT_FOUND, "no endpoint %.100s: the endpoints are GET /v1/health, GET "
                             "/v1/model and POST /v1/segment", url);
    if (!authorised(srv, c))
        return respond_error(c, r, MHD_HTTP_UNAUTHORIZED, "this server needs a token: send the header "
                             "\"Authorization: Bearer TOKEN\" with the token of its --token-file");
    if (model)
        return get ? respond_text(c, r, MHD_HTTP_OK, srv->app->model_json)
                   : respond_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "/v1/model answers GET");
    if (!post)
        return respond_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "/v1/segment answers POST with the image as the body");
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    int which = -1;
    for (int f = 0; f < 3; f++)
        if (!format || !strcmp(format, format_names[f])) which = format ? f : 0;
    if (which < 0)
        return respond_error(c, r, MHD_HTTP_BAD_REQUEST, "format=%.40s is not known: give format=nifti (the default), "
                             "dicom-seg or rtstruct", format);
    r->format = (ie_serve_format)which;
    snprintf(r->path + strlen(r->path), sizeof r->path - strlen(r->path), "?format=%s", format_names[which]);
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = length ? strtoull(length, NULL, 10) : 0;
    if (declared > srv->opt->max_upload)
        return respond_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "the upload is %.1f MB, more than --max-upload-mb "
                             "%.0f allows", (double)declared / MB, (double)srv->opt->max_upload / MB);
    pthread_mutex_lock(&srv->lock);
    bool stopping = srv->stopping, full = srv->active >= srv->opt->max_requests;
    if (!stopping && !full) srv->active++;
    pthread_mutex_unlock(&srv->lock);
    if (stopping) return respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is shutting down");
    if (full)
        return respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is busy: %d requests are being received "
                             "or segmented (--queue %d); retry later", srv->opt->max_requests,
                             srv->opt->max_requests);
    r->has_slot = true;
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (type && !strncasecmp(type, "multipart/form-data", 19)) {
        r->post = MHD_create_post_processor(c, 64 * 1024, take_field, r);
        if (!r->post)
            return respond_error(c, r, MHD_HTTP_BAD_REQUEST, "Content-Type multipart/form-data needs a boundary "
                                 "(curl -F NAME=@FILE sets it)");
        return MHD_YES;
    }
    r->cap = length ? (size_t)declared : 0;
    if (r->cap && !(r->body = malloc(r->cap)))
        return respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is out of memory; retry later");
    return MHD_YES;
}

/* Body bytes as they arrive.  Past max_upload (a body sent without a
 * Content-Length) the 413 is sent at once and no more is read. */
static enum MHD_Result receive(server *srv, struct MHD_Connection *c, request *r, const char *data, size_t n) {
    if (n > srv->opt->max_upload - r->size)
        return refuse_body(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "Content Too Large", "the upload is larger than "
                           "--max-upload-mb %.0f allows (refused after %zu bytes; it was sent without a "
                           "Content-Length)", (double)srv->opt->max_upload / MB, r->size + n);
    if (r->post) {
        r->size += n;
        if (MHD_post_process(r->post, data, n) == MHD_YES) return MHD_YES;
        return refuse_body(c, r, MHD_HTTP_BAD_REQUEST, "Bad Request", "%s", r->field_error[0] ? r->field_error
                           : "the multipart/form-data body is malformed (or the server is out of memory)");
    }
    if (r->size + n > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1 << 20;
        while (cap < r->size + n) cap *= 2;
        if (cap > srv->opt->max_upload) cap = srv->opt->max_upload;
        char *grown = realloc(r->body, cap);
        if (!grown) return MHD_NO;
        r->body = grown;
        r->cap = cap;
    }
    memcpy(r->body + r->size, data, n);
    r->size += n;
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **state) {
    (void)version;
    server *srv = cls;
    request *r = *state;
    if (!r) {
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        *state = r;
        r->srv = srv;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        r->wall = wall.tv_sec;
        r->wall_ms = wall.tv_nsec / 1000000;
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%.120s", url);
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!info || !info->client_addr ||
            getnameinfo(info->client_addr,
                        info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                 : sizeof(struct sockaddr_in),
                        r->client, sizeof r->client, NULL, 0, NI_NUMERICHOST) != 0)
            snprintf(r->client, sizeof r->client, "-");
        return first_call(srv, c, r, url, method);
    }
    if (r->status) { /* answered on the first call: the body is not wanted */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        enum MHD_Result ok = receive(srv, c, r, upload_data, *upload_size);
        *upload_size = 0;
        return ok;
    }
    if (r->post) {
        bool complete = MHD_destroy_post_processor(r->post) == MHD_YES;
        r->post = NULL;
        if (!complete || r->n_fields == 0)
            return respond_error(c, r, MHD_HTTP_BAD_REQUEST, "the multipart/form-data body %s",
                                 complete ? "has no fields" : "is malformed or ends before its closing boundary");
    }
    return answer_segment(srv, c, r);
}

/* The request's log line, and its slot back. */
static void completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why) {
    (void)c;
    server *srv = cls;
    request *r = *state;
    if (!r) return;
    if (r->has_slot) {
        pthread_mutex_lock(&srv->lock);
        srv->active--;
        pthread_mutex_unlock(&srv->lock);
    }
    static const char *const reasons[] = {"", " (error)", " (timed out)", " (server stopped)", " (read error)",
                                          " (client closed)"};
    struct tm tm;
    gmtime_r(&r->wall, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&srv->log_lock);
    fprintf(srv->opt->log, "%s.%03ldZ %s %s %s %d in=%zu out=%zu %.3fs model=%s%s\n", when, r->wall_ms, r->client,
            r->method, r->path, r->status, r->size, r->sent, since(&r->start), srv->app->model_sha256,
            r->cut                                          ? " (closed after the answer, before the body's end)"
            : (unsigned)why < sizeof reasons / sizeof reasons[0] ? reasons[why]
                                                            : " (ended)");
    fflush(srv->opt->log);
    pthread_mutex_unlock(&srv->log_lock);
    if (r->post) MHD_destroy_post_processor(r->post);
    fields_free(r->fields, r->n_fields);
    free(r->body);
    free(r);
    *state = NULL;
}

/* ---- start and stop ---- */

/* libmicrohttpd's own messages go to the request log, prefixed, but for the
 * one it writes after every refuse_body(): the request's line says it. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    server *srv = cls;
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    if (strstr(text, "Application reported internal error")) return;
    pthread_mutex_lock(&srv->log_lock);
    fprintf(srv->opt->log, "libmicrohttpd: %s%s", text, text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
    fflush(srv->opt->log);
    pthread_mutex_unlock(&srv->log_lock);
}

/* SIGINT and SIGTERM may arrive on any thread (OpenBLAS starts its own
 * before main), so the handler only writes the signal's number into a pipe
 * (async-signal-safe) and a thread of ours reads it and stops the server. */
static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig) {
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(stop_pipe[1], &b, 1);
    (void)n;
}

static void *wait_for_stop(void *arg) {
    server *srv = arg;
    unsigned char sig = 0;
    while (read(stop_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->work);
    pthread_cond_broadcast(&srv->done);
    pthread_mutex_unlock(&srv->lock);
    fprintf(stdout, "%s: stopping (the request being segmented finishes, waiting ones are answered 503)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
    return NULL;
}

static ie_status listen_address(const char *host, int port, struct sockaddr_storage *addr, bool *ipv6) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return ie_error_set(IE_ERR_CONFIG, "--host %s: %s; give an address such as 127.0.0.1, ::1 or 0.0.0.0", host,
                            gai_strerror(rc));
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    if (*ipv6) ((struct sockaddr_in6 *)addr)->sin6_port = htons((uint16_t)port);
    else ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return IE_OK;
}

ie_status ie_serve_run(const ie_serve_options *o, const ie_serve_app *app) {
    if (!o || !app || o->max_requests < 1 || o->timeout_s < 1 || !o->log)
        return ie_error_set(IE_ERR_INVALID_ARG, "serve: bad options");
    struct sockaddr_storage addr;
    bool ipv6 = false;
    IE_TRY(listen_address(o->host, o->port, &addr, &ipv6));
    server srv = {.opt = o, .app = app};
    srv.queue = calloc((size_t)o->max_requests, sizeof *srv.queue);
    if (!srv.queue) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&srv.lock, NULL);
    pthread_mutex_init(&srv.log_lock, NULL);
    pthread_cond_init(&srv.work, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* deadlines ignore clock changes */
    pthread_cond_init(&srv.done, &attr);
    pthread_condattr_destroy(&attr);
    if (pipe(stop_pipe) != 0 || fcntl(stop_pipe[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(stop_pipe[1], F_SETFD, FD_CLOEXEC) != 0) {
        free(srv.queue);
        return ie_error_set(IE_ERR_IO, "cannot make a pipe: %s", strerror(errno));
    }
    struct sigaction stop = {.sa_handler = on_stop_signal}, old_int, old_term, old_pipe;
    sigemptyset(&stop.sa_mask);
    stop.sa_flags = SA_RESTART;
    sigaction(SIGINT, &stop, &old_int);
    sigaction(SIGTERM, &stop, &old_term);
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    sigaction(SIGPIPE, &ignore, &old_pipe); /* a client that hangs up is not a reason to stop */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG |
                     (ipv6 ? MHD_USE_IPv6 : 0);
    /* Health checks and refusals need connections beyond the request slots. */
    unsigned connections = (unsigned)o->max_requests * 2 + 16;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handle, &srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                         &srv, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, &srv, MHD_OPTION_CONNECTION_LIMIT, connections,
                         MHD_OPTION_END);
    ie_status st = IE_OK;
    pthread_t stopper;
    if (!d) {
        st = ie_error_set(IE_ERR_IO, "cannot listen on %s port %d: %s (is the port in use? give another --port, or "
                          "0 for any free one)", o->host, o->port, strerror(errno));
    } else if (pthread_create(&stopper, NULL, wait_for_stop, &srv) != 0) {
        st = ie_error_set(IE_ERR_NOMEM, "cannot start a thread");
        MHD_stop_daemon(d);
    } else {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        printf(ipv6 ? "listening on http://[%s]:%u\n" : "listening on http://%s:%u\n", o->host,
               info ? (unsigned)info->port : (unsigned)o->port);
        fflush(stdout);
        segment_loop(&srv);
        MHD_stop_daemon(d); /* waits for the connection threads */
        pthread_join(stopper, NULL);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    stop_pipe[0] = stop_pipe[1] = -1;
    pthread_cond_destroy(&srv.work);
    pthread_cond_destroy(&srv.done);
    pthread_mutex_destroy(&srv.lock);
    pthread_mutex_destroy(&srv.log_lock);
    free(srv.queue);
    return st;
}
