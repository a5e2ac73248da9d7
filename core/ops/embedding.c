/* core/ops - embedding lookup (token embeddings, learned positional tables).
 *
 * out[..., :] = table[idx[...], :]: a gather forward; backward scatters the
 * gradient rows back into a [rows, dim] table gradient, summing repeated
 * indices in ascending position order (the kernel's fixed order), so the
 * result is the same on every run and thread count.  Indices are int64 on
 * the table's device, checked against the table on the host when that is
 * the CPU (like loss labels). */
#include "core/backend/reduce_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

static ie_status embedding_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *table = node->inputs[0];
    if (!ie_autograd_wants(table)) return IE_OK;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_REDUCE_EMBEDDING_BACKWARD, &ctx));
    ie_tensor *gt = NULL;
    IE_TRY(ie_tensor_empty_like(table, &gt));
    ie_status st = ctx->backend->reduce->embedding_backward(ctx, node->saved[0], g, gt);
    if (st == IE_OK) st = ie_autograd_accumulate(table, gt);
    ie_tensor_release(gt);
    return st;
}

static ie_status embedding_check(const ie_tensor *table, const ie_tensor *idx) {
    char dt[96], di[96];
    IE_TRY(ie_check_f32("embedding", "table", table, 2));
    if (!idx) return ie_error_set(IE_ERR_INVALID_ARG, "embedding: indices is NULL");
    if (idx->dtype != IE_I64)
        return ie_error_set(IE_ERR_INVALID_ARG, "embedding: indices %s must be int64", IE_DESCRIBE(idx, di));
    if (idx->ndim + 1 > IE_MAX_DIMS)
        return ie_error_set(IE_ERR_SHAPE, "embedding: indices %s leave no room for the embedding dimension",
                            IE_DESCRIBE(idx, di));
    IE_TRY(ie_check_same_device("embedding", table, idx));
    /* Indices on another device cannot be read here without a sync; a device
     * backend's embedding kernels must bound-check them themselves. */
    if (idx->device != IE_CPU) return IE_OK;
    int64_t bad, value;
    IE_TRY(ie_labels_find_bad(idx, table->shape[0], &bad, &value));
    if (bad >= 0)
        return ie_error_set(IE_ERR_INVALID_ARG, "embedding: index %lld at position %lld is outside table %s (0 to %lld)",
                            (long long)value, (long long)bad, IE_DESCRIBE(table, dt), (long long)table->shape[0] - 1);
    return IE_OK;
}

ie_status ie_embedding(ie_tensor *table, ie_tensor *idx, ie_tensor **out) {
    IE_TRY(ie_check_out("embedding", out));
    IE_TRY(embedding_check(table, idx));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx("embedding", table, IE_KERNEL_REDUCE_EMBEDDING, &ctx));
    int64_t shape[IE_MAX_DIMS];
    for (int d = 0; d < idx->ndim; d++) shape[d] = idx->shape[d];
    shape[idx->ndim] = table->shape[1];
    IE_TRY(ie_tensor_empty(IE_F32, idx->ndim + 1, shape, table->device, out));
    ie_status st = ctx->backend->reduce->embedding(ctx, table, idx, *out);
    if (st == IE_OK && ie_autograd_needed(&table, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, "embedding", embedding_backward, &table, 1, &node);
        if (st == IE_OK) st = ie_node_save(node, 0, idx);
        /* exporters need the indices themselves (Gather's second input) */
        if (st == IE_OK) st = ie_trace_describe(node, "embedding", NULL, 0, NULL, 0, &idx, 1);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
    }
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}
