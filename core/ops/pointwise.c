/* core/ops - elementwise arithmetic and activations.
 *
 * This file is the pattern for every op: check arguments, allocate the output,
 * dispatch the kernel through the backend table, record backward. */
#include "core/backend/pointwise_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

/* ---------------- binary ops with broadcasting ---------------- */

static ie_status resolve_broadcast(const char *op, const ie_tensor *a, const ie_tensor *b,
                                   ie_broadcast *bc) {
    char da[96], db[96];
    *bc = (ie_broadcast){IE_BROADCAST_NONE, 1, 1, 1};
    if (ie_tensor_same_shape(a, b)) return IE_OK;
    if (b->numel == 1) {
        bc->kind = IE_BROADCAST_SCALAR;
        return IE_OK;
    }
    /* Per-channel: b is [C] or [1, C, 1, ...] and a is [N, C, ...]. */
    bool per_channel = a->ndim >= 2 && b->numel == a->shape[1];
    if (per_channel && b->ndim != 1) {
        per_channel = b->ndim == a->ndim && b->shape[0] == 1;
        for (int i = 2; per_channel && i < b->ndim; i++) per_channel = b->shape[i] == 1;
    }
    if (!per_channel)
        return ie_error_set(IE_ERR_SHAPE,
                            "%s: cannot combine %s with %s; the second operand must have the first's "
                            "shape, one element, or one value per channel ([C] or [1, C, 1, ...])",
                            op, IE_DESCRIBE(a, da), IE_DESCRIBE(b, db));
    bc->kind = IE_BROADCAST_CHANNEL;
    bc->outer = a->shape[0];
    bc->channels = a->shape[1];
    bc->inner = a->numel / (bc->outer * bc->channels);
    return IE_OK;
}

/* Gradient of the broadcast operand: reduce grad over the broadcast axes. */
static ie_status reduce_to_operand(ie_device_ctx *ctx, const char *name, const ie_tensor *grad, const ie_tensor *b,
                                   ie_broadcast bc, ie_tensor **out) {
    if (bc.kind == IE_BROADCAST_NONE) {
        *out = ie_tensor_retain((ie_tensor *)grad);
        return IE_OK;
    }
    IE_TRY(ie_kernel_require(ctx, IE_KERNEL_POINTWISE_CHANNEL_SUM, name));
    IE_TRY(ie_grad_like(b, out));
    const struct ie_pointwise_kernels *k = ctx->backend->pointwise;
    ie_status st = bc.kind == IE_BROADCAST_SCALAR ? k->channel_sum(ctx, grad, 1, 1, grad->numel, *out)
                                                  : k->channel_sum(ctx, grad, bc.outer, bc.channels, bc.inner, *out);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

static ie_status binary_backward(ie_node *node, ie_tensor *g) {
    ie_binary_op op = (ie_binary_op)node->ints[0];
    ie_broadcast bc = {(ie_broadcast_kind)node->ints[1], node->ints[2], node->ints[3], node->ints[4]};
    ie_tensor *a = node->inputs[0], *b = node->inputs[1];
    ie_device_ctx *ctx;
    IE_TRY(ie_device_ctx_for(node->op, g, &ctx));
    const struct ie_pointwise_kernels *k = ctx->backend->pointwise;
    /* Checked before any gradient is accumulated, so a refusal leaves none half done. */
    if (op == IE_BINARY_MUL) IE_TRY(ie_kernel_require(ctx, IE_KERNEL_POINTWISE_BINARY, node->op));
    if (op == IE_BINARY_SUB && ie_autograd_wants(b))
        IE_TRY(ie_kernel_require(ctx, IE_KERNEL_POINTWISE_UNARY, node->op));
    if (bc.kind != IE_BROADCAST_NONE && ie_autograd_wants(b))
        IE_TRY(ie_kernel_require(ctx, IE_KERNEL_POINTWISE_CHANNEL_SUM, node->op));
    ie_status st = IE_OK;
    ie_tensor *ga = NULL, *gb_full = NULL, *gb = NULL;
    if (ie_autograd_wants(a)) {
        if (op == IE_BINARY_MUL) { /* d(a*b)/da = b (broadcast) */
            st = ie_tensor_empty_like(g, &ga);
            if (st == IE_OK) st = k->binary(ctx, IE_BINARY_MUL, g, node->saved[1], bc, ga);
        } else {
            ga = ie_tensor_retain(g);
        }
        if (st == IE_OK) st = ie_autograd_accumulate(a, ga);
    }
    if (st == IE_OK && ie_autograd_wants(b)) {
        if (op == IE_BINARY_MUL) { /* d(a*b)/db = a, reduced over the broadcast */
            st = ie_tensor_empty_like(g, &gb_full);
            if (st == IE_OK)
                st = k->binary(ctx, IE_BINARY_MUL, g, node->saved[0], (ie_broadcast){IE_BROADCAST_NONE, 1, 1, 1},
                               gb_full);
        } else if (op == IE_BINARY_SUB) {
            st = ie_tensor_empty_like(g, &gb_full);
            if (st == IE_OK) st = k->unary(ctx, IE_UNARY_AFFINE, g, -1.0f, 0.0f, gb_full);
        } else {
            gb_full = ie_tensor_retain(g);
        }
        if (st == IE_OK) st = reduce_to_operand(ctx, node->op, gb_full, b, bc, &gb);
        if (st == IE_OK) st = ie_autograd_accumulate(b, gb);
    }
    ie_tensor_release(ga);
    ie_tensor_release(gb_full);
    ie_tensor_release(gb);
    return st;
}

/* a + b again from the operands' recipes (the same kernel, the same bytes),
 * written over a freshly recomputed operand so a chain of recomputations
 * holds few buffers at once. */
static ie_status add_regenerate(ie_node *node, ie_tensor **out) {
    ie_tensor *a = NULL, *b = NULL;
    bool a_fresh = false, b_fresh = false;
    *out = NULL;
    ie_status st = ie_node_saved_data(node, 0, &a, &a_fresh);
    if (st == IE_OK) st = ie_node_saved_data(node, 1, &b, &b_fresh);
    if (st == IE_OK) {
        if (a_fresh)
            *out = ie_tensor_retain(a);
        else if (b_fresh)
            *out = ie_tensor_retain(b);
        else
            st = ie_tensor_empty_like(a, out);
    }
    ie_device_ctx *ctx;
    if (st == IE_OK) st = ie_kernel_ctx(node->op, a, IE_KERNEL_POINTWISE_BINARY, &ctx);
    if (st == IE_OK) /* elementwise, so writing over an operand is safe */
        st = ctx->backend->pointwise->binary(ctx, IE_BINARY_ADD, a, b, (ie_broadcast){IE_BROADCAST_NONE, 1, 1, 1},
                                             *out);
    ie_tensor_release(a);
    ie_tensor_release(b);
    return st;
}

/* A sum of two recomputable activations (a residual connection after
 * batch norm + ReLU) is recomputable too: its consumers keep the recipe. */
static bool recomputable_sum(ie_binary_op op, ie_broadcast bc, const ie_tensor *a, const ie_tensor *b) {
    return op == IE_BINARY_ADD && bc.kind == IE_BROADCAST_NONE && a->node && a->node->regenerate && b->node &&
           b->node->regenerate;
}

/* Whether a op b may be written over b, whose caller gives it up
 * (ie_add_consume): nothing else holds b or its memory (no other reference,
 * view or saved handle), it has the result's shape and is not a's memory,
 * and if autograd records the op, b is an op's output: the node then keeps
 * only b's shape (an add's backward reads no operand), where it would keep a
 * leaf whole. */
static bool result_fits_over(const ie_tensor *a, const ie_tensor *b, ie_broadcast bc, bool recorded) {
    return bc.kind == IE_BROADCAST_NONE && atomic_load(&b->refcount) == 1 && b->storage &&
           atomic_load(&b->storage->refcount) == 1 && b->storage != a->storage && (!recorded || b->node);
}

/* consume_b: the caller's reference to b passes to the call (ie_add_consume),
 * and the result goes over b's memory when result_fits_over allows. */
static ie_status binary(const char *name, ie_binary_op op, ie_tensor *a, ie_tensor *b, bool consume_b,
                        ie_tensor **out) {
    IE_TRY(ie_check_out(name, out));
    IE_TRY(ie_check_f32(name, "first operand", a, -1));
    IE_TRY(ie_check_f32(name, "second operand", b, -1));
    IE_TRY(ie_check_same_device(name, a, b));
    ie_broadcast bc;
    IE_TRY(resolve_broadcast(name, a, b, &bc));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(name, a, IE_KERNEL_POINTWISE_BINARY, &ctx));
    ie_tensor *inputs[2] = {a, b};
    /* The kernel is elementwise: element i of the result reads only element i
     * of each operand, so writing it over b gives the same bytes. */
    if (consume_b && result_fits_over(a, b, bc, ie_autograd_needed(inputs, 2)))
        IE_TRY(ie_tensor_detach(b, out));
    else
        IE_TRY(ie_tensor_empty_like(a, out));
    ie_status st = ctx->backend->pointwise->binary(ctx, op, a, b, bc, *out);
    if (st == IE_OK && ie_autograd_needed(inputs, 2)) {
        ie_node *node;
        st = ie_autograd_record(*out, name, binary_backward, inputs, 2, &node);
        if (st == IE_OK && op == IE_BINARY_MUL) {
            st = ie_node_save(node, 0, a);
            if (st == IE_OK) st = ie_node_save(node, 1, b);
        } else if (st == IE_OK && recomputable_sum(op, bc, a, b)) {
            st = ie_node_save_or_recipe(node, 0, a);
            if (st == IE_OK) st = ie_node_save_or_recipe(node, 1, b);
            node->regenerate = add_regenerate;
        }
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        if (st == IE_OK) st = ie_trace_describe(node, name, NULL, 0, NULL, 0, NULL, 0);
        if (st == IE_OK) {
            node->ints[0] = op;
            node->ints[1] = bc.kind;
            node->ints[2] = bc.outer;
            node->ints[3] = bc.channels;
            node->ints[4] = bc.inner;
        }
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

ie_status ie_add(ie_tensor *a, ie_tensor *b, ie_tensor **out) {
    return binary("add", IE_BINARY_ADD, a, b, false, out);
}
ie_status ie_sub(ie_tensor *a, ie_tensor *b, ie_tensor **out) {
    return binary("sub", IE_BINARY_SUB, a, b, false, out);
}
ie_status ie_mul(ie_tensor *a, ie_tensor *b, ie_tensor **out) {
    return binary("mul", IE_BINARY_MUL, a, b, false, out);
}

/* The op is recorded as "add" (exporters and traces see an add). */
ie_status ie_add_consume(ie_tensor *a, ie_tensor *b, ie_tensor **out) {
    ie_status st = binary("add", IE_BINARY_ADD, a, b, true, out);
    ie_tensor_release(b); /* out holds its memory now, or it is dropped */
    return st;
}

/* ---------------- unary ops ---------------- */

static ie_status unary_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *gx = NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_POINTWISE_UNARY_BACKWARD, &ctx));
    IE_TRY(ie_tensor_empty_like(g, &gx));
    ie_status st = ctx->backend->pointwise->unary_backward(ctx, (ie_unary_op)node->ints[0], node->saved[0], g,
                                                           (float)node->scalars[0], gx);
    if (st == IE_OK) st = ie_autograd_accumulate(node->inputs[0], gx);
    ie_tensor_release(gx);
    return st;
}

static ie_status unary(const char *name, ie_unary_op op, ie_tensor *x, float param, float param2,
                       ie_tensor **out) {
    IE_TRY(ie_check_out(name, out));
    IE_TRY(ie_check_f32(name, "input", x, -1));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(name, x, IE_KERNEL_POINTWISE_UNARY, &ctx));
    IE_TRY(ie_tensor_empty_like(x, out));
    ie_status st = ctx->backend->pointwise->unary(ctx, op, x, param, param2, *out);
    if (st == IE_OK && ie_autograd_needed(&x, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, name, unary_backward, &x, 1, &node);
        /* Leaky ReLU needs the input's sign, and GELU's and SiLU's
         * derivatives are not functions of their output; the others are
         * cheaper from the output. */
        bool save_input = op == IE_UNARY_LEAKY_RELU || op == IE_UNARY_GELU || op == IE_UNARY_GELU_TANH ||
                          op == IE_UNARY_SILU;
        if (st == IE_OK && op != IE_UNARY_AFFINE) st = ie_node_save(node, 0, save_input ? x : *out);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        const double params[2] = {param, param2}; /* affine: param * x + param2 */
        if (st == IE_OK) st = ie_trace_describe(node, name, NULL, 0, params, 2, NULL, 0);
        if (st == IE_OK) {
            node->ints[0] = op;
            node->scalars[0] = param;
        }
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

ie_status ie_relu(ie_tensor *x, ie_tensor **out) { return unary("relu", IE_UNARY_RELU, x, 0, 0, out); }
ie_status ie_leaky_relu(ie_tensor *x, float slope, ie_tensor **out) {
    return unary("leaky_relu", IE_UNARY_LEAKY_RELU, x, slope, 0, out);
}
ie_status ie_sigmoid(ie_tensor *x, ie_tensor **out) { return unary("sigmoid", IE_UNARY_SIGMOID, x, 0, 0, out); }
ie_status ie_tanh(ie_tensor *x, ie_tensor **out) { return unary("tanh", IE_UNARY_TANH, x, 0, 0, out); }
ie_status ie_gelu(ie_tensor *x, bool tanh_approx, ie_tensor **out) {
    return tanh_approx ? unary("gelu_tanh", IE_UNARY_GELU_TANH, x, 0, 0, out) : unary("gelu", IE_UNARY_GELU, x, 0, 0, out);
}
ie_status ie_silu(ie_tensor *x, ie_tensor **out) { return unary("silu", IE_UNARY_SILU, x, 0, 0, out); }
ie_status ie_add_scalar(ie_tensor *x, float v, ie_tensor **out) {
    return unary("add_scalar", IE_UNARY_AFFINE, x, 1.0f, v, out);
}
ie_status ie_mul_scalar(ie_tensor *x, float v, ie_tensor **out) {
    return unary("mul_scalar", IE_UNARY_AFFINE, x, v, 0.0f, out);
}
