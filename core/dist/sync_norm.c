/* core/dist - synchronised batch norm: the micro-batch threads and the
 * exchanges at batch-norm layers (the rules are in sync_norm.h). */
#include "core/dist/sync_norm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist/reduce.h"
#include "core/dist/tree.h"
#include "core/tensor/tensor_impl.h"

enum { RUNNING, WAITING, FINISHED, FAILED, NOT_FINITE };

typedef struct slot {
    pthread_t thread;
    bool started;
    int state;
    ie_tensor **grads; /* its parameters' gradients while another micro-batch runs */
    double *values;    /* at a layer: its partial sums in, the combination out */
    size_t n;
    ie_norm_sync_combine how;
    const char *layer;
    ie_status result;
} slot;

typedef struct group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const ie_sync_norm_opts *o;
    ie_sync_micro_batch_fn fn;
    void *ctx;
    int lo, k, turn, finished, n_params;
    bool cancel;      /* the threads could not all start: none runs fn */
    bool unannounced; /* a micro-batch here stopped at its own fault after the last exchange */
    slot *slots;
    ie_status stop;   /* set by an exchange: every micro-batch still running returns it */
    char message[1024];
} group;

/* One micro-batch's thread; hook is what core/ops/norm.c sees of it. */
typedef struct member {
    group *g;
    int i;
    ie_norm_sync hook;
} member;

/* ---- combining two leaves: values, then the two flags (added) ---- */

static void add_flags(double *l, const double *r, size_t n) {
    l[n] += r[n];
    l[n + 1] += r[n + 1];
}

static void combine_sums(void *left, const void *right, size_t bytes) {
    size_t n = bytes / sizeof(double) - 2;
    double *l = left;
    const double *r = right;
    for (size_t i = 0; i < n; i++) l[i] = l[i] + r[i];
    add_flags(l, r, n);
}

/* Chan, Golub and LeVeque's pairwise update of (count, mean, M2): exact in
 * real arithmetic, and the error of each merge is a few ulps of the larger
 * M2 (no cancellation between large sums of squares). */
static void combine_moments(void *left, const void *right, size_t bytes) {
    size_t n = bytes / sizeof(double) - 2;
    double *l = left;
    const double *r = right;
    for (size_t c = 0; c + 3 <= n; c += 3) {
        double na = l[c], nb = r[c];
        if (nb == 0) continue; /* a stopped micro-batch's zeros */
        if (na == 0) {
            memcpy(l + c, r + c, 3 * sizeof *l);
            continue;
        }
        double total = na + nb, d = r[c + 1] - l[c + 1];
        l[c] = total;
        l[c + 1] = l[c + 1] + d * (nb / total);
        l[c + 2] = l[c + 2] + r[c + 2] + d * d * (na * nb / total);
    }
    add_flags(l, r, n);
}

/* ---- the turn ---- */

static void swap_in(group *g, int i) {
    for (int p = 0; p < g->n_params; p++) {
        ie_params_tensor(g->o->params, p)->grad = g->slots[i].grads[p];
        g->slots[i].grads[p] = NULL;
    }
}

static void swap_out(group *g, int i) {
    for (int p = 0; p < g->n_params; p++) {
        ie_tensor *t = ie_params_tensor(g->o->params, p);
        g->slots[i].grads[p] = t->grad;
        t->grad = NULL;
    }
}

static void stop_all(group *g, ie_status st, const char *message) {
    if (g->stop != IE_OK) return;
    g->stop = st;
    snprintf(g->message, sizeof g->message, "%s", message);
}

/* Every micro-batch of this process waits at a layer or has stopped: the
 * layer's leaves (a stopped one gives zeros and its flag) go through the
 * tree, over all processes, and the waiting ones get the combination. */
static void exchange(group *g) {
    size_t n = 0;
    ie_norm_sync_combine how = IE_NORM_SYNC_SUMS;
    const char *layer = "batch_norm";
    bool have = false, mismatch = false;
    for (int i = 0; i < g->k; i++) {
        const slot *s = &g->slots[i];
        if (s->state != WAITING) continue;
        if (have && (s->n != n || s->how != how)) mismatch = true;
        if (!have) n = s->n, how = s->how, layer = s->layer, have = true;
    }
    size_t len = n + 2;
    double *leaves = calloc((size_t)g->k * len, sizeof *leaves), *root = calloc(len, sizeof *root);
    if (!leaves || !root) {
        stop_all(g, IE_ERR_NOMEM, "out of memory for the batch-norm statistics of a step");
        free(leaves);
        free(root);
        return;
    }
    for (int i = 0; i < g->k; i++) {
        const slot *s = &g->slots[i];
        double *leaf = leaves + (size_t)i * len;
        if (s->state == WAITING) memcpy(leaf, s->values, n * sizeof *leaf);
        /* A micro-batch that finished while others still have a layer to
         * pass is a model whose micro-batches differ: a failure too. */
        leaf[n] = s->state == WAITING ? (mismatch ? 1 : 0) : s->state == NOT_FINITE ? 0 : 1;
        leaf[n + 1] = s->state == NOT_FINITE ? 1 : 0;
    }
    ie_tree_sum sum = {len * sizeof(double), how == IE_NORM_SYNC_MOMENTS ? combine_moments : combine_sums};
    ie_dist_reduce_opts ro = {.sum = &sum, .stream = 1, .owners_only = true, .noun = "the batch-norm statistics"};
    ie_status st = ie_dist_reduce_values(g->o->comm, g->o->count, leaves, &ro, root);
    g->unannounced = false;
    char message[900];
    if (st != IE_OK) {
        stop_all(g, st, ie_error_message());
    } else if (mismatch) {
        snprintf(message, sizeof message, "%s: with train.sync_batch_norm every micro-batch must pass the same "
                 "batch-norm layers in the same order, but here they reached layers of different sizes", layer);
        stop_all(g, IE_ERR_STATE, message);
    } else if (root[n] > 0) {
        snprintf(message, sizeof message, "%s: stopped because another micro-batch of this step failed (its "
                 "message is above)", layer);
        stop_all(g, IE_ERR_STATE, message);
    } else if (root[n + 1] > 0) {
        snprintf(message, sizeof message, "%s: stopped because another micro-batch's loss is not finite", layer);
        stop_all(g, IE_ERR_NUMERIC, message);
    }
    for (int i = 0; i < g->k; i++) {
        slot *s = &g->slots[i];
        if (s->state != WAITING) continue;
        if (g->stop == IE_OK) memcpy(s->values, root, n * sizeof *root);
        s->state = RUNNING;
    }
    free(leaves);
    free(root);
}

/* Micro-batch `from` stops running (it waits at a layer or has ended): the
 * next one after it runs; when none can, the layer's exchange, then the
 * first one again. */
static void advance(group *g, int from) {
    int next = -1;
    for (int i = from + 1; i < g->k && next < 0; i++)
        if (g->slots[i].state == RUNNING) next = i;
    if (next < 0) {
        bool waiting = false;
        for (int i = 0; i < g->k; i++) waiting |= g->slots[i].state == WAITING;
        if (waiting) exchange(g);
        for (int i = 0; i < g->k && next < 0; i++)
            if (g->slots[i].state == RUNNING) next = i;
    }
    g->turn = next;
    pthread_cond_broadcast(&g->cv);
}

static void *micro_batch_thread(void *arg) {
    member *m = arg;
    group *g = m->g;
    pthread_mutex_lock(&g->mu);
    while (g->turn != m->i && !g->cancel) pthread_cond_wait(&g->cv, &g->mu);
    if (g->cancel) {
        pthread_mutex_unlock(&g->mu);
        return NULL;
    }
    swap_in(g, m->i);
    pthread_mutex_unlock(&g->mu);
    ie_norm_sync_set(&m->hook);
    ie_status st = g->fn(g->ctx, g->lo + m->i);
    ie_norm_sync_set(NULL);
    pthread_mutex_lock(&g->mu);
    slot *s = &g->slots[m->i];
    swap_out(g, m->i);
    s->result = st;
    s->state = st == IE_OK ? FINISHED : st == IE_ERR_NUMERIC ? NOT_FINITE : FAILED;
    if (st != IE_OK && g->stop == IE_OK) g->unannounced = true;
    g->finished++;
    advance(g, m->i);
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* The hook's exchange (sync_norm.h), on micro-batch m's thread. */
static ie_status exchange_at_layer(void *ctx, ie_norm_sync_combine how, double *values, size_t n,
                                   const char *layer) {
    member *m = ctx;
    group *g = m->g;
    slot *s = &g->slots[m->i];
    pthread_mutex_lock(&g->mu);
    s->values = values, s->n = n, s->how = how, s->layer = layer, s->state = WAITING;
    swap_out(g, m->i);
    advance(g, m->i);
    while (g->turn != m->i) pthread_cond_wait(&g->cv, &g->mu);
    swap_in(g, m->i);
    ie_status stop = g->stop;
    char message[sizeof g->message];
    memcpy(message, g->message, sizeof message);
    pthread_mutex_unlock(&g->mu);
    return stop == IE_OK ? IE_OK : ie_error_set(stop, "%s", message);
}

static void free_group(group *g, member *members) {
    for (int i = 0; g->slots && i < g->k; i++) {
        for (int p = 0; g->slots[i].grads && p < g->n_params; p++) ie_tensor_release(g->slots[i].grads[p]);
        free(g->slots[i].grads);
    }
    free(g->slots);
    free(members);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

ie_status ie_sync_norm_run(const ie_sync_norm_opts *o, ie_sync_micro_batch_fn fn, void *ctx, ie_status *results) {
    int lo, hi;
    ie_dist_share(o->count, ie_comm_size(o->comm), ie_comm_rank(o->comm), &lo, &hi);
    if (hi <= lo) return IE_OK;
    group g = {.o = o, .fn = fn, .ctx = ctx, .lo = lo, .k = hi - lo, .turn = -1,
               .n_params = o->params ? ie_params_count(o->params) : 0};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    g.slots = calloc((size_t)g.k, sizeof *g.slots);
    member *members = calloc((size_t)g.k, sizeof *members);
    ie_tensor **kept = calloc((size_t)(g.n_params ? g.n_params : 1), sizeof *kept);
    bool ok = g.slots && members && kept;
    for (int i = 0; ok && i < g.k; i++) {
        g.slots[i].grads = calloc((size_t)(g.n_params ? g.n_params : 1), sizeof(ie_tensor *));
        ok = g.slots[i].grads != NULL;
    }
    if (!ok) {
        free(kept);
        free_group(&g, members);
        return ie_error_set(IE_ERR_NOMEM, "out of memory for %d micro-batches with synchronised batch norm", g.k);
    }
    /* The gradients the parameters hold now are not any micro-batch's. */
    for (int p = 0; p < g.n_params; p++) {
        ie_tensor *t = ie_params_tensor(o->params, p);
        kept[p] = t->grad;
        t->grad = NULL;
    }
    int started = 0;
    for (int i = 0; i < g.k; i++) {
        members[i] = (member){&g, i, {.micro_batch = lo + i, .weight = o->weights[lo + i],
                                      .exchange = exchange_at_layer, .ctx = &members[i]}};
        g.slots[i].state = RUNNING;
        g.slots[i].result = IE_OK;
        if (pthread_create(&g.slots[i].thread, NULL, micro_batch_thread, &members[i]) != 0) break;
        g.slots[i].started = true;
        started++;
    }
    pthread_mutex_lock(&g.mu);
    if (started < g.k) g.cancel = true;
    else g.turn = 0;
    pthread_cond_broadcast(&g.cv);
    while (!g.cancel && g.finished < g.k) pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < started; i++) pthread_join(g.slots[i].thread, NULL);
    for (int i = 0; i < g.k; i++) results[i] = g.slots[i].result;
    for (int p = 0; p < g.n_params; p++) ie_params_tensor(o->params, p)->grad = kept[p];
    free(kept);
    bool unannounced = g.unannounced;
    free_group(&g, members);
    if (started < g.k)
        return ie_error_set(IE_ERR_NOMEM, "cannot start %d threads for the micro-batches of a step with "
                            "synchronised batch norm (train.sync_batch_norm)", g.k);
    if (unannounced && ie_comm_size(o->comm) > 1)
        return ie_error_set(IE_ERR_STATE, "rank %d: every micro-batch of this rank stopped at a fault (its message "
                            "is above) that the other ranks, waiting at a synchronised batch-norm layer, cannot "
                            "learn of; the job stops. Resume it from its last checkpoint (innereye train --resume "
                            "RUN_DIR, any number of processes)", ie_comm_rank(o->comm));
    return IE_OK;
}
