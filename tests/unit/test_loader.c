/* The batch loader: epoch order as a function of (seed, epoch), byte-identical
 * batches for 0, 1 and 3 workers, augmentation keyed by dataset index, error
 * propagation without deadlock or leaks, and the sample cache. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/data/loader.h"
#include "core/data/segmentation_hooks.h"
#include "test_util.h"

#define N_SUBJECTS 11
#define SEED 1234u
#define VOX 24 /* 2 x 3 x 4 voxels */

typedef struct test_ctx {
    const char *fail_load;     /* subject whose load_item fails */
    const char *fail_augment;  /* subject whose augment fails */
    const char *fail_collate;  /* collate fails for a batch holding it */
    atomic_int loads[N_SUBJECTS];
} test_ctx;

static int subject_index(const char *subject) { return atoi(subject + 1); }

/* image [1, 2, 3, 4] = item * 1000 + voxel, labels [2, 3, 4] = item. */
static ie_status t_load(ie_model *m, const ie_dataset_item *item, const ie_host *host, ie_sample *out) {
    test_ctx *ctx = (test_ctx *)m;
    (void)host;
    int i = subject_index(item->subject);
    atomic_fetch_add(&ctx->loads[i], 1);
    /* Uneven delays so that workers finish out of order. */
    usleep((useconds_t)(((i * 37) % 5) * 300));
    if (ctx->fail_load && strcmp(item->subject, ctx->fail_load) == 0) {
        /* leave a tensor behind: the loader must release it */
        ie_tensor_zeros(IE_F32, 1, (int64_t[]){8}, IE_CPU, &out->image);
        return ie_error_set(IE_ERR_IO, "cannot read image of %s: disk on fire", item->subject);
    }
    const int64_t ishape[4] = {1, 2, 3, 4}, lshape[3] = {2, 3, 4};
    IE_TRY(ie_tensor_empty(IE_F32, 4, ishape, IE_CPU, &out->image));
    IE_TRY(ie_tensor_empty(IE_I64, 3, lshape, IE_CPU, &out->labels));
    float *p = ie_tensor_data_f32(out->image);
    int64_t *l = ie_tensor_data(out->labels);
    for (int v = 0; v < VOX; v++) {
        p[v] = (float)(i * 1000 + v);
        l[v] = i;
    }
    return IE_OK;
}

/* Adds uniform noise in place (so it would corrupt a shared cached tensor). */
static ie_status t_augment(ie_model *m, ie_sample *s, const ie_rng *rng) {
    test_ctx *ctx = (test_ctx *)m;
    if (ctx->fail_augment && strcmp(s->subject, ctx->fail_augment) == 0)
        return ie_error_set(IE_ERR_NUMERIC, "augment exploded");
    float *p = ie_tensor_data_f32(s->image);
    for (int v = 0; v < VOX; v++) p[v] += ie_rng_uniform_at(rng, (uint64_t)v);
    return IE_OK;
}

static ie_status t_collate(ie_model *m, const ie_sample *const *samples, int count, ie_batch *out) {
    test_ctx *ctx = (test_ctx *)m;
    for (int i = 0; i < count; i++)
        if (ctx->fail_collate && strcmp(samples[i]->subject, ctx->fail_collate) == 0)
            return ie_error_set(IE_ERR_SHAPE, "collate refuses");
    return ie_seg_collate(samples, count, out);
}

static ie_dataset *make_dataset(void) {
    char text[2048];
    size_t len = (size_t)snprintf(text, sizeof text, "subject,filePath,channel\n");
    for (int i = 0; i < N_SUBJECTS; i++) len += (size_t)snprintf(text + len, sizeof text - len, "s%d,s%d.raw,ct\n", i, i);
    ie_dataset *ds = NULL;
    if (ie_dataset_parse(text, len, "loader.csv", NULL, NULL, &ds) != IE_OK) exit(1);
    return ds;
}

static ie_loader_opts base_opts(const ie_dataset *ds, test_ctx *ctx) {
    ie_loader_opts o = {0};
    o.dataset = ds;
    o.batch_size = 4;
    o.shuffle = true;
    o.seed = SEED;
    o.hooks.load_item = t_load;
    o.hooks.load_item_ctx = ctx;
    o.hooks.augment = t_augment;
    o.hooks.augment_ctx = ctx;
    o.hooks.collate = t_collate;
    o.hooks.collate_ctx = ctx;
    return o;
}

/* Every byte an epoch produced: counts, subjects, image and label tensors. */
typedef struct digest {
    char *bytes;
    size_t len, cap;
    int batches;
} digest;

static void put(digest *d, const void *p, size_t n) {
    if (d->len + n > d->cap) {
        d->cap = (d->len + n) * 2 + 1024;
        d->bytes = realloc(d->bytes, d->cap);
    }
    memcpy(d->bytes + d->len, p, n);
    d->len += n;
}

static void put_batch(digest *d, const ie_batch *b) {
    put(d, &b->count, sizeof b->count);
    for (int i = 0; i < b->count; i++) put(d, b->subjects[i], strlen(b->subjects[i]) + 1);
    put(d, ie_tensor_shape(b->image), sizeof(int64_t) * 5);
    put(d, ie_tensor_data(b->image), (size_t)ie_tensor_numel(b->image) * 4);
    put(d, ie_tensor_data(b->labels), (size_t)ie_tensor_numel(b->labels) * 8);
    d->batches++;
}

static void batch_free(ie_batch *b) {
    ie_tensor_release(b->image);
    ie_tensor_release(b->labels);
    ie_tensor_release(b->features);
    memset(b, 0, sizeof *b);
}

/* Runs `epochs` epochs from `first`; returns the digest of all of them. */
static digest run(ie_loader *l, int first, int epochs) {
    digest d = {0};
    for (int e = first; e < first + epochs; e++) {
        CHECK_OK(ie_loader_begin_epoch(l, e));
        ie_batch b;
        bool got;
        for (;;) {
            CHECK_OK(ie_loader_next(l, &b, &got));
            if (!got) break;
            put_batch(&d, &b);
            batch_free(&b);
        }
        ie_loader_end_epoch(l);
    }
    return d;
}

static bool same_digest(const digest *a, const digest *b) {
    return a->len == b->len && a->batches == b->batches && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static size_t bytes_in_use(void) {
    ie_memory_stats s;
    ie_memory_get_stats(&s);
    return s.bytes_in_use;
}

static void test_identical_for_any_workers(const ie_dataset *ds) {
    test_ctx ctx = {0};
    digest ref = {0};
    const int workers[] = {0, 1, 3}, prefetch[] = {0, 0, 2};
    for (int w = 0; w < 3; w++) {
        ie_loader_opts o = base_opts(ds, &ctx);
        o.workers = workers[w];
        o.prefetch = prefetch[w];
        ie_loader *l = NULL;
        CHECK_OK(ie_loader_create(&o, &l));
        CHECK(ie_loader_batch_count(l) == 3, "11 items in batches of 4 -> 3 batches");
        digest d = run(l, 0, 3);
        CHECK(d.batches == 9, "9 batches over 3 epochs, got %d", d.batches);
        if (w == 0)
            ref = d;
        else {
            CHECK(same_digest(&ref, &d), "workers=%d: batches differ from workers=0", workers[w]);
            free(d.bytes);
        }
        ie_loader_free(l);
    }
    free(ref.bytes);
}

static void test_order_and_content(const ie_dataset *ds) {
    test_ctx ctx = {0};
    ie_loader_opts o = base_opts(ds, &ctx);
    o.workers = 2;
    ie_loader *l = NULL;
    CHECK_OK(ie_loader_create(&o, &l));
    int order0[N_SUBJECTS], order1[N_SUBJECTS], n = 0;
    for (int e = 0; e < 2; e++) {
        CHECK_OK(ie_loader_begin_epoch(l, e));
        const int *ord = ie_loader_order(l, &n);
        CHECK(n == N_SUBJECTS, "order length");
        memcpy(e ? order1 : order0, ord, sizeof order0);
        int perm[N_SUBJECTS];
        ie_loader_permutation(SEED, e, N_SUBJECTS, perm);
        CHECK(memcmp(perm, ord, sizeof perm) == 0, "epoch %d order is the (seed, epoch) permutation", e);
        int seen[N_SUBJECTS] = {0}, b = 0;
        ie_batch batch;
        bool got;
        for (;;) {
            CHECK_OK(ie_loader_next(l, &batch, &got));
            if (!got) break;
            CHECK(batch.count == (b < 2 ? 4 : 3), "batch %d has %d items", b, batch.count);
            CHECK(ie_tensor_dim(batch.image, 0) == batch.count && ie_tensor_ndim(batch.image) == 5,
                  "image [N, C, D, H, W]");
            for (int j = 0; j < batch.count; j++) {
                int idx = ord[b * 4 + j];
                seen[idx]++;
                CHECK(strcmp(batch.subjects[j], ie_dataset_item_at(ds, idx)->subject) == 0, "subjects in order");
                const float *img = ie_tensor_data_f32(batch.image) + j * VOX;
                const int64_t *lab = (const int64_t *)ie_tensor_data(batch.labels) + j * VOX;
                ie_rng rng = ie_rng_make(SEED, IE_STREAM_AUGMENT, (uint32_t)e, (uint32_t)idx);
                int bad = 0;
                for (int v = 0; v < VOX; v++) {
                    float want = (float)(idx * 1000 + v);
                    want += ie_rng_uniform_at(&rng, (uint64_t)v);
                    if (img[v] != want || lab[v] != idx) bad++;
                }
                CHECK(bad == 0, "epoch %d item %d: augment got rng (seed, AUGMENT, epoch, dataset index)", e, idx);
            }
            batch_free(&batch);
            b++;
        }
        CHECK(b == 3, "3 batches");
        for (int i = 0; i < N_SUBJECTS; i++) CHECK(seen[i] == 1, "item %d seen %d times in epoch %d", i, seen[i], e);
    }
    CHECK(memcmp(order0, order1, sizeof order0) != 0, "epochs 0 and 1 have different orders");
    /* an epoch started again gives the same order */
    CHECK_OK(ie_loader_begin_epoch(l, 0));
    CHECK(memcmp(ie_loader_order(l, NULL), order0, sizeof order0) == 0, "epoch 0 again: same order");
    ie_loader_free(l);

    /* no shuffle: the items in the order given; drop_last */
    o.shuffle = false;
    o.drop_last = true;
    o.items = (int[]){7, 2, 9, 0, 5, 1};
    o.n_items = 6;
    CHECK_OK(ie_loader_create(&o, &l));
    CHECK(ie_loader_batch_count(l) == 1, "6 items, batch 4, drop_last -> 1 batch");
    CHECK_OK(ie_loader_begin_epoch(l, 3));
    ie_batch batch;
    bool got;
    CHECK_OK(ie_loader_next(l, &batch, &got));
    CHECK(got && batch.count == 4 && strcmp(batch.subjects[0], "s7") == 0 && strcmp(batch.subjects[3], "s0") == 0,
          "validation order is the given order");
    batch_free(&batch);
    CHECK_OK(ie_loader_next(l, &batch, &got));
    CHECK(!got && batch.image == NULL, "the short last batch is dropped");
    CHECK_OK(ie_loader_next(l, &batch, &got));
    CHECK(!got, "still done");
    ie_loader_free(l);
}

/* Runs epoch 0 and returns how many batches arrived before the error. */
static int batches_before_error(ie_loader *l, ie_status want, const char *needle1, const char *needle2) {
    CHECK_OK(ie_loader_begin_epoch(l, 0));
    int got_batches = 0;
    for (;;) {
        ie_batch b;
        bool got = false;
        ie_error_clear();
        ie_status st = ie_loader_next(l, &b, &got);
        if (st != IE_OK) {
            CHECK(st == want, "status %s, expected %s", ie_status_name(st), ie_status_name(want));
            CHECK(strstr(ie_error_message(), needle1) && strstr(ie_error_message(), needle2),
                  "message \"%s\" lacks \"%s\" / \"%s\"", ie_error_message(), needle1, needle2);
            CHECK(!got && b.image == NULL, "nothing handed out with the error");
            ie_error_clear();
            CHECK(ie_loader_next(l, &b, &got) == want && strstr(ie_error_message(), needle1), "the error sticks");
            return got_batches;
        }
        if (!got) return -1;
        got_batches++;
        batch_free(&b);
    }
}

static void test_errors(const ie_dataset *ds) {
    alarm(120); /* a deadlock fails the test instead of hanging it */
    int perm[N_SUBJECTS], pos5 = -1;
    ie_loader_permutation(SEED, 0, N_SUBJECTS, perm);
    for (int i = 0; i < N_SUBJECTS; i++)
        if (perm[i] == 5) pos5 = i;
    const int workers[] = {0, 1, 3};
    size_t before = bytes_in_use();
    for (int w = 0; w < 3; w++) {
        test_ctx ctx = {.fail_load = "s5"};
        ie_loader_opts o = base_opts(ds, &ctx);
        o.workers = workers[w];
        o.prefetch = w == 2 ? 3 : 0;
        ie_loader *l = NULL;
        CHECK_OK(ie_loader_create(&o, &l));
        int n = batches_before_error(l, IE_ERR_IO, "subject 's5'", "disk on fire");
        CHECK(n == pos5 / 4, "workers=%d: %d batches before the failing one, expected %d", workers[w], n, pos5 / 4);
        /* the next epoch works once the subject is fixed */
        ctx.fail_load = NULL;
        digest d = run(l, 1, 1);
        CHECK(d.batches == 3, "workers=%d: epoch after a failure delivers all batches", workers[w]);
        free(d.bytes);

        ctx.fail_augment = "s3";
        int pos3 = -1;
        for (int i = 0; i < N_SUBJECTS; i++)
            if (perm[i] == 3) pos3 = i;
        n = batches_before_error(l, IE_ERR_NUMERIC, "augment failed for subject 's3'", "augment exploded");
        CHECK(n == pos3 / 4, "workers=%d: augment error after %d batches, expected %d", workers[w], n, pos3 / 4);
        ctx.fail_augment = NULL;
        ctx.fail_collate = "s8";
        int pos8 = -1;
        for (int i = 0; i < N_SUBJECTS; i++)
            if (perm[i] == 8) pos8 = i;
        n = batches_before_error(l, IE_ERR_SHAPE, "collate failed for batch", "collate refuses");
        CHECK(n == pos8 / 4, "workers=%d: collate error after %d batches, expected %d", workers[w], n, pos8 / 4);
        CHECK(strstr(ie_error_message(), "s8") != NULL, "collate error names the batch's subjects: %s",
              ie_error_message());
        ie_loader_free(l);
    }
    CHECK(bytes_in_use() == before, "no tensor leaked: %zu bytes in use before, %zu after", before, bytes_in_use());

    /* stopping early with batches in flight */
    test_ctx ctx = {0};
    ie_loader_opts o = base_opts(ds, &ctx);
    o.workers = 3;
    o.prefetch = 2;
    o.batch_size = 1;
    ie_loader *l = NULL;
    CHECK_OK(ie_loader_create(&o, &l));
    CHECK_OK(ie_loader_begin_epoch(l, 0));
    ie_batch b;
    bool got;
    CHECK_OK(ie_loader_next(l, &b, &got));
    batch_free(&b);
    ie_loader_end_epoch(l);
    CHECK(ie_loader_next(l, &b, &got) == IE_ERR_STATE, "next after end_epoch is a state error");
    CHECK_OK(ie_loader_begin_epoch(l, 1)); /* freed while running */
    ie_loader_free(l);
    CHECK(bytes_in_use() == before, "early stop leaks nothing: %zu vs %zu", before, bytes_in_use());

    /* bad options */
    o.batch_size = 0;
    CHECK_FAILS(ie_loader_create(&o, &l), IE_ERR_CONFIG, "batch size 0");
    o.batch_size = 2;
    o.items = (int[]){1, 11};
    o.n_items = 2;
    CHECK_FAILS(ie_loader_create(&o, &l), IE_ERR_INVALID_ARG, "item 1 is 11");
    o.items = NULL;
    o.hooks.collate = NULL;
    CHECK_FAILS(ie_loader_create(&o, &l), IE_ERR_INVALID_ARG, "collate");
    alarm(0);
}

static int total_loads(test_ctx *ctx) {
    int n = 0;
    for (int i = 0; i < N_SUBJECTS; i++) n += atomic_load(&ctx->loads[i]);
    return n;
}

static void test_cache(const ie_dataset *ds) {
    /* reference: no cache */
    test_ctx plain = {0};
    ie_loader_opts o = base_opts(ds, &plain);
    ie_loader *l = NULL;
    CHECK_OK(ie_loader_create(&o, &l));
    digest ref = run(l, 0, 3);
    ie_loader_free(l);
    CHECK(total_loads(&plain) == 3 * N_SUBJECTS, "without cache every epoch loads");

    const size_t sample_bytes = VOX * 4 + VOX * 8;
    ie_loader_stats stats_by_w[2];
    for (int w = 0; w < 2; w++) {
        test_ctx ctx = {0};
        o = base_opts(ds, &ctx);
        o.workers = w ? 3 : 0;
        o.cache_bytes = 1 << 20;
        CHECK_OK(ie_loader_create(&o, &l));
        digest d = run(l, 0, 1);
        CHECK(total_loads(&ctx) == N_SUBJECTS, "epoch 0 loads every item once");
        digest d2 = run(l, 1, 2);
        CHECK(total_loads(&ctx) == N_SUBJECTS, "epochs 1 and 2 read nothing (loads %d)", total_loads(&ctx));
        put(&d, d2.bytes, d2.len);
        d.batches += d2.batches;
        CHECK(same_digest(&ref, &d), "workers=%d: cached batches equal uncached ones (augment never touched the cache)",
              o.workers);
        ie_loader_stats st;
        ie_loader_get_stats(l, &st);
        CHECK(st.cache_hits == 2 * N_SUBJECTS && st.cached_items == N_SUBJECTS &&
                  st.cache_bytes == N_SUBJECTS * sample_bytes,
              "stats: hits %llu, items %d, bytes %zu", (unsigned long long)st.cache_hits, st.cached_items,
              st.cache_bytes);
        free(d.bytes);
        free(d2.bytes);
        ie_loader_free(l);

        /* a budget of 4 samples: fill until full, the same 4 for any workers */
        test_ctx small = {0};
        o = base_opts(ds, &small);
        o.workers = w ? 3 : 0;
        o.cache_bytes = 4 * sample_bytes + sample_bytes / 2;
        CHECK_OK(ie_loader_create(&o, &l));
        digest d3 = run(l, 0, 3);
        CHECK(same_digest(&ref, &d3), "workers=%d: partly cached batches equal uncached ones", o.workers);
        ie_loader_get_stats(l, &stats_by_w[w]);
        CHECK(stats_by_w[w].cached_items == 4 && stats_by_w[w].cache_hits == 8 &&
                  total_loads(&small) == 3 * N_SUBJECTS - 8,
              "budget of 4: items %d, hits %llu, loads %d", stats_by_w[w].cached_items,
              (unsigned long long)stats_by_w[w].cache_hits, total_loads(&small));
        int perm[N_SUBJECTS], cached_ok = 1;
        ie_loader_permutation(SEED, 0, N_SUBJECTS, perm);
        for (int k = 0; k < N_SUBJECTS; k++) { /* the first 4 of epoch 0's order are the cached ones */
            int loads = atomic_load(&small.loads[perm[k]]);
            if (loads != (k < 4 ? 1 : 3)) cached_ok = 0;
        }
        CHECK(cached_ok, "workers=%d: the cache holds the first 4 items of epoch 0", o.workers);
        free(d3.bytes);
        ie_loader_free(l);
    }
    free(ref.bytes);

    /* validation: no augment, cache hands out the cached tensors directly */
    test_ctx v = {0};
    o = base_opts(ds, &v);
    o.hooks.augment = NULL;
    o.shuffle = false;
    o.cache_bytes = 1 << 20;
    o.workers = 1;
    CHECK_OK(ie_loader_create(&o, &l));
    digest a = run(l, 0, 1), b = run(l, 5, 1);
    CHECK(same_digest(&a, &b) && total_loads(&v) == N_SUBJECTS, "validation epochs equal, loaded once");
    float voxel1 = 0; /* after the count, 4 names of 3 bytes and the shape */
    memcpy(&voxel1, a.bytes + sizeof(int) + 4 * 3 + sizeof(int64_t) * 5 + sizeof(float), sizeof voxel1);
    CHECK(voxel1 == 1.0f, "no augmentation: s0's voxel 1 is 1, got %g", voxel1);
    free(a.bytes);
    free(b.bytes);
    ie_loader_free(l);
}

int main(void) {
    ie_dataset *ds = make_dataset();
    test_identical_for_any_workers(ds);
    test_order_and_content(ds);
    test_errors(ds);
    test_cache(ds);
    ie_dataset_free(ds);
    return test_summary();
}
