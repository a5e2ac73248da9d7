/* core/dist - the vectors a training step exchanges: a micro-batch's
 * gradients ("leaf", flattened, weighted) and the model's buffers.
 *
 * A leaf is, in this order: the gradient of every trained parameter
 * (parameters() order), one flag per trained parameter (1 when the
 * micro-batch gave it a gradient: a parameter no micro-batch reached keeps
 * no gradient, and the optimiser skips it, as in one process), the
 * micro-batch's loss, and a failure flag.  Everything is scaled by the
 * micro-batch's weight (its samples / the global batch's samples) except
 * the flags, so the tree's root is the global batch's mean-loss gradient,
 * its loss, the number of micro-batches that reached each parameter and the
 * number that failed. */
#ifndef IE_CORE_DIST_GRADS_H
#define IE_CORE_DIST_GRADS_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/params.h"

typedef struct ie_grad_layout {
    int n_trained;     /* parameters with requires_grad */
    size_t n_values;   /* their elements */
    size_t len;        /* floats in a leaf: n_values + n_trained + 2 */
} ie_grad_layout;

/* Whether parameter i is trained (a parameter with requires_grad): one of
 * the layout's. */
bool ie_grads_trained(const ie_params *params, int i);
ie_status ie_grad_layout_of(const ie_params *params, ie_grad_layout *out);
/* leaf = this micro-batch's gradients (weight * grad), flags, weight * loss,
 * failed.  A failed micro-batch (failed = 1) packs zeros: it still takes its
 * place in the exchange, so the other processes learn of it instead of
 * waiting. */
ie_status ie_grads_pack(const ie_params *params, const ie_grad_layout *layout, float weight, float loss, bool failed,
                        float *leaf);
/* The two parts of a leaf, for a leaf packed piece by piece while backward
 * runs (core/dist/buckets.h), with the bytes ie_grads_pack gives: trained
 * parameter t's values (weight * grad, zeros without a gradient) at
 * `values`, and the tail (flags, weight * loss, failed; a failed leaf's
 * flags and loss are 0). */
void ie_grads_pack_values(const ie_tensor *t, float weight, float *values);
void ie_grads_pack_tail(const ie_params *params, const ie_grad_layout *layout, float weight, float loss, bool failed,
                        float *leaf);
/* Sets each trained parameter's gradient from a summed vector (one with a
 * zero flag keeps none); *loss, *failed from its last two values. */
ie_status ie_grads_unpack(ie_params *params, const ie_grad_layout *layout, const float *sum, float *loss,
                          float *failed);

/* The buffers (running statistics, counters) as bytes, for the step's
 * buffer rule (docs/distributed.md): bytes needed, save, load. */
size_t ie_buffers_size(const ie_params *params);
void ie_buffers_save(const ie_params *params, void *bytes);
void ie_buffers_load(ie_params *params, const void *bytes);

#endif
