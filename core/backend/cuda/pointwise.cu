// core/backend/cuda - elementwise kernels, fill and channel sums.
//
// This folder is compiled with --fmad=false, so a * b + c is two roundings as
// on the CPU (built with -ffp-contract=off); the arithmetic of each element
// is spelled exactly as core/backend/cpu/pointwise_cpu.c spells it, and the
// results are the CPU's bit for bit except where a libm function differs
// (expf, tanhf: CUDA's are within 2 ulp, not glibc's).
#include "core/backend/cuda/cu_common.cuh"

__global__ void fill_kernel(float *p, int64_t n, float v) {
    IE_CU_FOR(i, n) p[i] = v;
}

int ie_cu_fill_f32(void *stream, float *p, int64_t n, float v) {
    if (n <= 0) return 0;
    fill_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(p, n, v);
    return ie_cu_launched();
}

// op: IE_BINARY_ADD 0, SUB 1, MUL 2.
__global__ void binary_kernel(int op, const float *a, const float *b, int bkind, int64_t channels, int64_t inner,
                              float *out, int64_t n) {
    IE_CU_FOR(i, n) {
        float bv = bkind == 0 ? b[i] : bkind == 1 ? b[0] : b[(i / inner) % channels];
        float av = a[i];
        out[i] = op == 0 ? av + bv : op == 1 ? av - bv : av * bv;
    }
}

int ie_cu_binary(void *stream, int op, const float *a, const float *b, int bkind, int64_t channels, int64_t inner,
                 float *out, int64_t n) {
    if (n <= 0) return 0;
    binary_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(op, a, b, bkind, channels, inner,
                                                                              out, n);
    return ie_cu_launched();
}

// op: RELU 0, LEAKY_RELU 1, SIGMOID 2, TANH 3, AFFINE 4.
__global__ void unary_kernel(int op, const float *x, float param, float param2, float *o, int64_t n) {
    IE_CU_FOR(i, n) {
        float v = x[i];
        switch (op) {
        case 0: o[i] = v > 0.0f ? v : 0.0f; break;
        case 1: o[i] = v > 0.0f ? v : v * param; break;
        case 2: o[i] = 1.0f / (1.0f + expf(-v)); break;
        case 3: o[i] = tanhf(v); break;
        default: o[i] = param * v + param2; break;
        }
    }
}

int ie_cu_unary(void *stream, int op, const float *x, float param, float param2, float *out, int64_t n) {
    if (n <= 0) return 0;
    unary_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(op, x, param, param2, out, n);
    return ie_cu_launched();
}

__global__ void unary_backward_kernel(int op, const float *s, const float *g, float param, float *o, int64_t n) {
    IE_CU_FOR(i, n) {
        switch (op) {
        case 0: o[i] = s[i] > 0.0f ? g[i] : 0.0f; break;
        case 1: o[i] = s[i] > 0.0f ? g[i] : g[i] * param; break;
        case 2: o[i] = g[i] * s[i] * (1.0f - s[i]); break;
        case 3: o[i] = g[i] * (1.0f - s[i] * s[i]); break;
        default: o[i] = g[i] * param; break;
        }
    }
}

int ie_cu_unary_backward(void *stream, int op, const float *saved, const float *g, float param, float *out,
                         int64_t n) {
    if (n <= 0) return 0;
    unary_backward_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(op, saved, g, param, out, n);
    return ie_cu_launched();
}

// One block per (channel, outer) row: threads take strided elements in
// double, then a fixed tree combines the threads.  (The CPU sums each row
// in index order; the row sums differ from it by double rounding only.)
__global__ void channel_row_kernel(const float *x, int64_t outer, int64_t channels, int64_t inner,
                                   double *partial) {
    __shared__ double sh[IE_CU_THREADS];
    int64_t task = blockIdx.x, c = task / outer, o = task % outer;
    const float *row = x + (o * channels + c) * inner;
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < inner; i += IE_CU_THREADS) s += row[i];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int w = IE_CU_THREADS / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[task] = sh[0];
}

// Rows of a channel combine in outer order, as on the CPU.
__global__ void channel_combine_kernel(const double *partial, int64_t outer, int64_t channels, float *out) {
    IE_CU_FOR(c, channels) {
        double s = 0.0;
        for (int64_t k = 0; k < outer; k++) s += partial[c * outer + k];
        out[c] = (float)s;
    }
}

int ie_cu_channel_sum(void *stream, const float *x, int64_t outer, int64_t channels, int64_t inner,
                      double *partial, float *out) {
    if (channels <= 0) return 0;
    cudaStream_t st = ie_cu_stream(stream);
    if (outer > 0)
        channel_row_kernel<<<(unsigned)(outer * channels), IE_CU_THREADS, 0, st>>>(x, outer, channels, inner,
                                                                                 partial);
    channel_combine_kernel<<<ie_cu_blocks(channels), IE_CU_THREADS, 0, st>>>(partial, outer, channels, out);
    return ie_cu_launched();
}
