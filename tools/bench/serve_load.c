/* tools/bench - a load test for `innereye serve` (docs/performance.md):
 * CONCURRENCY clients post the same image to /v1/segment, one request after
 * another each, until REQUESTS are answered or SECONDS have passed
 * (whichever first; both bounded), then it prints requests per second and
 * the latency percentiles.  With --expect FILE every 200 answer is compared
 * with FILE's bytes (innereye infer's segmentation.nii.gz), so a load that
 * changes an answer is seen.
 *
 *   serve_load --url http://127.0.0.1:8080/v1/segment --file IMAGE [--token-file F]
 *              [--concurrency 4] [--requests 100] [--seconds 60] [--expect FILE]
 * Exit 0 when every request got 200 (and matched), 1 otherwise, 2 on bad
 * arguments. */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 256
#define MAX_REQUESTS 100000

typedef struct buffer {
    char *data;
    size_t size;
} buffer;

typedef struct shared {
    const char *url;
    buffer upload, expect;
    char auth[600];
    int max_requests;
    double deadline; /* CLOCK_MONOTONIC seconds */
    pthread_mutex_t lock;
    int started;       /* requests handed out */
    int done, ok, mismatched, failed;
    int status_counts[600];
    double latency[MAX_REQUESTS];
} shared;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static bool read_file(const char *path, buffer *b) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b->data = malloc(n > 0 ? (size_t)n : 1);
    b->size = b->data && n >= 0 && fread(b->data, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return b->data && (long)b->size == n;
}

static size_t collect(char *p, size_t size, size_t n, void *ctx) {
    buffer *b = ctx;
    char *grown = realloc(b->data, b->size + size * n);
    if (!grown) return 0;
    b->data = grown;
    memcpy(b->data + b->size, p, size * n);
    b->size += size * n;
    return size * n;
}

static void *client(void *arg) {
    shared *s = arg;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    if (s->auth[0]) headers = curl_slist_append(headers, s->auth);
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool go = s->started < s->max_requests && now() < s->deadline;
        if (go) s->started++;
        pthread_mutex_unlock(&s->lock);
        if (!go || !curl) break;
        buffer body = {0};
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, s->url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, s->upload.data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->upload.size);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        double t0 = now();
        CURLcode rc = curl_easy_perform(curl);
        double seconds = now() - t0;
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        bool matches = !s->expect.data || (body.size == s->expect.size &&
                                           (body.size == 0 || !memcmp(body.data, s->expect.data, body.size)));
        pthread_mutex_lock(&s->lock);
        s->latency[s->done++] = seconds;
        if (rc != CURLE_OK) s->failed++;
        else if (status >= 0 && status < 600) s->status_counts[status]++;
        if (rc == CURLE_OK && status == 200) {
            if (matches) s->ok++;
            else s->mismatched++;
        }
        pthread_mutex_unlock(&s->lock);
        free(body.data);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile by the nearest-rank method. */
static double percentile(const double *sorted, int n, double p) {
    int rank = (int)ceil(p / 100.0 * n);
    if (rank < 1) rank = 1;
    return sorted[(rank > n ? n : rank) - 1];
}

static void usage(void) {
    fprintf(stderr, "usage: serve_load --url URL --file IMAGE [--token-file F] [--concurrency N] [--requests N]\n"
                    "                  [--seconds S] [--expect FILE]\n");
}

int main(int argc, char **argv) {
    static shared s;
    const char *file = NULL, *token_file = NULL, *expect = NULL;
    int concurrency = 4;
    double seconds = 60;
    s.max_requests = 100;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (!strcmp(argv[i], "--url")) s.url = v;
        else if (!strcmp(argv[i], "--file")) file = v;
        else if (!strcmp(argv[i], "--token-file")) token_file = v;
        else if (!strcmp(argv[i], "--expect")) expect = v;
        else if (!strcmp(argv[i], "--concurrency")) concurrency = atoi(v);
        else if (!strcmp(argv[i], "--requests")) s.max_requests = atoi(v);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(v);
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (!s.url || !file || concurrency < 1 || concurrency > MAX_CLIENTS || s.max_requests < 1 ||
        s.max_requests > MAX_REQUESTS || !(seconds > 0)) {
        usage();
        fprintf(stderr, "serve_load: --url and --file are needed; --concurrency 1..%d, --requests 1..%d, "
                "--seconds > 0\n", MAX_CLIENTS, MAX_REQUESTS);
        return 2;
    }
    if (!read_file(file, &s.upload) || (expect && !read_file(expect, &s.expect))) {
        fprintf(stderr, "serve_load: cannot read %s\n", s.upload.data ? expect : file);
        return 2;
    }
    if (token_file) {
        buffer t = {0};
        if (!read_file(token_file, &t)) {
            fprintf(stderr, "serve_load: cannot read %s\n", token_file);
            return 2;
        }
        size_t n = strcspn(t.data, "\r\n") < t.size ? strcspn(t.data, "\r\n") : t.size;
        snprintf(s.auth, sizeof s.auth, "Authorization: Bearer %.*s", (int)(n > 500 ? 500 : n), t.data);
        free(t.data);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&s.lock, NULL);
    double t0 = now();
    s.deadline = t0 + seconds;
    pthread_t threads[MAX_CLIENTS];
    for (int i = 0; i < concurrency; i++) pthread_create(&threads[i], NULL, client, &s);
    for (int i = 0; i < concurrency; i++) pthread_join(threads[i], NULL);
    double wall = now() - t0;
    qsort(s.latency, (size_t)s.done, sizeof s.latency[0], by_value);
    printf("%d requests in %.2f s with %d clients: %.2f requests/s\n", s.done, wall, concurrency,
           wall > 0 ? s.done / wall : 0.0);
    if (s.done > 0)
        printf("latency: p50 %.3f s, p90 %.3f s, p99 %.3f s, max %.3f s\n", percentile(s.latency, s.done, 50),
               percentile(s.latency, s.done, 90), percentile(s.latency, s.done, 99), s.latency[s.done - 1]);
    printf("answers: %d 200%s", s.ok + s.mismatched, expect ? "" : "\n");
    if (expect) printf(" (%d equal to %s, %d different)\n", s.ok, expect, s.mismatched);
    for (int c = 0; c < 600; c++)
        if (c != 200 && s.status_counts[c]) printf("         %d %d\n", s.status_counts[c], c);
    if (s.failed) printf("         %d without an answer (connection failed)\n", s.failed);
    curl_global_cleanup();
    free(s.upload.data);
    free(s.expect.data);
    return s.ok == s.done && s.done > 0 ? 0 : 1;
}
