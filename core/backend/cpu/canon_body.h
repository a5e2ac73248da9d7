/* core/backend/cpu - the canonical kernels' code, compiled once per CPU path.
 *
 * canon_generic.c, canon_avx2.c and canon_avx512.c each define CANON_TABLE
 * (and the vector layer's IE_SIMD_* switch) and include this file; CMake
 * compiles each with its instruction set.  The arithmetic order of every
 * output is the one canon_kernels.h states; tile sizes, vector widths and
 * task cuts below only decide which outputs are computed together.
 *
 * Convolutions of every geometry are run as one "gather" over source planes:
 * a strided source is first split into stride^3 phase planes (so every tap
 * reads consecutive voxels of one plane), and then
 *
 *   dst[c, j] = bias[c] + sum over taps t, source channels s of W_t[s, c] * plane_t[s, j + q_t]
 *
 * with taps skipped where j + q_t leaves the plane.  The forward conv gathers
 * from x; backward_data splits the input voxels into stride^3 residue classes,
 * each a stride-1 gather from gy with its own taps, written with a stride. */
#include <stdlib.h>
#include <string.h>

#include "core/backend/cpu/canon_kernels.h"
#include "core/backend/cpu/conv_cpu_internal.h"
#include "core/backend/cpu/simd.h"

/* Register tiles: output channels x vectors for the gather, channels for the
 * weight gradient, rows x vectors for the matrix product. */
#if VL == 16
#define GATHER_CB 8
#define GATHER_NV 2
#define WGRAD_CB 8
#define GEMM_MR 6
#define GEMM_NR 2
#elif VL == 8
#define GATHER_CB 4 /* 8 accumulators leave room for masks without spills */
#define GATHER_NV 2
#define WGRAD_CB 4
#define GEMM_MR 4
#define GEMM_NR 2
#else
#define GATHER_CB 4
#define GATHER_NV 4
#define WGRAD_CB 4
#define GEMM_MR 4
#define GEMM_NR 4
#endif
#define LANE_VECS (16 / VL) /* vectors per 16-lane weight-gradient accumulator */
#define MAXK IE_CANON_MAX_KERNEL
#define SEG IE_CANON_WGRAD_SEGMENT
#define GATHER_TASK_VOXELS 2048 /* voxels per gather task (any cut gives the same bytes) */
#define GEMM_ROWS 64             /* rows per matrix-product task */

static inline int64_t cmin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t cmax(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t floor_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

/* ---------------- source planes ---------------- */

/* The source as the gather reads it: [batch][channels][phases][pm0][pm1][pm2],
 * phases = s0 * s1 * s2 (one plane, the source itself, when not strided). */
typedef struct planes {
    const float *base;
    int64_t nstride, cstride, pvol;
    int64_t pm[3];
    int64_t in[3];
    int s[3];
} planes;

/* Voxels of phase p along a dimension of size n cut with stride s. */
static inline int64_t phase_extent(int64_t n, int s, int64_t p) { return n > p ? (n - p + s - 1) / s : 0; }

typedef struct split_job {
    const float *x;
    float *xs;
    const planes *pl;
} split_job;

static void split_task(void *ctx, int64_t task) {
    const split_job *j = ctx;
    const planes *pl = j->pl;
    const int64_t ivol = pl->in[0] * pl->in[1] * pl->in[2];
    const float *src = j->x + task * ivol;
    float *dst = j->xs + task * pl->cstride;
    memset(dst, 0, (size_t)pl->cstride * sizeof(float));
    for (int pd = 0; pd < pl->s[0]; pd++)
        for (int ph = 0; ph < pl->s[1]; ph++)
            for (int pw = 0; pw < pl->s[2]; pw++) {
                float *plane = dst + (((int64_t)pd * pl->s[1] + ph) * pl->s[2] + pw) * pl->pvol;
                int64_t e0 = phase_extent(pl->in[0], pl->s[0], pd), e1 = phase_extent(pl->in[1], pl->s[1], ph),
                        e2 = phase_extent(pl->in[2], pl->s[2], pw);
                for (int64_t i0 = 0; i0 < e0; i0++)
                    for (int64_t i1 = 0; i1 < e1; i1++) {
                        const float *row = src + ((i0 * pl->s[0] + pd) * pl->in[1] + i1 * pl->s[1] + ph) * pl->in[2] + pw;
                        float *out = plane + (i0 * pl->pm[1] + i1) * pl->pm[2];
                        for (int64_t i2 = 0; i2 < e2; i2++) out[i2] = row[i2 * pl->s[2]];
                    }
            }
}

/* Planes of x [batch][ch][in] for strides s; *owned receives the split copy
 * (NULL when x is read in place). */
static ie_status make_planes(const float *x, int64_t batch, int64_t ch, const int64_t in[3], const int s[3],
                             planes *pl, ie_tensor **owned) {
    *owned = NULL;
    int64_t phases = 1;
    for (int d = 0; d < 3; d++) {
        pl->in[d] = in[d];
        pl->s[d] = s[d];
        pl->pm[d] = cdiv(in[d], s[d]);
        phases *= s[d];
    }
    pl->pvol = pl->pm[0] * pl->pm[1] * pl->pm[2];
    pl->cstride = phases * pl->pvol;
    pl->nstride = ch * pl->cstride;
    pl->base = x;
    if (phases == 1 || batch * ch == 0) return IE_OK;
    IE_TRY(ie_conv_temp(batch * ch * pl->cstride, owned));
    split_job sj = {x, ie_f32(*owned), pl};
    ie_parallel_for(batch * ch, split_task, &sj);
    pl->base = ie_f32(*owned);
    return IE_OK;
}

/* ---------------- taps ---------------- */

/* Per dimension: the kernel index of each tap, its shift inside the plane it
 * reads, that plane's extent and the plane's offset (in floats). */
typedef struct taps3 {
    int n[3];
    int k[3][MAXK];
    int64_t q[3][MAXK];
    int64_t ext[3][MAXK];
    int64_t poff[3][MAXK];
} taps3;

static ie_status check_kernel(const char *op, const ie_conv_geom *g) {
    for (int d = 0; d < 3; d++)
        if (g->kernel[d] > MAXK || g->kernel[d] < 1 || g->stride[d] < 1 || g->dil[d] < 1)
            return ie_error_set(IE_ERR_UNSUPPORTED,
                                "%s: kernel %d, stride %d, dilation %d in dimension %d is outside what the CPU "
                                "kernels take (kernel 1..%d, stride and dilation >= 1)",
                                op, g->kernel[d], g->stride[d], g->dil[d], d, MAXK);
    return IE_OK;
}

/* Forward taps: input position o*s - p + k*dil = (o + q)*s + phase. */
static void forward_taps(const ie_conv_geom *g, const planes *pl, taps3 *t) {
    const int64_t phase_step[3] = {(int64_t)pl->s[1] * pl->s[2] * pl->pvol, (int64_t)pl->s[2] * pl->pvol, pl->pvol};
    for (int d = 0; d < 3; d++) {
        t->n[d] = g->kernel[d];
        for (int k = 0; k < g->kernel[d]; k++) {
            int64_t off = (int64_t)k * g->dil[d] - g->pad[d];
            int64_t ph = floor_mod(off, g->stride[d]);
            t->k[d][k] = k;
            t->q[d][k] = (off - ph) / g->stride[d];
            t->ext[d][k] = phase_extent(g->in[d], g->stride[d], ph);
            t->poff[d][k] = ph * phase_step[d];
        }
    }
}

/* ---------------- the gather (forward, backward data) ---------------- */

typedef struct gclass {
    taps3 taps;
    int64_t grid[3], res[3];
    const float *wp; /* [taps][csrc][cpad] */
} gclass;

typedef struct gather_job {
    planes src;
    int64_t csrc;
    const gclass *cls;
    int64_t ncls;
    int64_t cdst, cpad, nblk;
    const float *bias;
    float *dst;
    int64_t dst_nstride, dst_cstride, ddim[3];
    int64_t step[3]; /* dst position = grid position * step + res */
    int64_t batch, rows_per_task, tasks_per_cls;
} gather_job;

typedef struct grow {
    int64_t nr;
    int64_t off[MAXK * MAXK]; /* offset of each valid (a, b) tap row in a channel's planes */
    int64_t tap[MAXK * MAXK]; /* its first tap index (a * n1 + b) * n2 */
} grow;

/* One tap column of a tile: acc += W[s] * x[s] over the source channels.
 * m holds the lanes the tap reads inside its plane and the row.  mload: other
 * lanes must not be read; mfma: some of them are inside the row (padding for
 * this tap) and are skipped, not added as zero products (canon_kernels.h).
 * Lanes past the row's end compute garbage that is never stored. */
static inline __attribute__((always_inline)) void gather_column(vf acc[GATHER_CB][GATHER_NV], const float *xp,
                                                                const float *wt, int64_t csrc, int64_t cs,
                                                                int64_t cpad, const vmask *m, const bool mload,
                                                                const bool mfma) {
    for (int64_t s = 0; s < csrc; s++) {
        vf xv[GATHER_NV];
        for (int v = 0; v < GATHER_NV; v++)
            xv[v] = mload ? vf_load_m(m[v], xp + s * cs + v * VL) : vf_load(xp + s * cs + v * VL);
        for (int cc = 0; cc < GATHER_CB; cc++) {
            vf wv = vf_set1(wt[s * cpad + cc]);
            for (int v = 0; v < GATHER_NV; v++)
                acc[cc][v] = mfma ? vf_fma_m(m[v], xv[v], wv, acc[cc][v]) : vf_fma(xv[v], wv, acc[cc][v]);
        }
    }
}

static __attribute__((noinline)) void column_plain(vf acc[GATHER_CB][GATHER_NV], const float *xp, const float *wt,
                                                   int64_t csrc, int64_t cs, int64_t cpad, const vmask *m) {
    gather_column(acc, xp, wt, csrc, cs, cpad, m, false, false);
}
static __attribute__((noinline)) void column_tail(vf acc[GATHER_CB][GATHER_NV], const float *xp, const float *wt,
                                                   int64_t csrc, int64_t cs, int64_t cpad, const vmask *m) {
    gather_column(acc, xp, wt, csrc, cs, cpad, m, true, false);
}
static __attribute__((noinline)) void column_masked(vf acc[GATHER_CB][GATHER_NV], const float *xp, const float *wt,
                                                   int64_t csrc, int64_t cs, int64_t cpad, const vmask *m) {
    gather_column(acc, xp, wt, csrc, cs, cpad, m, true, true);
}

/* GATHER_CB channels x GATHER_NV vectors at grid columns jw.. of one row. */
static void gather_tile(const gather_job *j, const gclass *c, const grow *r, const float *srcn, int64_t jw,
                        int64_t c0, int64_t cb, float *drow) {
    const taps3 *t = &c->taps;
    const int64_t cs = j->src.cstride, cpad = j->cpad, csrc = j->csrc, GW = c->grid[2];
    const int64_t ncol = cmin(GATHER_NV * VL, GW - jw);
    vf acc[GATHER_CB][GATHER_NV];
    for (int cc = 0; cc < GATHER_CB; cc++) {
        vf b = vf_set1(j->bias && cc < cb ? j->bias[c0 + cc] : 0.0f);
        for (int v = 0; v < GATHER_NV; v++) acc[cc][v] = b;
    }
    /* per tap column: the lanes it reads, and which column kernel it needs */
    typedef void (*column_fn)(vf[GATHER_CB][GATHER_NV], const float *, const float *, int64_t, int64_t, int64_t,
                              const vmask *);
    column_fn fn[MAXK];
    vmask m[MAXK][GATHER_NV];
    for (int e = 0; e < t->n[2]; e++) {
        const int64_t lo = -t->q[2][e], hi = t->ext[2][e] - t->q[2][e]; /* columns the tap reads inside */
        bool padding = false;
        for (int v = 0; v < GATHER_NV; v++) {
            uint32_t read = 0;
            for (int l = 0; l < VL; l++) {
                int64_t col = jw + v * VL + l;
                bool inside = col >= lo && col < hi;
                if (inside && col < GW) read |= 1u << l;
                if (!inside && col < GW) padding = true;
            }
            m[e][v] = vm_bits(read);
        }
        fn[e] = padding ? column_masked : ncol < GATHER_NV * VL ? column_tail : column_plain;
    }
    for (int64_t ri = 0; ri < r->nr; ri++)
        for (int e = 0; e < t->n[2]; e++) {
            /* masked lanes never load, so the address may lie outside the plane */
            const float *xp = (const float *)((uintptr_t)srcn + (uintptr_t)(r->off[ri] + t->poff[2][e] + jw +
                                                                              t->q[2][e]) * sizeof(float));
            fn[e](acc, xp, c->wp + (r->tap[ri] + e) * csrc * cpad + c0, csrc, cs, cpad, m[e]);
        }
    for (int cc = 0; cc < cb; cc++) {
        float *yc = drow + (c0 + cc) * j->dst_cstride;
        if (j->step[2] == 1 && ncol == GATHER_NV * VL) {
            for (int v = 0; v < GATHER_NV; v++) vf_store(yc + jw + v * VL, acc[cc][v]);
        } else {
            float tmp[GATHER_NV * VL];
            for (int v = 0; v < GATHER_NV; v++) vf_store(tmp + v * VL, acc[cc][v]);
            for (int64_t l = 0; l < ncol; l++) yc[(jw + l) * j->step[2]] = tmp[l];
        }
    }
}

static void gather_row(const gather_job *j, const gclass *c, int64_t n, int64_t blk, int64_t jd, int64_t jh) {
    const taps3 *t = &c->taps;
    const planes *pl = &j->src;
    grow r;
    r.nr = 0;
    for (int a = 0; a < t->n[0]; a++) {
        int64_t sd = jd + t->q[0][a];
        if (sd < 0 || sd >= t->ext[0][a]) continue;
        for (int b = 0; b < t->n[1]; b++) {
            int64_t sh = jh + t->q[1][b];
            if (sh < 0 || sh >= t->ext[1][b]) continue;
            r.off[r.nr] = t->poff[0][a] + t->poff[1][b] + (sd * pl->pm[1] + sh) * pl->pm[2];
            r.tap[r.nr] = ((int64_t)a * t->n[1] + b) * t->n[2];
            r.nr++;
        }
    }
    const int64_t GW = c->grid[2];
    const float *srcn = pl->base + n * pl->nstride;
    float *drow = j->dst + n * j->dst_nstride +
                  ((jd * j->step[0] + c->res[0]) * j->ddim[1] + jh * j->step[1] + c->res[1]) * j->ddim[2] + c->res[2];
    const int64_t c0 = blk * GATHER_CB, cb = cmin(GATHER_CB, j->cdst - c0);
    for (int64_t jw = 0; jw < GW; jw += GATHER_NV * VL) gather_tile(j, c, &r, srcn, jw, c0, cb, drow);
}

static void gather_task(void *ctx, int64_t task) {
    const gather_job *j = ctx;
    int64_t rest = task;
    const int64_t chunk = rest % j->tasks_per_cls;
    rest /= j->tasks_per_cls;
    const int64_t blk = rest % j->nblk;
    rest /= j->nblk;
    const int64_t ci = rest % j->ncls, n = rest / j->ncls;
    const gclass *c = &j->cls[ci];
    const int64_t rows = c->grid[0] * c->grid[1];
    for (int64_t row = chunk * j->rows_per_task; row < cmin(rows, (chunk + 1) * j->rows_per_task); row++)
        gather_row(j, c, n, blk, row / c->grid[1], row % c->grid[1]);
}

typedef struct pack_job {
    const float *w;
    float *wp;
    const taps3 *t;
    int64_t csrc, cdst, cpad, s_stride, d_stride;
    int kernel[3];
} pack_job;

/* wp[tap][s][d] = w[d * d_stride + s * s_stride + kernel index of tap] (0 for padded d). */
static void pack_task(void *ctx, int64_t tap) {
    const pack_job *j = ctx;
    const taps3 *t = j->t;
    int a = (int)(tap / ((int64_t)t->n[1] * t->n[2])), b = (int)((tap / t->n[2]) % t->n[1]), e = (int)(tap % t->n[2]);
    int64_t k = ((int64_t)t->k[0][a] * j->kernel[1] + t->k[1][b]) * j->kernel[2] + t->k[2][e];
    float *dst = j->wp + tap * j->csrc * j->cpad;
    for (int64_t s = 0; s < j->csrc; s++)
        for (int64_t d = 0; d < j->cpad; d++)
            dst[s * j->cpad + d] = d < j->cdst ? j->w[d * j->d_stride + s * j->s_stride + k] : 0.0f;
}

static int64_t taps_total(const taps3 *t) { return (int64_t)t->n[0] * t->n[1] * t->n[2]; }

/* Packs each class's weights, then runs the gather. */
static ie_status run_gather(gather_job *j, gclass *cls, const float *w, int64_t s_stride, int64_t d_stride,
                            const int kernel[3]) {
    j->cpad = cdiv(j->cdst, GATHER_CB) * GATHER_CB;
    j->nblk = j->cpad / GATHER_CB;
    int64_t total = 0, max_rows = 1, min_gw = INT64_MAX;
    for (int64_t c = 0; c < j->ncls; c++) {
        total += taps_total(&cls[c].taps) * j->csrc * j->cpad;
        max_rows = cmax(max_rows, cls[c].grid[0] * cls[c].grid[1]);
        min_gw = cmin(min_gw, cmax(cls[c].grid[2], 1));
    }
    ie_tensor *wp_t = NULL;
    IE_TRY(ie_conv_temp(total, &wp_t));
    float *wp = ie_f32(wp_t);
    for (int64_t c = 0; c < j->ncls; c++) {
        cls[c].wp = wp;
        pack_job pj = {w, wp, &cls[c].taps, j->csrc, j->cdst, j->cpad, s_stride, d_stride,
                       {kernel[0], kernel[1], kernel[2]}};
        ie_parallel_for(taps_total(&cls[c].taps), pack_task, &pj);
        wp += taps_total(&cls[c].taps) * j->csrc * j->cpad;
    }
    j->rows_per_task = cmax(1, GATHER_TASK_VOXELS / min_gw);
    j->tasks_per_cls = cdiv(max_rows, j->rows_per_task);
    ie_parallel_for(j->batch * j->ncls * j->nblk * j->tasks_per_cls, gather_task, j);
    ie_tensor_release(wp_t);
    return IE_OK;
}

static ie_status canon_conv_forward(const ie_conv_geom *g, const float *x, const float *w, const float *bias,
                                    float *y) {
    const int64_t ovol = ie_conv_vol(g->out);
    if (g->batch == 0 || g->cout == 0 || ovol == 0) return IE_OK;
    IE_TRY(check_kernel("conv", g));
    gclass *cls = calloc(1, sizeof *cls);
    if (!cls) return ie_error_set(IE_ERR_NOMEM, "conv: out of memory");
    ie_tensor *owned = NULL;
    gather_job j = {.csrc = g->cin, .cls = cls, .ncls = 1, .cdst = g->cout, .bias = bias, .dst = y,
                    .dst_nstride = g->cout * ovol, .dst_cstride = ovol,
                    .ddim = {g->out[0], g->out[1], g->out[2]}, .step = {1, 1, 1}, .batch = g->batch};
    ie_status st = make_planes(x, g->batch, g->cin, g->in, g->stride, &j.src, &owned);
    if (st == IE_OK) {
        forward_taps(g, &j.src, &cls->taps);
        for (int d = 0; d < 3; d++) cls->grid[d] = g->out[d];
        st = run_gather(&j, cls, w, ie_conv_ktaps(g), g->cin * ie_conv_ktaps(g), g->kernel);
    }
    ie_tensor_release(owned);
    free(cls);
    return st;
}

static ie_status canon_conv_backward_data(const ie_conv_geom *g, const float *gy, const float *w,
                                          const float *bias, float *gx) {
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out);
    if (g->batch == 0 || g->cin == 0 || ivol == 0) return IE_OK;
    IE_TRY(check_kernel("conv backward", g));
    const int64_t ncls = (int64_t)g->stride[0] * g->stride[1] * g->stride[2];
    gclass *cls = calloc((size_t)ncls, sizeof *cls);
    if (!cls) return ie_error_set(IE_ERR_NOMEM, "conv backward: out of memory");
    gather_job j = {.csrc = g->cout, .cls = cls, .ncls = ncls, .cdst = g->cin, .bias = bias, .dst = gx,
                    .dst_nstride = g->cin * ivol, .dst_cstride = ivol, .ddim = {g->in[0], g->in[1], g->in[2]},
                    .step = {g->stride[0], g->stride[1], g->stride[2]}, .batch = g->batch};
    j.src = (planes){.base = gy, .nstride = g->cout * ovol, .cstride = ovol, .pvol = ovol,
                     .pm = {g->out[0], g->out[1], g->out[2]}, .in = {g->out[0], g->out[1], g->out[2]},
                     .s = {1, 1, 1}};
    for (int64_t c = 0; c < ncls; c++) {
        gclass *k = &cls[c];
        k->res[0] = c / ((int64_t)g->stride[1] * g->stride[2]);
        k->res[1] = (c / g->stride[2]) % g->stride[1];
        k->res[2] = c % g->stride[2];
        for (int d = 0; d < 3; d++) {
            k->grid[d] = phase_extent(g->in[d], g->stride[d], k->res[d]);
            int n = 0;
            for (int kk = 0; kk < g->kernel[d]; kk++) {
                /* input i = s*j + r is read by output o = (i + p - k*dil) / s when exact */
                int64_t num = k->res[d] + g->pad[d] - (int64_t)kk * g->dil[d];
                if (floor_mod(num, g->stride[d]) != 0) continue;
                k->taps.k[d][n] = kk;
                k->taps.q[d][n] = num / g->stride[d];
                k->taps.ext[d][n] = g->out[d];
                k->taps.poff[d][n] = 0;
                n++;
            }
            k->taps.n[d] = n;
        }
    }
    ie_status st = run_gather(&j, cls, w, g->cin * ie_conv_ktaps(g), ie_conv_ktaps(g), g->kernel);
    free(cls);
    return st;
}

/* ---------------- weight gradient ---------------- */

static const float wgrad_zeros[SEG + 16];

typedef struct wgrad_job {
    const ie_conv_geom *g;
    planes xp;
    taps3 taps;
    const float *gy;
    int64_t gvol, ktaps, wsize, groups, nblk, ncg;
    float *partial; /* [wave][cout][cin][ktaps] */
    int64_t wave_first; /* first group of the current wave */
    ie_conv_failure fail;
} wgrad_job;

/* Where one tap reads for each lane of a segment: per 16-lane vector the
 * lanes inside the plane, and either a base offset (lanes read base + l) or,
 * when the lanes are not consecutive, each lane's offset. */
typedef struct tap_map {
    int32_t off[SEG];
    uint32_t bits[SEG / 16];
    int64_t base[SEG / 16];
    uint8_t contiguous[SEG / 16];
} tap_map;

typedef struct seg_coords {
    int64_t len, nvec;
    int32_t c[3][SEG];
} seg_coords;

static void map_tap(const wgrad_job *j, const seg_coords *sc, int a, int b, int e, tap_map *m) {
    const taps3 *t = &j->taps;
    const planes *pl = &j->xp;
    const int64_t poff = t->poff[0][a] + t->poff[1][b] + t->poff[2][e];
    for (int64_t v = 0; v < sc->nvec; v++) {
        uint32_t bits = 0;
        int64_t base = 0;
        int first = -1;
        bool contiguous = true;
        for (int l = 0; l < 16; l++) {
            int64_t jj = v * 16 + l;
            int32_t off = -1;
            if (jj < sc->len) {
                int64_t s0 = sc->c[0][jj] + t->q[0][a], s1 = sc->c[1][jj] + t->q[1][b], s2 = sc->c[2][jj] + t->q[2][e];
                if (s0 >= 0 && s0 < t->ext[0][a] && s1 >= 0 && s1 < t->ext[1][b] && s2 >= 0 && s2 < t->ext[2][e]) {
                    off = (int32_t)(poff + (s0 * pl->pm[1] + s1) * pl->pm[2] + s2);
                    bits |= 1u << l;
                    if (first < 0) {
                        first = l;
                        base = off - l;
                    } else if (off != base + l) {
                        contiguous = false;
                    }
                }
            }
            m->off[jj] = off >= 0 ? off : 0;
        }
        m->bits[v] = bits;
        m->base[v] = base;
        m->contiguous[v] = contiguous;
    }
}

/* Sums one tap of one input channel for WGRAD_CB output channels over a
 * segment: out[c] = tree of the 16 lane sums. */
static void wgrad_tap(const tap_map *m, int64_t nvec, const float *xc, const float *const *grow, int64_t len,
                      float *out) {
    vf acc[WGRAD_CB][LANE_VECS];
    for (int c = 0; c < WGRAD_CB; c++)
        for (int s = 0; s < LANE_VECS; s++) acc[c][s] = vf_zero();
    for (int64_t v = 0; v < nvec; v++) {
        const uint32_t bits = m->bits[v];
        if (!bits) continue;
        const bool full = (v + 1) * 16 <= len;
        const uint32_t tail = full ? 0xffffu : (1u << (len - v * 16)) - 1u;
        for (int s = 0; s < LANE_VECS; s++) {
            const int64_t l0 = v * 16 + s * VL;
            const vmask mk = vm_bits(bits >> (s * VL));
            vf xv = m->contiguous[v] ? vf_load_m(mk, xc + m->base[v] + s * VL) : vf_gather_m(mk, xc, m->off + l0);
            const vmask mt = vm_bits(tail >> (s * VL));
            for (int c = 0; c < WGRAD_CB; c++) {
                vf gv = full ? vf_load(grow[c] + l0) : vf_load_m(mt, grow[c] + l0);
                acc[c][s] = vf_fma_m(mk, gv, xv, acc[c][s]);
            }
        }
    }
    for (int c = 0; c < WGRAD_CB; c++) {
        float lanes[16];
        for (int s = 0; s < LANE_VECS; s++) vf_store(lanes + s * VL, acc[c][s]);
        out[c] = ie_canon_tree16(lanes);
    }
}

/* Segment [ja, jb) of batch item n, output channels of blocks [b0, b1). */
static void wgrad_segment(wgrad_job *j, int64_t n, int64_t ja, int64_t jb, int64_t b0, int64_t b1, float *part) {
    const ie_conv_geom *g = j->g;
    const taps3 *t = &j->taps;
    seg_coords *sc = (seg_coords *)ie_conv_scratch(2, sizeof(seg_coords) / sizeof(float) + 1);
    tap_map *m = (tap_map *)ie_conv_scratch(3, sizeof(tap_map) / sizeof(float) + 1);
    if (!sc || !m) {
        ie_conv_fail(&j->fail);
        return;
    }
    sc->len = jb - ja;
    sc->nvec = cdiv(sc->len, 16);
    const int64_t GH = g->out[1], GW = g->out[2];
    for (int64_t jj = 0; jj < sc->len; jj++) {
        int64_t v = ja + jj;
        sc->c[0][jj] = (int32_t)(v / (GH * GW));
        sc->c[1][jj] = (int32_t)((v / GW) % GH);
        sc->c[2][jj] = (int32_t)(v % GW);
    }
    const int64_t cin = g->cin, cout = g->cout, T = j->ktaps;
    const float *xn = j->xp.base + n * j->xp.nstride;
    const float *gn = j->gy + n * cout * j->gvol + ja;
    for (int a = 0; a < t->n[0]; a++)
        for (int b = 0; b < t->n[1]; b++)
            for (int e = 0; e < t->n[2]; e++) {
                const int64_t tap = ((int64_t)a * t->n[1] + b) * t->n[2] + e;
                map_tap(j, sc, a, b, e, m);
                for (int64_t bi = b0; bi < b1; bi++) {
                    const int64_t c0 = bi * WGRAD_CB, valid = cmin(WGRAD_CB, cout - c0);
                    const float *grow[WGRAD_CB];
                    for (int c = 0; c < WGRAD_CB; c++) grow[c] = c < valid ? gn + (c0 + c) * j->gvol : wgrad_zeros;
                    for (int64_t ci = 0; ci < cin; ci++) {
                        float sums[WGRAD_CB];
                        wgrad_tap(m, sc->nvec, xn + ci * j->xp.cstride, grow, sc->len, sums);
                        for (int c = 0; c < valid; c++) part[((c0 + c) * cin + ci) * T + tap] += sums[c];
                    }
                }
            }
}

static void wgrad_task(void *ctx, int64_t task) {
    wgrad_job *j = ctx;
    const int64_t grp = task / j->ncg, cg = task % j->ncg;
    const int64_t b0 = cg * j->nblk / j->ncg, b1 = (cg + 1) * j->nblk / j->ncg;
    const int64_t cin = j->g->cin, cout = j->g->cout, T = j->ktaps;
    float *part = j->partial + grp * j->wsize;
    const int64_t group = j->wave_first + grp;
    const int64_t c_lo = b0 * WGRAD_CB, c_hi = cmin(b1 * WGRAD_CB, cout);
    if (c_hi > c_lo) memset(part + c_lo * cin * T, 0, (size_t)((c_hi - c_lo) * cin * T) * sizeof(float));
    const int64_t total = j->g->batch * j->gvol;
    int64_t lo = group * IE_CANON_WGRAD_GROUP;
    const int64_t hi = cmin(lo + IE_CANON_WGRAD_GROUP, total);
    while (lo < hi) {
        int64_t n = lo / j->gvol, ja = lo % j->gvol;
        int64_t jb = cmin(j->gvol, ja + (hi - lo));
        if (jb - ja > SEG) jb = ja + SEG;
        wgrad_segment(j, n, ja, jb, b0, b1, part);
        lo += jb - ja;
    }
}

typedef struct gsum_job {
    const float *partial;
    float *out;
    int64_t groups, size;
    bool first; /* the first wave: out starts as its group 0 */
} gsum_job;

/* out = ((out + p0) + p1) + ...: the groups folded in order. */
static void gsum_task(void *ctx, int64_t chunk) {
    const gsum_job *j = ctx;
    const int64_t lo = chunk * IE_CPU_CHUNK, hi = cmin(lo + IE_CPU_CHUNK, j->size);
    for (int64_t e = lo; e < hi; e++) {
        float s = j->first ? j->partial[e] : j->out[e] + j->partial[e];
        for (int64_t p = 1; p < j->groups; p++) s += j->partial[p * j->size + e];
        j->out[e] = s;
    }
}

#define WGRAD_MIN_TASKS 16

static ie_status canon_conv_backward_weight(const ie_conv_geom *g, const float *x, const float *gy, float *gw) {
    const int64_t ovol = ie_conv_vol(g->out), ktaps = ie_conv_ktaps(g);
    const int64_t wsize = g->cout * g->cin * ktaps;
    if (wsize == 0) return IE_OK;
    if (g->batch * ovol == 0) {
        memset(gw, 0, (size_t)wsize * sizeof(float));
        return IE_OK;
    }
    IE_TRY(check_kernel("conv weight gradient", g));
    wgrad_job j = {.g = g, .gy = gy, .gvol = ovol, .ktaps = ktaps, .wsize = wsize};
    ie_tensor *owned = NULL, *partial_t = NULL;
    IE_TRY(make_planes(x, g->batch, g->cin, g->in, g->stride, &j.xp, &owned));
    ie_status st = IE_OK;
    if (j.xp.cstride >= ((int64_t)1 << 31)) {
        st = ie_error_set(IE_ERR_UNSUPPORTED, "conv weight gradient: %lld voxels per channel is more than the "
                          "CPU kernels take (2^31)", (long long)j.xp.cstride);
        goto done;
    }
    forward_taps(g, &j.xp, &j.taps);
    j.nblk = cdiv(g->cout, WGRAD_CB);
    j.groups = cdiv(g->batch * ovol, IE_CANON_WGRAD_GROUP);
    j.ncg = j.groups >= WGRAD_MIN_TASKS ? 1 : cmin(cdiv(WGRAD_MIN_TASKS, j.groups), j.nblk);
    const int64_t wave = cmin(j.groups, IE_CANON_WGRAD_WAVE);
    if (j.groups > 1 && ie_conv_temp(wave * wsize, &partial_t) != IE_OK) {
        st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for %lld partial sums",
                          (long long)(wave * wsize));
        goto done;
    }
    j.partial = partial_t ? ie_f32(partial_t) : gw;
    atomic_init(&j.fail.failed, 0);
    for (int64_t first = 0; first < j.groups && st == IE_OK; first += wave) {
        const int64_t n = cmin(wave, j.groups - first);
        j.wave_first = first;
        ie_parallel_for(n * j.ncg, wgrad_task, &j);
        if (atomic_load(&j.fail.failed)) {
            st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for a segment's tap table");
        } else if (j.groups > 1) {
            gsum_job s = {j.partial, gw, n, wsize, first == 0};
            ie_parallel_for(ie_cpu_chunks(wsize), gsum_task, &s);
        }
    }
done:
    ie_tensor_release(partial_t);
    ie_tensor_release(owned);
    return st;
}

/* ---------------- matrix product ---------------- */

#define GEMM_NC (GEMM_NR * VL) /* columns per packed panel */

typedef struct gemm_job {
    const ie_canon_gemm *p;
    float *panels; /* [np][k][NC] then init [np][NC] */
    float *init;
    int64_t np, nrb;
} gemm_job;

static void gemm_pack_task(void *ctx, int64_t panel) {
    const gemm_job *j = ctx;
    const ie_canon_gemm *p = j->p;
    float *dst = j->panels + panel * p->k * GEMM_NC;
    const int64_t j0 = panel * GEMM_NC, nc = cmin(GEMM_NC, p->n - j0);
    for (int64_t kk = 0; kk < p->k; kk++) {
        const float *src = p->b + kk * p->b_ks + j0 * p->b_js;
        for (int64_t c = 0; c < GEMM_NC; c++) dst[kk * GEMM_NC + c] = c < nc ? src[c * p->b_js] : 0.0f;
    }
    for (int64_t c = 0; c < GEMM_NC; c++) j->init[panel * GEMM_NC + c] = p->init && c < nc ? p->init[j0 + c] : 0.0f;
}

static void gemm_tile(const ie_canon_gemm *p, const float *panel, const float *init, int64_t i0, int64_t mr,
                      int64_t j0) {
    const float *arow[GEMM_MR];
    for (int r = 0; r < GEMM_MR; r++) arow[r] = p->a + (i0 + cmin(r, mr - 1)) * p->a_rs;
    vf acc[GEMM_MR][GEMM_NR];
    for (int v = 0; v < GEMM_NR; v++) {
        vf b = vf_load(init + v * VL);
        for (int r = 0; r < GEMM_MR; r++) acc[r][v] = b;
    }
    for (int64_t kk = 0; kk < p->k; kk++) {
        vf bv[GEMM_NR];
        for (int v = 0; v < GEMM_NR; v++) bv[v] = vf_load(panel + kk * GEMM_NC + v * VL);
        for (int r = 0; r < GEMM_MR; r++) {
            vf av = vf_set1(arow[r][kk * p->a_ks]);
            for (int v = 0; v < GEMM_NR; v++) acc[r][v] = vf_fma(av, bv[v], acc[r][v]);
        }
    }
    const int64_t nc = cmin(GEMM_NC, p->n - j0);
    for (int64_t r = 0; r < mr; r++) {
        float *crow = p->c + (i0 + r) * p->c_rs + j0;
        if (nc == GEMM_NC) {
            for (int v = 0; v < GEMM_NR; v++) vf_store(crow + v * VL, acc[r][v]);
        } else {
            float tmp[GEMM_NC];
            for (int v = 0; v < GEMM_NR; v++) vf_store(tmp + v * VL, acc[r][v]);
            memcpy(crow, tmp, (size_t)nc * sizeof(float));
        }
    }
}

static void gemm_task(void *ctx, int64_t task) {
    const gemm_job *j = ctx;
    const ie_canon_gemm *p = j->p;
    const int64_t panel = task % j->np, rb = task / j->np;
    const int64_t i_end = cmin(p->m, (rb + 1) * GEMM_ROWS);
    for (int64_t i0 = rb * GEMM_ROWS; i0 < i_end; i0 += GEMM_MR)
        gemm_tile(p, j->panels + panel * p->k * GEMM_NC, j->init + panel * GEMM_NC, i0, cmin(GEMM_MR, i_end - i0),
                  panel * GEMM_NC);
}

static ie_status canon_gemm(const ie_canon_gemm *p) {
    if (p->m == 0 || p->n == 0) return IE_OK;
    gemm_job j = {.p = p, .np = cdiv(p->n, GEMM_NC), .nrb = cdiv(p->m, GEMM_ROWS)};
    ie_tensor *buf = NULL;
    IE_TRY(ie_conv_temp(j.np * (p->k + 1) * GEMM_NC, &buf));
    j.panels = ie_f32(buf);
    j.init = j.panels + j.np * p->k * GEMM_NC;
    ie_parallel_for(j.np, gemm_pack_task, &j);
    ie_parallel_for(j.nrb * j.np, gemm_task, &j);
    ie_tensor_release(buf);
    return IE_OK;
}

const ie_canon_kernels CANON_TABLE = {
    .name = CANON_NAME,
    .conv_forward = canon_conv_forward,
    .conv_backward_data = canon_conv_backward_data,
    .conv_backward_weight = canon_conv_backward_weight,
    .gemm = canon_gemm,
};
