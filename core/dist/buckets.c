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
    int count, lo, hi; /* the step's micro-batches; this rank's share */
    float *leaves;
    size_t len;
    float *sum;
    bool overlap, started;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool *ready; /* [(j - lo) * buckets + k]: bucket k of leaf j is final */
    void **sent; /* per bucket: the values its finish sent, kept until the step's one flush */
    int *held;   /* [k * (hi - lo) + (j - lo)]: the level of the node bucket k of leaf j's slot holds */
    double busy;
    ie_status status;
    char message[2048]; /* the thread's error text (error messages are per thread) */
};

static float *slot(const ie_step_reduce *r, int j, int k) {
    return r->leaves + (size_t)(j - r->lo) * r->len + r->b->offset[k];
}

/* Leaf j's bucket k has come: combines every node it completes, in place
 * (a node's value goes into the slot of its first leaf), and sends a
 * completed node that another rank needs at once.  Leaves come in order,
 * so this is a binary counter over the leaf indices: climbing from leaf j,
 * a right child whose left sibling is ours joins it (left + right: the
 * additions the recursion of ie_tree_value_of would make, on the same
 * bytes); a left child whose right sibling lies past the last leaf is its
 * parent (no addition); a left child whose right sibling exists waits for
 * it, and a right child whose left sibling is another rank's is a node this
 * rank sends (reduce.c's sends()).  Climbing stops at the root.  What is
 * left (nodes needing another rank's values, the root) is finish_bucket's. */
static ie_status fold(ie_step_reduce *r, int j, int k) {
    int *held = r->held + (size_t)k * (size_t)(r->hi - r->lo);
    size_t bytes = r->b->len[k] * sizeof(float);
    int top = ie_tree_root(r->count).level;
    for (ie_tree_node c = {0, j}; c.level < top; c = (ie_tree_node){c.level + 1, c.index / 2}) {
        int first = c.index << c.level;
        if (c.index & 1) {
            int left = (c.index - 1) << c.level;
            if (left < r->lo) return ie_dist_send_node(r->comm, r->count, 0, c, slot(r, first, k), bytes);
            if (held[left - r->lo] != c.level)
                return ie_error_set(IE_ERR_INTERNAL, "reduction tree: the left sibling of node (%d, %d) is not "
                                    "complete", c.level, c.index);
            ie_tree_add_floats(slot(r, left, k), slot(r, first, k), bytes);
            held[left - r->lo] = c.level + 1;
        } else {
            if (((long long)(c.index + 1) << c.level) < r->count) return IE_OK; /* its right sibling comes later */
            held[first - r->lo] = c.level + 1;
        }
    }
    return IE_OK;
}

/* Bucket k's nodes that need other ranks' values, the root and its
 * broadcast, once every leaf of this rank is folded. */
static ie_status finish_bucket(ie_step_reduce *r, int k) {
    ie_tree_sum sum = {r->b->len[k] * sizeof(float), ie_tree_add_floats};
    ie_dist_reduce_opts o = {.sum = &sum, .stream = 0, .owners_only = false, .noun = "the gradient sum",
                             .stride = r->len * sizeof(float), .held = r->held + (size_t)k * (size_t)(r->hi - r->lo),
                             .local_sends_done = true, .keep_sent = &r->sent[k]};
    return ie_dist_reduce_values(r->comm, r->count, r->leaves + r->b->offset[k], &o, r->sum + r->b->offset[k]);
}

static bool note(ie_step_reduce *r, ie_status st, double since) {
    r->busy += now() - since;
    if (st == IE_OK) return true;
    r->status = st;
    snprintf(r->message, sizeof r->message, "%s", ie_error_message());
    return false;
}

/* The thread's next step, chosen under the lock: finishing bucket k (once
 * every leaf of this rank has it folded, buckets in order: every rank
 * finishes them in the same order, so messages with one tag match in order,
 * and the root's broadcasts, collectives, come in the same order
 * everywhere) comes first, being on the step's critical path; else the
 * fold of a bucket whose leaf has come, bucket k of leaf j only after
 * bucket k of leaf j - 1 (the binary counter goes in leaf order) and after
 * bucket k - 1 of leaf j (so the nodes one leaf completes are sent in
 * bucket order).  With one micro-batch at a time (the plain step) this is
 * leaf by leaf; with synchronised batch norm, whose micro-batches go
 * through backward side by side, bucket by bucket.  *k = -1: nothing is
 * left. */
static void next_step(ie_step_reduce *r, const int *next, int finished, int *j, int *k) {
    int n = r->b->count;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        *j = -1;
        *k = finished < n ? finished : -1;
        if (*k < 0 || next[finished] == r->hi) break;
        for (*k = 0; *k < n; (*k)++) {
            *j = next[*k];
            if (*j < r->hi && (*k == 0 || next[*k - 1] > *j) &&
                r->ready[(size_t)(*j - r->lo) * (size_t)n + (size_t)*k])
                break;
        }
        if (*k < n) break;
        pthread_cond_wait(&r->changed, &r->lock);
    }
    pthread_mutex_unlock(&r->lock);
}

/* Every fold and every bucket's finish, each as soon as it can run (a rank
 * without leaves finishes each bucket at once), then one flush of all the
 * step's sends: a flush after bucket k would also wait for nodes of later
 * buckets sent early, which their receiver takes only after bucket k's
 * broadcast, which needs this rank: a deadlock. */
static void reduce_all(ie_step_reduce *r) {
    int *next = malloc((size_t)r->b->count * sizeof *next), finished = 0; /* per bucket: the next leaf to fold */
    if (!next) {
        note(r, ie_error_set(IE_ERR_NOMEM, "out of memory for the gradient reduction"), now());
        return;
    }
    for (int k = 0; k < r->b->count; k++) next[k] = r->lo;
    for (;;) {
        int j, k;
        next_step(r, next, finished, &j, &k);
        if (k < 0) break;
        double t0 = now();
        ie_status st = j < 0 ? finish_bucket(r, k) : fold(r, j, k);
        if (j < 0) finished++;
        else next[k]++;
        if (!note(r, st, t0)) break;
    }
    free(next);
    if (r->status == IE_OK && ie_comm_size(r->comm) > 1) {
        double t0 = now();
        note(r, ie_comm_flush(r->comm), t0);
    }
}

static void *reduce_thread(void *arg) {
    reduce_all(arg);
    return NULL;
}

ie_status ie_step_reduce_start(ie_comm *comm, const ie_buckets *buckets, int count, float *leaves, size_t len,
                               float *sum, bool overlap, ie_step_reduce **out) {
    *out = NULL;
    int lo, hi;
    ie_dist_share(count, ie_comm_size(comm), ie_comm_rank(comm), &lo, &hi);
    size_t cells = (size_t)(hi - lo) * (size_t)buckets->count;
    ie_step_reduce *r = calloc(1, sizeof *r);
    bool *ready = calloc(cells ? cells : 1, sizeof *ready);
    int *held = calloc(cells ? cells : 1, sizeof *held);
    void **sent = calloc((size_t)buckets->count, sizeof *sent);
    if (!r || !ready || !held || !sent) {
        free(r);
        free(ready);
        free(held);
        free(sent);
        return ie_error_set(IE_ERR_NOMEM, "out of memory for the gradient reduction");
    }
    *r = (ie_step_reduce){.comm = comm, .b = buckets, .count = count, .lo = lo, .hi = hi, .leaves = leaves,
                          .len = len, .sum = sum, .overlap = overlap, .ready = ready, .held = held, .sent = sent};
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

float *ie_step_reduce_leaf(ie_step_reduce *r, int j) { return r->leaves + (size_t)(j - r->lo) * r->len; }

void ie_step_reduce_ready(ie_step_reduce *r, int j, int k) {
    pthread_mutex_lock(&r->lock);
    r->ready[(size_t)(j - r->lo) * (size_t)r->b->count + (size_t)k] = true;
    pthread_cond_signal(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

ie_status ie_step_reduce_finish(ie_step_reduce *r, double *busy, double *waited) {
    double t0 = now();
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < (size_t)(r->hi - r->lo) * (size_t)r->b->count; i++) r->ready[i] = true;
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
    free(r->held);
    for (int k = 0; k < r->b->count; k++) free(r->sent[k]);
    free(r->sent);
    free(r);
    return st;
}
