/* core/data - the batch loader: epoch order, worker threads, in-order hand-out,
 * error propagation and the sample cache (rules in loader.h). */
#include "core/data/loader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/sample_util.h"

/* What building one batch produced. */
typedef struct built {
    ie_status status;
    char *message;      /* on failure: the worker's error message */
    ie_batch batch;
    int n_fresh;        /* freshly loaded samples offered to the cache */
    int *fresh_items;
    ie_sample *fresh;
} built;

typedef struct slot {
    bool ready;
    int index; /* the batch it holds */
    built result;
} slot;

struct ie_loader {
    ie_loader_opts opts;
    int *items;
    int n_items, n_batches;
    int *batch_ids; /* opts.batches: which batch of the order the b-th handed out is; NULL: b itself */

    /* the epoch (written only while no worker runs) */
    bool running;
    int epoch;
    int *order;
    const char **subjects;
    ie_status failed;
    char *fail_message;

    /* workers */
    pthread_mutex_t mu;
    pthread_cond_t ready_cv, space_cv;
    pthread_t *threads;
    int n_threads, prefetch;
    slot *slots;
    int next_claim, next_take;
    bool stop;

    bool sync_ready; /* mutexes and condition variables initialised */

    /* cache: cache[i].struct_size != 0 marks dataset item i as cached */
    pthread_mutex_t cache_mu;
    ie_sample *cache;
    size_t cache_used;
    int cached_items;
    atomic_uint_fast64_t loads, hits;
};

void ie_loader_permutation(uint64_t seed, int epoch, int n, int *perm) {
    ie_rng rng = ie_rng_make(seed, IE_STREAM_SHUFFLE, (uint32_t)epoch, 0);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ie_rng_below(&rng, (uint32_t)i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static void built_release(built *r) {
    free(r->message);
    ie_data_batch_release(&r->batch);
    for (int i = 0; i < r->n_fresh; i++) ie_data_sample_release(&r->fresh[i]);
    free(r->fresh);
    free(r->fresh_items);
    memset(r, 0, sizeof *r);
}

/* ---- the cache ---- */

static bool cache_has_room(ie_loader *l) {
    if (!l->opts.cache_bytes) return false;
    pthread_mutex_lock(&l->cache_mu);
    bool room = l->cache_used < l->opts.cache_bytes;
    pthread_mutex_unlock(&l->cache_mu);
    return room;
}

/* Copies cached item idx into *out (clones when `private_copy`). */
static ie_status cache_lookup(ie_loader *l, int idx, bool private_copy, ie_sample *out, bool *hit) {
    *hit = false;
    if (!l->cache) return IE_OK;
    ie_sample copy = {0};
    pthread_mutex_lock(&l->cache_mu);
    if (l->cache[idx].struct_size) {
        copy = l->cache[idx];
        ie_data_sample_retain(&copy);
        *hit = true;
    }
    pthread_mutex_unlock(&l->cache_mu);
    if (!*hit) return IE_OK;
    atomic_fetch_add(&l->hits, 1);
    if (!private_copy) {
        *out = copy;
        return IE_OK;
    }
    ie_status st = ie_data_sample_clone(&copy, out);
    ie_data_sample_release(&copy);
    return st;
}

/* Runs on the consumer's thread in batch order, so the cache's content does
 * not depend on the number of workers. */
static void cache_admit(ie_loader *l, built *r) {
    for (int k = 0; k < r->n_fresh; k++) {
        int idx = r->fresh_items[k];
        size_t bytes = ie_data_sample_bytes(&r->fresh[k]);
        pthread_mutex_lock(&l->cache_mu);
        bool admit = !l->cache[idx].struct_size && l->cache_used < l->opts.cache_bytes &&
                     bytes <= l->opts.cache_bytes - l->cache_used;
        if (admit) {
            l->cache[idx] = r->fresh[k];
            l->cache_used += bytes;
            l->cached_items++;
            memset(&r->fresh[k], 0, sizeof r->fresh[k]);
        }
        pthread_mutex_unlock(&l->cache_mu);
        ie_data_sample_release(&r->fresh[k]);
    }
    free(r->fresh);
    free(r->fresh_items);
    r->fresh = NULL;
    r->fresh_items = NULL;
    r->n_fresh = 0;
}

/* ---- building a batch (any thread) ---- */

/* Makes sure a failed hook's status carries some message. */
static ie_status hook_failed(ie_status st) {
    if (!ie_error_message()[0]) ie_error_set(st, "%s (the hook gave no message)", ie_status_name(st));
    return st;
}

/* The pre-augmentation sample of item idx: from the cache or load_item. */
static ie_status fetch_sample(ie_loader *l, int idx, bool offer, ie_sample *out, built *r) {
    const ie_data_hooks *h = &l->opts.hooks;
    const ie_dataset_item *item = ie_dataset_item_at(l->opts.dataset, idx);
    bool private_copy = h->augment && !h->augment_keeps_input, hit = false;
    IE_TRY(cache_lookup(l, idx, private_copy, out, &hit));
    if (hit) return IE_OK;
    out->struct_size = sizeof *out;
    out->subject = item->subject;
    atomic_fetch_add(&l->loads, 1);
    ie_error_clear(); /* a hook that fails silently must not inherit an old message */
    ie_status st = h->load_item((ie_model *)h->load_item_ctx, item, l->opts.host, out);
    if (st != IE_OK)
        return ie_error_wrap(hook_failed(st), "load_item failed for subject '%s' (dataset item %d, epoch %d)", item->subject, idx,
                             l->epoch);
    out->struct_size = sizeof *out;
    if (!out->subject) out->subject = item->subject;
    if (!offer) return IE_OK;
    /* The cache keeps the loaded tensors; augment gets its own copies. */
    ie_sample *keep = &r->fresh[r->n_fresh];
    *keep = *out;
    ie_data_sample_retain(keep);
    r->fresh_items[r->n_fresh++] = idx;
    if (!private_copy) return IE_OK;
    ie_sample mine = {0};
    st = ie_data_sample_clone(out, &mine);
    ie_data_sample_release(out);
    *out = mine;
    return st;
}

static ie_status augment_sample(ie_loader *l, int idx, ie_sample *s) {
    const ie_data_hooks *h = &l->opts.hooks;
    if (!h->augment) return IE_OK;
    ie_rng rng = ie_rng_make(l->opts.seed, IE_STREAM_AUGMENT, (uint32_t)l->epoch, (uint32_t)idx);
    ie_error_clear();
    ie_status st = h->augment((ie_model *)h->augment_ctx, s, &rng);
    if (st != IE_OK)
        return ie_error_wrap(hook_failed(st), "augment failed for subject '%s' (dataset item %d, epoch %d)", s->subject, idx,
                             l->epoch);
    return IE_OK;
}

static ie_status collate_batch(ie_loader *l, int b, int start, int n, ie_sample *samples, ie_batch *out) {
    const ie_data_hooks *h = &l->opts.hooks;
    const ie_sample **ptrs = malloc((size_t)n * sizeof *ptrs);
    if (!ptrs) return ie_error_set(IE_ERR_NOMEM, "loader: out of memory collating batch %d", b);
    for (int j = 0; j < n; j++) ptrs[j] = &samples[j];
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    ie_error_clear();
    ie_status st = h->collate((ie_model *)h->collate_ctx, ptrs, n, out);
    free(ptrs);
    if (st != IE_OK) {
        char names[256] = "";
        for (int j = 0; j < n; j++) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", j ? ", " : "", l->subjects[start + j]);
        }
        return ie_error_wrap(hook_failed(st), "collate failed for batch %d of epoch %d (subjects %s)", b, l->epoch, names);
    }
    out->struct_size = sizeof *out;
    out->count = n;
    out->subjects = &l->subjects[start];
    return IE_OK;
}

static void build_batch(ie_loader *l, int b, built *r) {
    memset(r, 0, sizeof *r);
    if (l->batch_ids) b = l->batch_ids[b];
    int bs = l->opts.batch_size, start = b * bs;
    int n = l->n_items - start < bs ? l->n_items - start : bs;
    ie_sample *samples = calloc((size_t)n, sizeof *samples);
    bool offer = cache_has_room(l);
    ie_status st = samples ? IE_OK : ie_error_set(IE_ERR_NOMEM, "loader: out of memory for batch %d", b);
    if (st == IE_OK && offer) {
        r->fresh = calloc((size_t)n, sizeof *r->fresh);
        r->fresh_items = calloc((size_t)n, sizeof *r->fresh_items);
        if (!r->fresh || !r->fresh_items) st = ie_error_set(IE_ERR_NOMEM, "loader: out of memory for batch %d", b);
    }
    for (int j = 0; j < n && st == IE_OK; j++) {
        int idx = l->order[start + j];
        st = fetch_sample(l, idx, offer, &samples[j], r);
        if (st == IE_OK) st = augment_sample(l, idx, &samples[j]);
    }
    if (st == IE_OK) st = collate_batch(l, b, start, n, samples, &r->batch);
    for (int j = 0; samples && j < n; j++) ie_data_sample_release(&samples[j]);
    free(samples);
    if (st != IE_OK) {
        /* The message is thread-local: carry a copy to the consumer. */
        const char *msg = ie_error_message();
        char *copy = strdup(msg && msg[0] ? msg : ie_status_name(st));
        built_release(r);
        r->status = st;
        r->message = copy;
    }
}

/* ---- workers ---- */

static void *worker_main(void *arg) {
    ie_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && l->next_claim < l->n_batches && l->next_claim - l->next_take >= l->prefetch)
            pthread_cond_wait(&l->space_cv, &l->mu);
        if (l->stop || l->next_claim >= l->n_batches) break;
        int b = l->next_claim++;
        pthread_mutex_unlock(&l->mu);
        built r;
        build_batch(l, b, &r);
        pthread_mutex_lock(&l->mu);
        slot *s = &l->slots[b % l->prefetch];
        s->result = r;
        s->index = b;
        s->ready = true;
        if (r.status != IE_OK) { /* batches before b are all claimed: they still arrive */
            l->stop = true;
            pthread_cond_broadcast(&l->space_cv);
        }
        pthread_cond_broadcast(&l->ready_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* Joins the workers and drops every batch not yet taken. */
static void stop_workers(ie_loader *l) {
    if (l->n_threads) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_broadcast(&l->space_cv);
        pthread_cond_broadcast(&l->ready_cv);
        pthread_mutex_unlock(&l->mu);
        for (int i = 0; i < l->n_threads; i++) pthread_join(l->threads[i], NULL);
        l->n_threads = 0;
    }
    for (int i = 0; i < l->prefetch; i++) {
        if (l->slots[i].ready) built_release(&l->slots[i].result);
        l->slots[i].ready = false;
    }
}

static void start_workers(ie_loader *l) {
    int want = l->opts.workers < l->n_batches ? l->opts.workers : l->n_batches;
    l->stop = false;
    for (int i = 0; i < want; i++) {
        if (pthread_create(&l->threads[i], NULL, worker_main, l) != 0) break;
        l->n_threads++;
    }
    /* No thread could start: build on the caller's thread instead. */
}

/* ---- public API ---- */

ie_status ie_loader_create(const ie_loader_opts *opts, ie_loader **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "loader: out is NULL");
    *out = NULL;
    if (!opts || !opts->dataset) return ie_error_set(IE_ERR_INVALID_ARG, "loader: no options or no dataset");
    if (!opts->hooks.load_item || !opts->hooks.collate)
        return ie_error_set(IE_ERR_INVALID_ARG, "loader: the load_item and collate hooks are required");
    if (opts->batch_size < 1)
        return ie_error_set(IE_ERR_CONFIG, "loader: batch size %d; it must be at least 1", opts->batch_size);
    if (opts->workers < 0)
        return ie_error_set(IE_ERR_CONFIG, "loader: %d workers; use 0 (caller's thread) or more", opts->workers);
    int n_ds = ie_dataset_count(opts->dataset);
    int n = opts->items ? opts->n_items : n_ds;
    if (n < 0) return ie_error_set(IE_ERR_INVALID_ARG, "loader: %d items", n);
    for (int i = 0; opts->items && i < n; i++)
        if (opts->items[i] < 0 || opts->items[i] >= n_ds)
            return ie_error_set(IE_ERR_INVALID_ARG, "loader: item %d is %d, outside the dataset's 0..%d",
                                i, opts->items[i], n_ds - 1);
    ie_loader *l = calloc(1, sizeof *l);
    if (!l) return ie_error_set(IE_ERR_NOMEM, "loader: out of memory");
    l->opts = *opts;
    l->opts.items = NULL;
    l->n_items = n;
    l->n_batches = opts->drop_last ? n / opts->batch_size : (n + opts->batch_size - 1) / opts->batch_size;
    for (int i = 0; opts->batches && i < opts->n_batches; i++)
        if (opts->batches[i] < 0 || opts->batches[i] >= l->n_batches || (i && opts->batches[i] <= opts->batches[i - 1])) {
            int bad = opts->batches[i], total = l->n_batches;
            free(l);
            return ie_error_set(IE_ERR_INVALID_ARG, "loader: selected batch %d is %d; it must be in 0..%d and above "
                                "the one before", i, bad, total - 1);
        }
    l->prefetch = opts->prefetch > 0 ? opts->prefetch : 2 * opts->workers;
    if (l->prefetch < 1) l->prefetch = 1;
    size_t nn = (size_t)(n ? n : 1);
    l->items = malloc(nn * sizeof *l->items);
    l->order = malloc(nn * sizeof *l->order);
    l->subjects = malloc(nn * sizeof *l->subjects);
    l->slots = calloc((size_t)l->prefetch, sizeof *l->slots);
    l->threads = calloc((size_t)(opts->workers ? opts->workers : 1), sizeof *l->threads);
    if (opts->cache_bytes) l->cache = calloc((size_t)(n_ds ? n_ds : 1), sizeof *l->cache);
    if (opts->batches) {
        l->batch_ids = malloc((size_t)(opts->n_batches ? opts->n_batches : 1) * sizeof *l->batch_ids);
        if (l->batch_ids) memcpy(l->batch_ids, opts->batches, (size_t)opts->n_batches * sizeof *l->batch_ids);
        l->n_batches = opts->n_batches;
        l->opts.batches = NULL;
    }
    if ((opts->batches && !l->batch_ids) || !l->items || !l->order || !l->subjects || !l->slots || !l->threads || (opts->cache_bytes && !l->cache)) {
        ie_loader_free(l);
        return ie_error_set(IE_ERR_NOMEM, "loader: out of memory for %d items", n);
    }
    for (int i = 0; i < n; i++) l->items[i] = opts->items ? opts->items[i] : i;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->cache_mu, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    pthread_cond_init(&l->space_cv, NULL);
    l->sync_ready = true;
    atomic_init(&l->loads, 0);
    atomic_init(&l->hits, 0);
    *out = l;
    return IE_OK;
}

void ie_loader_end_epoch(ie_loader *l) {
    if (!l || !l->running) return;
    stop_workers(l);
    l->running = false;
}

void ie_loader_free(ie_loader *l) {
    if (!l) return;
    if (l->sync_ready) ie_loader_end_epoch(l);
    if (l->cache) {
        int n_ds = ie_dataset_count(l->opts.dataset);
        for (int i = 0; i < n_ds; i++) ie_data_sample_release(&l->cache[i]);
    }
    if (l->sync_ready) {
        pthread_mutex_destroy(&l->mu);
        pthread_mutex_destroy(&l->cache_mu);
        pthread_cond_destroy(&l->ready_cv);
        pthread_cond_destroy(&l->space_cv);
    }
    free(l->cache);
    free(l->fail_message);
    free(l->items);
    free(l->batch_ids);
    free(l->order);
    free(l->subjects);
    free(l->slots);
    free(l->threads);
    free(l);
}

ie_status ie_loader_begin_epoch(ie_loader *l, int epoch) {
    if (!l) return ie_error_set(IE_ERR_INVALID_ARG, "loader: NULL loader");
    if (epoch < 0) return ie_error_set(IE_ERR_INVALID_ARG, "loader: epoch %d; epochs count from 0", epoch);
    ie_loader_end_epoch(l);
    l->epoch = epoch;
    if (l->opts.shuffle) {
        /* order doubles as the permutation's scratch space */
        ie_loader_permutation(l->opts.seed, epoch, l->n_items, l->order);
        for (int i = 0; i < l->n_items; i++) l->order[i] = l->items[l->order[i]];
    } else {
        memcpy(l->order, l->items, (size_t)l->n_items * sizeof *l->order);
    }
    for (int i = 0; i < l->n_items; i++) l->subjects[i] = ie_dataset_item_at(l->opts.dataset, l->order[i])->subject;
    free(l->fail_message);
    l->fail_message = NULL;
    l->failed = IE_OK;
    l->next_claim = l->next_take = 0;
    l->running = true;
    if (l->opts.workers > 0) start_workers(l);
    return IE_OK;
}

int ie_loader_batch_count(const ie_loader *l) { return l ? l->n_batches : 0; }

const int *ie_loader_order(const ie_loader *l, int *count) {
    if (count) *count = l ? l->n_items : 0;
    return l ? l->order : NULL;
}

/* Waits for batch b from the workers. */
static void take_from_workers(ie_loader *l, int b, built *r) {
    pthread_mutex_lock(&l->mu);
    slot *s = &l->slots[b % l->prefetch];
    while (!(s->ready && s->index == b)) pthread_cond_wait(&l->ready_cv, &l->mu);
    *r = s->result;
    memset(&s->result, 0, sizeof s->result);
    s->ready = false;
    l->next_take++;
    pthread_cond_broadcast(&l->space_cv);
    pthread_mutex_unlock(&l->mu);
}

ie_status ie_loader_next(ie_loader *l, ie_batch *out, bool *got) {
    if (!l || !out || !got) return ie_error_set(IE_ERR_INVALID_ARG, "loader_next: NULL argument");
    memset(out, 0, sizeof *out);
    *got = false;
    if (l->failed != IE_OK) return ie_error_set(l->failed, "%s", l->fail_message);
    if (!l->running)
        return ie_error_set(IE_ERR_STATE, "loader_next: no epoch is running; call ie_loader_begin_epoch first");
    int b = l->next_take;
    if (b >= l->n_batches) return IE_OK;
    built r;
    if (l->n_threads) {
        take_from_workers(l, b, &r);
    } else {
        build_batch(l, b, &r);
        l->next_take++;
    }
    if (r.status != IE_OK) {
        l->failed = r.status;
        l->fail_message = r.message;
        r.message = NULL;
        built_release(&r);
        stop_workers(l);
        return ie_error_set(l->failed, "%s", l->fail_message ? l->fail_message : ie_status_name(l->failed));
    }
    if (r.n_fresh) cache_admit(l, &r);
    *out = r.batch;
    memset(&r.batch, 0, sizeof r.batch);
    built_release(&r);
    *got = true;
    return IE_OK;
}

void ie_loader_get_stats(const ie_loader *l, ie_loader_stats *out) {
    memset(out, 0, sizeof *out);
    if (!l) return;
    ie_loader *m = (ie_loader *)l;
    out->loads = atomic_load(&m->loads);
    out->cache_hits = atomic_load(&m->hits);
    pthread_mutex_lock(&m->cache_mu);
    out->cache_bytes = m->cache_used;
    out->cached_items = m->cached_items;
    pthread_mutex_unlock(&m->cache_mu);
}
