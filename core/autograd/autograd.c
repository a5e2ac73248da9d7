/* core/autograd - recording nodes and the backward walk. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/grad_ready.h"
#include "core/autograd/node.h"
#include "core/autograd/trace.h"
#include "core/backend/pointwise_kernels.h"

static _Thread_local bool grad_disabled;
static _Thread_local ie_grad_ready_fn grad_ready;
static _Thread_local void *grad_ready_ctx;
static atomic_uint_fast64_t next_seq;

bool ie_grad_set_enabled(bool enabled) {
    bool was = !grad_disabled;
    grad_disabled = !enabled;
    return was;
}

bool ie_grad_enabled(void) { return !grad_disabled; }

bool ie_autograd_needed(ie_tensor *const *inputs, int n) {
    /* A trace records every op, whatever requires a gradient. */
    if (ie_trace_active()) {
        for (int i = 0; i < n; i++)
            if (inputs[i]) return true;
        return false;
    }
    if (grad_disabled) return false;
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->requires_grad) return true;
    return false;
}

bool ie_autograd_wants(const ie_tensor *input) { return input && input->requires_grad; }

static void node_drop_graph(ie_node *node) {
    for (int i = 0; i < node->n_inputs; i++) ie_tensor_release(node->inputs[i]);
    free(node->inputs);
    node->inputs = NULL;
    node->n_inputs = 0;
    for (int i = 0; i < IE_NODE_MAX_SAVED; i++) {
        ie_tensor_release(node->saved[i]);
        node->saved[i] = NULL;
    }
    if (node->ctx && node->ctx_free) node->ctx_free(node->ctx);
    node->ctx = NULL;
    ie_tensor_release(node->grad);
    node->grad = NULL;
    ie_trace_desc_free(node);
}

void ie_node_release(ie_node *node) {
    if (!node || atomic_fetch_sub(&node->refcount, 1) != 1) return;
    /* Releasing the inputs may release whole chains of nodes: an iterative
     * walk would avoid deep recursion, but graph depth is the network depth
     * (hundreds), far from the stack limit. */
    node_drop_graph(node);
    free(node);
}

/* How a tensor gives back the node that made it (core/tensor/tensor_impl.h:
 * the tensor layer, below this one, names no function of it); registered as
 * libinnereye loads, before any node exists. */
__attribute__((constructor)) static void register_node_release(void) {
    ie_tensor_register_node_release(ie_node_release);
}

ie_status ie_autograd_record(ie_tensor *out, const char *op, ie_backward_fn backward,
                             ie_tensor *const *inputs, int n, ie_node **node_out) {
    ie_node *node = calloc(1, sizeof *node);
    ie_tensor **in = calloc((size_t)(n ? n : 1), sizeof *in);
    if (!node || !in) {
        free(node);
        free(in);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory recording the autograd graph", op);
    }
    atomic_init(&node->refcount, 1);
    node->op = op;
    node->seq = atomic_fetch_add(&next_seq, 1);
    node->backward = backward;
    node->n_inputs = n;
    node->inputs = in;
    for (int i = 0; i < n; i++) in[i] = ie_tensor_retain(inputs[i]);
    if (out->node) ie_node_release(out->node);
    out->node = node;
    out->requires_grad = true;
    if (node_out) *node_out = node;
    return IE_OK;
}

ie_status ie_node_save(ie_node *node, int i, ie_tensor *t) {
    if (i < 0 || i >= IE_NODE_MAX_SAVED)
        return ie_error_set(IE_ERR_INTERNAL, "%s: saved-tensor slot %d out of range", node->op, i);
    ie_tensor_release(node->saved[i]);
    node->saved[i] = NULL;
    if (!t) return IE_OK;
    return ie_tensor_detach(t, &node->saved[i]);
}

/* A handle with t's shape and graph link but no data. */
static ie_status shell_of(const ie_node *node, const ie_tensor *t, ie_tensor **out) {
    ie_tensor *shell = calloc(1, sizeof *shell);
    if (!shell) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory recording the autograd graph", node->op);
    atomic_init(&shell->refcount, 1);
    shell->dtype = t->dtype;
    shell->device = t->device;
    shell->ndim = t->ndim;
    memcpy(shell->shape, t->shape, sizeof shell->shape);
    shell->numel = t->numel;
    shell->requires_grad = t->requires_grad;
    shell->node = t->node;
    atomic_fetch_add(&shell->node->refcount, 1);
    *out = shell;
    return IE_OK;
}

ie_status ie_node_drop_input_data(ie_node *node) {
    for (int i = 0; i < node->n_inputs; i++) {
        ie_tensor *in = node->inputs[i];
        /* Leaves take their gradient in place, so they stay themselves;
         * parameters are alive anyway. */
        if (!in || !in->node || !in->storage) continue;
        IE_TRY(shell_of(node, in, &node->inputs[i]));
        ie_tensor_release(in);
    }
    return IE_OK;
}

ie_status ie_node_save_or_recipe(ie_node *node, int i, ie_tensor *t) {
    if (!t || !t->node || !t->node->regenerate) return ie_node_save(node, i, t);
    if (i < 0 || i >= IE_NODE_MAX_SAVED)
        return ie_error_set(IE_ERR_INTERNAL, "%s: saved-tensor slot %d out of range", node->op, i);
    ie_tensor_release(node->saved[i]);
    node->saved[i] = NULL;
    return shell_of(node, t, &node->saved[i]);
}

ie_status ie_node_saved_data(ie_node *node, int i, ie_tensor **out, bool *regenerated) {
    ie_tensor *t = node->saved[i];
    *out = NULL;
    if (regenerated) *regenerated = t && !t->storage;
    if (!t) return IE_OK;
    if (t->storage) {
        *out = ie_tensor_retain(t);
        return IE_OK;
    }
    /* The producer's backward runs after this node's (it was created
     * earlier), so its saved tensors are still there. */
    if (!t->node || !t->node->regenerate || t->node->consumed)
        return ie_error_set(IE_ERR_INTERNAL, "%s: saved input %d can no longer be recomputed", node->op, i);
    ie_status st = t->node->regenerate(t->node, out);
    if (st == IE_OK && !ie_tensor_same_shape(*out, t)) {
        ie_tensor_release(*out);
        *out = NULL;
        st = ie_error_set(IE_ERR_INTERNAL, "%s: saved input %d was recomputed with another shape", node->op, i);
    }
    return st;
}

static bool sole_holder(const ie_tensor *t) {
    return atomic_load(&t->refcount) == 1 && t->storage && atomic_load(&t->storage->refcount) == 1;
}

/* Two gradients of one tensor are summed by the backend's add kernel, the
 * one the ie_add op calls for operands of one shape: autograd sits below the
 * ops, and this sum is never recorded. */
static ie_status accumulate_into(ie_tensor **slot, ie_tensor *grad) {
    if (!*slot) {
        *slot = ie_tensor_retain(grad);
        return IE_OK;
    }
    if ((*slot)->device != grad->device || !ie_tensor_same_shape(*slot, grad)) {
        char a[96], b[96];
        return ie_error_set(IE_ERR_INTERNAL, "autograd: cannot add gradient %s to gradient %s",
                            ie_tensor_describe(grad, a, sizeof a), ie_tensor_describe(*slot, b, sizeof b));
    }
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx("autograd: gradient sum", grad, IE_KERNEL_POINTWISE_BINARY, &ctx));
    /* The same gradient tensor may be shared by several inputs (an add passes
     * its own to both), so the sum is written in place only when this slot
     * is the sole holder of the tensor and of its storage; otherwise to a new
     * tensor.  The kernel is elementwise, so both give the same bytes. */
    ie_tensor *sum = NULL;
    if (sole_holder(*slot)) {
        ie_broadcast none = {IE_BROADCAST_NONE, 1, 1, 1};
        return ctx->backend->pointwise->binary(ctx, IE_BINARY_ADD, *slot, grad, none, *slot);
    }
    IE_TRY(ie_tensor_empty_like(*slot, &sum));
    ie_status st = ctx->backend->pointwise->binary(ctx, IE_BINARY_ADD, *slot, grad,
                                                   (ie_broadcast){IE_BROADCAST_NONE, 1, 1, 1}, sum);
    if (st != IE_OK) {
        ie_tensor_release(sum);
        return st;
    }
    ie_tensor_release(*slot);
    *slot = sum;
    return IE_OK;
}

ie_status ie_autograd_accumulate(ie_tensor *input, ie_tensor *grad) {
    if (!ie_autograd_wants(input)) return IE_OK;
    if (input->numel != grad->numel || grad->dtype != IE_F32) {
        char a[96], b[96];
        return ie_error_set(IE_ERR_INTERNAL, "autograd: gradient %s does not fit input %s%s%s",
                            ie_tensor_describe(grad, a, sizeof a), ie_tensor_describe(input, b, sizeof b),
                            input->node ? " of op " : "", input->node ? input->node->op : "");
    }
    /* Gradients take the input's shape (ops may compute them flattened). */
    if (!ie_tensor_same_shape(grad, input)) {
        ie_tensor *g = NULL;
        IE_TRY(ie_tensor_detach(grad, &g));
        g->ndim = input->ndim;
        memcpy(g->shape, input->shape, sizeof g->shape);
        ie_status st = input->node ? accumulate_into(&input->node->grad, g)
                                   : accumulate_into(&input->grad, g);
        ie_tensor_release(g);
        return st;
    }
    return input->node ? accumulate_into(&input->node->grad, grad) : accumulate_into(&input->grad, grad);
}

static int by_seq_descending(const void *a, const void *b) {
    const ie_node *x = *(ie_node *const *)a, *y = *(ie_node *const *)b;
    return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

/* Every node reachable from root, each once. */
static ie_status collect_nodes(ie_node *root, ie_node ***out, size_t *count) {
    size_t cap = 256, n = 0, stack_n = 0, stack_cap = 256;
    ie_node **nodes = malloc(cap * sizeof *nodes);
    ie_node **stack = malloc(stack_cap * sizeof *stack);
    /* A small open-addressing set keyed by pointer keeps this linear. */
    size_t set_cap = 1024;
    ie_node **set = calloc(set_cap, sizeof *set);
    ie_status st = IE_OK;
    if (!nodes || !stack || !set) {
        st = ie_error_set(IE_ERR_NOMEM, "backward: out of memory walking the graph");
        goto done;
    }
    stack[stack_n++] = root;
    while (stack_n) {
        ie_node *node = stack[--stack_n];
        size_t h = ((uintptr_t)node >> 4) * 11400714819323198485ull % set_cap;
        while (set[h] && set[h] != node) h = (h + 1) % set_cap;
        if (set[h]) continue;
        set[h] = node;
        if (n == cap) {
            cap *= 2;
            ie_node **grown = realloc(nodes, cap * sizeof *nodes);
            if (!grown) { st = ie_error_set(IE_ERR_NOMEM, "backward: out of memory"); goto done; }
            nodes = grown;
        }
        nodes[n++] = node;
        /* Held until the walk ends: dropping one node's inputs may free others. */
        atomic_fetch_add(&node->refcount, 1);
        if (n * 2 > set_cap) { /* grow and rehash the visited set */
            size_t new_cap = set_cap * 4;
            ie_node **grown = calloc(new_cap, sizeof *grown);
            if (!grown) { st = ie_error_set(IE_ERR_NOMEM, "backward: out of memory"); goto done; }
            for (size_t i = 0; i < set_cap; i++) {
                if (!set[i]) continue;
                size_t g = ((uintptr_t)set[i] >> 4) * 11400714819323198485ull % new_cap;
                while (grown[g]) g = (g + 1) % new_cap;
                grown[g] = set[i];
            }
            free(set);
            set = grown;
            set_cap = new_cap;
        }
        for (int i = 0; i < node->n_inputs; i++) {
            ie_tensor *in = node->inputs[i];
            if (!in || !in->node) continue;
            if (stack_n == stack_cap) {
                stack_cap *= 2;
                ie_node **grown = realloc(stack, stack_cap * sizeof *stack);
                if (!grown) { st = ie_error_set(IE_ERR_NOMEM, "backward: out of memory"); goto done; }
                stack = grown;
            }
            stack[stack_n++] = in->node;
        }
    }
done:
    free(stack);
    free(set);
    if (st != IE_OK) {
        for (size_t i = 0; nodes && i < n; i++) ie_node_release(nodes[i]);
        free(nodes);
        return st;
    }
    *out = nodes;
    *count = n;
    return IE_OK;
}

void ie_autograd_set_grad_ready(ie_grad_ready_fn hook, void *ctx) {
    grad_ready = hook;
    grad_ready_ctx = ctx;
}

/* A leaf input of the walk and the position (in walk order) of a node that
 * takes it. */
typedef struct leaf_use {
    ie_tensor *leaf;
    size_t at;
} leaf_use;

static int by_leaf_then_last(const void *a, const void *b) {
    const leaf_use *x = a, *y = b;
    if (x->leaf != y->leaf) return (uintptr_t)x->leaf < (uintptr_t)y->leaf ? -1 : 1;
    return x->at > y->at ? -1 : x->at < y->at ? 1 : 0; /* the last use first */
}

static int by_position(const void *a, const void *b) {
    const leaf_use *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at ? 1 : 0;
}

/* For the grad-ready hook: each leaf that requires a gradient once, with the
 * walk position of its last use, in walk order. */
static ie_status last_uses(ie_node *const *nodes, size_t count, leaf_use **out, size_t *n_out) {
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        for (int k = 0; k < nodes[i]->n_inputs; k++) n += nodes[i]->inputs[k] != NULL;
    leaf_use *uses = malloc((n ? n : 1) * sizeof *uses);
    if (!uses) return ie_error_set(IE_ERR_NOMEM, "backward: out of memory walking the graph");
    n = 0;
    for (size_t i = 0; i < count; i++)
        for (int k = 0; k < nodes[i]->n_inputs; k++) {
            ie_tensor *in = nodes[i]->inputs[k];
            if (in && !in->node && in->requires_grad) uses[n++] = (leaf_use){in, i};
        }
    qsort(uses, n, sizeof *uses, by_leaf_then_last);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || uses[i].leaf != uses[i - 1].leaf) uses[kept++] = uses[i];
    qsort(uses, kept, sizeof *uses, by_position);
    *out = uses;
    *n_out = kept;
    return IE_OK;
}

ie_status ie_backward(ie_tensor *loss) {
    char d[96];
    if (!loss) return ie_error_set(IE_ERR_INVALID_ARG, "backward: loss is NULL");
    if (loss->numel != 1 || loss->dtype != IE_F32)
        return ie_error_set(IE_ERR_SHAPE, "backward: needs a one-element f32 loss, got %s",
                            ie_tensor_describe(loss, d, sizeof d));
    if (!loss->requires_grad)
        return ie_error_set(IE_ERR_STATE,
                            "backward: the loss does not depend on anything that requires a "
                            "gradient (were the parameters registered, or grad mode off?)");
    if (loss->device == IE_CPU && !isfinite(ie_f32(loss)[0]))
        return ie_error_set(IE_ERR_NUMERIC, "backward: the loss is not finite (%g)", ie_f32(loss)[0]);
    if (!loss->node) return IE_OK; /* a leaf: nothing to propagate */
    if (loss->node->consumed)
        return ie_error_set(IE_ERR_STATE, "backward: this graph was already differentiated; run the "
                                          "forward pass again");
    ie_node **nodes;
    size_t count;
    IE_TRY(collect_nodes(loss->node, &nodes, &count));
    qsort(nodes, count, sizeof *nodes, by_seq_descending);

    leaf_use *ready = NULL;
    size_t n_ready = 0, next_ready = 0;
    ie_status st = grad_ready ? last_uses(nodes, count, &ready, &n_ready) : IE_OK;
    ie_tensor *seed = NULL;
    if (st == IE_OK) st = ie_tensor_empty(IE_F32, loss->ndim, loss->shape, loss->device, &seed);
    if (st == IE_OK) st = ie_tensor_fill(seed, 1.0f);
    if (st == IE_OK) st = accumulate_into(&loss->node->grad, seed);
    ie_tensor_release(seed);

    bool was = ie_grad_set_enabled(false); /* backward computations are not recorded */
    for (size_t i = 0; i < count && st == IE_OK; i++) {
        ie_node *node = nodes[i];
        if (node->consumed) {
            st = ie_error_set(IE_ERR_STATE, "backward: part of this graph (op %s) was already "
                                            "differentiated; run the forward pass again", node->op);
            break;
        }
        if (node->grad) {
            st = node->backward(node, node->grad);
            if (st != IE_OK) ie_error_wrap(st, "backward of %s", node->op);
        }
        node->consumed = true;
        /* Read before the inputs go: the leaves whose last use this was. */
        for (; st == IE_OK && next_ready < n_ready && ready[next_ready].at == i; next_ready++)
            grad_ready(grad_ready_ctx, ready[next_ready].leaf);
        node_drop_graph(node); /* frees activations as soon as they are used */
    }
    free(ready);
    ie_grad_set_enabled(was);
    for (size_t i = 0; i < count; i++) ie_node_release(nodes[i]);
    free(nodes);
    return st;
}
