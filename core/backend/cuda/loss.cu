// core/backend/cuda - the losses (loss_kernels.h): cross-entropy, focal,
// soft Dice and the elementwise pair losses, forward and backward.
//
// The CPU's formulas (core/backend/cpu/loss_cpu.c), per voxel in double.
// Forward sums: one block per fixed chunk of IE_CU_LOSS_CHUNK voxels, each
// thread a fixed stride of it, a fixed tree in shared memory, then one
// thread adds the chunk partials in chunk order.  Backward: one thread per
// voxel (or element), nothing shared.  No atomics; grids depend on sizes
// only.  The scalars forward hands to backward (the class-loss weight sum,
// Dice's statistics) stay on the device; backward reads g[0] there too.
// A label outside [0, classes) makes that voxel's loss NaN (never a read
// outside the logits): labels are validated on the host (loss_kernels.h).
#include "core/backend/cuda/cu_common.cuh"

#define LOSS_THREADS 256

__device__ static int64_t label_at(const void *labels, int label_i64, int64_t i) {
    return label_i64 ? ((const int64_t *)labels)[i] : (int64_t)((const int32_t *)labels)[i];
}

// Adds v[0..n) of every thread of the block by a fixed tree; thread 0 gets
// the totals.  sh holds LOSS_THREADS * n doubles.
__device__ static void block_sum(double *sh, double *v, int n) {
    for (int k = 0; k < n; k++) sh[k * LOSS_THREADS + threadIdx.x] = v[k];
    __syncthreads();
    for (int half = LOSS_THREADS / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half)
            for (int k = 0; k < n; k++) sh[k * LOSS_THREADS + threadIdx.x] += sh[k * LOSS_THREADS + threadIdx.x + half];
        __syncthreads();
    }
    for (int k = 0; k < n; k++) v[k] = sh[k * LOSS_THREADS];
    __syncthreads();
}

__device__ static double voxel_lse(const float *x, int64_t classes, int64_t stride) {
    float m = -INFINITY;
    for (int64_t c = 0; c < classes; c++) m = x[c * stride] > m ? x[c * stride] : m;
    double s = 0;
    for (int64_t c = 0; c < classes; c++) s += exp((double)x[c * stride] - m);
    return m + log(s);
}

static unsigned chunk_blocks(int64_t chunks) {
    return (unsigned)(chunks < 1 ? 1 : chunks > (1 << 20) ? (1 << 20) : chunks);
}

// ---------------- cross-entropy and focal ----------------

__global__ void class_loss_kernel(ie_cu_class_loss_args a, double *partial) {
    __shared__ double sh[2 * LOSS_THREADS];
    int64_t voxels = a.batch * a.spatial, chunks = (voxels + IE_CU_LOSS_CHUNK - 1) / IE_CU_LOSS_CHUNK;
    double eps = a.label_smoothing;
    for (int64_t chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
        int64_t lo = chunk * IE_CU_LOSS_CHUNK, hi = lo + IE_CU_LOSS_CHUNK < voxels ? lo + IE_CU_LOSS_CHUNK : voxels;
        double v[2] = {0.0, 0.0}; // loss, weight sum
        for (int64_t vx = lo + threadIdx.x; vx < hi; vx += LOSS_THREADS) {
            int64_t n = vx / a.spatial, s = vx % a.spatial, y = label_at(a.labels, a.label_i64, vx);
            if (y < 0 || y >= a.classes) {
                v[0] += NAN;
                continue;
            }
            const float *x = a.logits + n * a.classes * a.spatial + s;
            double lse = voxel_lse(x, a.classes, a.spatial);
            double wy = a.weights ? a.weights[y] : 1.0, nll = lse - x[y * a.spatial];
            if (a.focal) {
                v[0] += wy * pow(-expm1(-nll), (double)a.gamma) * nll;
            } else {
                double l = (1.0 - eps) * wy * nll;
                if (eps != 0) {
                    double smooth = 0;
                    for (int64_t c = 0; c < a.classes; c++)
                        smooth += (a.weights ? a.weights[c] : 1.0) * (lse - x[c * a.spatial]);
                    l += eps / (double)a.classes * smooth;
                }
                v[0] += l;
            }
            v[1] += wy;
        }
        block_sum(sh, v, 2);
        if (threadIdx.x == 0) partial[2 * chunk] = v[0], partial[2 * chunk + 1] = v[1];
    }
}

__global__ void class_loss_total_kernel(const double *partial, int64_t chunks, float *out, double *weight_sum) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double loss = 0, wsum = 0;
    for (int64_t c = 0; c < chunks; c++) loss += partial[2 * c], wsum += partial[2 * c + 1];
    *weight_sum = wsum;
    out[0] = (float)(loss / wsum);
}

__global__ void class_loss_backward_kernel(ie_cu_class_loss_args a, const float *g, const double *weight_sum,
                                           float *grad) {
    double eps = a.label_smoothing, gamma = a.gamma, scale = (double)g[0] / *weight_sum;
    double weight_total = (double)a.classes;
    if (a.weights) {
        weight_total = 0;
        for (int64_t c = 0; c < a.classes; c++) weight_total += a.weights[c];
    }
    IE_CU_FOR(v, a.batch * a.spatial) {
        int64_t n = v / a.spatial, s = v % a.spatial, y = label_at(a.labels, a.label_i64, v);
        int64_t base = n * a.classes * a.spatial + s;
        const float *x = a.logits + base;
        float *gr = grad + base;
        if (y < 0 || y >= a.classes) {
            for (int64_t c = 0; c < a.classes; c++) gr[c * a.spatial] = NAN;
            continue;
        }
        double lse = voxel_lse(x, a.classes, a.spatial);
        double wy = a.weights ? a.weights[y] : 1.0;
        if (a.focal) {
            double lq = x[y * a.spatial] - lse, q = exp(lq), one_minus = -expm1(lq);
            double k = -pow(one_minus, gamma);
            if (gamma != 0 && one_minus > 0) k += gamma * pow(one_minus, gamma - 1) * lq * q;
            k *= wy * scale;
            for (int64_t c = 0; c < a.classes; c++) {
                double p = exp(x[c * a.spatial] - lse);
                gr[c * a.spatial] = (float)(k * ((c == y) - p));
            }
        } else {
            for (int64_t c = 0; c < a.classes; c++) {
                double p = exp(x[c * a.spatial] - lse), wc = a.weights ? a.weights[c] : 1.0;
                double d = (1.0 - eps) * wy * (p - (c == y));
                if (eps != 0) d += eps / (double)a.classes * (p * weight_total - wc);
                gr[c * a.spatial] = (float)(d * scale);
            }
        }
    }
}

int ie_cu_class_loss(void *stream, ie_cu_class_loss_args a, double *partial, float *out, double *weight_sum) {
    int64_t chunks = (a.batch * a.spatial + IE_CU_LOSS_CHUNK - 1) / IE_CU_LOSS_CHUNK;
    cudaStream_t st = ie_cu_stream(stream);
    if (chunks > 0) class_loss_kernel<<<chunk_blocks(chunks), LOSS_THREADS, 0, st>>>(a, partial);
    class_loss_total_kernel<<<1, 1, 0, st>>>(partial, chunks, out, weight_sum);
    return ie_cu_launched();
}

int ie_cu_class_loss_backward(void *stream, ie_cu_class_loss_args a, const float *g, const double *weight_sum,
                              float *grad) {
    int64_t n = a.batch * a.spatial;
    if (n <= 0) return 0;
    class_loss_backward_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(a, g, weight_sum, grad);
    return ie_cu_launched();
}

// ---------------- soft Dice ----------------

#define DICE_EPS 1e-10

// One block per (item, voxel block, class): sum(p*t), sum(p^2), sum(t).
__global__ void dice_partial_kernel(ie_cu_dice_args d, int64_t blocks, double *partial) {
    __shared__ double sh[3 * LOSS_THREADS];
    int64_t tasks = d.batch * blocks * d.classes;
    for (int64_t task = blockIdx.x; task < tasks; task += gridDim.x) {
        int64_t c = task % d.classes, nb = task / d.classes, n = nb / blocks;
        int64_t s0 = (nb % blocks) * IE_CU_LOSS_CHUNK;
        int64_t s1 = s0 + IE_CU_LOSS_CHUNK < d.spatial ? s0 + IE_CU_LOSS_CHUNK : d.spatial;
        double v[3] = {0.0, 0.0, 0.0};
        for (int64_t s = s0 + threadIdx.x; s < s1; s += LOSS_THREADS) {
            const float *x = d.logits + n * d.classes * d.spatial + s;
            double lse = voxel_lse(x, d.classes, d.spatial);
            int64_t y = label_at(d.labels, d.label_i64, n * d.spatial + s);
            double p = exp(x[c * d.spatial] - lse);
            if (y < 0 || y >= d.classes) p = NAN;
            if (c == y) v[0] += p, v[2] += 1;
            v[1] += p * p;
        }
        block_sum(sh, v, 3);
        if (threadIdx.x == 0)
            for (int k = 0; k < 3; k++) partial[(nb * d.classes + c) * 3 + k] = v[k];
    }
}

__device__ static void dice_terms(const float *st, int64_t spatial, double *I, double *S) {
    double veps = (double)spatial * DICE_EPS;
    *I = st[0] + veps;
    *S = st[1] + st[2] + 2 * veps;
}

__device__ static double dice_weight_norm(const float *w, int64_t batch, int64_t classes) {
    double total = 0;
    for (int64_t c = 0; c < classes; c++) total += w ? w[c] : 1.0;
    return (double)batch * total;
}

// One thread per (item, class, statistic): the item's blocks in order.
__global__ void dice_stats_kernel(ie_cu_dice_args d, int64_t blocks, const double *partial, float *stats) {
    IE_CU_FOR(i, d.batch * d.classes * 3) {
        int64_t n = i / (d.classes * 3), k = i % (d.classes * 3);
        double s = 0;
        for (int64_t b = 0; b < blocks; b++) s += partial[(n * blocks + b) * d.classes * 3 + k];
        stats[i] = (float)s;
    }
}

__global__ void dice_total_kernel(ie_cu_dice_args d, const float *stats, float *out) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double ratio = 0, I, S;
    for (int64_t n = 0; n < d.batch; n++)
        for (int64_t c = 0; c < d.classes; c++) {
            dice_terms(stats + (n * d.classes + c) * 3, d.spatial, &I, &S);
            ratio += (d.weights ? d.weights[c] : 1.0) * I / S;
        }
    out[0] = (float)(1.0 - 2.0 * ratio / dice_weight_norm(d.weights, d.batch, d.classes));
}

// One thread per (item, class): dL/dp = coef0 t + coef1 p.
__global__ void dice_coef_kernel(ie_cu_dice_args d, const float *stats, const float *g, double *coef) {
    double k = 2.0 * g[0] / dice_weight_norm(d.weights, d.batch, d.classes);
    IE_CU_FOR(i, d.batch * d.classes) {
        double I, S, wc = d.weights ? d.weights[i % d.classes] : 1.0;
        dice_terms(stats + i * 3, d.spatial, &I, &S);
        coef[2 * i] = -k * wc / S;
        coef[2 * i + 1] = k * wc * 2.0 * I / (S * S);
    }
}

__global__ void dice_backward_kernel(ie_cu_dice_args d, const double *coefs, float *grad) {
    IE_CU_FOR(v, d.batch * d.spatial) {
        int64_t n = v / d.spatial, s = v % d.spatial, y = label_at(d.labels, d.label_i64, v);
        int64_t base = n * d.classes * d.spatial + s;
        const float *x = d.logits + base;
        const double *coef = coefs + n * d.classes * 2;
        double lse = voxel_lse(x, d.classes, d.spatial), dot = 0;
        for (int64_t c = 0; c < d.classes; c++) {
            double p = exp(x[c * d.spatial] - lse);
            dot += p * (coef[2 * c] * (c == y) + coef[2 * c + 1] * p);
        }
        for (int64_t c = 0; c < d.classes; c++) {
            double p = exp(x[c * d.spatial] - lse);
            double dp = coef[2 * c] * (c == y) + coef[2 * c + 1] * p;
            grad[base + c * d.spatial] = (y < 0 || y >= d.classes) ? NAN : (float)(p * (dp - dot));
        }
    }
}

static int64_t dice_blocks(const ie_cu_dice_args &d) { return (d.spatial + IE_CU_LOSS_CHUNK - 1) / IE_CU_LOSS_CHUNK; }

int64_t ie_cu_dice_partials(ie_cu_dice_args d) { return d.batch * dice_blocks(d) * d.classes * 3; }

int ie_cu_dice(void *stream, ie_cu_dice_args d, double *partial, float *stats, float *out) {
    int64_t blocks = dice_blocks(d), tasks = d.batch * blocks * d.classes;
    cudaStream_t st = ie_cu_stream(stream);
    if (tasks > 0) dice_partial_kernel<<<chunk_blocks(tasks), LOSS_THREADS, 0, st>>>(d, blocks, partial);
    int64_t n_stats = d.batch * d.classes * 3;
    if (n_stats > 0) dice_stats_kernel<<<ie_cu_blocks(n_stats), IE_CU_THREADS, 0, st>>>(d, blocks, partial, stats);
    dice_total_kernel<<<1, 1, 0, st>>>(d, stats, out);
    return ie_cu_launched();
}

int ie_cu_dice_backward(void *stream, ie_cu_dice_args d, const float *stats, const float *g, double *coef, float *grad) {
    cudaStream_t st = ie_cu_stream(stream);
    int64_t pairs = d.batch * d.classes, voxels = d.batch * d.spatial;
    if (pairs <= 0 || voxels <= 0) return 0;
    dice_coef_kernel<<<ie_cu_blocks(pairs), IE_CU_THREADS, 0, st>>>(d, stats, g, coef);
    dice_backward_kernel<<<ie_cu_blocks(voxels), IE_CU_THREADS, 0, st>>>(d, coef, grad);
    return ie_cu_launched();
}

// ---------------- elementwise losses (0 MSE, 1 L1, 2 BCE) ----------------

__device__ static double softplus_neg(double x) { return log1p(exp(-fabs(x))) + (x < 0 ? -x : 0); }

__global__ void pair_loss_kernel(int kind, const float *pa, const float *pb, const float *pw, int64_t pw_len,
                                 int64_t n, double *partial) {
    __shared__ double sh[LOSS_THREADS];
    int64_t chunks = (n + IE_CU_LOSS_CHUNK - 1) / IE_CU_LOSS_CHUNK;
    for (int64_t chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
        int64_t lo = chunk * IE_CU_LOSS_CHUNK, hi = lo + IE_CU_LOSS_CHUNK < n ? lo + IE_CU_LOSS_CHUNK : n;
        double s = 0;
        for (int64_t i = lo + threadIdx.x; i < hi; i += LOSS_THREADS) {
            double a = pa[i], b = pb[i], d = a - b;
            if (kind == 0) {
                s += d * d;
            } else if (kind == 1) {
                s += fabs(d);
            } else {
                double lw = pw ? 1.0 + (pw[i % pw_len] - 1.0) * b : 1.0;
                s += (1.0 - b) * a + lw * softplus_neg(a);
            }
        }
        block_sum(sh, &s, 1);
        if (threadIdx.x == 0) partial[chunk] = s;
    }
}

__global__ void pair_total_kernel(const double *partial, int64_t chunks, int64_t n, float *out) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double s = 0;
    for (int64_t c = 0; c < chunks; c++) s += partial[c];
    out[0] = (float)(s / (double)n);
}

__global__ void pair_backward_kernel(int kind, const float *pa, const float *pb, const float *pw, int64_t pw_len,
                                     int64_t n, const float *g, float *ga, float *gb) {
    double scale = g[0] / (double)n;
    IE_CU_FOR(i, n) {
        double a = pa[i], b = pb[i], d = a - b, da = 0, db = 0;
        if (kind == 0) {
            da = 2 * d, db = -2 * d;
        } else if (kind == 1) {
            da = (d > 0) - (d < 0), db = -da;
        } else {
            double w = pw ? pw[i % pw_len] : 1.0, lw = 1.0 + (w - 1.0) * b;
            double sig_neg = a >= 0 ? exp(-a) / (1.0 + exp(-a)) : 1.0 / (1.0 + exp(a));
            da = (1.0 - b) - lw * sig_neg;
            db = -a + (w - 1.0) * softplus_neg(a);
        }
        if (ga) ga[i] = (float)(da * scale);
        if (gb) gb[i] = (float)(db * scale);
    }
}

int64_t ie_cu_pair_chunks(int64_t n) { return (n + IE_CU_LOSS_CHUNK - 1) / IE_CU_LOSS_CHUNK; }

int ie_cu_pair_loss(void *stream, int kind, const float *a, const float *b, const float *pw, int64_t pw_len,
                    int64_t n, double *partial, float *out) {
    int64_t chunks = ie_cu_pair_chunks(n);
    cudaStream_t st = ie_cu_stream(stream);
    if (chunks > 0) pair_loss_kernel<<<chunk_blocks(chunks), LOSS_THREADS, 0, st>>>(kind, a, b, pw, pw_len, n, partial);
    pair_total_kernel<<<1, 1, 0, st>>>(partial, chunks, n, out);
    return ie_cu_launched();
}

int ie_cu_pair_loss_backward(void *stream, int kind, const float *a, const float *b, const float *pw, int64_t pw_len,
                             int64_t n, const float *g, float *ga, float *gb) {
    if (n <= 0) return 0;
    pair_backward_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(kind, a, b, pw, pw_len, n, g, ga,
                                                                                     gb);
    return ie_cu_launched();
}
