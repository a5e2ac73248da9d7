/* core/ops - full reductions to a scalar. */
#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"

static ie_status reduce_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *x = node->inputs[0], *gx = NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_REDUCE_FILL_FROM_SCALAR, &ctx));
    IE_TRY(ie_tensor_empty_like(x, &gx));
    ie_status st = ctx->backend->reduce->fill_from_scalar(ctx, g, (float)node->scalars[0], gx);
    if (st == IE_OK) st = ie_autograd_accumulate(x, gx);
    ie_tensor_release(gx);
    return st;
}

static ie_status reduce(const char *name, ie_tensor *x, bool mean, ie_tensor **out) {
    IE_TRY(ie_check_out(name, out));
    IE_TRY(ie_check_f32(name, "input", x, -1));
    if (mean && x->numel == 0)
        return ie_error_set(IE_ERR_SHAPE, "mean: the input has no elements");
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(name, x, IE_KERNEL_REDUCE_SUM, &ctx));
    float scale = mean ? 1.0f / (float)x->numel : 1.0f;
    IE_TRY(ie_tensor_empty(IE_F32, 0, NULL, x->device, out));
    ie_status st = ctx->backend->reduce->sum(ctx, x, scale, *out);
    if (st == IE_OK && ie_autograd_needed(&x, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, name, reduce_backward, &x, 1, &node);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        if (st == IE_OK) node->scalars[0] = scale;
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

ie_status ie_sum(ie_tensor *x, ie_tensor **out) { return reduce("sum", x, false, out); }
ie_status ie_mean(ie_tensor *x, ie_tensor **out) { return reduce("mean", x, true, out); }
