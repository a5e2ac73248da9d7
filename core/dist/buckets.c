/* core/dist - buckets and the step's bucket-by-bucket reduction
 * (buckets.h). */
#include "core/dist/buckets.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dist/reduce.h"

/* The cost model's link (docs/performance.md): per-message latency alpha as
 * this module sees it (MPI's own microseconds plus the first 20 us poll of
 * the module's wait) and bandwidth beta of a cluster link (100 Gb/s
 * InfiniBand, or shared memory within a machine). */
#define LINK_ALPHA_S 20e-6
#define LINK_BETA_BYTES_PER_S 10e9
#define MIN_BUCKET_BYTES ((size_t)64 << 10)

size_t ie_buckets_default_bytes(size_t gradient_bytes) {
    double best = sqrt((double)gradient_bytes * LINK_ALPHA_S * LINK_BETA_BYTES_PER_S);
    size_t bytes = (size_t)best;
    return bytes < MIN_BUCKET_BYTES ? MIN_BUCKET_BYTES : bytes;
}

void ie_buckets_free(ie_buckets *b) {
    free(b->offset);
    free(b->len);
    free(b->of_param);
    free(b->params_in);
    memset(b, 0, sizeof *b);
}

ie_status ie_buckets_plan(const ie_params *params, const ie_grad_layout *layout, size_t bucket_bytes,
                          ie_buckets *out) {
    memset(out, 0, sizeof *out);
    if (bucket_bytes == 0) bucket_bytes = ie_buckets_default_bytes(layout->n_values * sizeof(float));
    int n = layout->n_trained, most = n + 1; /* one bucket per parameter at most, and the tail */
    size_t *end = malloc((size_t)(n ? n : 1) * sizeof *end); /* each trained parameter's end in a leaf */
    out->offset = malloc((size_t)most * sizeof *out->offset);
    out->len = malloc((size_t)most * sizeof *out->len);
    out->of_param = malloc((size_t)(n ? n : 1) * sizeof *out->of_param);
    out->params_in = calloc((size_t)most, sizeof *out->params_in);
    if (!end || !out->offset || !out->len || !out->of_param || !out->params_in) {
        free(end);
        ie_buckets_free(out);
        return ie_error_set(IE_ERR_NOMEM, "out of memory planning the gradient buckets of %d parameters", n);
    }
    size_t at = 0;
    for (int i = 0, k = 0; i < ie_params_count(params); i++)
        if (ie_grads_trained(params, i)) end[k++] = at += (size_t)ie_tensor_numel(ie_params_tensor(params, i));
    /* From the last parameter back: a bucket closes once it holds
     * bucket_bytes. */
    size_t bucket_end = layout->n_values;
    for (int k = n - 1; k >= 0; k--) {
        size_t start = k > 0 ? end[k - 1] : 0;
        out->of_param[k] = out->count;
        out->params_in[out->count]++;
        if ((bucket_end - start) * sizeof(float) >= bucket_bytes || k == 0) {
            out->offset[out->count] = start;
            out->len[out->count] = bucket_end - start;
            out->count++;
            bucket_end = start;
        }
    }
    out->offset[out->count] = layout->n_values; /* the tail: flags, loss, failure */
    out->len[out->count] = layout->len - layout->n_values;
    out->count++;
    free(end);
    return IE_OK;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct ie_step_reduce {
    ie_comm *comm;
    const ie_buckets *b;
    int count;
    const float *leaves;
    size_t len;
    float *sum;
    bool overlap, started;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool *ready;
    double busy;
    ie_status status;
    char message[2048]; /* the thread's error text (error messages are per thread) */
};

static ie_status reduce_bucket(ie_step_reduce *r, int k) {
    ie_tree_sum sum = {r->b->len[k] * sizeof(float), ie_tree_add_floats};
    ie_dist_reduce_opts o = {.sum = &sum, .stream = 0, .owners_only = false, .noun = "the gradient sum",
                             .stride = r->len * sizeof(float)};
    return ie_dist_reduce_values(r->comm, r->count, r->leaves + r->b->offset[k], &o, r->sum + r->b->offset[k]);
}

/* Every bucket in bucket order, each once this rank's leaves hold it. */
static void reduce_all(ie_step_reduce *r) {
    for (int k = 0; k < r->b->count && r->status == IE_OK; k++) {
        pthread_mutex_lock(&r->lock);
        while (!r->ready[k]) pthread_cond_wait(&r->changed, &r->lock);
        pthread_mutex_unlock(&r->lock);
        double t0 = now();
        ie_status st = reduce_bucket(r, k);
        r->busy += now() - t0;
        if (st != IE_OK) {
            r->status = st;
            snprintf(r->message, sizeof r->message, "%s", ie_error_message());
        }
    }
}

static void *reduce_thread(void *arg) {
    reduce_all(arg);
    return NULL;
}

ie_status ie_step_reduce_start(ie_comm *comm, const ie_buckets *buckets, int count, const float *leaves,
                               size_t len, float *sum, bool overlap, ie_step_reduce **out) {
    *out = NULL;
    ie_step_reduce *r = calloc(1, sizeof *r);
    bool *ready = calloc((size_t)buckets->count, sizeof *ready);
    if (!r || !ready) {
        free(r);
        free(ready);
        return ie_error_set(IE_ERR_NOMEM, "out of memory for the gradient reduction");
    }
    *r = (ie_step_reduce){.comm = comm, .b = buckets, .count = count, .leaves = leaves, .len = len, .sum = sum,
                          .overlap = overlap, .ready = ready};
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    if (overlap) {
        int rc = pthread_create(&r->thread, NULL, reduce_thread, r);
        r->started = rc == 0;
        /* No thread (resource limits): the reduction runs in
         * ie_step_reduce_finish instead, with the same bytes. */
        if (!r->started) r->overlap = false;
    }
    *out = r;
    return IE_OK;
}

void ie_step_reduce_ready(ie_step_reduce *r, int k) {
    pthread_mutex_lock(&r->lock);
    r->ready[k] = true;
    pthread_cond_signal(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

ie_status ie_step_reduce_finish(ie_step_reduce *r, double *busy, double *waited) {
    double t0 = now();
    pthread_mutex_lock(&r->lock);
    for (int k = 0; k < r->b->count; k++) r->ready[k] = true;
    pthread_cond_signal(&r->changed);
    pthread_mutex_unlock(&r->lock);
    if (r->started) pthread_join(r->thread, NULL);
    else reduce_all(r);
    *waited = now() - t0;
    *busy = r->busy;
    ie_status st = r->status;
    if (st != IE_OK) ie_error_set(st, "%s", r->message);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->changed);
    free(r->ready);
    free(r);
    return st;
}
