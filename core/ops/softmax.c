/* core/ops - softmax and log-softmax over any dimension. */
#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

/* x viewed as [outer, shape[dim], inner]. */
static void axis_view(const ie_tensor *x, int dim, int64_t *outer, int64_t *size, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < dim; i++) *outer *= x->shape[i];
    for (int i = dim + 1; i < x->ndim; i++) *inner *= x->shape[i];
    *size = x->shape[dim];
}

static ie_status softmax_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *gx = NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_REDUCE_SOFTMAX_BACKWARD, &ctx));
    IE_TRY(ie_tensor_empty_like(g, &gx));
    ie_status st = ctx->backend->reduce->softmax_backward(ctx, node->saved[0], g, node->ints[0], node->ints[1],
                                                          node->ints[2], node->ints[3] != 0, gx);
    if (st == IE_OK) st = ie_autograd_accumulate(node->inputs[0], gx);
    ie_tensor_release(gx);
    return st;
}

static ie_status softmax(const char *name, ie_tensor *x, int dim, bool log, ie_tensor **out) {
    char d[96];
    IE_TRY(ie_check_out(name, out));
    IE_TRY(ie_check_f32(name, "input", x, -1));
    if (x->ndim == 0 || dim < -x->ndim || dim >= x->ndim)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: dim %d is out of range for input %s (valid: %d to %d)",
                            name, dim, IE_DESCRIBE(x, d), -x->ndim, x->ndim - 1);
    if (dim < 0) dim += x->ndim;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(name, x, IE_KERNEL_REDUCE_SOFTMAX, &ctx));
    int64_t outer, size, inner;
    axis_view(x, dim, &outer, &size, &inner);
    IE_TRY(ie_tensor_empty_like(x, out));
    ie_status st = ctx->backend->reduce->softmax(ctx, x, outer, size, inner, log, *out);
    if (st == IE_OK && ie_autograd_needed(&x, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, name, softmax_backward, &x, 1, &node);
        if (st == IE_OK) st = ie_node_save(node, 0, *out);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        const int64_t axis = dim;
        if (st == IE_OK) st = ie_trace_describe(node, name, &axis, 1, NULL, 0, NULL, 0);
        if (st == IE_OK) {
            node->ints[0] = outer;
            node->ints[1] = size;
            node->ints[2] = inner;
            node->ints[3] = log;
        }
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

ie_status ie_softmax(ie_tensor *x, int dim, ie_tensor **out) { return softmax("softmax", x, dim, false, out); }
ie_status ie_log_softmax(ie_tensor *x, int dim, ie_tensor **out) {
    return softmax("log_softmax", x, dim, true, out);
}
