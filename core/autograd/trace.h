/* core/autograd - tracing: ops describe themselves for exporters.
 *
 * Backward needs only what it differentiates, and records nothing for inputs
 * that take no gradient (the model's image).  An exporter needs the whole
 * forward pass, with the attributes each op was called with.  While tracing
 * is on (this thread only) every op records a node whatever its inputs, and
 * attaches an ie_op_desc: its type, the attributes as given by the caller
 * (never the backward's derived geometry, which is not stable API), and the
 * operands backward does not take (batch norm's running statistics).  An op
 * without a description cannot be exported, and the exporter says which.
 *
 * Nodes made while tracing must not be differentiated: descriptions are
 * the only thing they are made for. */
#ifndef IE_CORE_AUTOGRAD_TRACE_H
#define IE_CORE_AUTOGRAD_TRACE_H

#include "core/autograd/node.h"

#define IE_OP_DESC_INTS 16
#define IE_OP_DESC_FLOATS 4
#define IE_OP_DESC_EXTRA 4

typedef struct ie_op_desc {
    const char *type;                    /* e.g. "conv", "batch_norm", "add" (op-specific layout below) */
    int n_ints, n_floats, n_extra;
    int64_t ints[IE_OP_DESC_INTS];
    double floats[IE_OP_DESC_FLOATS];
    ie_tensor *extra[IE_OP_DESC_EXTRA]; /* retained; released with the node */
} ie_op_desc;

/* Starts / stops tracing on this thread; returns the previous state. */
bool ie_trace_set(bool on);
bool ie_trace_active(void);

/* Attaches a description to node (which must have been recorded while
 * tracing; outside tracing, or with node NULL, it does nothing).  The
 * extras are retained. */
ie_status ie_trace_describe(ie_node *node, const char *type, const int64_t *ints, int n_ints,
                            const double *floats, int n_floats, ie_tensor *const *extra, int n_extra);

/* The node's description, NULL when its op gave none. */
const ie_op_desc *ie_node_desc(const ie_node *node);

/* Frees node's description (called when the node lets go of its graph). */
void ie_trace_desc_free(ie_node *node);

#endif
