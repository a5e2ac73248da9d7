/* core/serve - an HTTP inference service (libmicrohttpd), for `innereye
 * serve` (tools/cmd_serve.c; docs/deploy.md is the user's guide):
 *
 *   GET  /v1/health    {"status": "ok", ...}: answers while the server runs (no token needed)
 *   GET  /v1/model     the model's JSON (given by the caller)
 *   POST /v1/segment[?format=nifti|dicom-seg|rtstruct]
 *                      body: a NIfTI, NRRD or zip of one DICOM series (upload.h),
 *                      or multipart/form-data whose fields are such files
 *                      (named: image channels, a mask) or short values;
 *                      answer: what the app makes of them (a file, JSON)
 *
 * The server knows nothing of models: `segment` does the work.  It runs on
 * the thread that called ie_serve_run, one request at a time, so the model
 * is used by one thread only; connections are received by libmicrohttpd's
 * threads, one per connection.  What it guarantees:
 *   - at most max_requests requests at once (being received, waiting or
 *     being segmented); one more is answered 503 at once, before its body
 *     is read, so memory stays bounded by max_requests x max_upload;
 *   - an upload larger than max_upload is answered 413 from its
 *     Content-Length; one without a length (chunked) is answered 413 when
 *     it passes the limit, and nothing past the limit is read (the
 *     connection is closed after the answer);
 *   - a request not answered within timeout_s of its upload is answered 503
 *     (still waiting) or 504 (being segmented; the result is dropped), and
 *     a connection idle for timeout_s is closed;
 *   - with a token, every endpoint but /v1/health needs
 *     "Authorization: Bearer TOKEN" (401 otherwise);
 *   - one log line per request: time (UTC), client, method and endpoint,
 *     status, bytes received and sent, seconds, the model's SHA-256;
 *   - SIGINT or SIGTERM (ie_serve_run handles them while it runs, in place of
 *     any handler before): no new requests, the request being segmented
 *     finishes, waiting ones are answered 503, then ie_serve_run returns. */
#ifndef IE_CORE_SERVE_SERVE_H
#define IE_CORE_SERVE_SERVE_H

#include <stddef.h>
#include <stdio.h>

#include "core/serve/upload.h"
#include "innereye/status.h"

typedef enum ie_serve_format { IE_SERVE_NIFTI, IE_SERVE_DICOM_SEG, IE_SERVE_RTSTRUCT } ie_serve_format;

/* Most fields of one multipart upload. */
#define IE_SERVE_MAX_FIELDS 32

/* One input of a request: the whole body (name NULL), or one field of a
 * multipart/form-data body.  A file (a field with a filename, or the whole
 * body) was unpacked and checked (upload.h): image is what the image
 * reader reads.  A field without a filename is a value: its text. */
typedef struct ie_serve_input {
    const char *name;  /* the field's name; NULL: the whole body */
    const char *image; /* a file: the image to read; NULL for a value */
    ie_upload_kind kind;
    const char *value; /* a value: its text (NUL-terminated); NULL for a file */
} ie_serve_input;

/* What `segment` answers: status 200 with a malloc'd body (the server frees
 * it), or an error status and message. */
typedef struct ie_serve_reply {
    int status;
    char *body;
    size_t size;
    const char *content_type; /* static */
    const char *filename;     /* static: Content-Disposition */
    char message[2048];       /* for an error status */
} ie_serve_reply;

typedef struct ie_serve_app {
    /* Answers the request's inputs (n_inputs >= 1; their names are
     * distinct) in `format`; `work_dir` is this request's folder (the
     * inputs' files are under it; out/ is free), removed afterwards. */
    void (*segment)(void *ctx, const ie_serve_input *inputs, int n_inputs, ie_serve_format format,
                    const char *work_dir, ie_serve_reply *reply);
    void *ctx;
    const char *model_json;   /* GET /v1/model */
    const char *model_sha256; /* for the log */
} ie_serve_app;

typedef struct ie_serve_options {
    const char *host; /* address to listen on: "127.0.0.1", "::1", "0.0.0.0" */
    int port;         /* 0: any free port (printed) */
    const char *token; /* NULL: no authorisation */
    size_t max_upload;       /* bytes of one request body */
    size_t max_image;        /* bytes an upload may decompress to, and of its images as float32 voxels */
    int max_requests;        /* at once: received, waiting or segmented */
    int timeout_s;
    const char *tmp_dir;     /* where each request's work folder goes */
    FILE *log;               /* request log lines */
} ie_serve_options;

/* A JSON answer's body: j's compact text and a newline, malloc'd (free();
 * *size, when not NULL, is its length).  j is deleted; NULL (j NULL, or out
 * of memory) is returned as NULL.  Every JSON the server and its apps
 * answer is made by this one function. */
struct cJSON;
char *ie_serve_json_text(struct cJSON *j, size_t *size);

/* Listens, prints "listening on http://HOST:PORT" to stdout, answers until
 * SIGINT or SIGTERM, then returns IE_OK.  Fails before listening when the
 * address cannot be used (names it). */
ie_status ie_serve_run(const ie_serve_options *options, const ie_serve_app *app);

#endif
