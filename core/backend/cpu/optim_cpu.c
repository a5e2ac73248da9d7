/* core/backend/cpu - optimiser updates: elementwise over fixed chunks of
 * IE_CPU_CHUNK elements, so any thread count gives the same bytes.
 *
 * fmaf() stands where PyTorch's AVX2 kernels fuse (see optim_kernels.h).  A
 * correctly rounded fused multiply-add gives the same bytes on every machine,
 * with or without FMA hardware, and makes our updates equal torch's. */
#include <math.h>

#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"

typedef struct optim_job {
    const void *scalars;
    float *p;
    const float *g;
    float *s0, *s1, *s2; /* state buffers, per kernel */
    int64_t n;
} optim_job;

static float *data_or_null(const ie_tensor *t) { return t ? ie_f32(t) : NULL; }

static void run_chunked(optim_job *job, void (*task)(void *, int64_t)) {
    ie_parallel_for(ie_cpu_chunks(job->n), task, job);
}

static void chunk_range(const optim_job *j, int64_t chunk, int64_t *begin, int64_t *end) {
    *begin = chunk * IE_CPU_CHUNK;
    *end = *begin + IE_CPU_CHUNK < j->n ? *begin + IE_CPU_CHUNK : j->n;
}

/* ---- SGD ---- */

IE_CPU_CLONES static void sgd_task(void *ctx, int64_t chunk) {
    const optim_job *j = ctx;
    const ie_sgd_scalars *s = j->scalars;
    float *p = j->p, *buf = j->s0;
    const float *g = j->g;
    int64_t i0, i1;
    chunk_range(j, chunk, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        float d = s->use_weight_decay ? fmaf(p[i], s->weight_decay, g[i]) : g[i];
        if (s->use_momentum) {
            float b = s->first_step ? d : fmaf(d, s->one_minus_dampening, buf[i] * s->momentum);
            buf[i] = b;
            d = s->nesterov ? fmaf(b, s->momentum, d) : b;
        }
        p[i] = fmaf(d, s->neg_lr, p[i]);
    }
}

static ie_status cpu_sgd(ie_device_ctx *ctx, const ie_sgd_scalars *s, ie_tensor *param, const ie_tensor *grad,
                         ie_tensor *momentum_buffer) {
    (void)ctx;
    optim_job job = {s, ie_f32(param), ie_f32(grad), data_or_null(momentum_buffer), NULL, NULL,
                     param->numel};
    run_chunked(&job, sgd_task);
    return IE_OK;
}

/* ---- Adam, AdamW ---- */

/* One span with the flags constant, so that the loop vectorises. */
static inline __attribute__((always_inline)) void adam_span(const ie_adam_scalars *s, float *p, const float *g,
                                                            float *m, float *v, float *vmax, int64_t i0, int64_t i1,
                                                            const bool decoupled, const bool weight_decay,
                                                            const bool amsgrad) {
#pragma GCC ivdep
    for (int64_t i = i0; i < i1; i++) {
        float pi = p[i], gi = g[i];
        if (decoupled) pi = pi * s->decay;
        if (weight_decay) gi = fmaf(pi, s->weight_decay, gi);
        float mi = fmaf(gi, s->one_minus_beta1, m[i] * s->beta1);
        float vi = fmaf(s->one_minus_beta2 * gi, gi, v[i] * s->beta2);
        m[i] = mi;
        v[i] = vi;
        if (amsgrad) {
            /* torch.maximum propagates NaN; fmaxf would drop it. */
            float top = vmax[i];
            top = (isnan(vi) || vi > top) ? vi : top;
            vmax[i] = top;
            vi = top;
        }
        float denom = sqrtf(vi) / s->bias_correction2_sqrt + s->eps;
        p[i] = pi + (s->neg_step_size * mi) / denom;
    }
}

IE_CPU_CLONES static void adam_task(void *ctx, int64_t chunk) {
    const optim_job *j = ctx;
    const ie_adam_scalars *s = j->scalars;
    int64_t i0, i1;
    chunk_range(j, chunk, &i0, &i1);
#define ADAM_SPAN(D, W, A) adam_span(s, j->p, j->g, j->s0, j->s1, j->s2, i0, i1, D, W, A)
    if (s->amsgrad)
        ADAM_SPAN(s->decoupled, s->use_weight_decay, true);
    else if (s->decoupled)
        s->use_weight_decay ? ADAM_SPAN(true, true, false) : ADAM_SPAN(true, false, false);
    else
        s->use_weight_decay ? ADAM_SPAN(false, true, false) : ADAM_SPAN(false, false, false);
#undef ADAM_SPAN
}

static ie_status cpu_adam(ie_device_ctx *ctx, const ie_adam_scalars *s, ie_tensor *param,
                          const ie_tensor *grad, ie_tensor *exp_avg, ie_tensor *exp_avg_sq,
                          ie_tensor *max_exp_avg_sq) {
    (void)ctx;
    optim_job job = {s, ie_f32(param), ie_f32(grad), ie_f32(exp_avg), ie_f32(exp_avg_sq),
                     data_or_null(max_exp_avg_sq), param->numel};
    run_chunked(&job, adam_task);
    return IE_OK;
}

/* ---- RMSprop ---- */

IE_CPU_CLONES static void rmsprop_task(void *ctx, int64_t chunk) {
    const optim_job *j = ctx;
    const ie_rmsprop_scalars *s = j->scalars;
    float *p = j->p, *sq = j->s0, *ga = j->s1, *buf = j->s2;
    const float *g = j->g;
    int64_t i0, i1;
    chunk_range(j, chunk, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        float gi = s->use_weight_decay ? fmaf(p[i], s->weight_decay, g[i]) : g[i];
        float si = fmaf(s->one_minus_alpha * gi, gi, sq[i] * s->alpha);
        sq[i] = si;
        float avg;
        if (s->centered) {
            float gai = fmaf(gi, s->one_minus_alpha, ga[i] * s->alpha);
            ga[i] = gai;
            avg = sqrtf(fmaf(-gai, gai, si));
        } else {
            avg = sqrtf(si);
        }
        avg = avg + s->eps;
        if (s->use_momentum) {
            float b = buf[i] * s->momentum + gi / avg;
            buf[i] = b;
            p[i] = fmaf(b, s->neg_lr, p[i]);
        } else {
            p[i] = p[i] + (s->neg_lr * gi) / avg;
        }
    }
}

static ie_status cpu_rmsprop(ie_device_ctx *ctx, const ie_rmsprop_scalars *s, ie_tensor *param,
                             const ie_tensor *grad, ie_tensor *square_avg, ie_tensor *grad_avg,
                             ie_tensor *momentum_buffer) {
    (void)ctx;
    optim_job job = {s, ie_f32(param), ie_f32(grad), ie_f32(square_avg), data_or_null(grad_avg),
                     data_or_null(momentum_buffer), param->numel};
    run_chunked(&job, rmsprop_task);
    return IE_OK;
}

const struct ie_optim_kernels ie_cpu_optim_kernels = {
    .sgd = cpu_sgd,
    .adam = cpu_adam,
    .rmsprop = cpu_rmsprop,
};
