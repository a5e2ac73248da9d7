/* core/ops - matrix products: ie_matmul (2-D and batched).
 *
 * a [..., m, k] times b [..., k, n] gives [..., m, n].  The leading ("batch")
 * dimensions of a and b must be equal, or b must be a plain [k, n] matrix
 * shared by every batch item (a projection weight); then a's leading
 * dimensions are folded into m, so the shared-weight case is one product
 * and its weight gradient one fixed-order sum over every row.  No implicit
 * broadcasting beyond that: a shape mismatch is an error naming both shapes.
 * Both gradients are the same kernel with an operand read transposed:
 *   ga = g * b^T,  gb = a^T * g. */
#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

static ie_status matmul_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *a = node->inputs[0], *b = node->inputs[1];
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_REDUCE_MATMUL, &ctx));
    ie_matmul_shape sh = {node->ints[0], node->ints[1], node->ints[2], node->ints[3], false, false};
    ie_tensor *ga = NULL, *gb = NULL;
    ie_status st = IE_OK;
    if (ie_autograd_wants(a)) {
        /* ga[m, k] = g[m, n] * b[k, n]^T */
        ie_matmul_shape s = {sh.batch, sh.m, sh.n, sh.k, false, true};
        st = ie_tensor_empty_like(a, &ga);
        if (st == IE_OK) st = ctx->backend->reduce->matmul(ctx, g, b, s, ga);
        if (st == IE_OK) st = ie_autograd_accumulate(a, ga);
    }
    if (st == IE_OK && ie_autograd_wants(b)) {
        /* gb[k, n] = a[m, k]^T * g[m, n] */
        ie_matmul_shape s = {sh.batch, sh.k, sh.m, sh.n, true, false};
        st = ie_tensor_empty_like(b, &gb);
        if (st == IE_OK) st = ctx->backend->reduce->matmul(ctx, a, g, s, gb);
        if (st == IE_OK) st = ie_autograd_accumulate(b, gb);
    }
    ie_tensor_release(ga);
    ie_tensor_release(gb);
    return st;
}

/* The product's shape as batch x [m, k] x [k, n], or an error naming both operands. */
static ie_status matmul_shape(const ie_tensor *a, const ie_tensor *b, ie_matmul_shape *sh) {
    char da[96], db[96];
    IE_TRY(ie_check_f32("matmul", "a", a, -1));
    IE_TRY(ie_check_f32("matmul", "b", b, -1));
    IE_TRY(ie_check_same_device("matmul", a, b));
    if (a->ndim < 2 || b->ndim < 2)
        return ie_error_set(IE_ERR_SHAPE, "matmul: both operands need at least 2 dimensions, got a %s and b %s",
                            IE_DESCRIBE(a, da), IE_DESCRIBE(b, db));
    int64_t k = a->shape[a->ndim - 1];
    if (b->shape[b->ndim - 2] != k)
        return ie_error_set(IE_ERR_SHAPE, "matmul: a %s has %lld columns but b %s has %lld rows",
                            IE_DESCRIBE(a, da), (long long)k, IE_DESCRIBE(b, db), (long long)b->shape[b->ndim - 2]);
    int64_t lead = 1;
    for (int i = 0; i < a->ndim - 2; i++) lead *= a->shape[i];
    *sh = (ie_matmul_shape){1, lead * a->shape[a->ndim - 2], k, b->shape[b->ndim - 1], false, false};
    if (b->ndim == 2) return IE_OK; /* shared [k, n]: a's batch folded into m */
    bool same = a->ndim == b->ndim;
    for (int i = 0; same && i < a->ndim - 2; i++) same = a->shape[i] == b->shape[i];
    if (!same)
        return ie_error_set(IE_ERR_SHAPE,
                            "matmul: batch dimensions of a %s and b %s differ; they must be equal, or b must be 2-D",
                            IE_DESCRIBE(a, da), IE_DESCRIBE(b, db));
    sh->batch = lead;
    sh->m = a->shape[a->ndim - 2];
    return IE_OK;
}

ie_status ie_matmul(ie_tensor *a, ie_tensor *b, ie_tensor **out) {
    IE_TRY(ie_check_out("matmul", out));
    ie_matmul_shape sh;
    IE_TRY(matmul_shape(a, b, &sh));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx("matmul", a, IE_KERNEL_REDUCE_MATMUL, &ctx));
    int64_t shape[IE_MAX_DIMS];
    for (int i = 0; i < a->ndim - 1; i++) shape[i] = a->shape[i];
    shape[a->ndim - 1] = sh.n;
    IE_TRY(ie_tensor_empty(IE_F32, a->ndim, shape, a->device, out));
    ie_status st = ctx->backend->reduce->matmul(ctx, a, b, sh, *out);
    ie_tensor *inputs[2] = {a, b};
    if (st == IE_OK && ie_autograd_needed(inputs, 2)) {
        ie_node *node;
        /* The inputs stay referenced by the node: each gradient needs the other operand. */
        st = ie_autograd_record(*out, "matmul", matmul_backward, inputs, 2, &node);
        if (st == IE_OK) st = ie_trace_describe(node, "matmul", NULL, 0, NULL, 0, NULL, 0);
        if (st == IE_OK) {
            node->ints[0] = sh.batch;
            node->ints[1] = sh.m;
            node->ints[2] = sh.k;
            node->ints[3] = sh.n;
        }
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}
