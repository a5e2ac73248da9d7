/* core/autograd - telling a caller when a parameter's gradient is final
 * during backward, so data-parallel training can start sending it while
 * backward goes on (core/dist/buckets.h, docs/distributed.md).
 *
 * A leaf tensor's gradient is final once the last node of the graph that
 * takes it as an input has run its backward (nodes run in one fixed order,
 * the reverse of their creation).  With a hook set on the calling thread,
 * ie_backward calls hook(ctx, leaf) right after that node, once per leaf that
 * requires a gradient (its gradient may still be NULL when no gradient
 * reached it).  Leaves the graph never reaches get no call, and when a
 * backward fails the leaves after the failing node get none either: the
 * caller treats whatever is left as final when ie_backward returns. */
#ifndef IE_CORE_AUTOGRAD_GRAD_READY_H
#define IE_CORE_AUTOGRAD_GRAD_READY_H

#include "innereye/tensor.h"

typedef void (*ie_grad_ready_fn)(void *ctx, ie_tensor *leaf);

/* Sets the hook of this thread's next backward passes (NULL: none). */
void ie_autograd_set_grad_ready(ie_grad_ready_fn hook, void *ctx);

#endif
