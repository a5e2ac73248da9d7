// core/backend/cuda - max / average / global average pooling.
//
// Forward: one thread per output element, the CPU's window loop
// (core/backend/cpu/pool_cpu.c).  Backward in gather form: one thread per
// input-gradient element sums, in output order, the windows that cover it
// (the CPU's order too), so nothing is scattered and no atomics are needed.
#include "core/backend/cuda/cu_common.cuh"

struct pool_shape {
    int64_t in[3], out[3];
    int k[3], s[3], p[3];
};

__device__ static void window(int64_t o, int k, int s, int p, int64_t in, int64_t *lo, int64_t *hi) {
    int64_t start = o * s - p;
    *hi = start + k < in ? start + k : in;
    *lo = start > 0 ? start : 0;
}

// Outputs [*lo, *hi] (inclusive) whose windows cover input position i.
__device__ static void covering(int64_t i, int k, int s, int p, int64_t out, int64_t *lo, int64_t *hi) {
    int64_t a = i + p - k + 1;
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    int64_t h = (i + p) / s;
    *hi = h < out - 1 ? h : out - 1;
}

// mode 0: max (indices may be NULL), 1: average over the full kernel volume.
__global__ void pool_forward_kernel(pool_shape g, int64_t planes, int mode, const float *x, float *y, int32_t *ind) {
    int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2], hw = g.in[1] * g.in[2];
    int64_t in_plane = g.in[0] * hw;
    IE_CU_FOR(t, planes * OD * OH * OW) {
        int64_t ow = t % OW, oh = t / OW % OH, od = t / (OW * OH) % OD, p = t / (OW * OH * OD);
        int64_t d0, d1, h0, h1, w0, w1;
        window(od, g.k[0], g.s[0], g.p[0], g.in[0], &d0, &d1);
        window(oh, g.k[1], g.s[1], g.p[1], g.in[1], &h0, &h1);
        window(ow, g.k[2], g.s[2], g.p[2], g.in[2], &w0, &w1);
        const float *xp = x + p * in_plane;
        if (mode == 0) {
            // As PyTorch: -inf pointing at the window's first element; NaN takes over.
            int64_t best_at = d0 * hw + h0 * g.in[2] + w0;
            float best = -INFINITY;
            for (int64_t d = d0; d < d1; d++)
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) {
                        float v = xp[d * hw + h * g.in[2] + w];
                        if (v > best || isnan(v)) best = v, best_at = d * hw + h * g.in[2] + w;
                    }
            y[t] = best;
            if (ind) ind[t] = (int32_t)best_at;
        } else {
            double sum = 0.0;
            for (int64_t d = d0; d < d1; d++)
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) sum += xp[d * hw + h * g.in[2] + w];
            y[t] = (float)(sum / (double)(g.k[0] * g.k[1] * g.k[2]));
        }
    }
}

__global__ void pool_backward_kernel(pool_shape g, int64_t planes, int mode, const float *dy, const int32_t *ind,
                                     float *dx) {
    int64_t D = g.in[0], H = g.in[1], W = g.in[2], out_plane = g.out[0] * g.out[1] * g.out[2];
    float div = (float)(g.k[0] * g.k[1] * g.k[2]);
    IE_CU_FOR(t, planes * D * H * W) {
        int64_t iw = t % W, ih = t / W % H, id = t / (W * H) % D, p = t / (W * H * D);
        int32_t e = (int32_t)(t - p * D * H * W);
        int64_t od0, od1, oh0, oh1, ow0, ow1;
        covering(id, g.k[0], g.s[0], g.p[0], g.out[0], &od0, &od1);
        covering(ih, g.k[1], g.s[1], g.p[1], g.out[1], &oh0, &oh1);
        covering(iw, g.k[2], g.s[2], g.p[2], g.out[2], &ow0, &ow1);
        const float *dyp = dy + p * out_plane;
        const int32_t *ip = mode == 0 ? ind + p * out_plane : NULL;
        float acc = 0.0f;
        for (int64_t od = od0; od <= od1; od++)
            for (int64_t oh = oh0; oh <= oh1; oh++) {
                int64_t base = (od * g.out[1] + oh) * g.out[2];
                for (int64_t ow = ow0; ow <= ow1; ow++) {
                    if (mode == 0) {
                        if (ip[base + ow] == e) acc += dyp[base + ow];
                    } else {
                        acc += dyp[base + ow] / div;
                    }
                }
            }
        dx[t] = acc;
    }
}

static pool_shape shape_of(const int64_t in[3], const int64_t out[3], const int k[3], const int s[3], const int p[3]) {
    pool_shape g;
    for (int a = 0; a < 3; a++) g.in[a] = in[a], g.out[a] = out[a], g.k[a] = k[a], g.s[a] = s[a], g.p[a] = p[a];
    return g;
}

int ie_cu_pool_forward(void *stream, int mode, int64_t planes, const int64_t in[3], const int64_t out[3],
                       const int k[3], const int s[3], const int p[3], const float *x, float *y, int32_t *ind) {
    int64_t n = planes * out[0] * out[1] * out[2];
    if (n <= 0) return 0;
    pool_forward_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(shape_of(in, out, k, s, p),
                                                                                    planes, mode, x, y, ind);
    return ie_cu_launched();
}

int ie_cu_pool_backward(void *stream, int mode, int64_t planes, const int64_t in[3], const int64_t out[3],
                        const int k[3], const int s[3], const int p[3], const float *dy, const int32_t *ind,
                        float *dx) {
    int64_t n = planes * in[0] * in[1] * in[2];
    if (n <= 0) return 0;
    pool_backward_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, ie_cu_stream(stream)>>>(shape_of(in, out, k, s, p),
                                                                                     planes, mode, dy, ind, dx);
    return ie_cu_launched();
}

// Global average: one thread per plane; 8 lanes as the CPU (lane l takes
// elements i with i % 8 == l of the full groups of 8, the tail goes to lane
// 0), each lane in order, lanes added in order: the CPU's own sum.
__global__ void global_avg_kernel(const float *x, int64_t planes, int64_t spatial, float *y) {
    IE_CU_FOR(p, planes) {
        const float *xp = x + p * spatial;
        double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= spatial; i += 8)
            for (int l = 0; l < 8; l++) lane[l] += xp[i + l];
        for (; i < spatial; i++) lane[0] += xp[i];
        double s = 0.0;
        for (int l = 0; l < 8; l++) s += lane[l];
        y[p] = (float)(s / (double)spatial);
    }
}

__global__ void global_avg_backward_kernel(const float *dy, int64_t planes, int64_t spatial, float *dx) {
    float inv = 1.0f / (float)spatial;
    IE_CU_FOR(i, planes * spatial) dx[i] = dy[i / spatial] * inv;
}

int ie_cu_global_avg(void *stream, int backward, const float *src, int64_t planes, int64_t spatial, float *dst) {
    if (planes * spatial <= 0) return 0;
    cudaStream_t st = ie_cu_stream(stream);
    if (backward)
        global_avg_backward_kernel<<<ie_cu_blocks(planes * spatial), IE_CU_THREADS, 0, st>>>(src, planes, spatial, dst);
    else
        global_avg_kernel<<<ie_cu_blocks(planes), IE_CU_THREADS, 0, st>>>(src, planes, spatial, dst);
    return ie_cu_launched();
}
