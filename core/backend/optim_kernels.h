/* core/backend - the optim kernel family: one elementwise update per
 * optimiser, applied to one parameter tensor and its state in place.
 *
 * The front end (core/optim/optimizer.c) turns the hyperparameters and step
 * count into the float32 scalars PyTorch's single-tensor code would hand its
 * kernels (double arithmetic, then one rounding to float), so every backend
 * only has to follow the per-element operation order written below.
 * fma(a, b, c) marks where torch's AVX2 kernels fuse a multiply and an add
 * (add with alpha is vec::fmadd; addcmul's self + s * t1 * t2 is contracted by
 * the compiler): following it, our CPU results equal torch 1.13's bit for bit
 * on the golden fixtures. */
#ifndef IE_CORE_BACKEND_OPTIM_KERNELS_H
#define IE_CORE_BACKEND_OPTIM_KERNELS_H

#include <stdbool.h>

#include "core/backend/backend.h"

/* torch.optim.SGD:
 *     d = wd ? fma(p, wd, g) : g
 *     momentum:  buf = first ? d : fma(d, one_minus_dampening, buf * momentum)
 *                d = nesterov ? fma(buf, momentum, d) : buf
 *     p = fma(d, neg_lr, p) */
typedef struct ie_sgd_scalars {
    float neg_lr, weight_decay, momentum, one_minus_dampening;
    bool use_weight_decay, use_momentum, nesterov, first_step;
} ie_sgd_scalars;

/* torch.optim.Adam / AdamW:
 *     AdamW:     p = p * decay                       (decay = 1 - lr * wd)
 *     Adam L2:   g = fma(p, weight_decay, g)
 *     m = fma(g, one_minus_beta1, m * beta1)
 *     v = fma(one_minus_beta2 * g, g, v * beta2)
 *     amsgrad:   vmax = max(vmax, v), v' = vmax; else v' = v
 *     p = p + (neg_step_size * m) / (sqrt(v') / bias_correction2_sqrt + eps) */
typedef struct ie_adam_scalars {
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float weight_decay, decay, neg_step_size, bias_correction2_sqrt, eps;
    bool use_weight_decay, decoupled, amsgrad;
} ie_adam_scalars;

/* torch.optim.RMSprop:
 *     g = wd ? fma(p, wd, g) : g
 *     sq = fma(one_minus_alpha * g, g, sq * alpha)
 *     centered:  ga = fma(g, one_minus_alpha, ga * alpha), avg = sqrt(fma(-ga, ga, sq))
 *     else:      avg = sqrt(sq)
 *     avg = avg + eps
 *     momentum:  buf = buf * momentum + g / avg,  p = fma(buf, neg_lr, p)
 *     else:      p = p + (neg_lr * g) / avg */
typedef struct ie_rmsprop_scalars {
    float alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr;
    bool use_weight_decay, use_momentum, centered;
} ie_rmsprop_scalars;

/* All tensors are float32, contiguous, with the parameter's numel; state
 * tensors the scalars do not use may be NULL. */
struct ie_optim_kernels {
    ie_status (*sgd)(ie_device_ctx *ctx, const ie_sgd_scalars *s, ie_tensor *param,
                     const ie_tensor *grad, ie_tensor *momentum_buffer);
    ie_status (*adam)(ie_device_ctx *ctx, const ie_adam_scalars *s, ie_tensor *param,
                      const ie_tensor *grad, ie_tensor *exp_avg, ie_tensor *exp_avg_sq,
                      ie_tensor *max_exp_avg_sq);
    ie_status (*rmsprop)(ie_device_ctx *ctx, const ie_rmsprop_scalars *s, ie_tensor *param,
                         const ie_tensor *grad, ie_tensor *square_avg, ie_tensor *grad_avg,
                         ie_tensor *momentum_buffer);
};

#endif
