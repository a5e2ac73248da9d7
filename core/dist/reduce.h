/* core/dist - one reduction over a step's micro-batches: the leaves this
 * process computed in, the root of the fixed tree (tree.h) out, on every
 * process that needs it. */
#ifndef IE_CORE_DIST_REDUCE_H
#define IE_CORE_DIST_REDUCE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dist/comm.h"
#include "core/dist/tree.h"

/* count: the step's micro-batches (M >= 1); this rank's share is
 * ie_dist_share(count, size, rank); leaves[(j - lo) * len ..] is leaf j of
 * that share.  out[0..len) receives the root on every rank.  Each node that
 * spans two ranks travels once, from the owner of its first leaf to the owner
 * of its parent's first leaf; the root then goes from the owner of
 * micro-batch 0 to all by broadcast. */
ie_status ie_dist_reduce(ie_comm *comm, int count, const float *leaves, size_t len, float *out);

/* The same for values of any kind (tree.h's ie_tree_sum).  stream keeps
 * reductions of different kinds apart (their own message tags): 0 for the
 * gradients, 1 for batch-norm statistics.  With owners_only the root goes,
 * point to point, only to the ranks that hold micro-batches of the step:
 * they alone call it (a rank with no micro-batch never reaches a batch-norm
 * layer), where a broadcast would need every rank.  noun names the values
 * in fault messages ("the gradient sum"). */
typedef struct ie_dist_reduce_opts {
    const ie_tree_sum *sum;
    int stream;
    bool owners_only;
    const char *noun;
    /* Bytes from one leaf to the next in `leaves` (0: sum->bytes): a bucket
     * is a slice of each leaf (core/dist/buckets.h). */
    size_t stride;
    /* Nodes combined ahead (core/dist/buckets.c folds this rank's leaves as
     * they come): held[j - lo] is the level of the node whose value the slot
     * of leaf j holds now (its first leaf is j; 0: the leaf itself).  NULL:
     * every slot holds its leaf. */
    const int *held;
    /* The nodes this rank sends that lie wholly inside its leaves were sent
     * already (by the fold, as soon as they were complete): only the nodes
     * that need a received value are sent here. */
    bool local_sends_done;
    /* Non-NULL: no flush here; *keep_sent receives the buffer of the values
     * sent (NULL when none), to free after the caller's ie_comm_flush.  For
     * a caller with sends of later reductions in flight (core/dist/buckets.c
     * sends nodes of later buckets early): a flush here would wait for
     * those too, which their receivers take only after this reduction's
     * broadcast, which needs this rank. */
    void **keep_sent;
} ie_dist_reduce_opts;
/* Sends node n (complete, one that this rank sends: a right child whose
 * parent's first leaf is another rank's) to the owner of that first leaf,
 * with the tag ie_dist_reduce_values receives it by; value must stay valid
 * until ie_comm_flush. */
ie_status ie_dist_send_node(ie_comm *comm, int count, int stream, ie_tree_node n, const void *value, size_t bytes);
ie_status ie_dist_reduce_values(ie_comm *comm, int count, const void *leaves, const ie_dist_reduce_opts *opts,
                                void *out);

#endif
