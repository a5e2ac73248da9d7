// core/backend/cuda - batch and group normalisation (norm_kernels.h).
//
// The CPU backend's structure (core/backend/cpu/norm_cpu.c), with its
// numerics contract: a "unit" is the set of elements one statistic covers,
// cut into fixed chunks of IE_CU_NORM_CHUNK elements; one block sums one
// (unit, chunk) in double (each thread a fixed stride, then a fixed tree in
// shared memory) and writes its partial; one thread per unit then adds the
// chunk partials in chunk order, in double.  No atomics, and every launch
// shape is a function of the tensor sizes.  The elementwise passes (the
// affine map, the input gradient) are the CPU's float expressions, so given
// the same statistics they give the CPU's bytes (no fma: --fmad=false).
#include "core/backend/cuda/cu_common.cuh"

#define SUM_THREADS 256

// Element j of unit u (layout as ie_cu_norm_layout says).
__device__ static int64_t unit_offset(const ie_cu_norm_layout &l, int64_t u, int64_t j) {
    return u * l.ubase + (j / l.seg) * l.segstride + j % l.seg;
}

// The statistic (mean, invstd) of unit u's elements: batch norm (groups 0)
// has one per channel and its units are channels; group norm has one per
// (n, group) and its units (in the gradient sums) are (n, c) planes.
__device__ static int64_t stat_of_plane(int64_t p, int64_t channels, int64_t groups) {
    if (groups == 0) return p % channels;
    int64_t c = p % channels, n = p / channels;
    return n * groups + c / (channels / groups);
}

// grad 0: partial[task] = (sum(x - k), sum((x - k)^2)) with k the unit's
// first element (the CPU's shift, which keeps the variance accurate when
// the mean is large against the spread).  grad 1: (sum(g), sum(g * (x - mu)))
// with mu = hi + lo of the unit's statistic (stat_mode: 0 the unit itself,
// 1 a group norm plane's group).
__global__ void norm_sums_kernel(ie_cu_norm_layout l, int grad, int stat_mode, const float *x, const float *g,
                                 const float *mean, int64_t n_stats, int64_t channels, int64_t groups,
                                 double *partial) {
    __shared__ double sa[SUM_THREADS], sb[SUM_THREADS];
    int64_t tasks = l.units * l.chunks;
    for (int64_t task = blockIdx.x; task < tasks; task += gridDim.x) {
        int64_t u = task / l.chunks, j0 = (task % l.chunks) * IE_CU_NORM_CHUNK;
        int64_t j1 = j0 + IE_CU_NORM_CHUNK < l.len ? j0 + IE_CU_NORM_CHUNK : l.len;
        double a = 0.0, b = 0.0;
        if (!grad) {
            float k = x[u * l.ubase];
            for (int64_t j = j0 + threadIdx.x; j < j1; j += SUM_THREADS) {
                float d = x[unit_offset(l, u, j)] - k;
                a += (double)d;
                b += (double)d * (double)d;
            }
        } else {
            int64_t s = stat_mode == 0 ? u : stat_of_plane(u, channels, groups);
            float hi = mean[s], lo = mean[n_stats + s];
            for (int64_t j = j0 + threadIdx.x; j < j1; j += SUM_THREADS) {
                int64_t off = unit_offset(l, u, j);
                a += (double)g[off];
                b += (double)g[off] * (double)((x[off] - hi) - lo);
            }
        }
        sa[threadIdx.x] = a;
        sb[threadIdx.x] = b;
        __syncthreads();
        for (int half = SUM_THREADS / 2; half > 0; half /= 2) {
            if ((int)threadIdx.x < half) {
                sa[threadIdx.x] += sa[threadIdx.x + half];
                sb[threadIdx.x] += sb[threadIdx.x + half];
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) {
            partial[2 * task] = sa[0];
            partial[2 * task + 1] = sb[0];
        }
        __syncthreads(); // sa/sb are reused by the next task of this block
    }
}

// Unit u's totals: its chunk partials added in chunk order.
__device__ static void unit_total(const ie_cu_norm_layout &l, const double *partial, int64_t u, double t[2]) {
    t[0] = t[1] = 0.0;
    for (int64_t q = 0; q < l.chunks; q++) {
        t[0] += partial[2 * (u * l.chunks + q)];
        t[1] += partial[2 * (u * l.chunks + q) + 1];
    }
}

// Mean and biased variance of unit u (the CPU's unit_moments).
__device__ static void unit_moments(const ie_cu_norm_layout &l, const float *x, const double *partial, int64_t u,
                                    double *mean, double *var) {
    double t[2];
    unit_total(l, partial, u, t);
    double m = t[0] / (double)l.len;
    *mean = x[u * l.ubase] + m;
    *var = t[1] / (double)l.len - m * m;
    if (*var < 0) *var = 0;
}

__device__ static void split_mean(double m, float *hi, float *lo) {
    *hi = (float)m;
    *lo = (float)(m - (double)*hi);
}

// One thread per channel: the statistics batch_forward normalises with,
// and the running-statistics update (training) exactly as the CPU.
__global__ void batch_stats_kernel(ie_cu_norm_layout l, const float *x, const double *partial, int training,
                                   float momentum, float eps, float *running_mean, float *running_var,
                                   int64_t *num_batches_tracked, float *mean, float *invstd) {
    int64_t C = l.units;
    IE_CU_FOR(c, C) {
        if (training) {
            double m, v, unbias = (double)l.len / (double)(l.len - 1);
            unit_moments(l, x, partial, c, &m, &v);
            split_mean(m, &mean[c], &mean[C + c]);
            invstd[c] = (float)(1.0 / sqrt(v + (double)eps));
            if (running_mean) running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + (double)momentum * m);
            if (running_var)
                running_var[c] = (float)((1.0 - momentum) * running_var[c] + (double)momentum * v * unbias);
            if (c == 0 && num_batches_tracked) (*num_batches_tracked)++;
        } else {
            mean[c] = running_mean[c];
            mean[C + c] = 0.0f;
            invstd[c] = (float)(1.0 / sqrt((double)running_var[c] + (double)eps));
        }
    }
}

// One thread per (n, group): group norm's statistics.
__global__ void group_stats_kernel(ie_cu_norm_layout l, const float *x, const double *partial, float eps, float *mean,
                                   float *invstd) {
    IE_CU_FOR(u, l.units) {
        double m, v;
        unit_moments(l, x, partial, u, &m, &v);
        split_mean(m, &mean[u], &mean[l.units + u]);
        invstd[u] = (float)(1.0 / sqrt(v + (double)eps));
    }
}

// y = ((x - hi) - lo) * (invstd * weight) + bias, then relu's x > 0 ? x : 0:
// the CPU's float expression, one thread per element.
__global__ void norm_apply_kernel(const float *x, int64_t n, int64_t S, int64_t C, int64_t groups, const float *mean,
                                  int64_t n_stats, const float *invstd, const float *weight, const float *bias,
                                  int relu, float *y) {
    IE_CU_FOR(i, n) {
        int64_t p = i / S, c = p % C, s = stat_of_plane(p, C, groups);
        float a = invstd[s] * (weight ? weight[c] : 1.0f), b = bias ? bias[c] : 0.0f;
        float v = ((x[i] - mean[s]) - mean[n_stats + s]) * a + b;
        y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
    }
}

// One thread per channel: batch norm backward's parameter gradients and the
// input-gradient coefficients (the CPU's expressions in double).
__global__ void batch_backward_coef_kernel(ie_cu_norm_layout l, const double *partial, int need_sums, int training,
                                           const float *invstd, const float *weight, float *dweight, float *dbias,
                                           float *coef) {
    int64_t C = l.units;
    IE_CU_FOR(c, C) {
        double t[2] = {0.0, 0.0};
        if (need_sums) unit_total(l, partial, c, t);
        double r = invstd[c], w = weight ? weight[c] : 1.0f, n = (double)l.len;
        if (dweight) dweight[c] = (float)(r * t[1]);
        if (dbias) dbias[c] = (float)t[0];
        coef[c] = (float)(r * w);
        coef[C + c] = training ? (float)(-r * w * r * r * t[1] / n) : 0.0f;
        coef[2 * C + c] = training ? (float)(-r * w * t[0] / n) : 0.0f;
    }
}

// One thread per (n, c) plane: its gradient sums, chunks in order.
__global__ void plane_total_kernel(ie_cu_norm_layout l, const double *partial, double *plane_sum) {
    IE_CU_FOR(p, l.units) unit_total(l, partial, p, plane_sum + 2 * p);
}

// One thread per channel: group norm's parameter gradients, batch in order.
__global__ void group_param_grad_kernel(const double *plane_sum, const float *invstd, int64_t N, int64_t C,
                                        int64_t groups, float *dweight, float *dbias) {
    int64_t cpg = C / groups;
    IE_CU_FOR(c, C) {
        double gw = 0, gb = 0;
        for (int64_t n = 0; n < N; n++) {
            const double *t = plane_sum + 2 * (n * C + c);
            gb += t[0];
            gw += invstd[n * groups + c / cpg] * t[1];
        }
        if (dweight) dweight[c] = (float)gw;
        if (dbias) dbias[c] = (float)gb;
    }
}

// One thread per (n, group): the input-gradient coefficients of its planes.
__global__ void group_coef_kernel(const double *plane_sum, const float *invstd, const float *weight, int64_t N,
                                  int64_t C, int64_t groups, int64_t S, float *coef) {
    int64_t cpg = C / groups, planes = N * C;
    double count = (double)(cpg * S);
    IE_CU_FOR(u, N * groups) {
        int64_t n = u / groups, c0 = (u % groups) * cpg;
        double r = invstd[u], m1 = 0, m2 = 0;
        for (int64_t c = c0; c < c0 + cpg; c++) {
            const double *t = plane_sum + 2 * (n * C + c);
            double w = weight ? weight[c] : 1.0f;
            m1 += w * t[0];
            m2 += w * r * t[1];
        }
        m1 /= count;
        m2 /= count;
        for (int64_t c = c0; c < c0 + cpg; c++) {
            int64_t p = n * C + c;
            coef[p] = (float)(r * (weight ? weight[c] : 1.0f));
            coef[planes + p] = (float)(-r * r * m2);
            coef[2 * planes + p] = (float)(-r * m1);
        }
    }
}

// dx = a * dy + b * (x - mu) + c, the CPU's float expression; coefficients
// per (i / S) % n_coef (batch norm: channel; group norm: plane).
__global__ void norm_grad_input_kernel(const float *x, const float *g, int64_t n, int64_t S, int64_t C,
                                       int64_t groups, const float *mean, int64_t n_stats, const float *coef,
                                       int64_t n_coef, float *dx) {
    IE_CU_FOR(i, n) {
        int64_t p = i / S, k = p % n_coef, s = stat_of_plane(p, C, groups);
        float hi = mean[s], lo = mean[n_stats + s];
        dx[i] = coef[k] * g[i] + coef[n_coef + k] * ((x[i] - hi) - lo) + coef[2 * n_coef + k];
    }
}

static unsigned task_blocks(int64_t tasks) {
    return (unsigned)(tasks < 1 ? 1 : tasks > (1 << 20) ? (1 << 20) : tasks);
}

int ie_cu_norm_sums(void *stream, ie_cu_norm_layout l, int grad, int stat_mode, const float *x, const float *g,
                    const float *mean, int64_t n_stats, int64_t channels, int64_t groups, double *partial) {
    int64_t tasks = l.units * l.chunks;
    if (tasks <= 0) return 0;
    norm_sums_kernel<<<task_blocks(tasks), SUM_THREADS, 0, ie_cu_stream(stream)>>>(l, grad, stat_mode, x, g, mean,
                                                                                   n_stats, channels, groups, partial);
    return ie_cu_launched();
}

int ie_cu_batch_stats(void *stream, ie_cu_norm_layout l, const float *x, const double *partial, int training,
                      float momentum, float eps, float *running_mean, float *running_var,
                      int64_t *num_batches_tracked, float *mean, float *invstd) {
    if (l.units <= 0) return 0;
    batch_stats_kernel<<<ie_cu_blocks(l.units), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(
        l, x, partial, training, momentum, eps, running_mean, running_var, num_batches_tracked, mean, invstd);
    return ie_cu_launched();
}

int ie_cu_group_stats(void *stream, ie_cu_norm_layout l, const float *x, const double *partial, float eps,
                      float *mean, float *invstd) {
    if (l.units <= 0) return 0;
    group_stats_kernel<<<ie_cu_blocks(l.units), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(l, x, partial, eps, mean,
                                                                                         invstd);
    return ie_cu_launched();
}

int ie_cu_norm_apply(void *stream, const float *x, int64_t n, int64_t S, int64_t C, int64_t groups,
                     const float *mean, int64_t n_stats, const float *invstd, const float *weight, const float *bias,
                     int relu, float *y) {
    if (n <= 0) return 0;
    norm_apply_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(x, n, S, C, groups, mean, n_stats,
                                                                                  invstd, weight, bias, relu, y);
    return ie_cu_launched();
}

int ie_cu_batch_backward_coef(void *stream, ie_cu_norm_layout l, const double *partial, int need_sums, int training,
                              const float *invstd, const float *weight, float *dweight, float *dbias, float *coef) {
    if (l.units <= 0) return 0;
    batch_backward_coef_kernel<<<ie_cu_blocks(l.units), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(
        l, partial, need_sums, training, invstd, weight, dweight, dbias, coef);
    return ie_cu_launched();
}

int ie_cu_group_backward_coef(void *stream, ie_cu_norm_layout planes, const double *partial, double *plane_sum,
                              const float *invstd, const float *weight, int64_t N, int64_t C, int64_t groups,
                              int64_t S, float *dweight, float *dbias, float *coef) {
    if (planes.units <= 0) return 0;
    cudaStream_t st = ie_cu_stream(stream);
    plane_total_kernel<<<ie_cu_blocks(planes.units), IE_CU_THREADS, 0, st>>>(planes, partial, plane_sum);
    if (dweight || dbias)
        group_param_grad_kernel<<<ie_cu_blocks(C), IE_CU_THREADS, 0, st>>>(plane_sum, invstd, N, C, groups, dweight,
                                                                           dbias);
    if (coef)
        group_coef_kernel<<<ie_cu_blocks(N * groups), IE_CU_THREADS, 0, st>>>(plane_sum, invstd, weight, N, C, groups,
                                                                              S, coef);
    return ie_cu_launched();
}

int ie_cu_norm_grad_input(void *stream, const float *x, const float *g, int64_t n, int64_t S, int64_t C,
                          int64_t groups, const float *mean, int64_t n_stats, const float *coef, int64_t n_coef,
                          float *dx) {
    if (n <= 0) return 0;
    norm_grad_input_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(x, g, n, S, C, groups, mean,
                                                                                       n_stats, coef, n_coef, dx);
    return ie_cu_launched();
}
