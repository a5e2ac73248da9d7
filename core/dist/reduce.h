/* core/dist - one global step's reduction: the leaves this process computed
 * in, the root of the fixed tree (tree.h) out, on every process. */
#ifndef IE_CORE_DIST_REDUCE_H
#define IE_CORE_DIST_REDUCE_H

#include <stddef.h>

#include "core/dist/comm.h"

/* count: the step's micro-batches (M >= 1); this rank's share is
 * ie_dist_share(count, size, rank); leaves[(j - lo) * len ..] is leaf j of
 * that share.  out[0..len) receives the root on every rank.  Each node that
 * spans two ranks travels once, from the owner of its first leaf to the owner
 * of its parent's first leaf; the root then goes from the owner of
 * micro-batch 0 to all by broadcast. */
ie_status ie_dist_reduce(ie_comm *comm, int count, const float *leaves, size_t len, float *out);

#endif
