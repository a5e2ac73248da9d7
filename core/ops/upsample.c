/* core/ops - resizing to an explicit spatial size: nearest and (bi/tri)linear
 * interpolation as torch.nn.functional.interpolate.  4D inputs run as 5D with
 * a depth of 1 that is left unchanged. */
#include "core/backend/pool_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

static ie_status check_upsample(const char *op, const ie_tensor *x, const int64_t *size,
                                ie_upsample_mode mode, bool align_corners) {
    char d[96];
    IE_TRY(ie_check_f32(op, "input", x, -1));
    if (x->ndim != 4 && x->ndim != 5)
        return ie_error_set(IE_ERR_SHAPE, "%s: input must be [N, C, H, W] or [N, C, D, H, W], got %s", op,
                            IE_DESCRIBE(x, d));
    if (x->numel == 0)
        return ie_error_set(IE_ERR_SHAPE, "%s: input %s has no elements", op, IE_DESCRIBE(x, d));
    if (!size) return ie_error_set(IE_ERR_INVALID_ARG, "%s: size is NULL", op);
    for (int i = 0; i < x->ndim - 2; i++)
        if (size[i] < 1)
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "%s: output size %lld along spatial dimension %d of input %s must be >= 1",
                                op, (long long)size[i], i, IE_DESCRIBE(x, d));
    if (mode != IE_UPSAMPLE_NEAREST && mode != IE_UPSAMPLE_LINEAR)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: unknown mode %d (nearest or linear)", op, (int)mode);
    if (mode == IE_UPSAMPLE_NEAREST && align_corners)
        return ie_error_set(IE_ERR_INVALID_ARG,
                            "%s: align_corners applies to linear mode only (as in PyTorch); pass false "
                            "with nearest",
                            op);
    return IE_OK;
}

static ie_pool_geom upsample_geometry(const ie_tensor *x, const int64_t *size) {
    ie_pool_geom g = {.planes = x->shape[0] * x->shape[1]};
    int off = 5 - x->ndim;
    for (int a = 0; a < 3; a++) {
        g.in[a] = a < off ? 1 : x->shape[2 + a - off];
        g.out[a] = a < off ? 1 : size[a - off];
    }
    return g;
}

static ie_status upsample_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *x = node->inputs[0], *dx = NULL;
    ie_pool_geom geom = {.planes = node->ints[0]};
    for (int a = 0; a < 3; a++) {
        geom.in[a] = node->ints[1 + a];
        geom.out[a] = node->ints[4 + a];
    }
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_POOL_UPSAMPLE_BACKWARD, &ctx));
    IE_TRY(ie_tensor_empty(IE_F32, x->ndim, x->shape, x->device, &dx));
    ie_status st = ctx->backend->pool->upsample_backward(ctx, g, &geom, (ie_upsample_mode)node->ints[7],
                                                         node->ints[8] != 0, dx);
    if (st == IE_OK) st = ie_autograd_accumulate(x, dx);
    ie_tensor_release(dx);
    return st;
}

ie_status ie_upsample(ie_tensor *x, const int64_t *size, ie_upsample_mode mode, bool align_corners,
                      ie_tensor **out) {
    const char *op = "upsample";
    IE_TRY(ie_check_out(op, out));
    IE_TRY(check_upsample(op, x, size, mode, align_corners));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(op, x, IE_KERNEL_POOL_UPSAMPLE_FORWARD, &ctx));
    ie_pool_geom g = upsample_geometry(x, size);
    int64_t shape[5] = {x->shape[0], x->shape[1]};
    for (int i = 0; i < x->ndim - 2; i++) shape[2 + i] = size[i];
    ie_tensor *y = NULL;
    IE_TRY(ie_tensor_empty_f32(x->ndim, shape, x->device, &y));
    ie_status st = ctx->backend->pool->upsample_forward(ctx, x, &g, mode, align_corners, y);
    if (st == IE_OK && ie_autograd_needed(&x, 1)) {
        ie_node *node;
        st = ie_autograd_record(y, op, upsample_backward, &x, 1, &node);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        if (st == IE_OK) {
            node->ints[0] = g.planes;
            for (int a = 0; a < 3; a++) {
                node->ints[1 + a] = g.in[a];
                node->ints[4 + a] = g.out[a];
            }
            node->ints[7] = mode;
            node->ints[8] = align_corners;
            const int64_t d[2] = {mode, align_corners}; /* the sizes are the output's */
            st = ie_trace_describe(node, op, d, 2, NULL, 0, NULL, 0);
        }
    }
    if (st != IE_OK) {
        ie_tensor_release(y);
        return st;
    }
    *out = y;
    return IE_OK;
}
