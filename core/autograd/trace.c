/* core/autograd - op descriptions recorded while tracing (trace.h). */
#include <stdlib.h>
#include <string.h>

#include "core/autograd/trace.h"

static _Thread_local bool tracing;

bool ie_trace_set(bool on) {
    bool was = tracing;
    tracing = on;
    return was;
}

bool ie_trace_active(void) { return tracing; }

ie_status ie_trace_describe(ie_node *node, const char *type, const int64_t *ints, int n_ints,
                            const double *floats, int n_floats, ie_tensor *const *extra, int n_extra) {
    if (!tracing || !node) return IE_OK;
    if (n_ints > IE_OP_DESC_INTS || n_floats > IE_OP_DESC_FLOATS || n_extra > IE_OP_DESC_EXTRA)
        return ie_error_set(IE_ERR_INTERNAL, "%s: op description too large", type);
    ie_op_desc *d = calloc(1, sizeof *d);
    if (!d) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory describing the op for a trace", type);
    d->type = type;
    d->n_ints = n_ints;
    d->n_floats = n_floats;
    d->n_extra = n_extra;
    if (n_ints) memcpy(d->ints, ints, (size_t)n_ints * sizeof *ints);
    if (n_floats) memcpy(d->floats, floats, (size_t)n_floats * sizeof *floats);
    for (int i = 0; i < n_extra; i++) d->extra[i] = ie_tensor_retain(extra[i]);
    ie_trace_desc_free(node);
    node->desc = d;
    return IE_OK;
}

const ie_op_desc *ie_node_desc(const ie_node *node) { return node ? node->desc : NULL; }

void ie_trace_desc_free(ie_node *node) {
    ie_op_desc *d = node->desc;
    if (!d) return;
    for (int i = 0; i < d->n_extra; i++) ie_tensor_release(d->extra[i]);
    free(d);
    node->desc = NULL;
}
