/* core/ops - the fully connected layer: x [N, in] * weight [out, in]^T + bias. */
#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

static ie_status linear_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *x = node->inputs[0], *w = node->inputs[1], *b = node->n_inputs > 2 ? node->inputs[2] : NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_device_ctx_for(node->op, g, &ctx));
    /* Checked before any gradient is accumulated, so a refusal leaves none half done. */
    if (ie_autograd_wants(x)) IE_TRY(ie_kernel_require(ctx, IE_KERNEL_REDUCE_LINEAR_GRAD_INPUT, node->op));
    if (ie_autograd_wants(w)) IE_TRY(ie_kernel_require(ctx, IE_KERNEL_REDUCE_LINEAR_GRAD_WEIGHT, node->op));
    if (ie_autograd_wants(b)) IE_TRY(ie_kernel_require(ctx, IE_KERNEL_REDUCE_LINEAR_GRAD_BIAS, node->op));
    const struct ie_reduce_kernels *k = ctx->backend->reduce;
    ie_tensor *gx = NULL, *gw = NULL, *gb = NULL;
    ie_status st = IE_OK;
    if (ie_autograd_wants(x)) {
        st = ie_tensor_empty_like(x, &gx);
        if (st == IE_OK) st = k->linear_grad_input(ctx, g, w, gx);
        if (st == IE_OK) st = ie_autograd_accumulate(x, gx);
    }
    if (st == IE_OK && ie_autograd_wants(w)) {
        st = ie_tensor_empty_like(w, &gw);
        if (st == IE_OK) st = k->linear_grad_weight(ctx, g, x, gw);
        if (st == IE_OK) st = ie_autograd_accumulate(w, gw);
    }
    if (st == IE_OK && ie_autograd_wants(b)) {
        st = ie_tensor_empty_like(b, &gb);
        if (st == IE_OK) st = k->linear_grad_bias(ctx, g, gb);
        if (st == IE_OK) st = ie_autograd_accumulate(b, gb);
    }
    ie_tensor_release(gx);
    ie_tensor_release(gw);
    ie_tensor_release(gb);
    return st;
}

static ie_status linear_check(ie_tensor *x, ie_tensor *w, ie_tensor *b) {
    char dx[96], dw[96], db[96];
    IE_TRY(ie_check_f32("linear", "input", x, -1));
    IE_TRY(ie_check_f32("linear", "weight", w, -1));
    if (x->ndim != 2)
        return ie_error_set(IE_ERR_SHAPE, "linear: input must be [N, in_features], got %s; flatten it first",
                            IE_DESCRIBE(x, dx));
    if (w->ndim != 2)
        return ie_error_set(IE_ERR_SHAPE, "linear: weight must be [out_features, in_features], got %s",
                            IE_DESCRIBE(w, dw));
    if (w->shape[1] != x->shape[1])
        return ie_error_set(IE_ERR_SHAPE, "linear: weight %s expects %lld input features, input is %s",
                            IE_DESCRIBE(w, dw), (long long)w->shape[1], IE_DESCRIBE(x, dx));
    IE_TRY(ie_check_same_device("linear", x, w));
    if (b) {
        IE_TRY(ie_check_f32("linear", "bias", b, -1));
        IE_TRY(ie_check_same_device("linear", x, b));
        if (b->ndim != 1 || b->shape[0] != w->shape[0])
            return ie_error_set(IE_ERR_SHAPE, "linear: bias must be [%lld] for weight %s, got %s",
                                (long long)w->shape[0], IE_DESCRIBE(w, dw), IE_DESCRIBE(b, db));
    }
    return IE_OK;
}

ie_status ie_linear(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_tensor **out) {
    IE_TRY(ie_check_out("linear", out));
    IE_TRY(linear_check(x, weight, bias));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx("linear", x, IE_KERNEL_REDUCE_LINEAR, &ctx));
    int64_t shape[2] = {x->shape[0], weight->shape[0]};
    IE_TRY(ie_tensor_empty(IE_F32, 2, shape, x->device, out));
    ie_status st = ctx->backend->reduce->linear(ctx, x, weight, bias, *out);
    ie_tensor *inputs[3] = {x, weight, bias};
    int n = bias ? 3 : 2;
    if (st == IE_OK && ie_autograd_needed(inputs, n)) {
        ie_node *node = NULL;
        st = ie_autograd_record(*out, "linear", linear_backward, inputs, n, &node);
        if (st == IE_OK) st = ie_trace_describe(node, "linear", NULL, 0, NULL, 0, NULL, 0);
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}
