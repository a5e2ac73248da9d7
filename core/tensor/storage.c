/* core/tensor - storage and the caching allocator.
 *
 * A training step allocates the same sizes every step.  Freed blocks are kept
 * in per-size free lists and handed out again (a slightly larger block when
 * no exact one is free), so after the first steps the system allocator is
 * not called (see ie_memory_get_stats).  Blocks are 64-byte
 * aligned for vector loads.
 *
 * Host memory is also kept from growing past the high-water mark of the
 * memory in use: a cache holds blocks of every size a step asks for, most of
 * them idle at the step's peak (a U-Net's coarse levels while its finest is
 * computed), and their pages would add to the process's peak memory.  So
 * whenever the memory in use plus the idle cached blocks whose pages the
 * process still holds would pass that mark, idle blocks give their pages back
 * to the system (madvise) but stay in the cache at the same address: the
 * choice of blocks, and so the promise that a repeated step calls no
 * allocator, is unchanged; the kernel maps fresh pages when such a block is
 * written again (huge pages where the system gives them: a refault per 4 KiB
 * page made a large UNet3D inference 40% slower, docs/engine.md). */
#define _DEFAULT_SOURCE /* madvise */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/tensor/device_memory.h"
#include "core/tensor/tensor_impl.h"

#define CACHE_BUCKETS 1024

/* Idle host blocks at least this large give their pages back when the
 * memory would pass its high-water mark; smaller ones stay.  Every page given
 * back is faulted in again when a later step reuses the block, and smaller
 * blocks are the ones a step reuses soonest: from 1 MiB up, the small UNet3D
 * training step (f=16, 32x48x32, batch 2: 6.3 MB activations) took 0.31 s
 * instead of 0.227 s on the machine of docs/performance.md; from 8 MiB up it
 * keeps its speed, and the large step (f=32, 64^3: 67 MB activations) still
 * peaks at 1145 MB RSS instead of 1241 MB (1083 MB from 1 MiB up). */
#define GIVE_BACK_MIN ((size_t)8 << 20)

typedef struct cached_block {
    struct cached_block *next;
    struct cached_block *older, *newer; /* in the holding list (below) */
    void *data;
    size_t nbytes;
    bool resident; /* it holds its pages (false once given back) */
} cached_block;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_block *cache[IE_DEVICE_COUNT][CACHE_BUCKETS];
static ie_memory_stats stats;

/* The host's share of the memory in use and its high-water mark (stats
 * counts every device). */
static size_t host_in_use, host_peak;
/* The idle blocks whose pages can be given back and are still held, the
 * longest idle first: those give theirs back first, as the ones a step is
 * least likely to ask for again soon (every page given back and asked for
 * again costs a page fault).  stats.cached_resident is their total. */
static cached_block *oldest_holding, *newest_holding;

/* Whether a block's pages can be given back: a large host block. */
static bool can_give_back(ie_device device, size_t nbytes) { return device == IE_CPU && nbytes >= GIVE_BACK_MIN; }

static void holding_add(cached_block *b) {
    b->older = newest_holding;
    b->newer = NULL;
    if (newest_holding) newest_holding->newer = b;
    else oldest_holding = b;
    newest_holding = b;
    stats.cached_resident += b->nbytes;
}

static void holding_remove(cached_block *b) {
    if (b->older) b->older->newer = b->newer;
    else oldest_holding = b->newer;
    if (b->newer) b->newer->older = b->older;
    else newest_holding = b->older;
    stats.cached_resident -= b->nbytes;
}

/* Gives the whole pages inside an idle host block back to the system: the
 * addresses stay the cache's (no free, so no later malloc), and the kernel
 * maps zero pages there when the block is next written.  The block is ours
 * from the allocator's point of view, and its bookkeeping lies outside it. */
static void give_back_pages(void *data, size_t nbytes) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)data + page - 1) & ~(page - 1), end = ((uintptr_t)data + nbytes) & ~(page - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_DONTNEED);
}

/* Asks for huge pages for a new large host block: a block that gives its
 * pages back is faulted in again at every reuse, 512 times less often so. */
static void ask_huge_pages(void *data, size_t nbytes) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)data + page - 1) & ~(page - 1), end = ((uintptr_t)data + nbytes) & ~(page - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
}

/* Called with the lock held after a host block whose pages the process did
 * not hold (a new one, or a cached one given back before) went into use:
 * gives back idle blocks' pages, the longest idle first, until the host
 * memory in use plus the idle blocks that still hold pages fit under the
 * high-water mark of the host memory in use.  (Taking a block that holds its
 * pages moves it from idle to in use, which leaves that sum as it was.) */
static void keep_under_high_water(void) {
    while (oldest_holding && host_in_use + stats.cached_resident > host_peak) {
        cached_block *b = oldest_holding;
        holding_remove(b);
        give_back_pages(b->data, b->nbytes);
        b->resident = false;
        stats.bytes_given_back += b->nbytes;
    }
}

/* Sizes are rounded up so that nearby sizes share blocks. */
static size_t round_size(size_t n) {
    if (n < 4096) return (n + 63) & ~(size_t)63;
    size_t step = 4096;
    while (step * 16 < n) step *= 2;
    return (n + step - 1) / step * step;
}

static size_t bucket_of(size_t n) { return (n / 64 * 2654435761u) % CACHE_BUCKETS; }

static void *unlink_block(ie_device device, cached_block **slot, size_t *nbytes, bool *resident) {
    cached_block *b = *slot;
    void *data = b->data;
    *nbytes = b->nbytes;
    *resident = b->resident;
    *slot = b->next;
    stats.bytes_cached -= *nbytes;
    if (b->resident && can_give_back(device, b->nbytes)) holding_remove(b);
    free(b);
    return data;
}

/* A cached block of exactly nbytes, else the smallest one of at most 1.5
 * times that (*got: its real size, which the storage keeps): sizes that peak
 * at different moments of a step then share memory instead of each keeping
 * its own blocks (measured on a UNet3D step: 2x wastes more than it shares,
 * 1.25x shares less). */
static void *cache_take(ie_device device, size_t nbytes, size_t *got, bool *resident) {
    for (cached_block **slot = &cache[device][bucket_of(nbytes)]; *slot; slot = &(*slot)->next)
        if ((*slot)->nbytes == nbytes) return unlink_block(device, slot, got, resident);
    if (nbytes < ((size_t)1 << 20)) return NULL; /* small blocks: exact sizes only */
    cached_block **best = NULL;
    for (int i = 0; i < CACHE_BUCKETS; i++)
        for (cached_block **slot = &cache[device][i]; *slot; slot = &(*slot)->next)
            if ((*slot)->nbytes > nbytes && (*slot)->nbytes <= nbytes + nbytes / 2 &&
                (!best || (*slot)->nbytes < (*best)->nbytes))
                best = slot;
    return best ? unlink_block(device, best, got, resident) : NULL;
}

ie_status ie_storage_new(ie_device device, size_t nbytes, ie_storage **out) {
    *out = NULL;
    ie_device_ctx *ctx;
    const ie_device_memory *memory;
    IE_TRY(ie_device_memory_open("tensor", device, &ctx, &memory));
    size_t rounded = round_size(nbytes ? nbytes : 1);
    ie_storage *s = calloc(1, sizeof *s);
    if (!s) return ie_error_set(IE_ERR_NOMEM, "out of memory allocating a tensor header");
    pthread_mutex_lock(&cache_lock);
    size_t got = rounded;
    bool resident = false;
    void *data = cache_take(device, rounded, &got, &resident);
    pthread_mutex_unlock(&cache_lock);
    rounded = got;
    if (!data) {
        ie_status st = memory->alloc(ctx, rounded, &data);
        if (st != IE_OK) {
            free(s);
            return st;
        }
        if (can_give_back(device, rounded)) ask_huge_pages(data, rounded);
        pthread_mutex_lock(&cache_lock);
        stats.system_allocations++;
        pthread_mutex_unlock(&cache_lock);
    }
    pthread_mutex_lock(&cache_lock);
    stats.bytes_in_use += rounded;
    if (stats.bytes_in_use > stats.peak_in_use) stats.peak_in_use = stats.bytes_in_use;
    if (device == IE_CPU) {
        host_in_use += rounded;
        if (host_in_use > host_peak) host_peak = host_in_use;
        if (!resident) keep_under_high_water();
    }
    pthread_mutex_unlock(&cache_lock);
    atomic_init(&s->refcount, 1);
    s->device = device;
    s->nbytes = rounded;
    s->data = data;
    *out = s;
    return IE_OK;
}

void ie_storage_release(ie_storage *s) {
    if (!s || atomic_fetch_sub(&s->refcount, 1) != 1) return;
    cached_block *b = malloc(sizeof *b);
    pthread_mutex_lock(&cache_lock);
    stats.bytes_in_use -= s->nbytes;
    if (s->device == IE_CPU) host_in_use -= s->nbytes;
    if (b) {
        b->data = s->data;
        b->nbytes = s->nbytes;
        b->resident = true;
        cached_block **slot = &cache[s->device][bucket_of(s->nbytes)];
        b->next = *slot;
        *slot = b;
        stats.bytes_cached += s->nbytes;
        if (can_give_back(s->device, s->nbytes)) holding_add(b);
    }
    pthread_mutex_unlock(&cache_lock);
    ie_device_ctx *ctx = NULL;
    const ie_device_memory *memory = NULL;
    /* A storage exists only where a context was made, so the lookup cannot fail here. */
    if (!b && ie_device_memory_open("tensor storage", s->device, &ctx, &memory) == IE_OK) memory->free(ctx, s->data);
    free(s);
}

ie_status ie_memory_copy(const char *op, void *dst, ie_device dst_dev, const void *src, ie_device src_dev,
                         size_t nbytes) {
    if (nbytes == 0) return IE_OK;
    ie_device_ctx *ctx;
    const ie_device_memory *memory;
    if (src_dev == dst_dev || src_dev == IE_CPU) {
        IE_TRY(ie_device_memory_open(op, dst_dev, &ctx, &memory));
        return memory->copy(ctx, dst, src, nbytes,
                            src_dev == dst_dev ? IE_COPY_DEVICE_TO_DEVICE : IE_COPY_HOST_TO_DEVICE);
    }
    if (dst_dev == IE_CPU) {
        IE_TRY(ie_device_memory_open(op, src_dev, &ctx, &memory));
        return memory->copy(ctx, dst, src, nbytes, IE_COPY_DEVICE_TO_HOST);
    }
    void *host = malloc(nbytes);
    if (!host)
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory for %zu bytes staged from %s to %s", op, nbytes,
                            ie_device_name(src_dev), ie_device_name(dst_dev));
    ie_status st = ie_memory_copy(op, host, IE_CPU, src, src_dev, nbytes);
    if (st == IE_OK) st = ie_memory_copy(op, dst, dst_dev, host, IE_CPU, nbytes);
    free(host);
    return st;
}

void ie_memory_get_stats(ie_memory_stats *out) {
    pthread_mutex_lock(&cache_lock);
    *out = stats;
    pthread_mutex_unlock(&cache_lock);
}

void ie_memory_trim(void) {
    pthread_mutex_lock(&cache_lock);
    for (int d = 0; d < IE_DEVICE_COUNT; d++) {
        ie_device_ctx *ctx = NULL;
        const ie_device_memory *memory = NULL;
        /* Only a device that holds cached blocks was ever used, so this never
         * loads a backend module. */
        for (int i = 0; i < CACHE_BUCKETS; i++) {
            while (cache[d][i]) {
                cached_block *b = cache[d][i];
                cache[d][i] = b->next;
                if (ctx || (ie_device_memory_loaded((ie_device)d) &&
                            ie_device_memory_open("memory_trim", (ie_device)d, &ctx, &memory) == IE_OK))
                    memory->free(ctx, b->data);
                stats.bytes_cached -= b->nbytes;
                if (b->resident && can_give_back((ie_device)d, b->nbytes)) holding_remove(b);
                free(b);
            }
        }
    }
    pthread_mutex_unlock(&cache_lock);
}
