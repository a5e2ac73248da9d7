/* core/dist - synchronised batch norm: batch statistics over a step's whole
 * global batch, whichever process computes which micro-batch
 * (train.sync_batch_norm, docs/distributed.md).
 *
 * A batch-norm layer in training normalises micro-batch j with statistics of
 * all M micro-batches of the step, so micro-batch j cannot pass a layer
 * before every other one has reached it.  ie_sync_norm_run runs this
 * process's micro-batches each on its own thread, ONE AT A TIME: a
 * micro-batch runs until its next batch-norm layer (forward or backward),
 * hands its partial sums over and passes the turn to the next; when every
 * micro-batch of this process waits at the layer, the partial sums of all M
 * micro-batches are combined in the fixed tree of core/dist/tree.h (across
 * processes with core/dist/reduce.h) and every micro-batch goes on with the
 * same combined bytes.  Each micro-batch's own arithmetic is unchanged, and
 * every combination is a pure function of the leaves' bytes in an order
 * fixed by the micro-batch indices, so the weights do not depend on the
 * number of processes.  Running one at a time keeps the engine
 * single-threaded per process as it is everywhere else, and lets each
 * micro-batch keep its own parameter gradients (swapped in and out at each
 * turn), which the step packs as its leaf as before.
 *
 * What a batch-norm layer exchanges (core/ops/norm.c, through the hook of
 * core/ops/norm_sync.h), per channel:
 *  - forward: (elements, mean, sum of squared deviations) of the
 *    micro-batch, merged pairwise by Chan et al.'s rule (exact in real
 *    arithmetic, stable in floating point);
 *  - backward: w_j * (sum dy, sum dy * (x - mean)), added, where w_j is the
 *    micro-batch's weight in the step's loss (its samples / the step's).
 * Each leaf also carries two flags: the micro-batch failed, or its loss is
 * not finite.  A micro-batch that stopped still takes its place (zeros and
 * its flag), and a combined flag stops every other micro-batch at that layer
 * with the step's fault, so no process waits for a layer nobody reaches. */
#ifndef IE_CORE_DIST_SYNC_NORM_H
#define IE_CORE_DIST_SYNC_NORM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dist/comm.h"
#include "core/ops/norm_sync.h"
#include "innereye/params.h"

typedef ie_status (*ie_sync_micro_batch_fn)(void *ctx, int j);

typedef struct ie_sync_norm_opts {
    ie_comm *comm;          /* the run's processes (NULL: one) */
    int count;              /* M: the step's micro-batches, on all processes */
    const double *weights;  /* [M]: micro-batch j's weight in the step's loss */
    ie_params *params;      /* whose gradients each micro-batch keeps to itself (NULL: none) */
} ie_sync_norm_opts;

/* Runs fn(ctx, j) for this process's micro-batches j (ie_dist_share), each
 * on its own thread, one at a time, with batch norm synchronised as above;
 * results[j - lo] receives fn's status (its message stays fn's to keep).
 * fn returning IE_ERR_NUMERIC means a non-finite loss.  Fails itself only
 * when the threads cannot run, or when, with several processes, this
 * process's micro-batches all stopped at a fault the others have not yet
 * learned of (they would wait for a layer this process no longer reaches:
 * the caller then stops the job, see docs/distributed.md). */
ie_status ie_sync_norm_run(const ie_sync_norm_opts *opts, ie_sync_micro_batch_fn fn, void *ctx, ie_status *results);

/* On each micro-batch's thread, ie_sync_norm_run sets core/ops's batch-norm
 * hook (core/ops/norm_sync.h) while fn runs: j, w_j, and an exchange that
 * takes this micro-batch's partial statistics in and gives the combination
 * over all the step's micro-batches out (IE_NORM_SYNC_MOMENTS or
 * IE_NORM_SYNC_SUMS as above).  A combined fault flag makes the exchange
 * return IE_ERR_STATE (another micro-batch failed) or IE_ERR_NUMERIC
 * (another's loss is not finite). */

#endif
