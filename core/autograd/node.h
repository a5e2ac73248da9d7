/* core/autograd - the recorded graph.
 *
 * Owns: graph nodes, the backward walk, gradient accumulation, no-grad mode.
 * How an op records itself:
 *
 *     if (ie_autograd_needed(inputs, n)) {
 *         ie_node *node;
 *         IE_TRY(ie_autograd_record(out, "relu", relu_backward, inputs, n, &node));
 *         ie_node_save(node, 0, out_or_input);  // what backward will read
 *         node->ints[0] = ...;                  // scalar parameters
 *     }
 *
 * The backward function receives the gradient of the op's output and calls
 * ie_autograd_accumulate(node->inputs[i], grad_i) for each input for which
 * ie_autograd_wants(node->inputs[i]) is true.  Saved tensors are detached
 * handles (ie_node_save detaches), so an op may save its own output without a
 * reference cycle. */
#ifndef IE_CORE_AUTOGRAD_NODE_H
#define IE_CORE_AUTOGRAD_NODE_H

#include "innereye/autograd.h"
#include "core/tensor/tensor_impl.h"

#define IE_NODE_MAX_SAVED 8

typedef struct ie_node ie_node;
typedef ie_status (*ie_backward_fn)(ie_node *node, ie_tensor *grad_output);

struct ie_node {
    atomic_int refcount;
    const char *op;
    uint64_t seq;             /* creation order: a valid topological order */
    ie_backward_fn backward;
    int n_inputs;
    ie_tensor **inputs;       /* retained until this node's backward has run */
    ie_tensor *saved[IE_NODE_MAX_SAVED];
    double scalars[8];
    int64_t ints[24];
    void *ctx;                /* op-private data, freed with ctx_free */
    void (*ctx_free)(void *ctx);
    ie_tensor *grad;          /* gradient of the output, during backward (which may release it
                               * and set it NULL after its last read, to free the memory early) */
    /* Recomputes the output from what the node saved, bit for bit (cheap
     * ops such as batch norm + ReLU): a consumer may then save the recipe
     * instead of the data (ie_node_save_or_recipe).  NULL: not offered. */
    ie_status (*regenerate)(ie_node *node, ie_tensor **out);
    bool consumed;            /* backward already ran */
    /* Set only while tracing (core/autograd/trace.h): what an exporter needs. */
    struct ie_op_desc *desc;
};

/* Grad mode is on and some input requires a gradient. */
bool ie_autograd_needed(ie_tensor *const *inputs, int n);
/* Attaches a new node to `out` (which then requires grad). */
ie_status ie_autograd_record(ie_tensor *out, const char *op, ie_backward_fn backward,
                             ie_tensor *const *inputs, int n, ie_node **node_out);
/* For ops whose backward reads no input data (what it needs is in saved[]):
 * the node keeps only the shape and graph link of its non-leaf inputs, so
 * their data is freed as soon as nothing else holds it (a U-Net's batch
 * norm outputs, which only the following ReLU sees, and up-convolution
 * outputs, which only a concatenation sees). */
ie_status ie_node_drop_input_data(ie_node *node);
/* Saves t in slot i, or, when t's op can regenerate it, only the recipe (t's
 * data is then freed once the forward pass lets go of it, and recomputed in
 * backward by ie_node_saved_data). */
ie_status ie_node_save_or_recipe(ie_node *node, int i, ie_tensor *t);
/* The data of saved slot i (a new reference; regenerated if only the recipe
 * was saved).  Release it when done.  *regenerated (may be NULL) tells
 * whether it is a fresh buffer the caller may overwrite. */
ie_status ie_node_saved_data(ie_node *node, int i, ie_tensor **out, bool *regenerated);
/* Saves a detached handle of t (NULL allowed) in slot i. */
ie_status ie_node_save(ie_node *node, int i, ie_tensor *t);
/* Whether this input takes a gradient. */
bool ie_autograd_wants(const ie_tensor *input);
/* Adds grad (same shape as input) to input's gradient.  Takes its own
 * reference; the caller still releases grad. */
ie_status ie_autograd_accumulate(ie_tensor *input, ie_tensor *grad);

void ie_node_release(ie_node *node);

#endif
