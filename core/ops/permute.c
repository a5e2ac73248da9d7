/* core/ops - permute and transpose.
 *
 * Copies, not views: every tensor in this engine is contiguous, and every
 * kernel relies on that, so a permuted tensor is materialised once here
 * (one exact copy) rather than teaching each kernel about strides.  reshape
 * (core/ops/shape.c) needs no copy and shares storage.  Backward is the
 * inverse permutation of the gradient. */
#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

static ie_status permute_run(ie_device_ctx *ctx, ie_tensor *x, const int *perm, ie_tensor **out) {
    int64_t shape[IE_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[perm[d]];
    IE_TRY(ie_tensor_empty(IE_F32, x->ndim, shape, x->device, out));
    ie_status st = ctx->backend->reduce->permute(ctx, x, perm, *out);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

static ie_status permute_backward(ie_node *node, ie_tensor *g) {
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_REDUCE_PERMUTE, &ctx));
    int inverse[IE_MAX_DIMS];
    for (int d = 0; d < g->ndim; d++) inverse[node->ints[d]] = d;
    ie_tensor *gx = NULL;
    IE_TRY(permute_run(ctx, g, inverse, &gx));
    ie_status st = ie_autograd_accumulate(node->inputs[0], gx);
    ie_tensor_release(gx);
    return st;
}

static ie_status permute(const char *name, ie_tensor *x, const int *perm, ie_tensor **out) {
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(name, x, IE_KERNEL_REDUCE_PERMUTE, &ctx));
    IE_TRY(permute_run(ctx, x, perm, out));
    ie_status st = IE_OK;
    if (ie_autograd_needed(&x, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, name, permute_backward, &x, 1, &node);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        int64_t desc[IE_MAX_DIMS];
        for (int d = 0; d < x->ndim; d++) desc[d] = perm[d];
        if (st == IE_OK) st = ie_trace_describe(node, "permute", desc, x->ndim, NULL, 0, NULL, 0);
        for (int d = 0; st == IE_OK && d < x->ndim; d++) node->ints[d] = perm[d];
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

ie_status ie_permute(ie_tensor *x, const int *perm, ie_tensor **out) {
    char d[96];
    IE_TRY(ie_check_out("permute", out));
    IE_TRY(ie_check_f32("permute", "input", x, -1));
    if (!perm) return ie_error_set(IE_ERR_INVALID_ARG, "permute: perm is NULL");
    if (x->ndim == 0) return ie_error_set(IE_ERR_SHAPE, "permute: input %s has no dimensions", IE_DESCRIBE(x, d));
    bool seen[IE_MAX_DIMS] = {false};
    int p[IE_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) {
        p[i] = perm[i] < 0 ? perm[i] + x->ndim : perm[i];
        if (p[i] < 0 || p[i] >= x->ndim || seen[p[i]])
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "permute: perm[%d] = %d is %s; perm must list each of the %d dimensions of input %s once",
                                i, perm[i], p[i] < 0 || p[i] >= x->ndim ? "out of range" : "repeated", x->ndim,
                                IE_DESCRIBE(x, d));
        seen[p[i]] = true;
    }
    return permute("permute", x, p, out);
}

ie_status ie_transpose(ie_tensor *x, int dim0, int dim1, ie_tensor **out) {
    char d[96];
    IE_TRY(ie_check_out("transpose", out));
    IE_TRY(ie_check_f32("transpose", "input", x, -1));
    int n = x->ndim;
    if (n == 0 || dim0 < -n || dim0 >= n || dim1 < -n || dim1 >= n)
        return ie_error_set(IE_ERR_INVALID_ARG, "transpose: dims %d and %d must both be in %d to %d for input %s",
                            dim0, dim1, -n, n - 1, IE_DESCRIBE(x, d));
    int p[IE_MAX_DIMS];
    for (int i = 0; i < n; i++) p[i] = i;
    dim0 = dim0 < 0 ? dim0 + n : dim0;
    dim1 = dim1 < 0 ? dim1 + n : dim1;
    p[dim0] = dim1;
    p[dim1] = dim0;
    return permute("transpose", x, p, out);
}
