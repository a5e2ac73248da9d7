/* core/dist - the processes of a data-parallel run and the bytes they
 * exchange.
 *
 * A run started by mpirun or srun (with MPI) has P processes, "ranks"
 * 0..P-1; any other run has one.  The transport only moves bytes (point to
 * point and a broadcast): every addition happens in core/dist/tree.c in an
 * order fixed by the micro-batch indices, so nothing MPI chooses (algorithm,
 * eager or rendezvous, shared memory or network) can change a result.
 *
 * MPI lives in its own module, libinnereye_mpi.so beside libinnereye (or
 * INNEREYE_MPI_MODULE), opened with dlopen only when the process was started
 * by an MPI launcher: libinnereye itself does not link MPI, so it loads and
 * runs on machines without Open MPI, like the CUDA module (docs/distributed.md).
 *
 * Faults.  Every wait has a deadline (dist.timeout_s): a rank that died or
 * hangs makes the others stop with a message naming it and the step it last
 * completed, never a silent hang; mpirun then ends the job. */
#ifndef IE_CORE_DIST_COMM_H
#define IE_CORE_DIST_COMM_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/status.h"

typedef struct ie_comm ie_comm;

/* The processes of this run: one (rank 0 of 1) unless an MPI launcher
 * started this process (OMPI_COMM_WORLD_SIZE or PMI_SIZE/PMIX_RANK set), then
 * MPI's world, through the module.  *out is never NULL on success. */
ie_status ie_comm_open(ie_comm **out);
/* MPI_Finalize for an MPI world; nothing for a single process. */
void ie_comm_close(ie_comm *comm);
/* Stops every process of the run now (MPI_Abort), after a fault that the
 * others cannot learn of otherwise; a single process just returns. */
void ie_comm_abort(ie_comm *comm, int code);

int ie_comm_rank(const ie_comm *comm);
int ie_comm_size(const ie_comm *comm);
/* "Open MPI v4.1.4, ..." or "single process". */
const char *ie_comm_describe(const ie_comm *comm);

/* The deadline of every wait below, in seconds (default 300). */
void ie_comm_set_timeout(ie_comm *comm, double seconds);
/* What the process last completed, for fault messages ("step 12"). */
void ie_comm_set_progress(ie_comm *comm, long long step);
long long ie_comm_progress(const ie_comm *comm);

/* Starts sending bytes to rank `to`; data must stay valid until
 * ie_comm_flush. */
ie_status ie_comm_send(ie_comm *comm, int to, int tag, const void *data, size_t bytes);
/* Waits until the sends started so far are done. */
ie_status ie_comm_flush(ie_comm *comm);
/* Receives exactly `bytes` from rank `from` with `tag`.  `what` names the
 * data for the message when it does not come in time. */
ie_status ie_comm_recv(ie_comm *comm, int from, int tag, void *data, size_t bytes, const char *what);
/* Ends every wait of this process, on any thread, now and later, with an
 * error: for a rank that stops at a fault the others cannot learn of
 * (they wait elsewhere), so its other threads do not wait out
 * dist.timeout_s before the job is stopped.  The comm is unusable after. */
void ie_comm_cancel(ie_comm *comm);
/* data[0..bytes) of rank `root` on every rank. */
ie_status ie_comm_bcast(ie_comm *comm, int root, void *data, size_t bytes, const char *what);

/* The module's table (core/dist/mpi_module.c).  Plain C types only, so the
 * module and libinnereye share no headers beyond this one.  Each call returns
 * 0 or fills `why` (a sentence) and returns nonzero; a wait that reaches its
 * deadline returns 2. */
#define IE_MPI_MODULE_ENTRY "ie_mpi_module_entry"
#define IE_MPI_MODULE_ABI 2
typedef struct ie_mpi_module {
    size_t struct_size;
    int abi;
    int (*init)(int *rank, int *size, char *library, size_t library_size, char *why, size_t why_size);
    int (*finalize)(void);
    void (*abort)(int code);
    int (*isend)(int to, int tag, const void *data, size_t bytes, char *why, size_t why_size);
    /* Waits for every isend so far, until the deadline (seconds since an
     * arbitrary start, CLOCK_MONOTONIC). */
    int (*wait_sends)(double deadline, char *why, size_t why_size);
    int (*recv)(int from, int tag, void *data, size_t bytes, double deadline, char *why, size_t why_size);
    int (*bcast)(int root, void *data, size_t bytes, double deadline, char *why, size_t why_size);
    /* Makes every wait, now and later, return 3 at its next poll. */
    void (*cancel)(void);
} ie_mpi_module;
typedef const ie_mpi_module *(*ie_mpi_module_entry_fn)(void);

#endif
