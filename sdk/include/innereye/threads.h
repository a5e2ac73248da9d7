/* innereye/threads.h - the compute thread pool.
 *
 * One persistent pool serves every op.  Work is always cut into chunks whose
 * boundaries do not depend on the number of threads and reductions combine
 * chunk results in chunk order, so results are bit-identical for any count. */
#ifndef INNEREYE_THREADS_H
#define INNEREYE_THREADS_H

#include "innereye/api.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* n <= 0 selects the number of online cores. */
IE_API void ie_threads_set(int n);
IE_API int ie_threads_get(void);

/* Calls fn(ctx, i) once for every i in [0, n_tasks), spread over the pool; the
 * caller's thread takes part.  Returns when all are done.  Tasks must write
 * disjoint memory.  A nested call runs serially on the calling thread. */
IE_API void ie_parallel_for(int64_t n_tasks, void (*fn)(void *ctx, int64_t task), void *ctx);

#ifdef __cplusplus
}
#endif
#endif
