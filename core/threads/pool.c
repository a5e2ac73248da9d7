/* core/threads - the persistent compute pool.
 *
 * Workers poll for a new job for a short while after each one, then sleep on
 * a condition variable; ie_parallel_for publishes a job and every
 * participant claims task indices from one atomic counter.  Which thread
 * runs a task never changes what the task computes, so as long as callers cut
 * work into chunks that do not depend on the thread count, results are
 * identical for any pool size.  OpenBLAS is pinned to one thread: it is only
 * ever called inside our own fixed chunks (DESIGN.md, "Reproducibility"). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include <cblas.h>

#include "innereye/threads.h"

#define MAX_THREADS 256
/* After a job, workers and the caller poll for this long before sleeping:
 * a training step runs hundreds of short parallel loops back to back, and
 * waking a sleeping thread costs tens of microseconds (more on a busy or
 * virtual machine), which small layers would pay every time. */
#define SPIN_NS 200000

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
static _Atomic(job *) current;      /* the job being run, NULL between jobs */
static atomic_uint_fast64_t generation;
static atomic_int active_workers;   /* workers that may hold a pointer to the current job */
static atomic_int sleeping;         /* workers waiting on `wake` */
static atomic_int stopping;
static _Thread_local int inside_task;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Polls `done()` for up to SPIN_NS; true when it became true. */
static bool spin_until(bool (*done)(const void *), const void *arg) {
    uint64_t start = now_ns();
    for (int i = 1;; i++) {
        if (done(arg)) return true;
        __builtin_ia32_pause();
        if (i % 64 == 0 && now_ns() - start > SPIN_NS) return done(arg);
    }
}

static void signal_finished(void) {
    pthread_mutex_lock(&lock);
    pthread_cond_broadcast(&finished);
    pthread_mutex_unlock(&lock);
}

static void run_tasks(job *j) {
    inside_task = 1;
    int64_t i;
    while ((i = atomic_fetch_add(&j->next, 1)) < j->n_tasks) {
        j->fn(j->ctx, i);
        if (atomic_fetch_add(&j->done, 1) + 1 == j->n_tasks) signal_finished();
    }
    inside_task = 0;
}

static bool generation_moved(const void *seen) {
    return atomic_load(&generation) != *(const uint64_t *)seen || atomic_load(&stopping);
}

static void *worker_main(void *arg) {
    (void)arg;
    uint64_t seen = 0;
    for (;;) {
        if (!spin_until(generation_moved, &seen)) {
            pthread_mutex_lock(&lock);
            atomic_fetch_add(&sleeping, 1);
            while (!generation_moved(&seen)) pthread_cond_wait(&wake, &lock);
            atomic_fetch_sub(&sleeping, 1);
            pthread_mutex_unlock(&lock);
        }
        if (atomic_load(&stopping)) break;
        seen = atomic_load(&generation);
        /* The job lives on the submitter's stack: it clears `current` and
         * then waits for active_workers to drop to 0 before returning, so a
         * pointer read after the increment stays valid until the decrement. */
        atomic_fetch_add(&active_workers, 1);
        job *j = atomic_load(&current);
        if (j) run_tasks(j);
        if (atomic_fetch_sub(&active_workers, 1) == 1) signal_finished();
    }
    return NULL;
}

static void stop_workers(void) {
    pthread_mutex_lock(&lock);
    atomic_store(&stopping, 1);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n_workers; i++) pthread_join(workers[i], NULL);
    n_workers = 0;
    atomic_store(&stopping, 0);
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

static bool job_done(const void *j) {
    const job *jb = j;
    return atomic_load(&jb->done) >= jb->n_tasks;
}

static bool workers_left(const void *unused) {
    (void)unused;
    return atomic_load(&active_workers) == 0;
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
    atomic_store(&current, &j);
    atomic_fetch_add(&generation, 1);
    if (atomic_load(&sleeping) > 0) { /* spinning workers see the generation move by themselves */
        pthread_mutex_lock(&lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
    }
    run_tasks(&j);
    if (!spin_until(job_done, &j)) {
        pthread_mutex_lock(&lock);
        while (!job_done(&j)) pthread_cond_wait(&finished, &lock);
        pthread_mutex_unlock(&lock);
    }
    atomic_store(&current, NULL);
    if (!spin_until(workers_left, NULL)) {
        pthread_mutex_lock(&lock);
        while (!workers_left(NULL)) pthread_cond_wait(&finished, &lock);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_unlock(&submit_lock);
}
