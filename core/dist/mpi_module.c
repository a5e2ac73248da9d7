/* core/dist - libinnereye_mpi.so: the only code that calls MPI (the table in
 * comm.h).  Built when MPI is found, opened by core/dist/comm.c with dlopen
 * when a process was started by an MPI launcher, so libinnereye never needs
 * libmpi at run time.
 *
 * Every wait is a nonblocking operation polled until it completes or its
 * deadline passes: a blocking MPI call would hang forever on a rank that
 * stopped (MPI has no timeouts), and the run must stop with a message instead.
 * MPI only moves bytes here (isend/irecv/ibcast of MPI_BYTE); nothing is
 * reduced by MPI, so its algorithm choices cannot change a result. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dist/comm.h"

#define CHUNK ((size_t)1 << 30) /* MPI counts are int: larger messages go in parts */

/* Threads.  MPI is initialised MPI_THREAD_SERIALIZED, and two threads may
 * exchange at once (the step's communication thread, core/dist/buckets.c,
 * and synchronised batch norm's micro-batch threads, core/dist/sync_norm.c):
 * every MPI call below holds `calls`, so no two run at once, and none
 * blocks (each wait polls nonblocking requests), so a thread waiting for a
 * message never stops another from making progress.  Each thread waits for
 * its own sends only (`pending` is per thread), so one thread's flush never
 * waits for another's messages. */
static pthread_mutex_t calls = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local MPI_Request *pending;
static _Thread_local int n_pending, cap_pending;
/* Set by cancel(): every wait returns 3 at its next poll. */
static atomic_bool cancelled;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void mpi_why(int code, const char *what, char *why, size_t size) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(code, text, &len);
    snprintf(why, size, "%s failed: %s", what, text);
}

/* Polls the requests until all are done (0), the deadline passes (2) or MPI
 * fails (1).  The sleep grows from 20 us to 1 ms: quick for small steps,
 * and no core spent spinning while a slow rank computes. */
static int wait_all(MPI_Request *req, int n, double deadline, const char *what, char *why, size_t size) {
    long sleep_ns = 20000;
    for (;;) {
        int done = 0;
        pthread_mutex_lock(&calls);
        int rc = MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE);
        pthread_mutex_unlock(&calls);
        if (rc != MPI_SUCCESS) {
            mpi_why(rc, what, why, size);
            return 1;
        }
        if (done) return 0;
        if (atomic_load(&cancelled)) {
            snprintf(why, size, "%s was cancelled: this rank stops", what);
            return 3;
        }
        if (now() > deadline) {
            snprintf(why, size, "%s did not complete in time", what);
            return 2;
        }
        struct timespec ts = {0, sleep_ns};
        nanosleep(&ts, NULL);
        if (sleep_ns < 1000000) sleep_ns *= 2;
    }
}

static int init(int *rank, int *size, char *library, size_t library_size, char *why, size_t why_size) {
    /* SERIALIZED: several threads exchange (synchronised batch norm's
     * micro-batch threads, the step's communication thread), never two in
     * MPI at once (`calls` above). */
    int provided = 0, rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) {
        mpi_why(rc, "MPI_Init_thread", why, why_size);
        return 1;
    }
    /* Errors come back as codes (and become messages) instead of aborting
     * inside MPI without saying which step. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    char version[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    MPI_Get_library_version(version, &len);
    char *newline = strchr(version, '\n');
    if (newline) *newline = '\0';
    snprintf(library, library_size, "%s", version);
    return 0;
}

static int finalize(void) {
    free(pending);
    pending = NULL;
    n_pending = cap_pending = 0;
    return MPI_Finalize() == MPI_SUCCESS ? 0 : 1;
}

static void abort_all(int code) {
    pthread_mutex_lock(&calls); /* held for good: MPI_Abort does not return */
    MPI_Abort(MPI_COMM_WORLD, code);
}

static void cancel(void) { atomic_store(&cancelled, true); }

static int isend(int to, int tag, const void *data, size_t bytes, char *why, size_t why_size) {
    for (size_t off = 0; off < bytes || (bytes == 0 && off == 0); off += CHUNK) {
        if (n_pending == cap_pending) {
            int cap = cap_pending ? 2 * cap_pending : 16;
            MPI_Request *grown = realloc(pending, (size_t)cap * sizeof *grown);
            if (!grown) {
                snprintf(why, why_size, "out of memory for MPI requests");
                return 1;
            }
            pending = grown, cap_pending = cap;
        }
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        pthread_mutex_lock(&calls);
        int rc = MPI_Isend((const char *)data + off, (int)n, MPI_BYTE, to, tag, MPI_COMM_WORLD, &pending[n_pending]);
        pthread_mutex_unlock(&calls);
        if (rc != MPI_SUCCESS) {
            mpi_why(rc, "MPI_Isend", why, why_size);
            return 1;
        }
        n_pending++;
        if (bytes == 0) break;
    }
    return 0;
}

static int wait_sends(double deadline, char *why, size_t why_size) {
    int rc = wait_all(pending, n_pending, deadline, "sending", why, why_size);
    /* Freed, not kept: the communication thread is a new thread each step.
     * After a failure too: nothing waits for these requests again, the job
     * stops. */
    free(pending);
    pending = NULL;
    n_pending = cap_pending = 0;
    return rc;
}

static int recv(int from, int tag, void *data, size_t bytes, double deadline, char *why, size_t why_size) {
    for (size_t off = 0; off < bytes || (bytes == 0 && off == 0); off += CHUNK) {
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        MPI_Request req;
        pthread_mutex_lock(&calls);
        int rc = MPI_Irecv((char *)data + off, (int)n, MPI_BYTE, from, tag, MPI_COMM_WORLD, &req);
        pthread_mutex_unlock(&calls);
        if (rc != MPI_SUCCESS) {
            mpi_why(rc, "MPI_Irecv", why, why_size);
            return 1;
        }
        rc = wait_all(&req, 1, deadline, "receiving", why, why_size);
        if (rc != 0) {
            pthread_mutex_lock(&calls);
            MPI_Cancel(&req);
            pthread_mutex_unlock(&calls);
            return rc;
        }
        if (bytes == 0) break;
    }
    return 0;
}

static int bcast(int root, void *data, size_t bytes, double deadline, char *why, size_t why_size) {
    for (size_t off = 0; off < bytes || (bytes == 0 && off == 0); off += CHUNK) {
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        MPI_Request req;
        pthread_mutex_lock(&calls);
        int rc = MPI_Ibcast((char *)data + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD, &req);
        pthread_mutex_unlock(&calls);
        if (rc != MPI_SUCCESS) {
            mpi_why(rc, "MPI_Ibcast", why, why_size);
            return 1;
        }
        rc = wait_all(&req, 1, deadline, "the broadcast", why, why_size);
        if (rc != 0) return rc;
        if (bytes == 0) break;
    }
    return 0;
}

static const ie_mpi_module table = {
    .struct_size = sizeof(ie_mpi_module),
    .abi = IE_MPI_MODULE_ABI,
    .init = init,
    .finalize = finalize,
    .abort = abort_all,
    .isend = isend,
    .wait_sends = wait_sends,
    .recv = recv,
    .bcast = bcast,
    .cancel = cancel,
};

__attribute__((visibility("default"))) const ie_mpi_module *ie_mpi_module_entry(void) { return &table; }
