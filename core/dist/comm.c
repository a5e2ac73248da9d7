/* core/dist - the processes of a run: one, or MPI's through the module
 * (rules in comm.h). */
#include "core/dist/comm.h"
#include "core/util/library_dir.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct ie_comm {
    int rank, size;
    const ie_mpi_module *mpi; /* NULL: a single process */
    void *handle;
    double timeout;
    long long progress;
    char library[256];
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Set by Open MPI's mpirun, by srun with PMI-2 and with PMIx. */
static bool started_by_mpi(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return true;
    return false;
}

static ie_status module_path(char *buf, size_t size) {
    const char *env = getenv("INNEREYE_MPI_MODULE");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return IE_OK;
    }
    char lib[PATH_MAX];
    if (ie_library_dir(lib, sizeof lib) != IE_OK)
        return ie_error_wrap(IE_ERR_DEVICE, "looking for the MPI module (or set INNEREYE_MPI_MODULE to libinnereye_mpi.so)");
    snprintf(buf, size, "%s/libinnereye_mpi.so", lib);
    return IE_OK;
}

static ie_status open_mpi(ie_comm *c) {
    char path[PATH_MAX + 64];
    IE_TRY(module_path(path, sizeof path));
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ie_error_set(IE_ERR_DEVICE, "this process was started by an MPI launcher, but this InnerEye has no MPI "
                            "module (%s does not exist; it is built where MPI is found: apt-get install "
                            "libopenmpi-dev, then rebuild)", path);
    c->handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL); /* GLOBAL: Open MPI's own plugins resolve libmpi's symbols */
    if (!c->handle)
        return ie_error_set(IE_ERR_DEVICE, "cannot load the MPI module %s: %s (is Open MPI's runtime, openmpi-bin, "
                            "installed?)", path, dlerror());
    ie_mpi_module_entry_fn entry = (ie_mpi_module_entry_fn)dlsym(c->handle, IE_MPI_MODULE_ENTRY);
    const ie_mpi_module *m = entry ? entry() : NULL;
    if (!m || m->struct_size < sizeof *m || m->abi != IE_MPI_MODULE_ABI)
        return ie_error_set(IE_ERR_DEVICE, "the MPI module %s is not one for this libinnereye (MPI module ABI %d); "
                            "rebuild it with this InnerEye", path, IE_MPI_MODULE_ABI);
    char why[512] = "";
    if (m->init(&c->rank, &c->size, c->library, sizeof c->library, why, sizeof why) != 0)
        return ie_error_set(IE_ERR_DEVICE, "MPI: %s", why);
    c->mpi = m;
    return IE_OK;
}

ie_status ie_comm_open(ie_comm **out) {
    *out = NULL;
    ie_comm *c = calloc(1, sizeof *c);
    if (!c) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    c->size = 1;
    c->timeout = 300;
    snprintf(c->library, sizeof c->library, "single process");
    ie_status st = started_by_mpi() ? open_mpi(c) : IE_OK;
    if (st != IE_OK) {
        if (c->handle) dlclose(c->handle);
        free(c);
        return st;
    }
    *out = c;
    return IE_OK;
}

void ie_comm_close(ie_comm *c) {
    if (!c) return;
    if (c->mpi) c->mpi->finalize();
    /* The module stays loaded: Open MPI leaves threads and atexit handlers. */
    free(c);
}

void ie_comm_abort(ie_comm *c, int code) {
    if (c && c->mpi) c->mpi->abort(code);
}

void ie_comm_cancel(ie_comm *c) {
    if (c && c->mpi) c->mpi->cancel();
}

int ie_comm_rank(const ie_comm *c) { return c ? c->rank : 0; }
int ie_comm_size(const ie_comm *c) { return c ? c->size : 1; }
const char *ie_comm_describe(const ie_comm *c) { return c ? c->library : "single process"; }
void ie_comm_set_timeout(ie_comm *c, double seconds) { c->timeout = seconds; }
void ie_comm_set_progress(ie_comm *c, long long step) { c->progress = step; }
long long ie_comm_progress(const ie_comm *c) { return c ? c->progress : 0; }

/* A wait that failed: which rank, what for, and what this rank completed. */
static ie_status comm_failed(ie_comm *c, int rc, int peer, const char *what, const char *why) {
    if (rc == 3) return ie_error_set(IE_ERR_STATE, "rank %d: %s", c->rank, why);
    if (rc == 2 && peer < 0)
        return ie_error_set(IE_ERR_STATE, "rank %d: the other ranks did not take %s within %g s (dist.timeout_s): one "
                            "died, hangs or is far slower; this rank completed step %lld. The job stops; resume it "
                            "from its last checkpoint (innereye train --resume RUN_DIR, any number of processes)",
                            c->rank, what, c->timeout, c->progress);
    if (rc == 2)
        return ie_error_set(IE_ERR_STATE, "rank %d: rank %d did not deliver %s within %g s (dist.timeout_s): it died, "
                            "hangs or is far slower; this rank completed step %lld, so rank %d's last completed step "
                            "is at most %lld. The job stops; resume it from its last checkpoint (innereye train "
                            "--resume RUN_DIR, any number of processes)",
                            c->rank, peer, what, c->timeout, c->progress, peer, c->progress);
    return ie_error_set(IE_ERR_IO, "rank %d: exchanging %s with rank %d after step %lld: %s", c->rank, what, peer,
                        c->progress, why);
}

ie_status ie_comm_send(ie_comm *c, int to, int tag, const void *data, size_t bytes) {
    if (!c->mpi) return ie_error_set(IE_ERR_INTERNAL, "comm: a single process has no rank %d to send to", to);
    char why[512] = "";
    int rc = c->mpi->isend(to, tag, data, bytes, why, sizeof why);
    return rc ? comm_failed(c, rc, to, "a gradient", why) : IE_OK;
}

ie_status ie_comm_flush(ie_comm *c) {
    if (!c->mpi) return IE_OK;
    char why[512] = "";
    int rc = c->mpi->wait_sends(now() + c->timeout, why, sizeof why);
    return rc ? comm_failed(c, rc, -1, "this rank's gradient messages", why) : IE_OK;
}

ie_status ie_comm_recv(ie_comm *c, int from, int tag, void *data, size_t bytes, const char *what) {
    if (!c->mpi) return ie_error_set(IE_ERR_INTERNAL, "comm: a single process has no rank %d to receive from", from);
    char why[512] = "";
    int rc = c->mpi->recv(from, tag, data, bytes, now() + c->timeout, why, sizeof why);
    return rc ? comm_failed(c, rc, from, what, why) : IE_OK;
}

ie_status ie_comm_bcast(ie_comm *c, int root, void *data, size_t bytes, const char *what) {
    if (!c->mpi) return IE_OK;
    char why[512] = "";
    int rc = c->mpi->bcast(root, data, bytes, now() + c->timeout, why, sizeof why);
    return rc ? comm_failed(c, rc, root, what, why) : IE_OK;
}
