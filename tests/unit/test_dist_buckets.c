/* Gradient buckets of data-parallel training (core/dist/buckets.h,
 * leaf_packer.h) and autograd's report of final gradients
 * (core/autograd/grad_ready.h):
 *   - a bucket plan spelled out for known parameter sizes;
 *   - the hook reports each parameter once, after its last contribution (a
 *     parameter used twice would otherwise be seen half-summed);
 *   - a leaf packed while backward runs has ie_grads_pack's bytes, and the
 *     step's bucket-by-bucket reduction, with and without its thread and for
 *     several bucket sizes, has the bytes of the whole-vector reduction. */
#include "test_util.h"
#include "core/autograd/grad_ready.h"
#include "core/dist/buckets.h"
#include "core/dist/leaf_packer.h"
#include "core/dist/reduce.h"

static ie_params *make_params(const int *sizes, int n) {
    ie_params *p = NULL;
    CHECK_OK(ie_params_new(&p));
    for (int i = 0; i < n; i++) {
        int64_t shape[1] = {sizes[i]};
        ie_tensor *t = NULL;
        CHECK_OK(ie_tensor_full(1, shape, 0.5f + 0.25f * (float)i, &t));
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        CHECK_OK(ie_params_add(p, name, t, IE_PARAM));
        ie_tensor_release(t);
    }
    return p;
}

static void check_plan(void) {
    const int sizes[] = {3, 100, 5, 40000, 7};
    ie_params *p = make_params(sizes, 5);
    ie_grad_layout layout;
    CHECK_OK(ie_grad_layout_of(p, &layout));
    ie_buckets b;
    CHECK_OK(ie_buckets_plan(p, &layout, 400, &b)); /* 100 floats */
    /* From the last parameter back: {p4, p3} reaches 400 bytes, {p2, p1}
     * too, {p0} is what is left, then the tail (5 flags, loss, failure). */
    const size_t offset[] = {108, 3, 0, 40115}, len[] = {40007, 105, 3, 7};
    const int of_param[] = {2, 1, 1, 0, 0}, params_in[] = {2, 2, 1, 0};
    CHECK(b.count == 4, "%d buckets, expected 4", b.count);
    for (int k = 0; k < 4 && k < b.count; k++)
        CHECK(b.offset[k] == offset[k] && b.len[k] == len[k] && b.params_in[k] == params_in[k],
              "bucket %d: [%zu, +%zu) with %d parameters, expected [%zu, +%zu) with %d", k, b.offset[k], b.len[k],
              b.params_in[k], offset[k], len[k], params_in[k]);
    for (int i = 0; i < 5; i++) CHECK(b.of_param[i] == of_param[i], "parameter %d in bucket %d", i, b.of_param[i]);
    ie_buckets_free(&b);
    /* One bucket per parameter when the size is tiny; one in all when huge. */
    CHECK_OK(ie_buckets_plan(p, &layout, 1, &b));
    CHECK(b.count == 6, "1-byte buckets: %d buckets, expected 6", b.count);
    ie_buckets_free(&b);
    CHECK_OK(ie_buckets_plan(p, &layout, (size_t)1 << 30, &b));
    CHECK(b.count == 2 && b.len[0] == layout.n_values, "1 GiB buckets: %d buckets", b.count);
    ie_buckets_free(&b);
    /* The cost model: sqrt(S * 20 us * 10 GB/s), at least 64 KiB. */
    CHECK(ie_buckets_default_bytes(2000000) == 632455, "default for 2 MB: %zu", ie_buckets_default_bytes(2000000));
    CHECK(ie_buckets_default_bytes(1000) == 65536, "default for 1 KB: %zu", ie_buckets_default_bytes(1000));
    ie_params_free(p);
}

/* loss = sum(tanh(a * w0) * w1) + sum(w0 * w2): w0 is used by the first op
 * recorded and by the last, so its gradient is final only at the end of
 * backward; w1 and w2 earlier.  w3 is never used. */
static ie_status forward(ie_params *p, ie_tensor *a, ie_tensor **loss) {
    ie_tensor *w[4], *t1 = NULL, *t2 = NULL, *t3 = NULL, *s1 = NULL, *t4 = NULL, *s2 = NULL;
    for (int i = 0; i < 4; i++) w[i] = ie_params_tensor(p, i);
    ie_status st = ie_mul(a, w[0], &t1);
    if (st == IE_OK) st = ie_tanh(t1, &t2);
    if (st == IE_OK) st = ie_mul(t2, w[1], &t3);
    if (st == IE_OK) st = ie_sum(t3, &s1);
    if (st == IE_OK) st = ie_mul(w[0], w[2], &t4);
    if (st == IE_OK) st = ie_sum(t4, &s2);
    if (st == IE_OK) st = ie_add(s1, s2, loss);
    ie_tensor *all[] = {t1, t2, t3, s1, t4, s2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
    return st;
}

typedef struct seen {
    ie_params *p;
    int calls[4];
    float *snapshot[4];
} seen;

static void record(void *ctx, ie_tensor *leaf) {
    seen *s = ctx;
    for (int i = 0; i < 4; i++) {
        if (ie_params_tensor(s->p, i) != leaf) continue;
        s->calls[i]++;
        const ie_tensor *g = ie_tensor_grad(leaf);
        if (g) memcpy(s->snapshot[i], ie_f32(g), (size_t)ie_tensor_numel(leaf) * sizeof(float));
    }
}

static ie_tensor *input(int n, float scale) {
    float data[64];
    for (int i = 0; i < n; i++) data[i] = scale * (float)((i * 7) % 11 - 5);
    int64_t shape[1] = {n};
    ie_tensor *a = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 1, shape, data, &a));
    return a;
}

static void check_hook(void) {
    const int sizes[] = {16, 16, 16, 16};
    ie_params *p = make_params(sizes, 4);
    seen s = {.p = p};
    for (int i = 0; i < 4; i++) s.snapshot[i] = calloc(16, sizeof(float));
    ie_tensor *a = input(16, 0.1f), *loss = NULL;
    CHECK_OK(forward(p, a, &loss));
    ie_autograd_set_grad_ready(record, &s);
    CHECK_OK(ie_backward(loss));
    ie_autograd_set_grad_ready(NULL, NULL);
    for (int i = 0; i < 3; i++) {
        CHECK(s.calls[i] == 1, "parameter %d reported %d times", i, s.calls[i]);
        const float *g = ie_f32(ie_tensor_grad(ie_params_tensor(p, i)));
        CHECK(memcmp(g, s.snapshot[i], 16 * sizeof(float)) == 0, "parameter %d reported before its gradient was final",
              i);
    }
    CHECK(s.calls[3] == 0, "the unused parameter was reported %d times", s.calls[3]);
    ie_tensor_release(loss);
    ie_tensor_release(a);
    for (int i = 0; i < 4; i++) free(s.snapshot[i]);
    ie_params_free(p);
}

/* Micro-batches in one process, each leaf packed while its backward runs
 * and folded into the tree as it comes: the step's root for several bucket
 * sizes, with and without the thread, against ie_dist_reduce of
 * ie_grads_pack's leaves.  5 leaves: a tree with a node whose right child
 * lies past the last leaf ((1, 2) = leaf 4 alone). */
enum { STEP_LEAVES = 5 };
static void check_step(void) {
    const int sizes[] = {16, 16, 16, 16};
    ie_params *p = make_params(sizes, 4);
    ie_grad_layout layout;
    CHECK_OK(ie_grad_layout_of(p, &layout));
    ie_comm *comm = NULL;
    CHECK_OK(ie_comm_open(&comm));
    const int count = STEP_LEAVES;
    const float weight[STEP_LEAVES] = {0.25f, 0.25f, 0.125f, 0.125f, 0.25f};
    size_t all = (size_t)count * layout.len;
    float *packed = calloc(all, sizeof(float)), *scratch = calloc(all, sizeof(float));
    float *ref = calloc(layout.len, sizeof(float)), *sum = calloc(layout.len, sizeof(float));
    /* The reference: every leaf packed after its backward (ie_dist_reduce
     * reads its leaves and leaves them be). */
    for (int j = 0; j < count; j++) {
        ie_tensor *a = input(16, 0.1f * (float)(j + 1)), *loss = NULL;
        for (int i = 0; i < 4; i++) ie_tensor_zero_grad(ie_params_tensor(p, i));
        CHECK_OK(forward(p, a, &loss));
        CHECK_OK(ie_backward(loss));
        CHECK_OK(ie_grads_pack(p, &layout, weight[j], 1.0f + (float)j, false, packed + (size_t)j * layout.len));
        ie_tensor_release(loss);
        ie_tensor_release(a);
    }
    CHECK_OK(ie_dist_reduce(comm, count, packed, layout.len, ref));
    const size_t bucket_bytes[] = {1, 100, 1 << 20};
    for (int b = 0; b < 3; b++)
        for (int overlap = 0; overlap <= 1; overlap++) {
            ie_buckets buckets;
            CHECK_OK(ie_buckets_plan(p, &layout, bucket_bytes[b], &buckets));
            memset(scratch, 0xFF, all * sizeof(float)); /* NaNs, unless all is packed */
            memset(sum, 0, layout.len * sizeof(float));
            ie_step_reduce *r = NULL;
            CHECK_OK(ie_step_reduce_start(comm, &buckets, count, scratch, layout.len, sum, overlap, &r));
            for (int j = 0; j < count; j++) {
                ie_tensor *a = input(16, 0.1f * (float)(j + 1)), *loss = NULL;
                for (int i = 0; i < 4; i++) ie_tensor_zero_grad(ie_params_tensor(p, i));
                ie_leaf_packer *packer = NULL;
                CHECK_OK(ie_leaf_packer_begin(r, j, p, &layout, &buckets, weight[j], &packer));
                CHECK_OK(forward(p, a, &loss));
                CHECK_OK(ie_backward(loss));
                ie_leaf_packer_end(packer, 1.0f + (float)j, false);
                /* Race-free: the thread writes a leaf's slot only when a
                 * later leaf joins it, and leaf j + 1 is not handed over. */
                CHECK(memcmp(ie_step_reduce_leaf(r, j), packed + (size_t)j * layout.len,
                             layout.len * sizeof(float)) == 0,
                      "buckets of %zu bytes%s: leaf %d packed during backward differs from ie_grads_pack's",
                      bucket_bytes[b], overlap ? ", overlapped" : "", j);
                ie_tensor_release(loss);
                ie_tensor_release(a);
            }
            double busy, waited;
            CHECK_OK(ie_step_reduce_finish(r, &busy, &waited));
            CHECK(memcmp(sum, ref, layout.len * sizeof(float)) == 0,
                  "buckets of %zu bytes%s (%d buckets): the root differs from the whole vector's", bucket_bytes[b],
                  overlap ? ", overlapped" : "", buckets.count);
            ie_buckets_free(&buckets);
        }
    free(packed);
    free(scratch);
    free(ref);
    free(sum);
    ie_comm_close(comm);
    ie_params_free(p);
}

int main(void) {
    check_plan();
    check_hook();
    check_step();
    return test_summary();
}
