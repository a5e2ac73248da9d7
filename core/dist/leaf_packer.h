/* core/dist - packing each of this process's leaves of a step while its
 * backward runs, so each bucket (buckets.h) goes to the reduction as soon as
 * backward has made all its gradients final, not after the whole backward.
 *
 * Between begin and end, on the calling thread, autograd reports each
 * trained parameter whose gradient is final (core/autograd/grad_ready.h);
 * the packer writes its values into the leaf (ie_grads_pack_values: the
 * bytes ie_grads_pack would write) and hands a bucket to the reduction when
 * its last parameter is in.  end packs what autograd did not report
 * (parameters backward never reached, or all of them after a failure), the
 * tail, and hands over the rest.  So the leaf's bytes are ie_grads_pack's,
 * whichever process packs it and however it is cut into buckets (a failed
 * leaf excepted: its step stops anyway). */
#ifndef IE_CORE_DIST_LEAF_PACKER_H
#define IE_CORE_DIST_LEAF_PACKER_H

#include "core/dist/buckets.h"

typedef struct ie_leaf_packer ie_leaf_packer;

/* The leaf of micro-batch j (this rank's, in r). */
ie_status ie_leaf_packer_begin(ie_step_reduce *r, int j, const ie_params *params, const ie_grad_layout *layout,
                               const ie_buckets *buckets, float weight, ie_leaf_packer **out);
/* After the micro-batch's backward (or its failure): packs the rest, hands
 * every bucket over, clears the autograd hook and frees p. */
void ie_leaf_packer_end(ie_leaf_packer *p, float loss, bool failed);

#endif
