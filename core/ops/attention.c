/* core/ops - fused scaled-dot-product attention.
 *
 * out = softmax(q k^T / sqrt(d) [+ causal mask]) v over the last two
 * dimensions, as torch.nn.functional.scaled_dot_product_attention (no
 * dropout, no additive mask).  The kernels never form the nq x nk score
 * matrix: forward keeps one row's running softmax, backward recomputes the
 * probabilities from the saved per-row log-sum-exp (FlashAttention's scheme),
 * so memory grows with the sequence, not its square. */
#include <math.h>

#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

static ie_attention_shape shape_from(const ie_node *node) {
    ie_attention_shape sh = {node->ints[0], node->ints[1], node->ints[2], node->ints[3], (float)node->scalars[0],
                             node->ints[4] != 0};
    return sh;
}

static ie_status attention_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *q = node->inputs[0], *k = node->inputs[1], *v = node->inputs[2];
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_REDUCE_ATTENTION_BACKWARD, &ctx));
    ie_tensor *gq = NULL, *gk = NULL, *gv = NULL;
    ie_status st = ie_tensor_empty_like(q, &gq);
    if (st == IE_OK) st = ie_tensor_empty_like(k, &gk);
    if (st == IE_OK) st = ie_tensor_empty_like(v, &gv);
    if (st == IE_OK)
        st = ctx->backend->reduce->attention_backward(ctx, q, k, v, node->saved[0], node->saved[1], g,
                                                      shape_from(node), gq, gk, gv);
    if (st == IE_OK && ie_autograd_wants(q)) st = ie_autograd_accumulate(q, gq);
    if (st == IE_OK && ie_autograd_wants(k)) st = ie_autograd_accumulate(k, gk);
    if (st == IE_OK && ie_autograd_wants(v)) st = ie_autograd_accumulate(v, gv);
    ie_tensor_release(gq);
    ie_tensor_release(gk);
    ie_tensor_release(gv);
    return st;
}

static ie_status attention_check(const ie_tensor *q, const ie_tensor *k, const ie_tensor *v, ie_attention_shape *sh) {
    char dq[96], dk[96], dv[96];
    IE_TRY(ie_check_f32("attention", "q", q, -1));
    IE_TRY(ie_check_f32("attention", "k", k, -1));
    IE_TRY(ie_check_f32("attention", "v", v, -1));
    IE_TRY(ie_check_same_device("attention", q, k));
    IE_TRY(ie_check_same_device("attention", q, v));
    bool ok = q->ndim >= 2 && k->ndim == q->ndim && v->ndim == q->ndim;
    for (int i = 0; ok && i < q->ndim - 2; i++) ok = k->shape[i] == q->shape[i] && v->shape[i] == q->shape[i];
    int n = q->ndim;
    if (ok) ok = k->shape[n - 1] == q->shape[n - 1] && v->shape[n - 1] == q->shape[n - 1] &&
                 v->shape[n - 2] == k->shape[n - 2];
    if (!ok || q->numel == 0 || k->numel == 0)
        return ie_error_set(IE_ERR_SHAPE,
                            "attention: q %s, k %s and v %s must be [..., Lq, d], [..., Lk, d] and [..., Lk, d] "
                            "with the same leading dimensions and no empty one",
                            IE_DESCRIBE(q, dq), IE_DESCRIBE(k, dk), IE_DESCRIBE(v, dv));
    int64_t d = q->shape[n - 1];
    *sh = (ie_attention_shape){q->numel / (q->shape[n - 2] * d), q->shape[n - 2], k->shape[n - 2], d,
                               (float)(1.0 / sqrt((double)d)), false};
    return IE_OK;
}

ie_status ie_attention(ie_tensor *q, ie_tensor *k, ie_tensor *v, bool causal, ie_tensor **out) {
    IE_TRY(ie_check_out("attention", out));
    ie_attention_shape sh;
    IE_TRY(attention_check(q, k, v, &sh));
    sh.causal = causal;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx("attention", q, IE_KERNEL_REDUCE_ATTENTION_FORWARD, &ctx));
    ie_tensor *lse = NULL;
    int64_t rows = sh.batch * sh.nq;
    IE_TRY(ie_tensor_empty_f32(1, &rows, q->device, &lse));
    ie_status st = ie_tensor_empty_like(q, out);
    if (st == IE_OK) st = ctx->backend->reduce->attention_forward(ctx, q, k, v, sh, *out, lse);
    ie_tensor *inputs[3] = {q, k, v};
    if (st == IE_OK && ie_autograd_needed(inputs, 3)) {
        ie_node *node;
        /* q, k and v stay referenced by the node: backward recomputes the scores. */
        st = ie_autograd_record(*out, "attention", attention_backward, inputs, 3, &node);
        if (st == IE_OK) st = ie_node_save(node, 0, *out);
        if (st == IE_OK) st = ie_node_save(node, 1, lse);
        const int64_t is_causal = causal;
        const double scale = sh.scale;
        if (st == IE_OK) st = ie_trace_describe(node, "attention", &is_causal, 1, &scale, 1, NULL, 0);
        if (st == IE_OK) {
            node->ints[0] = sh.batch, node->ints[1] = sh.nq, node->ints[2] = sh.nk, node->ints[3] = sh.d;
            node->ints[4] = causal;
            node->scalars[0] = sh.scale;
        }
    }
    ie_tensor_release(lse);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}
