/* core/ops - ie_window: crop and edge-pad a volume (ops.h).
 *
 * The copy is plain data movement (clamped indices), cheap next to the
 * convolutions around it, so it runs here rather than as a backend kernel.
 * It takes no gradient, as InnerEye's Basic model copies its residual path
 * with torch.tensor(); while tracing it is still recorded, so an exported
 * graph contains it. */
#include "core/autograd/trace.h"
#include "core/ops/op_util.h"

static ie_status window_backward(ie_node *node, ie_tensor *g) {
    (void)g;
    return ie_error_set(IE_ERR_INTERNAL, "%s: a traced graph cannot be differentiated", node->op);
}

static int64_t clamp(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

ie_status ie_window(ie_tensor *x, const int64_t offset[3], const int64_t size[3], ie_tensor **out) {
    const char *op = "window";
    char d[96];
    IE_TRY(ie_check_out(op, out));
    IE_TRY(ie_check_f32(op, "input", x, -1));
    if (x->ndim != 5 || x->device != IE_CPU || x->numel == 0)
        return ie_error_set(IE_ERR_SHAPE, "%s: input must be a non-empty float CPU tensor [N, C, D, H, W], got %s",
                            op, IE_DESCRIBE(x, d));
    if (!offset || !size || size[0] < 1 || size[1] < 1 || size[2] < 1)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: the window size must be at least 1 along every axis", op);
    const int64_t *in = x->shape;
    int64_t shape[5] = {in[0], in[1], size[0], size[1], size[2]};
    IE_TRY(ie_tensor_empty(IE_F32, 5, shape, x->device, out));
    const float *src = ie_tensor_data_f32(x);
    float *dst = ie_tensor_data_f32(*out);
    for (int64_t nc = 0; nc < in[0] * in[1]; nc++) {
        const float *s = src + nc * in[2] * in[3] * in[4];
        for (int64_t i = 0; i < size[0]; i++) {
            int64_t si = clamp(i + offset[0], in[2]);
            for (int64_t j = 0; j < size[1]; j++) {
                const float *row = s + (si * in[3] + clamp(j + offset[1], in[3])) * in[4];
                for (int64_t k = 0; k < size[2]; k++) *dst++ = row[clamp(k + offset[2], in[4])];
            }
        }
    }
    if (ie_trace_active()) {
        ie_node *node = NULL;
        const int64_t desc[3] = {offset[0], offset[1], offset[2]};
        ie_status st = ie_autograd_record(*out, op, window_backward, &x, 1, &node);
        if (st == IE_OK) st = ie_trace_describe(node, op, desc, 3, NULL, 0, NULL, 0);
        if (st != IE_OK) {
            ie_tensor_release(*out);
            *out = NULL;
            return st;
        }
    }
    return IE_OK;
}
