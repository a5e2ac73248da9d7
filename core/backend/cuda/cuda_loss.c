/* core/backend/cuda - the loss family (loss_kernels.h), unpacked for
 * loss.cu.  Partial sums live in stream-ordered scratch; the class-loss
 * weight sum stays on the device in its [1] i64 tensor (8 bytes of a
 * double), as the contract says. */
#include "core/backend/cuda/cuda_internal.h"
#include "core/backend/loss_kernels.h"

static ie_cu_class_loss_args class_args(const ie_class_loss_args *a) {
    return (ie_cu_class_loss_args){.logits = ie_f32(a->logits),
                              .labels = ie_tensor_ptr(a->labels),
                              .label_i64 = a->labels->dtype == IE_I64,
                              .focal = a->kind == IE_CLASS_LOSS_FOCAL,
                              .weights = a->weights ? ie_f32(a->weights) : NULL,
                              .batch = a->batch,
                              .classes = a->classes,
                              .spatial = a->spatial,
                              .label_smoothing = a->label_smoothing,
                              .gamma = a->gamma};
}

static ie_status cuda_class_loss(ie_device_ctx *ctx, const ie_class_loss_args *a, ie_tensor *out,
                                 ie_tensor *weight_sum) {
    int64_t chunks = (a->batch * a->spatial + IE_CU_LOSS_CHUNK - 1) / IE_CU_LOSS_CHUNK;
    void *partial;
    IE_TRY(ie_cuda_scratch(ctx, (size_t)(2 * (chunks > 0 ? chunks : 1)) * sizeof(double), &partial));
    int e = ie_cu_class_loss(ctx->stream, class_args(a), partial, ie_f32(out), (double *)ie_tensor_ptr(weight_sum));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "loss.class_loss");
}

static ie_status cuda_class_loss_backward(ie_device_ctx *ctx, const ie_class_loss_args *a, const ie_tensor *g,
                                          const ie_tensor *weight_sum, ie_tensor *grad_logits) {
    return ie_cuda_status(ie_cu_class_loss_backward(ctx->stream, class_args(a), ie_f32(g),
                                                    (const double *)ie_tensor_ptr(weight_sum), ie_f32(grad_logits)),
                          "loss.class_loss_backward");
}

static ie_cu_dice_args dice_args(const ie_tensor *logits, const ie_tensor *labels, const ie_tensor *weights, int64_t batch,
                            int64_t classes, int64_t spatial) {
    return (ie_cu_dice_args){.logits = ie_f32(logits),
                        .labels = ie_tensor_ptr(labels),
                        .label_i64 = labels->dtype == IE_I64,
                        .weights = weights ? ie_f32(weights) : NULL,
                        .batch = batch,
                        .classes = classes,
                        .spatial = spatial};
}

static ie_status cuda_dice(ie_device_ctx *ctx, const ie_tensor *logits, const ie_tensor *labels,
                           const ie_tensor *weights, int64_t batch, int64_t classes, int64_t spatial, ie_tensor *stats,
                           ie_tensor *out) {
    ie_cu_dice_args d = dice_args(logits, labels, weights, batch, classes, spatial);
    int64_t n = ie_cu_dice_partials(d);
    void *partial;
    IE_TRY(ie_cuda_scratch(ctx, (size_t)(n > 0 ? n : 1) * sizeof(double), &partial));
    int e = ie_cu_dice(ctx->stream, d, partial, ie_f32(stats), ie_f32(out));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "loss.dice");
}

static ie_status cuda_dice_backward(ie_device_ctx *ctx, const ie_tensor *logits, const ie_tensor *labels,
                                    const ie_tensor *weights, int64_t batch, int64_t classes, int64_t spatial,
                                    const ie_tensor *stats, const ie_tensor *g, ie_tensor *grad_logits) {
    void *coef;
    IE_TRY(ie_cuda_scratch(ctx, (size_t)(2 * (batch * classes > 0 ? batch * classes : 1)) * sizeof(double), &coef));
    int e = ie_cu_dice_backward(ctx->stream, dice_args(logits, labels, weights, batch, classes, spatial),
                                ie_f32(stats), ie_f32(g), coef, ie_f32(grad_logits));
    ie_cuda_scratch_free(ctx, coef);
    return ie_cuda_status(e, "loss.dice_backward");
}

static int pair_kind(ie_pair_loss_kind k) { return k == IE_PAIR_LOSS_MSE ? 0 : k == IE_PAIR_LOSS_L1 ? 1 : 2; }

static ie_status cuda_pair_loss(ie_device_ctx *ctx, ie_pair_loss_kind kind, const ie_tensor *a, const ie_tensor *b,
                                const ie_tensor *pos_weight, ie_tensor *out) {
    int64_t chunks = ie_cu_pair_chunks(a->numel);
    void *partial;
    IE_TRY(ie_cuda_scratch(ctx, (size_t)(chunks > 0 ? chunks : 1) * sizeof(double), &partial));
    int e = ie_cu_pair_loss(ctx->stream, pair_kind(kind), ie_f32(a), ie_f32(b), pos_weight ? ie_f32(pos_weight) : NULL,
                            pos_weight ? pos_weight->numel : 0, a->numel, partial, ie_f32(out));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "loss.pair_loss");
}

static ie_status cuda_pair_loss_backward(ie_device_ctx *ctx, ie_pair_loss_kind kind, const ie_tensor *a,
                                         const ie_tensor *b, const ie_tensor *pos_weight, const ie_tensor *g,
                                         ie_tensor *grad_a, ie_tensor *grad_b) {
    return ie_cuda_status(ie_cu_pair_loss_backward(ctx->stream, pair_kind(kind), ie_f32(a), ie_f32(b),
                                                   pos_weight ? ie_f32(pos_weight) : NULL,
                                                   pos_weight ? pos_weight->numel : 0, a->numel, ie_f32(g),
                                                   grad_a ? ie_f32(grad_a) : NULL, grad_b ? ie_f32(grad_b) : NULL),
                          "loss.pair_loss_backward");
}

const struct ie_loss_kernels ie_cuda_loss_kernels = {
    .class_loss = cuda_class_loss,
    .class_loss_backward = cuda_class_loss_backward,
    .dice = cuda_dice,
    .dice_backward = cuda_dice_backward,
    .pair_loss = cuda_pair_loss,
    .pair_loss_backward = cuda_pair_loss_backward,
};
