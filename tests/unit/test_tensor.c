/* Tensor handles, the caching allocator, safetensors files and autograd
 * bookkeeping (accumulation, no-grad mode, shared subexpressions, misuse). */
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"

static void test_basics(void) {
    const int64_t shape[3] = {2, 3, 4};
    ie_tensor *t = NULL, *c = NULL, *d = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 3, shape, IE_CPU, &t));
    CHECK(ie_tensor_numel(t) == 24 && ie_tensor_ndim(t) == 3 && ie_tensor_dim(t, -1) == 4, "shape accessors");
    for (int i = 0; i < 24; i++) CHECK(ie_tensor_data_f32(t)[i] == 0.0f, "zeros");
    CHECK_OK(ie_tensor_fill(t, 2.5f));
    CHECK_OK(ie_tensor_clone(t, &c));
    CHECK_OK(ie_tensor_detach(t, &d));
    ie_tensor_data_f32(t)[5] = 7.0f;
    CHECK(ie_tensor_data_f32(c)[5] == 2.5f, "clone owns its data");
    CHECK(ie_tensor_data_f32(d)[5] == 7.0f, "detach shares storage");
    char buf[64];
    CHECK(strcmp(ie_tensor_describe(t, buf, sizeof buf), "[2, 3, 4] f32") == 0, "describe: %s", buf);
    ie_tensor_release(t);
    CHECK(ie_tensor_data_f32(d)[5] == 7.0f, "storage outlives the first handle");
    ie_tensor_release(c);
    ie_tensor_release(d);

    ie_tensor *bad = NULL;
    const int64_t neg[2] = {3, -1};
    CHECK_FAILS(ie_tensor_empty(IE_F32, 2, neg, IE_CPU, &bad), IE_ERR_SHAPE, "negative size");
    CHECK_FAILS(ie_tensor_empty(IE_F32, 6, shape, IE_CPU, &bad), IE_ERR_SHAPE, "0 to 5");
    CHECK_FAILS(ie_tensor_empty(IE_F32, 3, shape, IE_CUDA, &bad), IE_ERR_DEVICE, "no backend for device cuda");
    CHECK(bad == NULL, "failed creation leaves NULL");
}

static void test_allocator_reuse(void) {
    const int64_t shape[4] = {4, 8, 16, 16};
    ie_memory_stats before, after;
    for (int round = 0; round < 3; round++) {
        if (round == 2) ie_memory_get_stats(&before);
        ie_tensor *ts[8];
        for (int i = 0; i < 8; i++) CHECK_OK(ie_tensor_empty(IE_F32, 4, shape, IE_CPU, &ts[i]));
        for (int i = 0; i < 8; i++) ie_tensor_release(ts[i]);
    }
    ie_memory_get_stats(&after);
    CHECK(after.system_allocations == before.system_allocations,
          "a repeated allocation pattern reached malloc %llu times",
          (unsigned long long)(after.system_allocations - before.system_allocations));
}

/* How many of the whole pages inside [p, p + n) the process holds. */
static size_t resident_pages(const void *p, size_t n) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1), end = ((uintptr_t)p + n) & ~(page - 1);
    size_t count = 0, pages = (end - start) / page;
    unsigned char *vec = malloc(pages ? pages : 1);
    if (vec && pages && mincore((void *)start, end - start, vec) == 0)
        for (size_t i = 0; i < pages; i++) count += vec[i] & 1;
    free(vec);
    return count;
}

/* Idle cached blocks give their pages back rather than raise the process's
 * peak: two 8 MiB tensors freed, then a 24 MiB one (too large to reuse
 * them): the 24 MiB high-water mark of tensors in use is what the process
 * holds, not 40 MiB.  The blocks stay cached, so the repeated pattern still
 * calls no allocator. */
static void test_allocator_high_water(void) {
    const int64_t small[1] = {2 << 20}, large[1] = {6 << 20}; /* floats: 8 and 24 MiB */
    ie_memory_stats before, after, at_peak;
    ie_memory_get_stats(&before);
    CHECK(before.peak_in_use < ((size_t)24 << 20), "runs before larger tensors set the high-water mark");
    for (int round = 0; round < 3; round++) {
        if (round == 2) ie_memory_get_stats(&before);
        ie_tensor *a = NULL, *b = NULL, *c = NULL;
        CHECK_OK(ie_tensor_empty(IE_F32, 1, small, IE_CPU, &a));
        CHECK_OK(ie_tensor_empty(IE_F32, 1, small, IE_CPU, &b));
        CHECK_OK(ie_tensor_fill(a, 1.0f));
        CHECK_OK(ie_tensor_fill(b, 2.0f));
        const void *pa = ie_tensor_data(a);
        ie_tensor_release(a);
        ie_tensor_release(b);
        CHECK(resident_pages(pa, (size_t)8 << 20) > 0, "a freshly freed block keeps its pages");
        CHECK_OK(ie_tensor_empty(IE_F32, 1, large, IE_CPU, &c));
        ie_memory_get_stats(&at_peak);
        CHECK(at_peak.bytes_in_use + at_peak.cached_resident <= at_peak.peak_in_use,
              "round %d: %zu bytes in use + %zu idle holding pages pass the high-water mark %zu", round,
              at_peak.bytes_in_use, at_peak.cached_resident, at_peak.peak_in_use);
        CHECK(resident_pages(pa, (size_t)8 << 20) == 0, "round %d: the idle 8 MiB block still holds %zu pages", round,
              resident_pages(pa, (size_t)8 << 20));
        CHECK_OK(ie_tensor_fill(c, 3.0f));
        ie_tensor_release(c);
    }
    ie_memory_get_stats(&after);
    CHECK(after.system_allocations == before.system_allocations, "the repeated pattern reached malloc %llu times",
          (unsigned long long)(after.system_allocations - before.system_allocations));
    CHECK(after.bytes_given_back > before.bytes_given_back, "no pages were given back in the last round");
    /* A block that gave its pages back is written and read as any other. */
    ie_tensor *a = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, 1, small, IE_CPU, &a));
    CHECK_OK(ie_tensor_fill(a, 5.0f));
    CHECK(ie_f32(a)[0] == 5.0f && ie_f32(a)[(2 << 20) - 1] == 5.0f, "a reused block holds what was written");
    ie_tensor_release(a);
}

static void test_safetensors(void) {
    ie_params *p = NULL, *back = NULL;
    CHECK_OK(ie_params_new(&p));
    const int64_t s1[2] = {2, 3}, s2[1] = {4};
    float f[6] = {1, -2, 3.5f, 4, 5, 6};
    int64_t l[4] = {0, 1, 2, -7};
    ie_tensor *a = NULL, *b = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 2, s1, f, &a));
    CHECK_OK(ie_tensor_from_data(IE_I64, 1, s2, l, &b));
    CHECK_OK(ie_params_add(p, "layer.weight", a, IE_PARAM));
    CHECK_OK(ie_params_add(p, "layer.num_batches_tracked", b, IE_BUFFER));
    CHECK_FAILS(ie_params_add(p, "layer.weight", a, IE_PARAM), IE_ERR_INVALID_ARG, "registered twice");
    char path[] = "/tmp/ie_test_st_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_OK(ie_safetensors_write(path, p));
    CHECK_OK(ie_safetensors_read(path, &back));
    CHECK(ie_params_count(back) == 2, "two tensors read back");
    ie_tensor *ra = ie_params_find(back, "layer.weight"), *rb = ie_params_find(back, "layer.num_batches_tracked");
    CHECK(ra && ie_tensor_same_shape(ra, a) && memcmp(ie_tensor_data(ra), f, sizeof f) == 0, "f32 round trip");
    CHECK(rb && ie_tensor_dtype(rb) == IE_I64 && memcmp(ie_tensor_data(rb), l, sizeof l) == 0, "i64 round trip");
    /* A truncated file is refused with its name in the message. */
    CHECK(truncate(path, 40) == 0, "truncate");
    ie_params *broken = NULL;
    CHECK_FAILS(ie_safetensors_read(path, &broken), IE_ERR_IO, path);
    CHECK(broken == NULL, "nothing returned for a broken file");
    unlink(path);
    CHECK_FAILS(ie_safetensors_read("/nonexistent/x.safetensors", &broken), IE_ERR_IO, "cannot open");
    ie_tensor_release(a);
    ie_tensor_release(b);
    ie_params_free(p);
    ie_params_free(back);
}

static void test_autograd(void) {
    const int64_t shape[1] = {3};
    float v[3] = {1, 2, -3};
    ie_tensor *x = NULL, *sq = NULL, *y = NULL, *loss = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 1, shape, v, &x));
    ie_tensor_set_requires_grad(x, true);
    /* loss = sum(x*x + x): d/dx = 2x + 1, x used on three paths. */
    for (int pass = 1; pass <= 2; pass++) {
        CHECK_OK(ie_mul(x, x, &sq));
        CHECK_OK(ie_add(sq, x, &y));
        CHECK_OK(ie_sum(y, &loss));
        CHECK_OK(ie_backward(loss));
        const float *g = ie_tensor_data_f32(ie_tensor_grad(x));
        for (int i = 0; i < 3; i++)
            CHECK(g[i] == pass * (2 * v[i] + 1), "pass %d grad[%d] = %g, want %g", pass, i, g[i], pass * (2 * v[i] + 1));
        if (pass == 2) CHECK_FAILS(ie_backward(loss), IE_ERR_STATE, "already differentiated");
        ie_tensor_release(sq);
        ie_tensor_release(y);
        ie_tensor_release(loss);
    }
    ie_tensor_zero_grad(x);
    CHECK(ie_tensor_grad(x) == NULL, "zero_grad drops the gradient");
    bool was = ie_grad_set_enabled(false);
    CHECK_OK(ie_mul(x, x, &sq));
    CHECK(!ie_tensor_requires_grad(sq), "no-grad mode records nothing");
    ie_grad_set_enabled(was);
    CHECK_OK(ie_sum(sq, &loss));
    CHECK_FAILS(ie_backward(loss), IE_ERR_STATE, "does not depend");
    ie_tensor_release(sq);
    ie_tensor_release(loss);
    CHECK_FAILS(ie_backward(x), IE_ERR_SHAPE, "one-element");
    ie_tensor_release(x);
}

int main(void) {
    test_basics();
    test_allocator_high_water(); /* first: before other tests raise the high-water mark */
    test_allocator_reuse();
    test_safetensors();
    test_autograd();
    return test_summary();
}
