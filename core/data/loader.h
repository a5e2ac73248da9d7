/* core/data - the batch loader: the batches of an epoch, in a fixed order,
 * prefetched by worker threads.
 *
 * Order.  With shuffle on (training), epoch e visits the loader's items in a
 * permutation that is a pure function of (seed, e): Fisher-Yates driven by
 * ie_rng_make(seed, IE_STREAM_SHUFFLE, e, 0).  With shuffle off (validation,
 * test, inference) items come in the order given.  Batch b holds positions
 * b*batch_size .. b*batch_size + batch_size - 1 of that order; the last,
 * shorter batch is kept unless drop_last is set.
 *
 * Each item goes through load_item -> augment -> collate.  augment receives
 * rng = ie_rng_make(seed, IE_STREAM_AUGMENT, epoch, dataset index of the item)
 * (never anything about the worker), so every batch is byte-identical for
 * any number of workers, any prefetch depth and with or without the cache.
 * augment may be NULL (no augmentation: validation).
 *
 * Threads.  workers = 0 builds every batch on the caller's thread inside
 * ie_loader_next.  workers = W > 0 starts W threads per epoch that build up to
 * `prefetch` batches ahead; ie_loader_next hands them out strictly in order.
 * Hooks may use ie_parallel_for (the pool runs one job at a time); nothing
 * they compute may depend on which thread runs them.
 *
 * Errors.  When a hook fails on batch k, batches 0..k-1 are still handed out
 * and the call that would return batch k returns the hook's status with a
 * message naming the subject (and epoch and dataset index); the epoch then
 * stays failed (later calls repeat the error) until the next
 * ie_loader_begin_epoch.  No thread is left waiting and nothing leaks.
 *
 * Cache.  With cache_bytes > 0, the samples load_item returns are kept (up
 * to the budget, by tensor bytes) keyed by dataset index, so later epochs
 * skip load_item for them.  Policy: fill until full, never evict.  (Training
 * visits every item once per epoch in random order, where LRU would evict
 * each sample just before it is needed again; a fixed subset gives a hit rate
 * of budget / dataset size every epoch.)  Samples are admitted on the
 * consumer's thread in batch order, so which items end up cached does not
 * depend on the number of workers either.
 *
 * Ownership of the tensors augment receives: augment may modify the
 * sample's tensors in place or replace them (releasing the old ones).  The
 * loader therefore hands augment tensors that nobody else holds: for a cached
 * sample, clones of the cached tensors.  A hook set whose augment never
 * writes into the tensors it receives (the host's segmentation augment builds
 * new ones) sets augment_keeps_input, which skips those clones.
 *
 * Batches.  ie_loader_next returns a batch whose tensors are new references
 * the caller releases (ie_batch_clear); batch.subjects points into an array
 * the loader owns (dataset-owned strings), valid until the next
 * ie_loader_begin_epoch or ie_loader_free.  Collate need not set subjects or
 * count: the loader sets both after collate returns. */
#ifndef IE_CORE_DATA_LOADER_H
#define IE_CORE_DATA_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/data/dataset.h"

typedef ie_status (*ie_load_item_fn)(ie_model *ctx, const ie_dataset_item *item, const ie_host *host,
                                     ie_sample *out);
typedef ie_status (*ie_augment_fn)(ie_model *ctx, ie_sample *sample, const ie_rng *rng);
typedef ie_status (*ie_collate_fn)(ie_model *ctx, const ie_sample *const *samples, int count, ie_batch *out);

/* The three data hooks and what each receives as its first argument: a
 * plugin's hooks get its ie_model; the host's defaults get their config. */
typedef struct ie_data_hooks {
    ie_load_item_fn load_item; /* required */
    void *load_item_ctx;
    ie_augment_fn augment;     /* NULL: no augmentation */
    void *augment_ctx;
    ie_collate_fn collate;     /* required */
    void *collate_ctx;
    bool augment_keeps_input;  /* see "Ownership" above */
} ie_data_hooks;

typedef struct ie_loader_opts {
    const ie_dataset *dataset; /* borrowed; must outlive the loader */
    const int *items;          /* dataset indices to visit (copied); NULL: all, in dataset order */
    int n_items;
    int batch_size;            /* >= 1 */
    bool shuffle;              /* training: true */
    bool drop_last;            /* drop a last batch shorter than batch_size */
    uint64_t seed;             /* the run's seed */
    int workers;               /* 0: everything on the caller's thread */
    int prefetch;              /* batches built ahead (workers > 0); <= 0: 2 * workers */
    size_t cache_bytes;        /* 0: no cache */
    const ie_host *host;       /* passed to load_item (borrowed) */
    ie_data_hooks hooks;
    /* Data-parallel training (core/dist): only these batches of every
     * epoch's order are built and handed out, in this (increasing) order;
     * the others are never loaded.  Copied.  NULL: every batch. */
    const int *batches;
    int n_batches;
} ie_loader_opts;

typedef struct ie_loader ie_loader;

typedef struct ie_loader_stats {
    uint64_t loads;        /* load_item calls */
    uint64_t cache_hits;   /* items taken from the cache */
    size_t cache_bytes;    /* tensor bytes held by the cache */
    int cached_items;
} ie_loader_stats;

ie_status ie_loader_create(const ie_loader_opts *opts, ie_loader **out);
/* Ends any running epoch, then releases the cache and the loader. */
void ie_loader_free(ie_loader *loader);

/* Starts epoch `epoch` (>= 0); a running epoch is ended first. */
ie_status ie_loader_begin_epoch(ie_loader *loader, int epoch);
/* Number of batches in an epoch (of opts.batches when given). */
int ie_loader_batch_count(const ie_loader *loader);
/* The epoch's order of dataset indices (batch_count * batch_size entries, or
 * fewer for a kept last batch); valid until the next begin_epoch. */
const int *ie_loader_order(const ie_loader *loader, int *count);
/* The next batch: *got is false (and out zeroed) once the epoch is done. */
ie_status ie_loader_next(ie_loader *loader, ie_batch *out, bool *got);
/* Stops the workers and drops batches not yet taken (also done by
 * begin_epoch and free); the subjects of taken batches stay valid. */
void ie_loader_end_epoch(ie_loader *loader);

void ie_loader_get_stats(const ie_loader *loader, ie_loader_stats *out);

/* Permutation of 0..n-1 for (seed, epoch): what shuffle uses. */
void ie_loader_permutation(uint64_t seed, int epoch, int n, int *perm);

#endif
