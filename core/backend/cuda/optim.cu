// core/backend/cuda - optimiser updates, one thread per element.
//
// Each element follows core/backend/optim_kernels.h's operation order with
// fmaf() exactly where the CPU (core/backend/cpu/optim_cpu.c) calls it, and
// no other multiply-add is fused (this folder builds with --fmad=false);
// sqrtf and '/' are correctly rounded without --use_fast_math, so an update
// on the GPU is the CPU's update bit for bit.
#include "core/backend/cuda/cu_common.cuh"

__global__ void sgd_kernel(ie_cu_sgd s, float *p, const float *g, float *buf, int64_t n) {
    IE_CU_FOR(i, n) {
        float d = s.use_weight_decay ? fmaf(p[i], s.weight_decay, g[i]) : g[i];
        if (s.use_momentum) {
            float b = s.first_step ? d : fmaf(d, s.one_minus_dampening, buf[i] * s.momentum);
            buf[i] = b;
            d = s.nesterov ? fmaf(b, s.momentum, d) : b;
        }
        p[i] = fmaf(d, s.neg_lr, p[i]);
    }
}

int ie_cu_sgd_step(void *stream, ie_cu_sgd s, float *p, const float *g, float *buf, int64_t n) {
    if (n <= 0) return 0;
    sgd_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(s, p, g, buf, n);
    return ie_cu_launched();
}

__global__ void adam_kernel(ie_cu_adam s, float *p, const float *g, float *m, float *v, float *vmax, int64_t n) {
    IE_CU_FOR(i, n) {
        float pi = p[i], gi = g[i];
        if (s.decoupled) pi = pi * s.decay;
        if (s.use_weight_decay) gi = fmaf(pi, s.weight_decay, gi);
        float mi = fmaf(gi, s.one_minus_beta1, m[i] * s.beta1);
        float vi = fmaf(s.one_minus_beta2 * gi, gi, v[i] * s.beta2);
        m[i] = mi;
        v[i] = vi;
        if (s.amsgrad) {
            float top = vmax[i]; // torch.maximum propagates NaN, as the CPU does
            top = (isnan(vi) || vi > top) ? vi : top;
            vmax[i] = top;
            vi = top;
        }
        float denom = sqrtf(vi) / s.bias_correction2_sqrt + s.eps;
        p[i] = pi + (s.neg_step_size * mi) / denom;
    }
}

int ie_cu_adam_step(void *stream, ie_cu_adam s, float *p, const float *g, float *m, float *v, float *vmax,
                    int64_t n) {
    if (n <= 0) return 0;
    adam_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(s, p, g, m, v, vmax, n);
    return ie_cu_launched();
}

__global__ void rmsprop_kernel(ie_cu_rmsprop s, float *p, const float *g, float *sq, float *ga, float *buf,
                               int64_t n) {
    IE_CU_FOR(i, n) {
        float gi = s.use_weight_decay ? fmaf(p[i], s.weight_decay, g[i]) : g[i];
        float si = fmaf(s.one_minus_alpha * gi, gi, sq[i] * s.alpha);
        sq[i] = si;
        float avg;
        if (s.centered) {
            float gai = fmaf(gi, s.one_minus_alpha, ga[i] * s.alpha);
            ga[i] = gai;
            avg = sqrtf(fmaf(-gai, gai, si));
        } else {
            avg = sqrtf(si);
        }
        avg = avg + s.eps;
        if (s.use_momentum) {
            float b = buf[i] * s.momentum + gi / avg;
            buf[i] = b;
            p[i] = fmaf(b, s.neg_lr, p[i]);
        } else {
            p[i] = p[i] + (s.neg_lr * gi) / avg;
        }
    }
}

int ie_cu_rmsprop_step(void *stream, ie_cu_rmsprop s, float *p, const float *g, float *sq, float *ga, float *buf,
                       int64_t n) {
    if (n <= 0) return 0;
    rmsprop_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(s, p, g, sq, ga, buf, n);
    return ie_cu_launched();
}
