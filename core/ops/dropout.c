/* core/ops - inverted dropout with a counter-based mask.
 *
 * The mask is a pure function of (rng key, element index), so backward
 * recomputes it instead of storing it, and it is the same on any thread count. */
#include <math.h>

#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"

static ie_status dropout_backward(ie_node *node, ie_tensor *g) {
    ie_rng rng = {(uint64_t)node->ints[0], (uint32_t)node->ints[1], (uint32_t)node->ints[2],
                  (uint32_t)node->ints[3], 0};
    ie_tensor *gx = NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_REDUCE_DROPOUT, &ctx));
    IE_TRY(ie_tensor_empty_like(g, &gx));
    ie_status st = ctx->backend->reduce->dropout(ctx, g, (float)node->scalars[0], (float)node->scalars[1], &rng, gx);
    if (st == IE_OK) st = ie_autograd_accumulate(node->inputs[0], gx);
    ie_tensor_release(gx);
    return st;
}

ie_status ie_dropout(ie_tensor *x, float p, bool training, const ie_rng *rng, ie_tensor **out) {
    IE_TRY(ie_check_out("dropout", out));
    IE_TRY(ie_check_f32("dropout", "input", x, -1));
    if (!(p >= 0.0f && p < 1.0f))
        return ie_error_set(IE_ERR_INVALID_ARG, "dropout: p = %g must be in [0, 1)", (double)p);
    if (!training || p == 0.0f) {
        *out = ie_tensor_retain(x);
        return IE_OK;
    }
    if (!rng)
        return ie_error_set(IE_ERR_INVALID_ARG, "dropout: rng is NULL in training mode; pass the generator "
                                                "of the dropout stream (IE_STREAM_DROPOUT)");
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx("dropout", x, IE_KERNEL_REDUCE_DROPOUT, &ctx));
    float scale = 1.0f / (1.0f - p);
    IE_TRY(ie_tensor_empty_like(x, out));
    ie_status st = ctx->backend->reduce->dropout(ctx, x, p, scale, rng, *out);
    if (st == IE_OK && ie_autograd_needed(&x, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, "dropout", dropout_backward, &x, 1, &node);
        if (st == IE_OK) {
            node->ints[0] = (int64_t)rng->seed;
            node->ints[1] = rng->stream;
            node->ints[2] = rng->epoch;
            node->ints[3] = rng->item;
            node->scalars[0] = p;
            node->scalars[1] = scale;
        }
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}
