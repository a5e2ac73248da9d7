/* core/ops - the hook through which batch norm in training takes the
 * statistics of a whole step instead of its own input's
 * (train.sync_batch_norm).
 *
 * The ops do not know who runs the step's micro-batches or how their
 * statistics travel: the layer that does (core/dist/sync_norm.h) sets a hook
 * on each micro-batch's thread while that micro-batch runs, and
 * core/ops/norm.c asks for it.  No hook set (NULL, the default): batch norm
 * uses its own input's statistics. */
#ifndef IE_CORE_OPS_NORM_SYNC_H
#define IE_CORE_OPS_NORM_SYNC_H

#include <stddef.h>

#include "innereye/status.h"

typedef enum ie_norm_sync_combine {
    IE_NORM_SYNC_MOMENTS, /* values: (count, mean, M2) triples, merged by Chan's rule */
    IE_NORM_SYNC_SUMS,    /* values added */
} ie_norm_sync_combine;

typedef struct ie_norm_sync {
    int micro_batch; /* j: the micro-batch's index in the step (the running buffers follow j = 0) */
    double weight;   /* w_j: its weight in the step's loss */
    /* values[0..n): this micro-batch's partial statistics in, their
     * combination over all the step's micro-batches out; layer names the
     * layer in messages.  Fails (error set) when the step stops. */
    ie_status (*exchange)(void *ctx, ie_norm_sync_combine how, double *values, size_t n, const char *layer);
    void *ctx;
} ie_norm_sync;

/* The calling thread's hook: set it (NULL clears it) around a micro-batch;
 * the caller keeps *hook alive while it is set. */
void ie_norm_sync_set(const ie_norm_sync *hook);
const ie_norm_sync *ie_norm_sync_get(void);

#endif
