/* core/backend/cuda - the optim family: scalars and tensors unpacked for
 * optim.cu (whose structs carry ints for C's bools, which C++ on the other
 * side of the launcher need not lay out as C does). */
#include "core/backend/cuda/cuda_internal.h"
#include "core/backend/optim_kernels.h"

static float *data_or_null(const ie_tensor *t) { return t ? ie_f32(t) : NULL; }

static ie_status cuda_sgd(ie_device_ctx *ctx, const ie_sgd_scalars *s, ie_tensor *param, const ie_tensor *grad,
                          ie_tensor *momentum_buffer) {
    ie_cu_sgd k = {s->neg_lr,           s->weight_decay,   s->momentum,  s->one_minus_dampening,
                   s->use_weight_decay, s->use_momentum,   s->nesterov,  s->first_step};
    return ie_cuda_status(ie_cu_sgd_step(ctx->stream, k, ie_f32(param), ie_f32(grad), data_or_null(momentum_buffer),
                                         param->numel),
                          "optim.sgd");
}

static ie_status cuda_adam(ie_device_ctx *ctx, const ie_adam_scalars *s, ie_tensor *param, const ie_tensor *grad,
                           ie_tensor *exp_avg, ie_tensor *exp_avg_sq, ie_tensor *max_exp_avg_sq) {
    ie_cu_adam k = {s->beta1,         s->one_minus_beta1,      s->beta2,
                    s->one_minus_beta2, s->weight_decay,       s->decay,
                    s->neg_step_size, s->bias_correction2_sqrt, s->eps,
                    s->use_weight_decay, s->decoupled,         s->amsgrad};
    return ie_cuda_status(ie_cu_adam_step(ctx->stream, k, ie_f32(param), ie_f32(grad), ie_f32(exp_avg),
                                          ie_f32(exp_avg_sq), data_or_null(max_exp_avg_sq), param->numel),
                          "optim.adam");
}

static ie_status cuda_rmsprop(ie_device_ctx *ctx, const ie_rmsprop_scalars *s, ie_tensor *param,
                              const ie_tensor *grad, ie_tensor *square_avg, ie_tensor *grad_avg,
                              ie_tensor *momentum_buffer) {
    ie_cu_rmsprop k = {s->alpha,  s->one_minus_alpha, s->eps,           s->weight_decay, s->momentum,
                       s->neg_lr, s->use_weight_decay, s->use_momentum, s->centered};
    return ie_cuda_status(ie_cu_rmsprop_step(ctx->stream, k, ie_f32(param), ie_f32(grad), ie_f32(square_avg),
                                             data_or_null(grad_avg), data_or_null(momentum_buffer), param->numel),
                          "optim.rmsprop");
}

const struct ie_optim_kernels ie_cuda_optim_kernels = {
    .sgd = cuda_sgd,
    .adam = cuda_adam,
    .rmsprop = cuda_rmsprop,
};
