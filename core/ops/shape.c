/* core/ops - shape ops: concat (UNet skip connections), reshape and flatten. */
#include <stdio.h>
#include <string.h>

#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

/* ---------------- concat ----------------
 * Every tensor is viewed as [outer, shape[dim] * inner]: input k fills the
 * columns of the output's rows starting at the sum of the earlier inputs'
 * widths, so forward and backward are the same strided row copy. */

static int64_t row_elems(const ie_tensor *t, int dim) {
    int64_t n = 1;
    for (int i = dim; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

static int64_t outer_elems(const ie_tensor *t, int dim) {
    int64_t n = 1;
    for (int i = 0; i < dim; i++) n *= t->shape[i];
    return n;
}

static ie_status concat_backward(ie_node *node, ie_tensor *g) {
    int dim = (int)node->ints[0];
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_REDUCE_COPY_ROWS, &ctx));
    int64_t outer = outer_elems(g, dim), out_row = row_elems(g, dim) * (int64_t)sizeof(float), offset = 0;
    ie_status st = IE_OK;
    for (int k = 0; k < node->n_inputs && st == IE_OK; k++) {
        ie_tensor *x = node->inputs[k], *gx = NULL;
        int64_t row = row_elems(x, dim) * (int64_t)sizeof(float);
        if (ie_autograd_wants(x)) {
            st = ie_tensor_empty_like(x, &gx);
            if (st == IE_OK) st = ctx->backend->reduce->copy_rows(ctx, g, offset, out_row, gx, 0, row, outer, row);
            if (st == IE_OK) st = ie_autograd_accumulate(x, gx);
            ie_tensor_release(gx);
        }
        offset += row;
    }
    return st;
}

static ie_status concat_check(ie_tensor *const *xs, int count, int *dim) {
    char d0[96], dk[96];
    if (!xs || count < 1)
        return ie_error_set(IE_ERR_INVALID_ARG, "concat: needs at least one input tensor (got %d%s)", count,
                            xs ? "" : ", list NULL");
    for (int k = 0; k < count; k++)
        if (!xs[k]) return ie_error_set(IE_ERR_INVALID_ARG, "concat: input %d is NULL", k);
    const ie_tensor *a = xs[0];
    if (a->ndim == 0 || *dim < -a->ndim || *dim >= a->ndim)
        return ie_error_set(IE_ERR_INVALID_ARG, "concat: dim %d is out of range for input 0 %s (valid: %d to %d)",
                            *dim, IE_DESCRIBE(a, d0), -a->ndim, a->ndim - 1);
    if (*dim < 0) *dim += a->ndim;
    for (int k = 1; k < count; k++) {
        const ie_tensor *b = xs[k];
        IE_TRY(ie_check_same_device("concat", a, b));
        if (b->dtype != a->dtype)
            return ie_error_set(IE_ERR_DTYPE, "concat: input %d is %s but input 0 is %s; all inputs need one "
                                              "element type",
                                k, IE_DESCRIBE(b, dk), IE_DESCRIBE(a, d0));
        bool fits = b->ndim == a->ndim;
        for (int i = 0; fits && i < a->ndim; i++) fits = i == *dim || a->shape[i] == b->shape[i];
        if (!fits)
            return ie_error_set(IE_ERR_SHAPE, "concat: input %d is %s, input 0 is %s; all dimensions except %d "
                                              "must match",
                                k, IE_DESCRIBE(b, dk), IE_DESCRIBE(a, d0), *dim);
    }
    return IE_OK;
}

ie_status ie_concat(ie_tensor *const *xs, int count, int dim, ie_tensor **out) {
    IE_TRY(ie_check_out("concat", out));
    IE_TRY(concat_check(xs, count, &dim));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx("concat", xs[0], IE_KERNEL_REDUCE_COPY_ROWS, &ctx));
    int64_t shape[IE_MAX_DIMS];
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[dim] = 0;
    for (int k = 0; k < count; k++) shape[dim] += xs[k]->shape[dim];
    IE_TRY(ie_tensor_empty(xs[0]->dtype, xs[0]->ndim, shape, xs[0]->device, out));
    size_t esize = ie_dtype_size(xs[0]->dtype);
    int64_t outer = outer_elems(*out, dim), out_row = row_elems(*out, dim) * (int64_t)esize, offset = 0;
    ie_status st = IE_OK;
    for (int k = 0; k < count && st == IE_OK; k++) {
        int64_t row = row_elems(xs[k], dim) * (int64_t)esize;
        st = ctx->backend->reduce->copy_rows(ctx, xs[k], 0, row, *out, offset, out_row, outer, row);
        offset += row;
    }
    if (st == IE_OK && ie_autograd_needed(xs, count)) {
        ie_node *node;
        st = ie_autograd_record(*out, "concat", concat_backward, xs, count, &node);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        const int64_t d = dim;
        if (st == IE_OK) st = ie_trace_describe(node, "concat", &d, 1, NULL, 0, NULL, 0);
        if (st == IE_OK) node->ints[0] = dim;
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

/* ---------------- reshape and flatten ----------------
 * The output is a second header on x's storage.  Backward hands the gradient
 * straight to x: ie_autograd_accumulate gives it x's shape. */

static ie_status reshape_backward(ie_node *node, ie_tensor *g) {
    return ie_autograd_accumulate(node->inputs[0], g);
}

static ie_status view_as(const char *name, ie_tensor *x, int ndim, const int64_t *shape, ie_tensor **out) {
    IE_TRY(ie_tensor_detach(x, out));
    (*out)->ndim = ndim;
    memset((*out)->shape, 0, sizeof (*out)->shape);
    for (int i = 0; i < ndim; i++) (*out)->shape[i] = shape[i];
    if (ie_autograd_needed(&x, 1)) {
        ie_node *node = NULL; /* a trace reads the new shape from the output */
        ie_status st = ie_autograd_record(*out, name, reshape_backward, &x, 1, &node);
        if (st == IE_OK) st = ie_trace_describe(node, "reshape", NULL, 0, NULL, 0, NULL, 0);
        if (st != IE_OK) {
            ie_tensor_release(*out);
            *out = NULL;
            return st;
        }
    }
    return IE_OK;
}

static void describe_shape(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
}

ie_status ie_reshape(ie_tensor *x, int ndim, const int64_t *shape, ie_tensor **out) {
    char dx[96], ds[128];
    IE_TRY(ie_check_out("reshape", out));
    if (!x) return ie_error_set(IE_ERR_INVALID_ARG, "reshape: input is NULL");
    if (ndim < 0 || ndim > IE_MAX_DIMS || (ndim > 0 && !shape))
        return ie_error_set(IE_ERR_INVALID_ARG, "reshape: target has %d dimensions%s; 0 to %d are supported",
                            ndim, ndim > 0 && !shape ? " but its shape is NULL" : "", IE_MAX_DIMS);
    describe_shape(ndim, shape, ds, sizeof ds);
    int64_t resolved[IE_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        resolved[i] = shape[i];
        if (shape[i] == -1 && infer < 0) {
            infer = i;
        } else if (shape[i] < 0) {
            return ie_error_set(IE_ERR_SHAPE, "reshape: target shape %s for input %s may hold one -1 and "
                                              "otherwise sizes >= 0",
                                ds, IE_DESCRIBE(x, dx));
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known != 0)
            return ie_error_set(IE_ERR_SHAPE, "reshape: cannot view input %s (%lld elements) as %s",
                                IE_DESCRIBE(x, dx), (long long)x->numel, ds);
        resolved[infer] = x->numel / known;
        known = x->numel;
    }
    if (known != x->numel)
        return ie_error_set(IE_ERR_SHAPE, "reshape: cannot view input %s (%lld elements) as %s (%lld elements)",
                            IE_DESCRIBE(x, dx), (long long)x->numel, ds, (long long)known);
    return view_as("reshape", x, ndim, resolved, out);
}

ie_status ie_flatten(ie_tensor *x, ie_tensor **out) {
    char dx[96];
    IE_TRY(ie_check_out("flatten", out));
    if (!x) return ie_error_set(IE_ERR_INVALID_ARG, "flatten: input is NULL");
    if (x->ndim < 1)
        return ie_error_set(IE_ERR_SHAPE, "flatten: input %s has no batch dimension to keep", IE_DESCRIBE(x, dx));
    int64_t shape[2] = {x->shape[0], 1};
    for (int i = 1; i < x->ndim; i++) shape[1] *= x->shape[i];
    return view_as("flatten", x, 2, shape, out);
}
