/* core/ops - training losses (see innereye/loss.h for the exact formulas).
 *
 * Gradients flow to the logits / predictions (and to regression targets);
 * integer labels, class weights and pos_weight are treated as constants. */
#include <math.h>

#include "core/backend/loss_kernels.h"
#include "core/ops/op_util.h"
#include "innereye/loss.h"

static ie_status fail_release(ie_tensor **out, ie_status st) {
    ie_tensor_release(*out);
    *out = NULL;
    return st;
}

/* ---------------- shared checks for losses over class labels ---------------- */

typedef struct class_view {
    int64_t batch, classes, spatial;
} class_view;

static ie_status check_class_weights(const char *op, const ie_tensor *logits, const ie_tensor *w, int64_t classes) {
    char dw[96], dl[96];
    if (!w) return IE_OK;
    IE_TRY(ie_check_f32(op, "class_weights", w, -1));
    IE_TRY(ie_check_same_device(op, logits, w));
    if (w->ndim != 1 || w->shape[0] != classes)
        return ie_error_set(IE_ERR_SHAPE, "%s: class_weights must be [%lld] (one per class of logits %s), got %s",
                            op, (long long)classes, IE_DESCRIBE(logits, dl), IE_DESCRIBE(w, dw));
    return IE_OK;
}

/* logits [N, C, ...spatial], labels [N, ...spatial] with values in [0, C). */
static ie_status check_class_inputs(const char *op, const ie_tensor *logits, const ie_tensor *labels,
                                    const ie_tensor *weights, ie_kernel_op kernel, class_view *v,
                                    ie_device_ctx **ctx) {
    char dl[96], dy[96];
    IE_TRY(ie_check_f32(op, "logits", logits, -1));
    IE_TRY(ie_check_labels(op, "labels", labels));
    IE_TRY(ie_check_same_device(op, logits, labels));
    if (logits->ndim < 2)
        return ie_error_set(IE_ERR_SHAPE, "%s: logits must be [N, C, ...], got %s", op, IE_DESCRIBE(logits, dl));
    bool fits = labels->ndim == logits->ndim - 1 && labels->shape[0] == logits->shape[0];
    for (int i = 1; fits && i < labels->ndim; i++) fits = labels->shape[i] == logits->shape[i + 1];
    if (!fits)
        return ie_error_set(IE_ERR_SHAPE, "%s: labels %s do not fit logits %s; labels must be the logits' shape "
                                          "without the class dimension 1",
                            op, IE_DESCRIBE(labels, dy), IE_DESCRIBE(logits, dl));
    if (logits->numel == 0)
        return ie_error_set(IE_ERR_SHAPE, "%s: logits %s have no elements", op, IE_DESCRIBE(logits, dl));
    v->batch = logits->shape[0];
    v->classes = logits->shape[1];
    v->spatial = labels->numel / v->batch;
    IE_TRY(check_class_weights(op, logits, weights, v->classes));
    IE_TRY(ie_kernel_ctx(op, logits, kernel, ctx));
    /* Labels on a device were checked by the batch upload before they left
     * the CPU (ie_data_batch_to): reading them back here would stall the
     * device once per step. */
    if (labels->device != IE_CPU) return IE_OK;
    int64_t index = -1, value = 0;
    IE_TRY(ie_labels_find_bad(labels, v->classes, &index, &value));
    if (index >= 0)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: label value %lld at index %lld of labels %s is outside "
                                                "[0, %lld) for logits %s",
                            op, (long long)value, (long long)index, IE_DESCRIBE(labels, dy),
                            (long long)v->classes, IE_DESCRIBE(logits, dl));
    return IE_OK;
}

/* ---------------- cross-entropy and focal ---------------- */

static ie_class_loss_args class_args_from_node(const ie_node *node) {
    return (ie_class_loss_args){(ie_class_loss_kind)node->ints[0], node->inputs[0], node->saved[0],
                                node->saved[1], node->ints[1], node->ints[2], node->ints[3],
                                (float)node->scalars[0], (float)node->scalars[1]};
}

static ie_status class_loss_backward(ie_node *node, ie_tensor *g) {
    ie_class_loss_args a = class_args_from_node(node);
    ie_tensor *gx = NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_LOSS_CLASS_BACKWARD, &ctx));
    IE_TRY(ie_tensor_empty_like(a.logits, &gx));
    ie_status st = ctx->backend->loss->class_loss_backward(ctx, &a, g, node->saved[2], gx);
    if (st == IE_OK) st = ie_autograd_accumulate(node->inputs[0], gx);
    ie_tensor_release(gx);
    return st;
}

static ie_status class_loss(const char *op, ie_class_loss_kind kind, ie_tensor *logits, ie_tensor *labels,
                            ie_tensor *weights, float smoothing, float gamma, ie_tensor **out) {
    IE_TRY(ie_check_out(op, out));
    class_view v;
    ie_device_ctx *ctx;
    IE_TRY(check_class_inputs(op, logits, labels, weights, IE_KERNEL_LOSS_CLASS, &v, &ctx));
    ie_class_loss_args a = {kind, logits, labels, weights, v.batch, v.classes, v.spatial, smoothing, gamma};
    ie_tensor *weight_sum = NULL; /* stays on the device for backward (loss_kernels.h) */
    int64_t one = 1;
    IE_TRY(ie_tensor_empty(IE_WEIGHT_SUM_DTYPE, 1, &one, logits->device, &weight_sum));
    ie_status st = ie_tensor_empty(IE_F32, 0, NULL, logits->device, out);
    if (st == IE_OK) st = ctx->backend->loss->class_loss(ctx, &a, *out, weight_sum);
    if (st == IE_OK && ie_autograd_needed(&logits, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, op, class_loss_backward, &logits, 1, &node);
        if (st == IE_OK) st = ie_node_save(node, 0, labels);
        if (st == IE_OK) st = ie_node_save(node, 1, weights);
        if (st == IE_OK) st = ie_node_save(node, 2, weight_sum);
        if (st == IE_OK) {
            node->ints[0] = kind;
            node->ints[1] = v.batch;
            node->ints[2] = v.classes;
            node->ints[3] = v.spatial;
            node->scalars[0] = smoothing;
            node->scalars[1] = gamma;
        }
    }
    ie_tensor_release(weight_sum);
    return st == IE_OK ? IE_OK : fail_release(out, st);
}

ie_status ie_cross_entropy(ie_tensor *logits, ie_tensor *labels, ie_tensor *class_weights,
                           float label_smoothing, ie_tensor **out) {
    if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f)) {
        if (out) *out = NULL;
        return ie_error_set(IE_ERR_INVALID_ARG, "cross_entropy: label_smoothing = %g must be in [0, 1]",
                            (double)label_smoothing);
    }
    return class_loss("cross_entropy", IE_CLASS_LOSS_CROSS_ENTROPY, logits, labels, class_weights,
                      label_smoothing, 0.0f, out);
}

ie_status ie_focal_loss(ie_tensor *logits, ie_tensor *labels, float gamma, ie_tensor *class_weights,
                        ie_tensor **out) {
    if (!(gamma >= 0.0f && isfinite(gamma))) {
        if (out) *out = NULL;
        return ie_error_set(IE_ERR_INVALID_ARG, "focal_loss: gamma = %g must be finite and >= 0", (double)gamma);
    }
    return class_loss("focal_loss", IE_CLASS_LOSS_FOCAL, logits, labels, class_weights, 0.0f, gamma, out);
}

/* ---------------- soft Dice ---------------- */

static ie_status dice_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *logits = node->inputs[0], *gx = NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_LOSS_DICE_BACKWARD, &ctx));
    IE_TRY(ie_tensor_empty_like(logits, &gx));
    ie_status st = ctx->backend->loss->dice_backward(ctx, logits, node->saved[0], node->saved[1], node->ints[0],
                                                     node->ints[1], node->ints[2], node->saved[2], g, gx);
    if (st == IE_OK) st = ie_autograd_accumulate(logits, gx);
    ie_tensor_release(gx);
    return st;
}

ie_status ie_soft_dice_loss(ie_tensor *logits, ie_tensor *labels, ie_tensor *class_weights, ie_tensor **out) {
    const char *op = "soft_dice_loss";
    IE_TRY(ie_check_out(op, out));
    class_view v;
    ie_device_ctx *ctx;
    IE_TRY(check_class_inputs(op, logits, labels, class_weights, IE_KERNEL_LOSS_DICE, &v, &ctx));
    ie_tensor *stats = NULL;
    int64_t stats_shape[3] = {v.batch, v.classes, 3};
    IE_TRY(ie_tensor_empty(IE_F32, 3, stats_shape, logits->device, &stats));
    ie_status st = ie_tensor_empty(IE_F32, 0, NULL, logits->device, out);
    if (st == IE_OK)
        st = ctx->backend->loss->dice(ctx, logits, labels, class_weights, v.batch, v.classes, v.spatial, stats, *out);
    if (st == IE_OK && ie_autograd_needed(&logits, 1)) {
        ie_node *node;
        st = ie_autograd_record(*out, op, dice_backward, &logits, 1, &node);
        if (st == IE_OK) st = ie_node_save(node, 0, labels);
        if (st == IE_OK) st = ie_node_save(node, 1, class_weights);
        if (st == IE_OK) st = ie_node_save(node, 2, stats);
        if (st == IE_OK) {
            node->ints[0] = v.batch;
            node->ints[1] = v.classes;
            node->ints[2] = v.spatial;
        }
    }
    ie_tensor_release(stats);
    return st == IE_OK ? IE_OK : fail_release(out, st);
}

/* ---------------- elementwise losses ---------------- */

static ie_status pair_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *a = node->inputs[0], *b = node->inputs[1], *ga = NULL, *gb = NULL;
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_LOSS_PAIR_BACKWARD, &ctx));
    ie_status st = IE_OK;
    if (ie_autograd_wants(a)) st = ie_tensor_empty_like(a, &ga);
    if (st == IE_OK && ie_autograd_wants(b)) st = ie_tensor_empty_like(b, &gb);
    if (st == IE_OK)
        st = ctx->backend->loss->pair_loss_backward(ctx, (ie_pair_loss_kind)node->ints[0], a, b, node->saved[0], g,
                                                    ga, gb);
    if (st == IE_OK && ga) st = ie_autograd_accumulate(a, ga);
    if (st == IE_OK && gb) st = ie_autograd_accumulate(b, gb);
    ie_tensor_release(ga);
    ie_tensor_release(gb);
    return st;
}

static ie_status pair_loss(const char *op, ie_pair_loss_kind kind, const char *a_name, const char *b_name,
                           ie_tensor *a, ie_tensor *b, ie_tensor *pos_weight, ie_tensor **out) {
    char da[96], db[96], dw[96];
    IE_TRY(ie_check_out(op, out));
    IE_TRY(ie_check_f32(op, a_name, a, -1));
    IE_TRY(ie_check_f32(op, b_name, b, -1));
    IE_TRY(ie_check_same_device(op, a, b));
    if (!ie_tensor_same_shape(a, b))
        return ie_error_set(IE_ERR_SHAPE, "%s: %s %s and %s %s must have the same shape", op, a_name,
                            IE_DESCRIBE(a, da), b_name, IE_DESCRIBE(b, db));
    if (a->numel == 0) return ie_error_set(IE_ERR_SHAPE, "%s: %s %s has no elements", op, a_name, IE_DESCRIBE(a, da));
    if (pos_weight) {
        IE_TRY(ie_check_f32(op, "pos_weight", pos_weight, -1));
        IE_TRY(ie_check_same_device(op, a, pos_weight));
        int64_t last = a->ndim ? a->shape[a->ndim - 1] : 1;
        if (pos_weight->ndim != 1 || pos_weight->shape[0] != last)
            return ie_error_set(IE_ERR_SHAPE, "%s: pos_weight must be [%lld] (the last dimension of %s %s), got %s",
                                op, (long long)last, a_name, IE_DESCRIBE(a, da), IE_DESCRIBE(pos_weight, dw));
    }
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(op, a, IE_KERNEL_LOSS_PAIR, &ctx));
    IE_TRY(ie_tensor_empty(IE_F32, 0, NULL, a->device, out));
    ie_status st = ctx->backend->loss->pair_loss(ctx, kind, a, b, pos_weight, *out);
    if (st != IE_OK) return fail_release(out, st);
    ie_tensor *inputs[2] = {a, b};
    if (ie_autograd_needed(inputs, 2)) {
        ie_node *node;
        st = ie_autograd_record(*out, op, pair_backward, inputs, 2, &node);
        if (st == IE_OK) st = ie_node_save(node, 0, pos_weight);
        if (st != IE_OK) return fail_release(out, st);
        node->ints[0] = kind;
    }
    return IE_OK;
}

ie_status ie_bce_with_logits(ie_tensor *logits, ie_tensor *targets, ie_tensor *pos_weight, ie_tensor **out) {
    return pair_loss("bce_with_logits", IE_PAIR_LOSS_BCE, "logits", "targets", logits, targets, pos_weight, out);
}

ie_status ie_mse_loss(ie_tensor *prediction, ie_tensor *target, ie_tensor **out) {
    return pair_loss("mse_loss", IE_PAIR_LOSS_MSE, "prediction", "target", prediction, target, NULL, out);
}

ie_status ie_l1_loss(ie_tensor *prediction, ie_tensor *target, ie_tensor **out) {
    return pair_loss("l1_loss", IE_PAIR_LOSS_L1, "prediction", "target", prediction, target, NULL, out);
}
