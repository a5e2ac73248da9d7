// core/backend/cuda - max / average / global average pooling.
//
// Forward: one thread per output element, the CPU's window loop
// (core/backend/cpu/pool_cpu.c).  Backward in gather form: one thread per
// input-gradient element sums, in output order, the windows that cover it
// (the CPU's order too), so nothing is scattered and no atomics are needed.
#include "core/backend/cuda/cu_common.cuh"
#include "core/backend/upsample_source.h"

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

// ---------------- upsampling ----------------
//
// Source positions along one axis: upsample_source.h, the same definition
// (and so the same positions and weights) as the CPU's.

struct up_shape {
    int64_t in[3], out[3];
    int linear, align_corners;
};

// One thread per output element, pool_cpu.c's up_forward_task expression.
__global__ void upsample_forward_kernel(up_shape g, int64_t planes, const float *x, float *y) {
    int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2], W = g.in[2], hw = g.in[1] * g.in[2];
    int64_t in_plane = g.in[0] * hw;
    IE_CU_FOR(t, planes * OD * OH * OW) {
        int64_t ow = t % OW, oh = t / OW % OH, od = t / (OW * OH) % OD, p = t / (OW * OH * OD);
        ie_upsample_source d = ie_upsample_source_of(od, g.in[0], OD, g.linear, g.align_corners);
        ie_upsample_source h = ie_upsample_source_of(oh, g.in[1], OH, g.linear, g.align_corners);
        ie_upsample_source w = ie_upsample_source_of(ow, g.in[2], OW, g.linear, g.align_corners);
        const float *xp = x + p * in_plane;
        if (!g.linear) {
            y[t] = xp[d.i0 * hw + h.i0 * W + w.i0];
            continue;
        }
        const float *x00 = xp + d.i0 * hw + h.i0 * W, *x01 = xp + d.i0 * hw + h.i1 * W;
        const float *x10 = xp + d.i1 * hw + h.i0 * W, *x11 = xp + d.i1 * hw + h.i1 * W;
        float near = (x00[w.i0] * w.l0 + x00[w.i1] * w.l1) * h.l0 + (x01[w.i0] * w.l0 + x01[w.i1] * w.l1) * h.l1;
        if (g.in[0] == OD) {
            y[t] = near;
            continue;
        }
        float far = (x10[w.i0] * w.l0 + x10[w.i1] * w.l1) * h.l0 + (x11[w.i0] * w.l0 + x11[w.i1] * w.l1) * h.l1;
        y[t] = near * d.l0 + far * d.l1;
    }
}

// Outputs [*lo, *hi] whose sources along this axis include input i: the
// sources' i0 is nondecreasing in the output index and i1 is i0 or i0 + 1,
// so they are the outputs with i0 in [i - 1, i], found by binary search.
__device__ static void up_covering(int64_t i, int64_t in, int64_t out, int linear, int align_corners, int64_t *lo,
                                   int64_t *hi) {
    int64_t a = 0, b = out; // first o with i0(o) >= i - 1
    while (a < b) {
        int64_t m = a + (b - a) / 2;
        if (ie_upsample_source_of(m, in, out, linear, align_corners).i0 >= i - 1) b = m; else a = m + 1;
    }
    *lo = a;
    a = 0, b = out; // first o with i0(o) > i
    while (a < b) {
        int64_t m = a + (b - a) / 2;
        if (ie_upsample_source_of(m, in, out, linear, align_corners).i0 > i) b = m; else a = m + 1;
    }
    *hi = a - 1;
}

// One thread per input-gradient element: the sum, in pool_cpu.c's scatter
// order (outputs in order; corners d, h; then the w0 and w1 terms), of the
// contributions the CPU's up_backward_task adds to this element.
__global__ void upsample_backward_kernel(up_shape g, int64_t planes, const float *dy, float *dx) {
    int64_t D = g.in[0], H = g.in[1], W = g.in[2], OD = g.out[0], OH = g.out[1], OW = g.out[2];
    int64_t out_plane = OD * OH * OW;
    bool d_identity = D == OD;
    IE_CU_FOR(t, planes * D * H * W) {
        int64_t iw = t % W, ih = t / W % H, id = t / (W * H) % D, p = t / (W * H * D);
        int64_t od0, od1, oh0, oh1, ow0, ow1;
        up_covering(id, D, OD, g.linear, g.align_corners, &od0, &od1);
        up_covering(ih, H, OH, g.linear, g.align_corners, &oh0, &oh1);
        up_covering(iw, W, OW, g.linear, g.align_corners, &ow0, &ow1);
        const float *gp = dy + p * out_plane;
        float acc = 0.0f;
        for (int64_t od = od0; od <= od1; od++) {
            ie_upsample_source sd = ie_upsample_source_of(od, D, OD, g.linear, g.align_corners);
            for (int64_t oh = oh0; oh <= oh1; oh++) {
                ie_upsample_source sh = ie_upsample_source_of(oh, H, OH, g.linear, g.align_corners);
                const float *gr = gp + (od * OH + oh) * OW;
                for (int64_t ow = ow0; ow <= ow1; ow++) {
                    ie_upsample_source sw = ie_upsample_source_of(ow, W, OW, g.linear, g.align_corners);
                    float v = gr[ow];
                    if (!g.linear) {
                        if (sd.i0 == id && sh.i0 == ih && sw.i0 == iw) acc += v;
                        continue;
                    }
                    int nd = d_identity ? 1 : 2;
                    for (int a = 0; a < nd; a++) {
                        if ((a ? sd.i1 : sd.i0) != id) continue;
                        float wd = nd == 1 ? 1.0f : a ? sd.l1 : sd.l0;
                        for (int b = 0; b < 2; b++) {
                            if ((b ? sh.i1 : sh.i0) != ih) continue;
                            float wh = b ? sh.l1 : sh.l0;
                            if (sw.i0 == iw) acc += wd * wh * sw.l0 * v;
                            if (sw.i1 == iw) acc += wd * wh * sw.l1 * v;
                        }
                    }
                }
            }
        }
        dx[t] = acc;
    }
}

int ie_cu_upsample(void *stream, int backward, int linear, int align_corners, int64_t planes, const int64_t in[3],
                   const int64_t out[3], const float *src, float *dst) {
    up_shape g;
    for (int a = 0; a < 3; a++) g.in[a] = in[a], g.out[a] = out[a];
    g.linear = linear, g.align_corners = align_corners;
    cudaStream_t st = ie_cu_stream(stream);
    int64_t n = planes * (backward ? in[0] * in[1] * in[2] : out[0] * out[1] * out[2]);
    if (n <= 0) return 0;
    if (backward)
        upsample_backward_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, st>>>(g, planes, src, dst);
    else
        upsample_forward_kernel<<<ie_cu_blocks(n), IE_CU_THREADS, 0, st>>>(g, planes, src, dst);
    return ie_cu_launched();
}
