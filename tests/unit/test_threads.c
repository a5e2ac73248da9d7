/* The thread pool runs every task exactly once for any pool size, nested
 * calls run inline, and resizing the pool works. */
#include <stdatomic.h>

#include "test_util.h"
#include "innereye/threads.h"

typedef struct counts {
    atomic_int *hits;
    int nested_inner;
} counts;

static void count_task(void *ctx, int64_t i) {
    counts *c = ctx;
    atomic_fetch_add(&c->hits[i], 1);
}

static void inner(void *ctx, int64_t i) {
    (void)i;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

static void outer(void *ctx, int64_t i) {
    (void)i;
    ie_parallel_for(5, inner, ctx);
}

int main(void) {
    enum { N = 10007 };
    static atomic_int hits[N];
    for (int threads = 1; threads <= 4; threads++) {
        ie_threads_set(threads);
        CHECK(ie_threads_get() == threads, "pool size %d", ie_threads_get());
        for (int i = 0; i < N; i++) atomic_store(&hits[i], 0);
        counts c = {hits, 0};
        for (int round = 0; round < 20; round++) ie_parallel_for(N, count_task, &c);
        int wrong = 0;
        for (int i = 0; i < N; i++) wrong += atomic_load(&hits[i]) != 20;
        CHECK(wrong == 0, "%d tasks did not run exactly 20 times with %d threads", wrong, threads);
        atomic_int nested = 0;
        ie_parallel_for(7, outer, &nested);
        CHECK(atomic_load(&nested) == 35, "nested calls ran %d inner tasks, want 35", atomic_load(&nested));
    }
    ie_threads_set(0);
    CHECK(ie_threads_get() >= 1, "default pool size");
    return test_summary();
}
