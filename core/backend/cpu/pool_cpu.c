/* core/backend/cpu - pooling and upsampling kernels.
 *
 * Forward passes cut the output into rows (plane, d, h) of W elements and hand
 * out fixed groups of rows.  Pooling backward gathers: each input-gradient
 * element sums, in output order, the contributions of the windows covering
 * it, which is the order PyTorch's scatter adds them in; where the windows
 * tile the input (each element in at most one), max pooling backward stores
 * each window's winner into a zeroed plane instead.  Upsampling backward
 * scatters, one task per plane, so no two tasks touch the same memory. */
#include <math.h>
#include <smmintrin.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"
#include "core/backend/upsample_source.h"

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---------------- row partition ---------------- */

typedef struct rows {
    int64_t count, per_task, width;
} rows;

/* Rows of `width` elements, grouped so a task touches about IE_CPU_CHUNK. */
static rows rows_make(int64_t count, int64_t width) {
    int64_t per = width > 0 ? IE_CPU_CHUNK / width : 1;
    return (rows){count, per < 1 ? 1 : per, width};
}

static int64_t rows_tasks(rows r) { return (r.count + r.per_task - 1) / r.per_task; }

/* Row r of a [planes, D, H, *] volume: its plane, d and h. */
static void row_coords(int64_t r, int64_t d_size, int64_t h_size, int64_t *p, int64_t *d, int64_t *h) {
    *h = r % h_size;
    r /= h_size;
    *d = r % d_size;
    *p = r / d_size;
}

/* Window [*lo, *hi) of input positions for output o along one axis. */
static void window(int64_t o, int k, int s, int p, int64_t in, int64_t *lo, int64_t *hi) {
    int64_t start = o * s - p;
    *hi = min64(start + k, in);
    *lo = max64(start, 0);
}

/* Outputs [*lo, *hi] (inclusive) whose windows cover input position i. */
static void covering(int64_t i, int k, int s, int p, int64_t out, int64_t *lo, int64_t *hi) {
    int64_t a = i + p - k + 1;
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    *hi = min64((i + p) / s, out - 1);
}

/* ---------------- max and average pooling ---------------- */

typedef struct pool_job {
    const ie_pool_geom *g;
    const float *src;
    float *dst;
    const int32_t *idx_in;
    int32_t *idx_out;
    rows r;
    const int64_t *cover[3]; /* backward: per axis, lo[in] then hi[in] */
} pool_job;

/* Per axis, the range of outputs covering each input position, computed
 * once per call instead of once per element. */
static ie_status cover_tables(const char *op, pool_job *j, int64_t **block) {
    const ie_pool_geom *g = j->g;
    *block = malloc((size_t)(2 * (g->in[0] + g->in[1] + g->in[2])) * sizeof **block);
    if (!*block) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory for the window tables", op);
    int64_t *t = *block;
    for (int a = 0; a < 3; a++) {
        j->cover[a] = t;
        for (int64_t i = 0; i < g->in[a]; i++)
            covering(i, g->kernel[a], g->stride[a], g->padding[a], g->out[a], &t[i], &t[g->in[a] + i]);
        t += 2 * g->in[a];
    }
    return IE_OK;
}

static void max_forward_task(void *ctx, int64_t task) {
    const pool_job *j = ctx;
    const ie_pool_geom *g = j->g;
    int64_t in_plane = g->in[0] * g->in[1] * g->in[2], hw = g->in[1] * g->in[2];
    int64_t r1 = min64((task + 1) * j->r.per_task, j->r.count);
    for (int64_t r = task * j->r.per_task; r < r1; r++) {
        int64_t p, od, oh, d0, d1, h0, h1;
        row_coords(r, g->out[0], g->out[1], &p, &od, &oh);
        window(od, g->kernel[0], g->stride[0], g->padding[0], g->in[0], &d0, &d1);
        window(oh, g->kernel[1], g->stride[1], g->padding[1], g->in[1], &h0, &h1);
        const float *x = j->src + p * in_plane;
        float *y = j->dst + r * g->out[2];
        int32_t *ind = j->idx_out ? j->idx_out + r * g->out[2] : NULL;
        for (int64_t ow = 0; ow < g->out[2]; ow++) {
            int64_t w0, w1;
            window(ow, g->kernel[2], g->stride[2], g->padding[2], g->in[2], &w0, &w1);
            /* As PyTorch: start at -inf pointing at the window's first element;
             * a NaN always takes over. */
            int64_t best_at = d0 * hw + h0 * g->in[2] + w0;
            float best = -INFINITY;
            for (int64_t d = d0; d < d1; d++)
                for (int64_t h = h0; h < h1; h++) {
                    int64_t base = d * hw + h * g->in[2];
                    for (int64_t w = w0; w < w1; w++) {
                        float v = x[base + w];
                        if (v > best || isnan(v)) {
                            best = v;
                            best_at = base + w;
                        }
                    }
                }
            y[ow] = best;
            if (ind) ind[ow] = (int32_t)best_at;
        }
    }
}

static void max_backward_task(void *ctx, int64_t task) {
    const pool_job *j = ctx;
    const ie_pool_geom *g = j->g;
    int64_t out_plane = g->out[0] * g->out[1] * g->out[2], hw = g->in[1] * g->in[2];
    const int64_t *cw = j->cover[2];
    int64_t r1 = min64((task + 1) * j->r.per_task, j->r.count);
    for (int64_t r = task * j->r.per_task; r < r1; r++) {
        int64_t p, id, ih;
        row_coords(r, g->in[0], g->in[1], &p, &id, &ih);
        int64_t od0 = j->cover[0][id], od1 = j->cover[0][g->in[0] + id];
        int64_t oh0 = j->cover[1][ih], oh1 = j->cover[1][g->in[1] + ih];
        const float *dy = j->src + p * out_plane;
        const int32_t *ind = j->idx_in + p * out_plane;
        float *dx = j->dst + r * g->in[2];
        int32_t e = (int32_t)(id * hw + ih * g->in[2]);
        for (int64_t iw = 0; iw < g->in[2]; iw++, e++) {
            float acc = 0.0f;
            for (int64_t od = od0; od <= od1; od++)
                for (int64_t oh = oh0; oh <= oh1; oh++) {
                    int64_t base = (od * g->out[1] + oh) * g->out[2];
                    for (int64_t ow = cw[iw]; ow <= cw[g->in[2] + iw]; ow++)
                        if (ind[base + ow] == e) acc += dy[base + ow];
                }
            dx[iw] = acc;
        }
    }
}

/* ---- windows that tile the input (kernel == stride, no padding) ----
 * U-Nets' and classifiers' 2x2(x2) max pooling: every input belongs to at
 * most one window, every window lies inside the input.  Same comparisons in
 * the same order as above, but over a whole output row at once so the loops
 * vectorise. */
#define TILED_MAX_W 4096

static bool tiled_windows(const ie_pool_geom *g) {
    for (int a = 0; a < 3; a++)
        if (g->kernel[a] != g->stride[a] || g->padding[a] != 0) return false;
    return g->out[2] <= TILED_MAX_W;
}

/* Tasks hold whole planes (rows need no coordinate divisions); planes_per_task
 * is fixed by the shape. */
typedef struct tiled_job {
    const ie_pool_geom *g;
    const float *src;
    float *dst;
    const int32_t *idx_in;
    int32_t *idx_out;
    int64_t planes, planes_per_task;
} tiled_job;

IE_CPU_CLONES static void max_forward_tiled_task(void *ctx, int64_t task) {
    const tiled_job *j = ctx;
    const ie_pool_geom *g = j->g;
    const int64_t in_plane = g->in[0] * g->in[1] * g->in[2], hw = g->in[1] * g->in[2], OW = g->out[2];
    const int64_t out_plane = g->out[0] * g->out[1] * OW;
    const int s2 = g->stride[2];
    float best[TILED_MAX_W];
    int32_t at[TILED_MAX_W];
    const int64_t p1 = min64((task + 1) * j->planes_per_task, j->planes);
    for (int64_t p = task * j->planes_per_task; p < p1; p++)
        for (int64_t od = 0; od < g->out[0]; od++)
            for (int64_t oh = 0; oh < g->out[1]; oh++) {
                const int64_t d0 = od * g->stride[0], h0 = oh * g->stride[1];
                const float *x = j->src + p * in_plane;
                const int32_t first = (int32_t)(d0 * hw + h0 * g->in[2]);
                for (int64_t ow = 0; ow < OW; ow++) {
                    best[ow] = -INFINITY;
                    at[ow] = first + (int32_t)(ow * s2);
                }
                for (int dd = 0; dd < g->kernel[0]; dd++)
                    for (int hh = 0; hh < g->kernel[1]; hh++) {
                        const int32_t base = (int32_t)((d0 + dd) * hw + (h0 + hh) * g->in[2]);
                        const float *row = x + base;
                        for (int ww = 0; ww < g->kernel[2]; ww++)
                            for (int64_t ow = 0; ow < OW; ow++) {
                                float v = row[ow * s2 + ww];
                                bool take = v > best[ow] || isnan(v);
                                best[ow] = take ? v : best[ow];
                                at[ow] = take ? base + (int32_t)(ow * s2 + ww) : at[ow];
                            }
                    }
                const int64_t o = p * out_plane + (od * g->out[1] + oh) * OW;
                memcpy(j->dst + o, best, (size_t)OW * sizeof(float));
                if (j->idx_out) memcpy(j->idx_out + o, at, (size_t)OW * sizeof(int32_t));
            }
}

/* Every input lies in at most one window, so dx is zero except at each
 * window's winner, which gets 0.0f + dy (the general loop's sum of one term:
 * -0 becomes +0).  Indices come from max_forward; one outside the plane is
 * dropped rather than written. */
static void max_backward_tiled_task(void *ctx, int64_t task) {
    const tiled_job *j = ctx;
    const ie_pool_geom *g = j->g;
    const int64_t out_plane = g->out[0] * g->out[1] * g->out[2], in_plane = g->in[0] * g->in[1] * g->in[2];
    const int64_t p1 = min64((task + 1) * j->planes_per_task, j->planes);
    for (int64_t p = task * j->planes_per_task; p < p1; p++) {
        float *dx = j->dst + p * in_plane;
        const float *dy = j->src + p * out_plane;
        const int32_t *ind = j->idx_in + p * out_plane;
        memset(dx, 0, (size_t)in_plane * sizeof(float));
        for (int64_t o = 0; o < out_plane; o++)
            if (ind[o] >= 0 && ind[o] < in_plane) dx[ind[o]] = 0.0f + dy[o];
    }
}

/* ---- (k, 2, 2) windows: 2-D and 3-D U-Nets' and classifiers' pooling ----
 * Four outputs at a time with SSE4.1 (in every x86-64-v2 CPU, the build's
 * baseline): two loads of a window row give its even and odd columns.  The
 * comparisons are the general loop's, in its (d, h, w) order, so values and
 * indices are the same bytes. */
/* SSE4.1 is in the x86-64-v2 baseline of the Release build (-march); the
 * attribute lets Debug and sanitizer builds, compiled without -march,
 * build the same code. */
#define POOL_SSE41 __attribute__((target("sse4.1")))

POOL_SSE41 static inline void take4(__m128 v, __m128i idx, __m128 *best, __m128i *at) {
    const __m128 take = _mm_or_ps(_mm_cmpgt_ps(v, *best), _mm_cmpunord_ps(v, v));
    *best = _mm_blendv_ps(*best, v, take);
    *at = _mm_castps_si128(_mm_blendv_ps(_mm_castsi128_ps(*at), _mm_castsi128_ps(idx), take));
}

static inline void take1(float v, int32_t idx, float *best, int32_t *at) {
    if (v > *best || isnan(v)) {
        *best = v;
        *at = idx;
    }
}

static bool windows_k22(const ie_pool_geom *g) {
    return tiled_windows(g) && g->kernel[1] == 2 && g->kernel[2] == 2;
}

POOL_SSE41 static void max_forward_k22_task(void *ctx, int64_t task) {
    const tiled_job *j = ctx;
    const ie_pool_geom *g = j->g;
    const int64_t in_plane = g->in[0] * g->in[1] * g->in[2], hw = g->in[1] * g->in[2], W = g->in[2];
    const int64_t OW = g->out[2], out_plane = g->out[0] * g->out[1] * OW;
    const int k0 = g->kernel[0];
    const int64_t p1 = min64((task + 1) * j->planes_per_task, j->planes);
    for (int64_t p = task * j->planes_per_task; p < p1; p++)
        for (int64_t od = 0; od < g->out[0]; od++)
            for (int64_t oh = 0; oh < g->out[1]; oh++) {
                const int64_t d0 = od * k0, h0 = oh * 2;
                const float *x = j->src + p * in_plane;
                const int32_t first = (int32_t)(d0 * hw + h0 * W);
                const int64_t o = p * out_plane + (od * g->out[1] + oh) * OW;
                float *y = j->dst + o;
                int32_t *ind = j->idx_out ? j->idx_out + o : NULL;
                int64_t ow = 0;
                for (; ow + 4 <= OW; ow += 4) {
                    __m128 best = _mm_set1_ps(-INFINITY);
                    const __m128i col = _mm_add_epi32(_mm_set1_epi32((int32_t)(2 * ow)), _mm_setr_epi32(0, 2, 4, 6));
                    __m128i at = _mm_add_epi32(_mm_set1_epi32(first), col);
                    for (int dd = 0; dd < k0; dd++)
                        for (int hh = 0; hh < 2; hh++) {
                            const int32_t base = (int32_t)((d0 + dd) * hw + (h0 + hh) * W);
                            const float *row = x + base + 2 * ow;
                            const __m128 a = _mm_loadu_ps(row), b = _mm_loadu_ps(row + 4);
                            const __m128i even = _mm_add_epi32(_mm_set1_epi32(base), col);
                            take4(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), even, &best, &at);
                            take4(_mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)),
                                  _mm_add_epi32(even, _mm_set1_epi32(1)), &best, &at);
                        }
                    _mm_storeu_ps(y + ow, best);
                    if (ind) _mm_storeu_si128((__m128i *)(ind + ow), at);
                }
                for (; ow < OW; ow++) {
                    float best = -INFINITY;
                    int32_t at = first + (int32_t)(2 * ow);
                    for (int dd = 0; dd < k0; dd++)
                        for (int hh = 0; hh < 2; hh++) {
                            const int32_t base = (int32_t)((d0 + dd) * hw + (h0 + hh) * W + 2 * ow);
                            take1(x[base], base, &best, &at);
                            take1(x[base + 1], base + 1, &best, &at);
                        }
                    y[ow] = best;
                    if (ind) ind[ow] = at;
                }
            }
}

static void run_tiled(tiled_job *j, int64_t plane_size, void (*task)(void *, int64_t)) {
    j->planes_per_task = plane_size > 0 && plane_size < IE_CPU_CHUNK ? IE_CPU_CHUNK / plane_size : 1;
    ie_parallel_for((j->planes + j->planes_per_task - 1) / j->planes_per_task, task, j);
}

static int64_t kernel_volume(const ie_pool_geom *g) {
    return (int64_t)g->kernel[0] * g->kernel[1] * g->kernel[2];
}

static void avg_forward_task(void *ctx, int64_t task) {
    const pool_job *j = ctx;
    const ie_pool_geom *g = j->g;
    int64_t in_plane = g->in[0] * g->in[1] * g->in[2], hw = g->in[1] * g->in[2];
    double div = (double)kernel_volume(g);
    int64_t r1 = min64((task + 1) * j->r.per_task, j->r.count);
    for (int64_t r = task * j->r.per_task; r < r1; r++) {
        int64_t p, od, oh, d0, d1, h0, h1;
        row_coords(r, g->out[0], g->out[1], &p, &od, &oh);
        window(od, g->kernel[0], g->stride[0], g->padding[0], g->in[0], &d0, &d1);
        window(oh, g->kernel[1], g->stride[1], g->padding[1], g->in[1], &h0, &h1);
        const float *x = j->src + p * in_plane;
        float *y = j->dst + r * g->out[2];
        for (int64_t ow = 0; ow < g->out[2]; ow++) {
            int64_t w0, w1;
            window(ow, g->kernel[2], g->stride[2], g->padding[2], g->in[2], &w0, &w1);
            double sum = 0;
            for (int64_t d = d0; d < d1; d++)
                for (int64_t h = h0; h < h1; h++) {
                    const float *xr = x + d * hw + h * g->in[2];
                    for (int64_t w = w0; w < w1; w++) sum += xr[w];
                }
            y[ow] = (float)(sum / div);
        }
    }
}

static void avg_backward_task(void *ctx, int64_t task) {
    const pool_job *j = ctx;
    const ie_pool_geom *g = j->g;
    int64_t out_plane = g->out[0] * g->out[1] * g->out[2];
    const int64_t *cw = j->cover[2];
    float div = (float)kernel_volume(g);
    int64_t r1 = min64((task + 1) * j->r.per_task, j->r.count);
    for (int64_t r = task * j->r.per_task; r < r1; r++) {
        int64_t p, id, ih;
        row_coords(r, g->in[0], g->in[1], &p, &id, &ih);
        int64_t od0 = j->cover[0][id], od1 = j->cover[0][g->in[0] + id];
        int64_t oh0 = j->cover[1][ih], oh1 = j->cover[1][g->in[1] + ih];
        const float *dy = j->src + p * out_plane;
        float *dx = j->dst + r * g->in[2];
        for (int64_t iw = 0; iw < g->in[2]; iw++) {
            float acc = 0.0f;
            for (int64_t od = od0; od <= od1; od++)
                for (int64_t oh = oh0; oh <= oh1; oh++) {
                    const float *dyr = dy + (od * g->out[1] + oh) * g->out[2];
                    for (int64_t ow = cw[iw]; ow <= cw[g->in[2] + iw]; ow++) acc += dyr[ow] / div;
                }
            dx[iw] = acc;
        }
    }
}

static void run_rows(pool_job *j, int64_t count, int64_t width, void (*fn)(void *, int64_t)) {
    j->r = rows_make(count, width);
    ie_parallel_for(rows_tasks(j->r), fn, j);
}

static int64_t out_rows(const ie_pool_geom *g) { return g->planes * g->out[0] * g->out[1]; }
static int64_t in_rows(const ie_pool_geom *g) { return g->planes * g->in[0] * g->in[1]; }

static ie_status cpu_max_forward(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g, ie_tensor *y,
                                 ie_tensor *indices) {
    (void)ctx;
    pool_job j = {.g = g, .src = ie_f32(x), .dst = ie_f32(y),
                  .idx_out = indices ? (int32_t *)ie_tensor_ptr(indices) : NULL};
    if (tiled_windows(g)) {
        tiled_job t = {.g = g, .src = j.src, .dst = j.dst, .idx_out = j.idx_out, .planes = x->shape[0] * x->shape[1]};
        run_tiled(&t, g->out[0] * g->out[1] * g->out[2],
                  windows_k22(g) ? max_forward_k22_task : max_forward_tiled_task);
        return IE_OK;
    }
    run_rows(&j, out_rows(g), g->out[2], max_forward_task);
    return IE_OK;
}

static ie_status cpu_max_backward(ie_device_ctx *ctx, const ie_tensor *dy, const ie_tensor *indices,
                                  const ie_pool_geom *g, ie_tensor *dx) {
    (void)ctx;
    pool_job j = {.g = g, .src = ie_f32(dy), .dst = ie_f32(dx),
                  .idx_in = (const int32_t *)ie_tensor_ptr(indices)};
    if (tiled_windows(g)) {
        tiled_job t = {.g = g, .src = j.src, .dst = j.dst, .idx_in = j.idx_in, .planes = dx->shape[0] * dx->shape[1]};
        run_tiled(&t, g->in[0] * g->in[1] * g->in[2], max_backward_tiled_task);
        return IE_OK;
    }
    int64_t *tables;
    IE_TRY(cover_tables("max_pool backward", &j, &tables));
    run_rows(&j, in_rows(g), g->in[2], max_backward_task);
    free(tables);
    return IE_OK;
}

static ie_status cpu_avg_forward(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g,
                                 ie_tensor *y) {
    (void)ctx;
    pool_job j = {.g = g, .src = ie_f32(x), .dst = ie_f32(y)};
    run_rows(&j, out_rows(g), g->out[2], avg_forward_task);
    return IE_OK;
}

static ie_status cpu_avg_backward(ie_device_ctx *ctx, const ie_tensor *dy, const ie_pool_geom *g,
                                  ie_tensor *dx) {
    (void)ctx;
    pool_job j = {.g = g, .src = ie_f32(dy), .dst = ie_f32(dx)};
    int64_t *tables;
    IE_TRY(cover_tables("avg_pool backward", &j, &tables));
    run_rows(&j, in_rows(g), g->in[2], avg_backward_task);
    free(tables);
    return IE_OK;
}

/* ---------------- global average pooling ---------------- */

typedef struct global_job {
    const float *src;
    float *dst;
    int64_t planes, spatial;
} global_job;

/* One task per plane; eight double lanes keep the sum fast and its order fixed. */
static void global_forward_task(void *ctx, int64_t p) {
    const global_job *j = ctx;
    const float *x = j->src + p * j->spatial;
    double lane[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= j->spatial; i += 8)
        for (int l = 0; l < 8; l++) lane[l] += x[i + l];
    for (; i < j->spatial; i++) lane[0] += x[i];
    double s = 0;
    for (int l = 0; l < 8; l++) s += lane[l];
    j->dst[p] = (float)(s / (double)j->spatial);
}

static void global_backward_task(void *ctx, int64_t chunk) {
    const global_job *j = ctx;
    int64_t n = j->planes * j->spatial, lo = chunk * IE_CPU_CHUNK, hi = min64(lo + IE_CPU_CHUNK, n);
    float inv = 1.0f / (float)j->spatial;
    for (int64_t i = lo; i < hi; i++) j->dst[i] = j->src[i / j->spatial] * inv;
}

static ie_status cpu_global_avg_forward(ie_device_ctx *ctx, const ie_tensor *x, int64_t planes,
                                        int64_t spatial, ie_tensor *y) {
    (void)ctx;
    global_job j = {ie_f32(x), ie_f32(y), planes, spatial};
    ie_parallel_for(planes, global_forward_task, &j);
    return IE_OK;
}

static ie_status cpu_global_avg_backward(ie_device_ctx *ctx, const ie_tensor *dy, int64_t planes,
                                         int64_t spatial, ie_tensor *dx) {
    (void)ctx;
    global_job j = {ie_f32(dy), ie_f32(dx), planes, spatial};
    ie_parallel_for(ie_cpu_chunks(planes * spatial), global_backward_task, &j);
    return IE_OK;
}

/* ---------------- upsampling ---------------- */

/* Source positions of every output index along one axis
 * (upsample_source.h, PyTorch 1.13's arithmetic). */
typedef struct axis_map {
    int64_t *i0, *i1;
    float *l0, *l1;
    bool identity; /* in == out: out[o] = in[o] */
} axis_map;

typedef struct up_job {
    const ie_pool_geom *g;
    axis_map ax[3];
    bool linear;
    const float *src;
    float *dst;
    rows r;
} up_job;

/* One block holds the three axis maps; freed with free(block). */
static ie_status axis_maps(const char *op, const ie_pool_geom *g, ie_upsample_mode mode,
                           bool align_corners, up_job *j, void **block) {
    int64_t total = g->out[0] + g->out[1] + g->out[2];
    char *mem = malloc((size_t)total * (2 * sizeof(int64_t) + 2 * sizeof(float)));
    if (!mem) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory for the index tables", op);
    *block = mem;
    int64_t *ints = (int64_t *)mem;
    float *floats = (float *)(ints + 2 * total);
    j->linear = mode == IE_UPSAMPLE_LINEAR;
    for (int a = 0; a < 3; a++) {
        int64_t in = g->in[a], out = g->out[a];
        axis_map *m = &j->ax[a];
        m->i0 = ints;
        m->i1 = ints + out;
        m->l0 = floats;
        m->l1 = floats + out;
        ints += 2 * out;
        floats += 2 * out;
        m->identity = in == out;
        for (int64_t o = 0; o < out; o++) {
            ie_upsample_source src = ie_upsample_source_of(o, in, out, j->linear, align_corners);
            m->i0[o] = src.i0;
            m->i1[o] = src.i1;
            m->l0[o] = src.l0;
            m->l1[o] = src.l1;
        }
    }
    return IE_OK;
}

static void up_forward_task(void *ctx, int64_t task) {
    const up_job *j = ctx;
    const ie_pool_geom *g = j->g;
    const axis_map *ad = &j->ax[0], *ah = &j->ax[1], *aw = &j->ax[2];
    int64_t in_plane = g->in[0] * g->in[1] * g->in[2], hw = g->in[1] * g->in[2];
    int64_t r1 = min64((task + 1) * j->r.per_task, j->r.count);
    for (int64_t r = task * j->r.per_task; r < r1; r++) {
        int64_t p, od, oh;
        row_coords(r, g->out[0], g->out[1], &p, &od, &oh);
        const float *x = j->src + p * in_plane;
        float *y = j->dst + r * g->out[2];
        if (!j->linear) {
            const float *xr = x + ad->i0[od] * hw + ah->i0[oh] * g->in[2];
            for (int64_t ow = 0; ow < g->out[2]; ow++) y[ow] = xr[aw->i0[ow]];
            continue;
        }
        /* Innermost axis first, as PyTorch's separable weights nest. */
        const float *x00 = x + ad->i0[od] * hw + ah->i0[oh] * g->in[2];
        const float *x01 = x + ad->i0[od] * hw + ah->i1[oh] * g->in[2];
        const float *x10 = x + ad->i1[od] * hw + ah->i0[oh] * g->in[2];
        const float *x11 = x + ad->i1[od] * hw + ah->i1[oh] * g->in[2];
        float d0 = ad->l0[od], d1 = ad->l1[od], h0 = ah->l0[oh], h1 = ah->l1[oh];
        for (int64_t ow = 0; ow < g->out[2]; ow++) {
            int64_t w0i = aw->i0[ow], w1i = aw->i1[ow];
            float w0 = aw->l0[ow], w1 = aw->l1[ow];
            float near = (x00[w0i] * w0 + x00[w1i] * w1) * h0 + (x01[w0i] * w0 + x01[w1i] * w1) * h1;
            if (ad->identity) {
                y[ow] = near;
                continue;
            }
            float far = (x10[w0i] * w0 + x10[w1i] * w1) * h0 + (x11[w0i] * w0 + x11[w1i] * w1) * h1;
            y[ow] = near * d0 + far * d1;
        }
    }
}

/* One task per plane: the plane's input gradient is this task's alone. */
static void up_backward_task(void *ctx, int64_t p) {
    const up_job *j = ctx;
    const ie_pool_geom *g = j->g;
    const axis_map *ad = &j->ax[0], *ah = &j->ax[1], *aw = &j->ax[2];
    int64_t in_plane = g->in[0] * g->in[1] * g->in[2], hw = g->in[1] * g->in[2];
    int64_t out_plane = g->out[0] * g->out[1] * g->out[2];
    float *dx = j->dst + p * in_plane;
    const float *dy = j->src + p * out_plane;
    memset(dx, 0, (size_t)in_plane * sizeof *dx);
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++) {
            const float *gr = dy + (od * g->out[1] + oh) * g->out[2];
            if (!j->linear) {
                float *xr = dx + ad->i0[od] * hw + ah->i0[oh] * g->in[2];
                for (int64_t ow = 0; ow < g->out[2]; ow++) xr[aw->i0[ow]] += gr[ow];
                continue;
            }
            /* The order of PyTorch's backward: corner 000, 001, 010, ... */
            int nd = ad->identity ? 1 : 2;
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
                float v = gr[ow];
                for (int a = 0; a < nd; a++) {
                    int64_t id = a ? ad->i1[od] : ad->i0[od];
                    float wd = nd == 1 ? 1.0f : a ? ad->l1[od] : ad->l0[od];
                    for (int b = 0; b < 2; b++) {
                        int64_t ih = b ? ah->i1[oh] : ah->i0[oh];
                        float wh = b ? ah->l1[oh] : ah->l0[oh];
                        float *xr = dx + id * hw + ih * g->in[2];
                        xr[aw->i0[ow]] += wd * wh * aw->l0[ow] * v;
                        xr[aw->i1[ow]] += wd * wh * aw->l1[ow] * v;
                    }
                }
            }
        }
}

static ie_status cpu_upsample_forward(ie_device_ctx *ctx, const ie_tensor *x, const ie_pool_geom *g,
                                      ie_upsample_mode mode, bool align_corners, ie_tensor *y) {
    (void)ctx;
    up_job j = {.g = g, .src = ie_f32(x), .dst = ie_f32(y)};
    void *block;
    IE_TRY(axis_maps("upsample", g, mode, align_corners, &j, &block));
    j.r = rows_make(out_rows(g), g->out[2]);
    ie_parallel_for(rows_tasks(j.r), up_forward_task, &j);
    free(block);
    return IE_OK;
}

static ie_status cpu_upsample_backward(ie_device_ctx *ctx, const ie_tensor *dy, const ie_pool_geom *g,
                                       ie_upsample_mode mode, bool align_corners, ie_tensor *dx) {
    (void)ctx;
    up_job j = {.g = g, .src = ie_f32(dy), .dst = ie_f32(dx)};
    void *block;
    IE_TRY(axis_maps("upsample backward", g, mode, align_corners, &j, &block));
    ie_parallel_for(g->planes, up_backward_task, &j);
    free(block);
    return IE_OK;
}

const struct ie_pool_kernels ie_cpu_pool_kernels = {
    .max_forward = cpu_max_forward,
    .max_backward = cpu_max_backward,
    .avg_forward = cpu_avg_forward,
    .avg_backward = cpu_avg_backward,
    .global_avg_forward = cpu_global_avg_forward,
    .global_avg_backward = cpu_global_avg_backward,
    .upsample_forward = cpu_upsample_forward,
    .upsample_backward = cpu_upsample_backward,
};
