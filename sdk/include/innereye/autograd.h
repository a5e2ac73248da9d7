/* innereye/autograd.h - define-by-run reverse-mode differentiation.
 *
 * Every op whose inputs require gradients records a node holding what its
 * backward needs.  ie_backward(loss) walks the recorded graph from a scalar in
 * reverse creation order and accumulates gradients into the leaf tensors that
 * require them (parameters).  Gradients accumulate across calls until
 * ie_tensor_zero_grad() / ie_optimizer_zero_grad().  After backward the graph's
 * saved tensors are freed, so backward can run once per graph. */
#ifndef INNEREYE_AUTOGRAD_H
#define INNEREYE_AUTOGRAD_H

#include "innereye/api.h"

#include "innereye/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* `loss` must be a one-element float32 tensor that requires grad. Fails with
 * IE_ERR_NUMERIC (naming the value) when it is not finite. */
IE_API ie_status ie_backward(ie_tensor *loss);

/* No-grad mode (inference): ops record nothing.  Per thread.
 * Returns the previous setting, so scopes nest:
 *     bool was = ie_grad_set_enabled(false); ...; ie_grad_set_enabled(was); */
IE_API bool ie_grad_set_enabled(bool enabled);
IE_API bool ie_grad_enabled(void);

#ifdef __cplusplus
}
#endif
#endif
