// core/backend/cuda - sum, softmax, dropout and the linear layer's products.
//
// Deterministic by construction: every sum has a fixed shape (pieces of
// IE_CU_SUM_PIECE elements, a fixed tree inside each, pieces added in order),
// no atomics, and each output element of softmax and the products is owned by
// one thread that runs the CPU's own loop for it.
#include "core/backend/cuda/cu_common.cuh"

// ---- sum ----

__global__ void sum_piece_kernel(const float *x, int64_t n, double *partial) {
    __shared__ double sh[IE_CU_THREADS];
    int64_t lo = (int64_t)blockIdx.x * IE_CU_SUM_PIECE;
    int64_t hi = lo + IE_CU_SUM_PIECE < n ? lo + IE_CU_SUM_PIECE : n;
    double s = 0.0;
    for (int64_t i = lo + threadIdx.x; i < hi; i += IE_CU_THREADS) s += x[i];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int w = IE_CU_THREADS / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

__global__ void sum_combine_kernel(const double *partial, int64_t pieces, float scale, float *out) {
    double s = 0.0;
    for (int64_t k = 0; k < pieces; k++) s += partial[k];
    out[0] = (float)(s * scale);
}

int ie_cu_sum(void *stream, const float *x, int64_t n, float scale, double *partial, float *out) {
    cudaStream_t st = ie_cu_stream(stream);
    int64_t pieces = (n + IE_CU_SUM_PIECE - 1) / IE_CU_SUM_PIECE;
    if (pieces > 0) sum_piece_kernel<<<(unsigned)pieces, IE_CU_THREADS, 0, st>>>(x, n, partial);
    sum_combine_kernel<<<1, 1, 0, st>>>(partial, pieces, scale, out);
    return ie_cu_launched();
}

__global__ void fill_from_scalar_kernel(const float *g, float scale, float *o, int64_t n) {
    float v = g[0] * scale;
    IE_CU_FOR(i, n) o[i] = v;
}

int ie_cu_fill_from_scalar(void *stream, const float *g, float scale, float *out, int64_t n) {
    if (n <= 0) return 0;
    fill_from_scalar_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(g, scale, out, n);
    return ie_cu_launched();
}

// ---- softmax: one thread per (outer, inner) line, the CPU's loop over dim ----

__global__ void softmax_kernel(const float *x, int64_t outer, int64_t dim, int64_t inner, int take_log, float *out) {
    IE_CU_FOR(t, outer * inner) {
        int64_t o = t / inner, l = t % inner, base = o * dim * inner + l;
        float m = -INFINITY;
        for (int64_t c = 0; c < dim; c++) {
            float v = x[base + c * inner];
            m = v > m ? v : m;
        }
        double s = 0.0;
        for (int64_t c = 0; c < dim; c++) {
            float e = expf(x[base + c * inner] - m);
            s += e;
            if (!take_log) out[base + c * inner] = e;
        }
        if (take_log) { // (x - m) is exact near the maximum, as on the CPU
            float ls = (float)log(s);
            for (int64_t c = 0; c < dim; c++) out[base + c * inner] = (x[base + c * inner] - m) - ls;
        } else {
            float inv = (float)(1.0 / s);
            for (int64_t c = 0; c < dim; c++) out[base + c * inner] *= inv;
        }
    }
}

int ie_cu_softmax(void *stream, const float *x, int64_t outer, int64_t dim, int64_t inner, int take_log, float *out) {
    if (outer * inner <= 0) return 0;
    softmax_kernel<<<ie_cu_blocks(outer * inner), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(x, outer, dim, inner,
                                                                                           take_log, out);
    return ie_cu_launched();
}

// softmax: gx = y * (g - sum(g * y));  log_softmax: gx = g - exp(y) * sum(g).
__global__ void softmax_backward_kernel(const float *y, const float *g, int64_t outer, int64_t dim, int64_t inner,
                                        int take_log, float *out) {
    IE_CU_FOR(t, outer * inner) {
        int64_t o = t / inner, l = t % inner, base = o * dim * inner + l;
        double s = 0.0;
        for (int64_t c = 0; c < dim; c++) {
            int64_t at = base + c * inner;
            s += take_log ? (double)g[at] : (double)g[at] * y[at];
        }
        float sf = (float)s;
        for (int64_t c = 0; c < dim; c++) {
            int64_t at = base + c * inner;
            out[at] = take_log ? g[at] - expf(y[at]) * sf : y[at] * (g[at] - sf);
        }
    }
}

int ie_cu_softmax_backward(void *stream, const float *y, const float *g, int64_t outer, int64_t dim, int64_t inner,
                           int take_log, float *out) {
    if (outer * inner <= 0) return 0;
    softmax_backward_kernel<<<ie_cu_blocks(outer * inner), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(
        y, g, outer, dim, inner, take_log, out);
    return ie_cu_launched();
}

// ---- dropout: Philox-4x32-10 exactly as core/random/philox.c ----

__device__ static uint32_t philox_u32_at(uint64_t seed, uint32_t stream_id, uint32_t epoch, uint32_t item,
                                         uint64_t index) {
    uint64_t block = index >> 2;
    uint32_t c0 = (uint32_t)block, c1 = item ^ (uint32_t)(block >> 32) * 0x9E3779B9u, c2 = epoch, c3 = stream_id;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    uint32_t w = index & 3;
    return w == 0 ? c0 : w == 1 ? c1 : w == 2 ? c2 : c3;
}

__global__ void dropout_kernel(const float *x, float p, float scale, uint64_t seed, uint32_t stream_id,
                               uint32_t epoch, uint32_t item, float *out, int64_t n) {
    IE_CU_FOR(i, n) {
        float u = (float)(philox_u32_at(seed, stream_id, epoch, item, (uint64_t)i) >> 8) * (1.0f / 16777216.0f);
        out[i] = u < p ? 0.0f : x[i] * scale;
    }
}

int ie_cu_dropout(void *stream, const float *x, float p, float scale, uint64_t seed, uint32_t stream_id,
                  uint32_t epoch, uint32_t item, float *out, int64_t n) {
    if (n <= 0) return 0;
    dropout_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(x, p, scale, seed, stream_id, epoch,
                                                                               item, out, n);
    return ie_cu_launched();
}

// ---- the canonical product: c[i, j] = init[j] + sum_k a[i, k] b[k, j], fma in k order ----

__global__ void gemm_kernel(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_ks,
                            const float *b, int64_t b_ks, int64_t b_js, const float *init, float *c) {
    IE_CU_FOR(t, m * n) {
        int64_t i = t / n, j = t % n;
        float acc = init ? init[j] : 0.0f;
        for (int64_t q = 0; q < k; q++) acc = fmaf(a[i * a_rs + q * a_ks], b[q * b_ks + j * b_js], acc);
        c[t] = acc;
    }
}

int ie_cu_gemm(void *stream, int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_ks,
               const float *b, int64_t b_ks, int64_t b_js, const float *init, float *c) {
    if (m * n <= 0) return 0;
    gemm_kernel<<<ie_cu_blocks(m * n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(m, n, k, a, a_rs, a_ks, b, b_ks,
                                                                                b_js, init, c);
    return ie_cu_launched();
}

// gb[j] = sum over rows of g[rows, cols] in row order, in double (the CPU's order).
__global__ void column_sum_kernel(const float *g, int64_t rows, int64_t cols, float *out) {
    IE_CU_FOR(j, cols) {
        double s = 0.0;
        for (int64_t r = 0; r < rows; r++) s += g[r * cols + j];
        out[j] = (float)s;
    }
}

int ie_cu_column_sum(void *stream, const float *g, int64_t rows, int64_t cols, float *out) {
    if (cols <= 0) return 0;
    column_sum_kernel<<<ie_cu_blocks(cols), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(g, rows, cols, out);
    return ie_cu_launched();
}
