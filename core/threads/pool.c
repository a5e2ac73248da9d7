/* core/threads - the persistent compute pool.
 *
 * Workers sleep on a condition variable; ie_parallel_for publishes a job and
 * every participant claims task indices from one atomic counter.  Which thread
 * runs a task never changes what the task computes, so as long as callers cut
 * work into chunks that do not depend on the thread count, results are
 * identical for any pool size.  OpenBLAS is pinned to one thread: it is only
 * ever called inside our own fixed chunks (DESIGN.md, "Reproducibility"). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <cblas.h>

#include "innereye/threads.h"

#define MAX_THREADS 256

typedef struct job {
    void (*fn)(void *ctx, int64_t task);
    void *ctx;
    int64_t n_tasks;
    atomic_int_fast64_t next;
    atomic_int_fast64_t done;
} job;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t workers[MAX_THREADS];
static int n_workers;        /* threads besides the caller */
static int wanted_threads;   /* 0: not yet decided */
static job *current;
static uint64_t generation;
static int active_workers; /* workers holding a pointer to the current job */
static int stopping;
static _Thread_local int inside_task;

static void run_tasks(job *j) {
    inside_task = 1;
    int64_t i;
    while ((i = atomic_fetch_add(&j->next, 1)) < j->n_tasks) {
        j->fn(j->ctx, i);
        if (atomic_fetch_add(&j->done, 1) + 1 == j->n_tasks) {
            pthread_mutex_lock(&lock);
            pthread_cond_broadcast(&finished);
            pthread_mutex_unlock(&lock);
        }
    }
    inside_task = 0;
}

static void *worker_main(void *arg) {
    (void)arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!stopping && (generation == seen || !current)) pthread_cond_wait(&wake, &lock);
        if (stopping) break;
        seen = generation;
        job *j = current;
        active_workers++;
        pthread_mutex_unlock(&lock);
        run_tasks(j);
        pthread_mutex_lock(&lock);
        /* The job lives on the submitter's stack: it may return only when
         * no worker can still touch it. */
        if (--active_workers == 0) pthread_cond_broadcast(&finished);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void stop_workers(void) {
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n_workers; i++) pthread_join(workers[i], NULL);
    n_workers = 0;
    stopping = 0;
}

static void start_workers(int threads) {
    openblas_set_num_threads(1);
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0) break;
        n_workers++;
    }
}

void ie_threads_set(int n) {
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    pthread_mutex_lock(&submit_lock);
    if (n != wanted_threads) {
        stop_workers();
        wanted_threads = n;
        start_workers(n);
    }
    pthread_mutex_unlock(&submit_lock);
}

int ie_threads_get(void) {
    if (!wanted_threads) ie_threads_set(0);
    return wanted_threads;
}

void ie_parallel_for(int64_t n_tasks, void (*fn)(void *ctx, int64_t task), void *ctx) {
    if (n_tasks <= 0) return;
    if (!wanted_threads) ie_threads_set(0);
    if (inside_task || n_tasks == 1 || n_workers == 0) {
        for (int64_t i = 0; i < n_tasks; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&submit_lock); /* one job at a time across caller threads */
    job j = {.fn = fn, .ctx = ctx, .n_tasks = n_tasks};
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    pthread_mutex_lock(&lock);
    current = &j;
    generation++;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    run_tasks(&j);
    pthread_mutex_lock(&lock);
    while (atomic_load(&j.done) < n_tasks || active_workers > 0)
        pthread_cond_wait(&finished, &lock);
    current = NULL;
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&submit_lock);
}
