/* core/dist - the gradient vector of a step cut into buckets, each reduced
 * through the fixed tree (tree.h) as soon as this process's micro-batches
 * have produced it, while backward goes on (docs/distributed.md, "Buckets").
 *
 * Why buckets never change a result: the tree adds leaves elementwise, so
 * the root of any slice of the vector is that slice of the root of the whole
 * vector, bit for bit.  Buckets only decide when, and in how many messages,
 * the bytes travel.
 *
 * A bucket is a run of whole trained parameters, taken in reverse
 * parameters() order (backward produces the last layers' gradients first),
 * closed once it holds at least the bucket size; the last bucket, the
 * "tail", holds what a leaf has besides gradient values (the flags, the
 * loss and the failure flag, grads.h), known only when the micro-batch
 * ends.  Every process plans the same buckets (they depend on the model and
 * the bucket size only) and reduces them in bucket order, so the messages
 * between two processes come in the same order on both sides. */
#ifndef IE_CORE_DIST_BUCKETS_H
#define IE_CORE_DIST_BUCKETS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dist/comm.h"
#include "core/dist/grads.h"

typedef struct ie_buckets {
    int count;          /* buckets, the tail included (the last one) */
    size_t *offset;     /* bucket k is floats [offset[k], offset[k] + len[k]) of a leaf */
    size_t *len;
    int *of_param;      /* trained parameter i (grads.h order) -> its bucket */
    int *params_in;     /* bucket k's trained parameters (0 for the tail) */
} ie_buckets;

/* The bucket size the cost model picks for a gradient of `bytes`
 * (docs/performance.md): sqrt(bytes * alpha * beta), which balances the
 * per-message latency alpha of many small buckets against the transfer of
 * the last bucket, which no overlap hides; at least 64 KiB. */
size_t ie_buckets_default_bytes(size_t gradient_bytes);

/* Plans the buckets of `layout` with buckets of about bucket_bytes (0: the
 * default above).  Free with ie_buckets_free. */
ie_status ie_buckets_plan(const ie_params *params, const ie_grad_layout *layout, size_t bucket_bytes,
                          ie_buckets *out);
void ie_buckets_free(ie_buckets *b);

/* The reduction of one step, bucket by bucket: leaves (this rank's share
 * [lo, hi) of the step's `count` micro-batches, `layout.len` floats each) in,
 * the root in `sum` on every rank.  The leaves are the reduction's scratch:
 * it combines nodes in place (a node's value in the slot of its first leaf).
 * With a communication thread (overlap), bucket k of leaf j is combined with
 * this rank's earlier leaves as soon as ie_step_reduce_ready(j, k) says it
 * is final, a node another rank needs is sent as soon as it is complete,
 * and bucket k goes through the rest of the tree (other ranks' nodes, the
 * root's broadcast) as soon as this rank's last leaf holds it, all while
 * the caller computes; without, ie_step_reduce_finish does the same in
 * turn.  Only one thread calls MPI at a time either way
 * (MPI_THREAD_SERIALIZED): while the thread runs, the caller makes no MPI
 * call (on the trainer's plain path, forward and backward make none). */
typedef struct ie_step_reduce ie_step_reduce;
ie_status ie_step_reduce_start(ie_comm *comm, const ie_buckets *buckets, int count, float *leaves, size_t len,
                               float *sum, bool overlap, ie_step_reduce **out);
/* Leaf j (a micro-batch of this rank's share) in the leaves. */
float *ie_step_reduce_leaf(ie_step_reduce *r, int j);
/* Bucket k of leaf j is final (each exactly once; leaves in order, since
 * the thread takes them so). */
void ie_step_reduce_ready(ie_step_reduce *r, int j, int k);
/* Marks the buckets not yet ready as ready, waits for the reduction and
 * frees r.  *busy: seconds the reduction worked (combining, sending, and
 * waiting for other ranks' nodes and the root); *waited: seconds this call
 * waited for it. */
ie_status ie_step_reduce_finish(ie_step_reduce *r, double *busy, double *waited);

#endif
