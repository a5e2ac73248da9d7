/* core/backend/cpu - direct AVX2 + FMA convolution kernels: the avx2 path's
 * fast implementation of the shapes the direct kernels take
 * (conv_cpu_direct_common.h), computing the canonical order of
 * canon_kernels.h bit for bit (CMakeLists.txt compiles this file with
 * -mavx2 -mfma).
 *
 * AVX2 has no mask registers: an FMA that must skip some lanes needs a blend
 * after it, and on Zen 5 the blend takes an FMA port (measured: blended FMAs
 * run at half the rate).  So the kernels are laid out to need few blends:
 *  - forward and backward data put 8 output channels in a vector (x
 *    broadcast, weights loaded), so a padding tap is skipped per voxel, not
 *    per lane: the grid is cut into boxes whose voxels all have the same
 *    valid taps, and each box runs exactly those.  The source is transposed
 *    to channels-last first, so that the broadcasts of one voxel's channels
 *    share cache lines (channel planes a multiple of 4 KiB apart all fall in
 *    one L1 set).  A tile's outputs are transposed in registers and stored
 *    channels-first (stride 1, where its voxels are mostly consecutive);
 *    the strided backward data's classes go through a channels-last buffer.
 *  - the weight gradient must keep the 16 voxel lanes of the canonical order,
 *    so voxels stay in lanes: each 16-lane accumulator is two 8-lane passes
 *    (lanes 0-7 over the even 8-voxel vectors, lanes 8-15 over the odd ones),
 *    and only vectors in which a tap has a padding lane blend.
 * Work is cut by fixed shape-derived partitions; every output is owned by one
 * task and summed in a fixed order, so the bytes do not depend on the thread
 * count. */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/cpu/canon_kernels.h"
#include "core/backend/cpu/conv_cpu_direct_common.h"

#define AINLINE __attribute__((always_inline)) inline
#define MIN_TASKS 16       /* split channels when the other cuts give fewer tasks */
#define BOX_VOXELS 512     /* grid positions per gather task (several depth slices on small grids) */
#define NJ_MAX 6           /* voxels per gather tile */
#define SMALL_GATHER 1024  /* grids up to this many positions: a gather task runs all depths (one pack per block) */
#define MAX_INTERVALS (2 * IE_DIRECT_MAXK + 1)
#define SEG IE_CANON_WGRAD_SEGMENT

static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Lanes l < n on. */
static inline __m256i lanes_below(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* ---------------- transposes between channels-first and channels-last ---------------- */

#define TR_CHUNK 2048 /* rows or columns per transpose task */

/* Per batch item: dst (cols x rows, row stride dld) = the transpose of src
 * (rows x cols, row stride sld); the longer side is cut into tasks. */
typedef struct tr_job {
    const float *src;
    float *dst;
    int64_t rows, cols, sld, dld, src_n, dst_n, chunks;
} tr_job;

static AINLINE void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

static void tr_task(void *ctx, int64_t task) {
    const tr_job *j = ctx;
    const int64_t n = task / j->chunks, k = task % j->chunks;
    const bool by_rows = j->rows >= j->cols;
    const int64_t r_lo = by_rows ? k * TR_CHUNK : 0, r_hi = by_rows ? imin(r_lo + TR_CHUNK, j->rows) : j->rows;
    const int64_t c_lo = by_rows ? 0 : k * TR_CHUNK, c_hi = by_rows ? j->cols : imin(c_lo + TR_CHUNK, j->cols);
    const float *src = j->src + n * j->src_n;
    float *dst = j->dst + n * j->dst_n;
    for (int64_t r0 = r_lo; r0 < r_hi; r0 += 8)
        for (int64_t c0 = c_lo; c0 < c_hi; c0 += 8) {
            if (r0 + 8 <= r_hi && c0 + 8 <= c_hi) {
                __m256 v[8];
                for (int i = 0; i < 8; i++) v[i] = _mm256_loadu_ps(src + (r0 + i) * j->sld + c0);
                transpose8(v);
                for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + (c0 + i) * j->dld + r0, v[i]);
                continue;
            }
            for (int64_t r = r0; r < imin(r0 + 8, r_hi); r++)
                for (int64_t c = c0; c < imin(c0 + 8, c_hi); c++) dst[c * j->dld + r] = src[r * j->sld + c];
        }
}

static void transpose(const float *src, int64_t rows, int64_t cols, int64_t sld, int64_t src_n, float *dst,
                      int64_t dld, int64_t dst_n, int64_t batch) {
    tr_job j = {src, dst, rows, cols, sld, dld, src_n, dst_n, cdiv(rows >= cols ? rows : cols, TR_CHUNK)};
    if (rows > 0 && cols > 0) ie_parallel_for(batch * j.chunks, tr_task, &j);
}

/* src [batch][c][v] as [batch][v][c] in a temporary (*owned). */
static ie_status channels_last(const float *src, int64_t batch, int64_t c, int64_t v, const float **out,
                               ie_tensor **owned) {
    IE_TRY(ie_conv_temp(batch * c * v, owned));
    transpose(src, c, v, v, c * v, ie_f32(*owned), c, c * v, batch);
    *out = ie_f32(*owned);
    return IE_OK;
}

/* ---------------- the channels-in-lanes gather (forward, backward data) ----------------
 *
 *   dst[co, place(p)] = bias[co] + sum over valid taps t, source channels s of
 *                       W_t[s, co] * srcT[p + off_t][s]
 *
 * over the grid positions p of each class; srcT is the source channels-last. */

/* Output channels of a weight block: 16 (two vectors) while more than 8
 * remain, then 8; a block's pack is [tap][cx][width], zero past cy. */
typedef struct cblock {
    int64_t c0;
    int width, valid;
} cblock;

typedef struct interval {
    int64_t lo, hi;
    uint32_t mask; /* taps of the dimension valid for every coordinate in [lo, hi) */
} interval;

typedef struct gclass {
    ie_direct_taps taps;
    int64_t r[3];               /* residue: dst position = stride * p + r */
    interval iv[3][MAX_INTERVALS];
    int niv[3];
    int64_t nchunks; /* depth chunks (make_dchunks) */
} gclass;

typedef struct dchunk {
    int64_t lo, hi;
    uint32_t mask;
} dchunk;

typedef struct gpack_job {
    const float *w;
    const gclass *cls;
    const cblock *blk;
    int64_t cx, cy, sy, sx;
    int kernel[3];
} gpack_job;

/* One (class, block): dst[tap][s][l] = w[(c0 + l)*sy + s*sx + kernel index of tap], 0 past cy,
 * 8 taps x 8 channels at a time transposed in registers.  When the class has
 * every tap in kernel order (stride 1, and the forward of any stride) a row
 * of taps is contiguous in w and loads as vectors; otherwise its taps are
 * collected into a small row buffer first (from one row, in L1). */
static void pack_block(const gpack_job *j, int64_t ci, int64_t bi, float *dst) {
    const gclass *c = &j->cls[ci];
    const cblock *b = &j->blk[bi];
    const ie_direct_taps *t = &c->taps;
    const int64_t T = ie_direct_taps_count(t), W = b->width;
    int64_t k[IE_DIRECT_MAXTAPS];
    int64_t q = 0;
    bool identity = true;
    for (int a = 0; a < t->n[0]; a++)
        for (int bb = 0; bb < t->n[1]; bb++)
            for (int e = 0; e < t->n[2]; e++, q++) {
                k[q] = ((int64_t)t->k[0][a] * j->kernel[1] + t->k[1][bb]) * j->kernel[2] + t->k[2][e];
                identity = identity && k[q] == q;
            }
    for (int64_t s = 0; s < j->cx; s++)
        for (int l0 = 0; l0 < W; l0 += 8)
            for (int64_t t0 = 0; t0 < T; t0 += 8) {
                const int nt = (int)imin(T - t0, 8);
                const __m256i m = lanes_below(nt); /* the last tile's loads stop at the row's end */
                __m256 v[8];
                for (int i = 0; i < 8; i++) {
                    const float *row = j->w + (b->c0 + l0 + i) * j->sy + s * j->sx;
                    if (l0 + i >= b->valid) {
                        v[i] = _mm256_setzero_ps();
                    } else if (identity) {
                        v[i] = nt == 8 ? _mm256_loadu_ps(row + t0) : _mm256_maskload_ps(row + t0, m);
                    } else {
                        float r[8] = {0};
                        for (int u = 0; u < nt; u++) r[u] = row[k[t0 + u]];
                        v[i] = _mm256_loadu_ps(r);
                    }
                }
                transpose8(v); /* v[i]: tap t0 + i, lanes l0 .. l0 + 7 */
                for (int i = 0; i < nt; i++) _mm256_storeu_ps(dst + ((t0 + i) * j->cx + s) * W + l0, v[i]);
            }
}

typedef struct gjob {
    const float *src; /* [batch][phases * gvol][cx] */
    int64_t src_nstride, cx;
    int64_t grid[3], gvol, batch;
    const gclass *cls;
    int64_t ncls;
    const cblock *blk;
    int64_t nblk;
    const gpack_job *pj; /* how each task packs its blocks' weights */
    const float *bias;
    float *dst;     /* [batch][cy][dst voxels] */
    bool direct;    /* tiles write dst channels-first (stride 1: a tile's voxels are mostly consecutive) */
    float *dst_cl;  /* else [batch][dst voxels][cyp]: the tiles' output, transposed into dst at the end */
    int64_t cyp;    /* channels of dst_cl (cy rounded up to the blocks) */
    int64_t cy;
    int64_t dst_vol, dst_dim[3], step[3];
    const dchunk *chunks; /* [ncls][nchunks] */
    int64_t nchunks, ncg; /* nchunks: the most of any class */
    bool all_chunks;      /* a task runs every depth chunk of its class (small grids: each block packed once) */
    ie_conv_failure fail;
} gjob;

/* The runs of coordinates 0..n-1 with the same valid taps. */
static int make_intervals(const ie_direct_taps *t, int d, int64_t n, interval *iv) {
    int count = 0;
    for (int64_t c = 0; c < n; c++) {
        uint32_t m = 0;
        for (int k = 0; k < t->n[d]; k++)
            if (c + t->shift[d][k] >= 0 && c + t->shift[d][k] < n) m |= 1u << k;
        if (count > 0 && iv[count - 1].mask == m) {
            iv[count - 1].hi = c + 1;
        } else {
            iv[count++] = (interval){c, c + 1, m};
        }
    }
    return count;
}

/* One tile: NJ voxels x NC vectors of 8 output channels. */
typedef struct gtile {
    const float *xv[NJ_MAX]; /* each voxel's channels-last source row */
    int64_t yi[NJ_MAX];      /* each voxel's dst row (channels-last) or element of channel 0 (direct) */
    bool consecutive;        /* direct, and yi[k] = yi[0] + k */
    const int64_t *tx, *tw;  /* per valid tap: source offset, weight offset (floats, per width) */
    int nt;
} gtile;

static AINLINE void gather_tile(const int NJ, const int NC, const gjob *j, const gtile *t, const float *wblk,
                                const cblock *b, float *yb) {
    __m256 acc[NJ_MAX][2];
    const int64_t cx = j->cx, W = 8 * NC;
#pragma GCC unroll 2
    for (int c = 0; c < NC; c++) {
        __m256 bv = _mm256_setzero_ps();
        if (j->bias) bv = _mm256_maskload_ps(j->bias + b->c0 + 8 * c, lanes_below(b->valid - 8 * c));
#pragma GCC unroll 6
        for (int k = 0; k < NJ; k++) acc[k][c] = bv;
    }
    for (int q = 0; q < t->nt; q++) {
        const float *xp[NJ_MAX];
#pragma GCC unroll 6
        for (int k = 0; k < NJ; k++) xp[k] = t->xv[k] + t->tx[q];
        const float *wt = wblk + t->tw[q] * W;
        for (int64_t s = 0; s < cx; s++) {
            __m256 wv[2];
#pragma GCC unroll 2
            for (int c = 0; c < NC; c++) wv[c] = _mm256_loadu_ps(wt + s * W + 8 * c);
#pragma GCC unroll 6
            for (int k = 0; k < NJ; k++) {
                __m256 xb = _mm256_broadcast_ss(xp[k] + s);
#pragma GCC unroll 2
                for (int c = 0; c < NC; c++) acc[k][c] = _mm256_fmadd_ps(xb, wv[c], acc[k][c]);
            }
        }
    }
    if (!j->direct) {
#pragma GCC unroll 6
        for (int k = 0; k < NJ; k++)
#pragma GCC unroll 2
            for (int c = 0; c < NC; c++) _mm256_storeu_ps(yb + t->yi[k] + 8 * c, acc[k][c]);
        return;
    }
    /* channels-first: transpose each 8-channel vector group, then a channel's
     * voxels are one row (stored with a mask when consecutive) */
    const __m256i vox = lanes_below(NJ);
#pragma GCC unroll 2
    for (int c = 0; c < NC; c++) {
        __m256 v[8];
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) v[k] = k < NJ ? acc[k][c] : _mm256_setzero_ps();
        transpose8(v); /* v[ch]: channel 8c + ch of the NJ voxels */
        const int nch = (int)imin(8, b->valid - 8 * c);
        for (int ch = 0; ch < nch; ch++) {
            float *row = yb + (8 * c + ch) * j->dst_vol;
            if (t->consecutive) {
                _mm256_maskstore_ps(row + t->yi[0], vox, v[ch]);
            } else {
                float lane[8];
                _mm256_storeu_ps(lane, v[ch]);
                for (int k = 0; k < NJ; k++) row[t->yi[k]] = lane[k];
            }
        }
    }
}

#define GATHER_VARIANT(NJ, NC)                                                                             \
    static void gather_##NJ##x##NC(const gjob *j, const gtile *t, const float *w, const cblock *b, float *y) { \
        gather_tile(NJ, NC, j, t, w, b, y);                                                                \
    }
#define GATHER_ROW(NC) GATHER_VARIANT(1, NC) GATHER_VARIANT(2, NC) GATHER_VARIANT(3, NC) \
    GATHER_VARIANT(4, NC) GATHER_VARIANT(5, NC) GATHER_VARIANT(6, NC)
GATHER_ROW(1)
GATHER_ROW(2)

typedef void (*gather_fn)(const gjob *, const gtile *, const float *, const cblock *, float *);
static const gather_fn GATHER_FNS[2][NJ_MAX] = {
    {gather_1x1, gather_2x1, gather_3x1, gather_4x1, gather_5x1, gather_6x1},
    {gather_1x2, gather_2x2, gather_3x2, gather_4x2, gather_5x2, gather_6x2},
};

/* The valid taps of a box (masks per dimension) in (kd, kh, kw) order. */
static int box_taps(const gjob *j, const ie_direct_taps *t, const uint32_t m[3], int64_t *tx, int64_t *tw) {
    int nt = 0;
    for (int a = 0; a < t->n[0]; a++) {
        if (!((m[0] >> a) & 1)) continue;
        for (int b = 0; b < t->n[1]; b++) {
            if (!((m[1] >> b) & 1)) continue;
            for (int e = 0; e < t->n[2]; e++) {
                if (!((m[2] >> e) & 1)) continue;
                tx[nt] = (t->off[0][a] + t->off[1][b] + t->off[2][e]) * j->cx;
                tw[nt] = (((int64_t)a * t->n[1] + b) * t->n[2] + e) * j->cx;
                nt++;
            }
        }
    }
    return nt;
}

/* dst voxel (within a batch item) of grid position (d, h, w) */
static inline int64_t dst_index(const gjob *j, const gclass *c, int64_t d, int64_t h, int64_t w) {
    return ((j->step[0] * d + c->r[0]) * j->dst_dim[1] + j->step[1] * h + c->r[1]) * j->dst_dim[2] +
           j->step[2] * w + c->r[2];
}

/* Tiles of up to NJ_MAX voxels of one box, run as they fill. */
typedef struct tile_fill {
    gtile t;
    int k, nc;
    const float *wblk;
    const cblock *b;
    float *ybase;
} tile_fill;

static void tile_flush(const gjob *j, tile_fill *f) {
    f->t.consecutive = j->direct;
    for (int k = 1; k < f->k; k++) f->t.consecutive = f->t.consecutive && f->t.yi[k] == f->t.yi[0] + k;
    if (f->k) GATHER_FNS[f->nc - 1][f->k - 1](j, &f->t, f->wblk, f->b, f->ybase);
    f->k = 0;
}

static inline void tile_add(const gjob *j, tile_fill *f, int64_t n, int64_t p, int64_t yi) {
    f->t.xv[f->k] = j->src + n * j->src_nstride + p * j->cx;
    f->t.yi[f->k] = j->direct ? n * j->cy * j->dst_vol + yi : (n * j->dst_vol + yi) * j->cyp;
    if (++f->k == NJ_MAX) tile_flush(j, f);
}

/* One box of positions [dlo,dhi) x h-interval x w-interval, every batch
 * item, one channel block.  On small grids the batch items of a position go
 * next to each other so that tiles still fill; on large ones each item's
 * positions stay together (its source rows stay in L1). */
static void gather_box(const gjob *j, const gclass *c, int64_t dlo, int64_t dhi, const interval *ih,
                       const interval *iw, const int64_t *tx, const int64_t *tw, int nt, const cblock *b,
                       const float *wblk) {
    tile_fill f = {.t = {.tx = tx, .tw = tw, .nt = nt}, .nc = b->width / 8, .wblk = wblk, .b = b,
                   .ybase = j->direct ? j->dst + b->c0 * j->dst_vol : j->dst_cl + b->c0};
    const bool batch_inner = j->grid[1] * j->grid[2] < BOX_VOXELS;
    for (int64_t n0 = 0; n0 < (batch_inner ? 1 : j->batch); n0++) {
        for (int64_t d = dlo; d < dhi; d++)
            for (int64_t h = ih->lo; h < ih->hi; h++)
                for (int64_t w = iw->lo; w < iw->hi; w++) {
                    const int64_t p = (d * j->grid[1] + h) * j->grid[2] + w, yi = dst_index(j, c, d, h, w);
                    if (!batch_inner) {
                        tile_add(j, &f, n0, p, yi);
                        continue;
                    }
                    for (int64_t n = 0; n < j->batch; n++) tile_add(j, &f, n, p, yi);
                }
        tile_flush(j, &f);
    }
}

/* A task packs each of its channel blocks' weights into the thread's
 * scratch (the block's [tap][cx][width]: L2-sized) and runs every box of its
 * depth chunk with it.  Packing inside the task, rather than the whole layer
 * into a temporary first, writes the pack to cache instead of memory and
 * reads it back from there: on the deep levels, whose weights are large and
 * whose grids are tiny, moving the packed weights through memory cost more
 * than the convolution itself. */
static void gather_task(void *ctx, int64_t task) {
    gjob *j = ctx;
    const int64_t ntc = j->all_chunks ? 1 : j->nchunks;
    const int64_t chunk = task % ntc, rest = task / ntc;
    const int64_t cg = rest % j->ncg, ci = rest / j->ncg;
    const gclass *c = &j->cls[ci];
    if (chunk >= c->nchunks) return;
    const int64_t k_hi = j->all_chunks ? c->nchunks : chunk + 1;
    const int64_t b0 = cg * j->nblk / j->ncg, b1 = (cg + 1) * j->nblk / j->ncg;
    float *wblk = ie_conv_scratch(0, (size_t)(ie_direct_taps_count(&c->taps) * j->cx * 16));
    if (!wblk) {
        ie_conv_fail(&j->fail);
        return;
    }
    int64_t tx[IE_DIRECT_MAXTAPS], tw[IE_DIRECT_MAXTAPS];
    for (int64_t bi = b0; bi < b1; bi++) {
        pack_block(j->pj, ci, bi, wblk);
        for (int64_t k = chunk; k < k_hi; k++) {
            const dchunk *dc = &j->chunks[ci * j->nchunks + k];
            for (int a = 0; a < c->niv[1]; a++)
                for (int e = 0; e < c->niv[2]; e++) {
                    const uint32_t m[3] = {dc->mask, c->iv[1][a].mask, c->iv[2][e].mask};
                    const int nt = box_taps(j, &c->taps, m, tx, tw);
                    gather_box(j, c, dc->lo, dc->hi, &c->iv[1][a], &c->iv[2][e], tx, tw, nt, &j->blk[bi], wblk);
                }
        }
    }
}

/* Depth chunks: runs of depths with the same valid taps, cut so that each
 * holds at most BOX_VOXELS positions (at least one depth). */
static int64_t make_dchunks(const gclass *c, int64_t plane, dchunk *out) {
    const int64_t per = plane >= BOX_VOXELS ? 1 : BOX_VOXELS / plane;
    int64_t n = 0;
    for (int i = 0; i < c->niv[0]; i++)
        for (int64_t d = c->iv[0][i].lo; d < c->iv[0][i].hi; d += per)
            if (out) out[n++] = (dchunk){d, imin(d + per, c->iv[0][i].hi), c->iv[0][i].mask};
            else n++;
    return n;
}

/* Packs the weights, plans the classes' boxes and runs the gather. */
static ie_status run_gather(gjob *j, gclass *cls, const float *w, int64_t cy, int64_t sy, int64_t sx,
                            const int kernel[3]) {
    for (int64_t c = 0; c < j->ncls; c++)
        for (int d = 0; d < 3; d++) cls[c].niv[d] = make_intervals(&cls[c].taps, d, j->grid[d], cls[c].iv[d]);
    cblock *blk = malloc((size_t)(cy / 8 + 2) * sizeof *blk);
    j->nchunks = 0;
    for (int64_t c = 0; c < j->ncls; c++) {
        cls[c].nchunks = make_dchunks(&cls[c], j->grid[1] * j->grid[2], NULL);
        j->nchunks = cls[c].nchunks > j->nchunks ? cls[c].nchunks : j->nchunks;
    }
    dchunk *chunks = malloc((size_t)(j->nchunks * j->ncls) * sizeof *chunks);
    ie_tensor *out_t = NULL;
    ie_status st = IE_OK;
    if (!blk || !chunks) {
        st = ie_error_set(IE_ERR_NOMEM, "conv: out of memory planning the gather");
        goto done;
    }
    j->nblk = 0;
    j->cyp = 0;
    for (int64_t c0 = 0; c0 < cy;) {
        const int width = cy - c0 > 8 ? 16 : 8;
        blk[j->nblk++] = (cblock){c0, width, (int)imin(width, cy - c0)};
        c0 += width;
        j->cyp += width;
    }
    j->cy = cy;
    j->direct = j->step[0] == 1 && j->step[1] == 1 && j->step[2] == 1;
    if (!j->direct && ie_conv_temp(j->batch * j->dst_vol * j->cyp, &out_t) != IE_OK) {
        st = ie_error_set(IE_ERR_NOMEM, "conv: out of memory for the gather's output");
        goto done;
    }
    const gpack_job pj = {w, cls, blk, j->cx, cy, sy, sx, {kernel[0], kernel[1], kernel[2]}};
    j->pj = &pj;
    j->blk = blk;
    for (int64_t c = 0; c < j->ncls; c++) make_dchunks(&cls[c], j->grid[1] * j->grid[2], chunks + c * j->nchunks);
    j->chunks = chunks;
    j->all_chunks = j->gvol <= SMALL_GATHER;
    const int64_t base = j->ncls * (j->all_chunks ? 1 : j->nchunks);
    j->ncg = base >= MIN_TASKS ? 1 : imin(cdiv(MIN_TASKS, base), j->nblk);
    j->dst_cl = out_t ? ie_f32(out_t) : NULL;
    atomic_init(&j->fail.failed, 0);
    ie_parallel_for(base * j->ncg, gather_task, j);
    if (atomic_load(&j->fail.failed)) {
        st = ie_error_set(IE_ERR_NOMEM, "conv: out of memory packing the weights");
        goto done;
    }
    if (!j->direct)
        transpose(j->dst_cl, j->dst_vol, cy, j->cyp, j->dst_vol * j->cyp, j->dst, j->dst_vol, cy * j->dst_vol,
                  j->batch);
done:
    ie_tensor_release(out_t);
    free(chunks);
    free(blk);
    return st;
}

ie_status ie_conv_direct_avx2_forward(const ie_conv_geom *g, const float *x, const float *w, const float *bias,
                                      float *y) {
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out);
    if (g->batch == 0 || g->cout == 0) return IE_OK;
    const float *xs, *xt;
    ie_tensor *split = NULL, *cl = NULL;
    IE_TRY(ie_direct_phase_split(g, x, &xs, &split));
    ie_status st = channels_last(xs, g->batch, g->cin, ivol, &xt, &cl);
    ie_tensor_release(split);
    IE_TRY(st);
    gclass cls;
    memset(&cls, 0, sizeof cls);
    ie_direct_forward_taps(g, &cls.taps);
    gjob j = {.src = xt, .src_nstride = g->cin * ivol, .cx = g->cin, .grid = {g->out[0], g->out[1], g->out[2]},
              .gvol = ovol, .batch = g->batch, .cls = &cls, .ncls = 1, .bias = bias, .dst = y, .dst_vol = ovol,
              .dst_dim = {g->out[0], g->out[1], g->out[2]}, .step = {1, 1, 1}};
    st = run_gather(&j, &cls, w, g->cout, g->cin * ie_conv_ktaps(g), ie_conv_ktaps(g), g->kernel);
    ie_tensor_release(cl);
    return st;
}

ie_status ie_conv_direct_avx2_backward_data(const ie_conv_geom *g, const float *gy, const float *w,
                                            const float *bias, float *gx) {
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out);
    if (g->batch == 0 || g->cin == 0) return IE_OK;
    const int64_t ncls = (int64_t)g->stride[0] * g->stride[1] * g->stride[2];
    gclass *cls = calloc((size_t)ncls, sizeof *cls);
    if (!cls) return ie_error_set(IE_ERR_NOMEM, "conv backward: out of memory");
    for (int64_t c = 0; c < ncls; c++) ie_direct_class_taps(g, c, &cls[c].taps, cls[c].r);
    const float *gt;
    ie_tensor *cl = NULL;
    ie_status st = channels_last(gy, g->batch, g->cout, ovol, &gt, &cl);
    if (st == IE_OK) {
        gjob j = {.src = gt, .src_nstride = g->cout * ovol, .cx = g->cout,
                  .grid = {g->out[0], g->out[1], g->out[2]}, .gvol = ovol, .batch = g->batch, .cls = cls,
                  .ncls = ncls, .bias = bias, .dst = gx, .dst_vol = ivol,
                  .dst_dim = {g->in[0], g->in[1], g->in[2]}, .step = {g->stride[0], g->stride[1], g->stride[2]}};
        st = run_gather(&j, cls, w, g->cin, ie_conv_ktaps(g), g->cin * ie_conv_ktaps(g), g->kernel);
    }
    ie_tensor_release(cl);
    free(cls);
    return st;
}

/* ---------------- weight gradient ----------------
 *
 * Voxels in lanes as the canonical order has them: lane l (0..15) of a
 * segment starting at ja sums voxels ja + l + 16i.  8-voxel vector u of the
 * segment holds lanes 8*(u%2) .. +7, so lanes 0-7 are a pass over the even
 * vectors and lanes 8-15 a pass over the odd ones; each pass keeps a tile of
 * CB output channels x TB taps (of one input channel) in registers.
 *
 * Padding.  The canonical order skips a lane whose tap reads outside x.  A
 * blend per FMA would do that but halves the FMA rate, so the kernel instead
 * zeroes those lanes of x and adds the zero products wherever that gives the
 * same bytes, which is wherever gy is finite (inf * 0 is NaN):
 *  - a lane then only ever differs from the skipping one in the sign of a
 *    zero: adding +-0 leaves a nonzero sum unchanged and a zero one zero, and
 *    a later nonzero product p gives fma(gy, x, +0) = fma(gy, x, -0) (the
 *    exact sum is p either way, rounded once);
 *  - so each node of the lane tree is the same, or zero in both (x + +-0 = x);
 *  - and a group starts from +0: +0 + (+-0) = +0, so the group sums, hence
 *    the gradient, are the same bytes.
 * Segments whose gy rows hold an inf or NaN run the blending loop instead.
 * (Tiny values change nothing here: an underflow to -0 is such a zero.) */

/* mask_lut[b]: lane l all ones where bit l of b is set */
#define LUT_ROW(b) {-((b) & 1), -((b) >> 1 & 1), -((b) >> 2 & 1), -((b) >> 3 & 1), \
                    -((b) >> 4 & 1), -((b) >> 5 & 1), -((b) >> 6 & 1), -((b) >> 7 & 1)}
#define LUT4(b) LUT_ROW(b), LUT_ROW((b) + 1), LUT_ROW((b) + 2), LUT_ROW((b) + 3)
#define LUT16(b) LUT4(b), LUT4((b) + 4), LUT4((b) + 8), LUT4((b) + 12)
#define LUT64(b) LUT16(b), LUT16((b) + 16), LUT16((b) + 32), LUT16((b) + 48)
static const int32_t mask_lut[256][8] __attribute__((aligned(32))) = {LUT64(0), LUT64(64), LUT64(128), LUT64(192)};

static inline __m256i lut_mask(unsigned m) { return _mm256_load_si256((const __m256i *)mask_lut[m]); }

/* Whether n floats are all finite (no exponent field of all ones). */
static bool row_finite(const float *v, int64_t n) {
    const __m256i expbits = _mm256_set1_epi32(0x7f800000);
    __m256i bad = _mm256_setzero_si256();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i e = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(v + i)), expbits);
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(e, expbits));
    }
    bool ok = _mm256_testz_si256(bad, bad);
    for (; i < n; i++) ok = ok && isfinite(v[i]);
    return ok;
}

typedef struct wjob {
    const ie_conv_geom *g;
    const float *x; /* phase split, padded when `padded` (xp) */
    const float *gy;
    bool padded;
    ie_direct_padded xp;
    ie_direct_taps taps;
    int64_t toff[IE_DIRECT_MAXTAPS]; /* tap offsets in x's layout */
    int64_t gvol, xcs, T, cb, tb, nblk, ngroups, ncg, wsize; /* xcs: x's floats per channel */
    float *partial;     /* [wave][cout][cin][T] */
    int64_t wave_first; /* first group of the current wave */
    ie_conv_failure fail;
} wjob;

static const float wg_zeros[SEG + 16];

/* One pass's operands: tap q of the tile reads x[q] + 8u (flat) or
 * x[q] + xo[u] (padded), lane mask m[u * T + q].  Flat vectors in
 * [safe_lo, safe_hi) load x and gy inside their buffers and end inside the
 * segment; others load with masks. */
typedef struct wpass {
    const float *g[8];
    const float *x[4];
    const uint8_t *m;
    const int64_t *xo;
    int64_t T, nu, safe_lo, safe_hi;
} wpass;

/* An opaque copy of a pointer: the compiler cannot tell two copies apart, so
 * it keeps a load from each in its FMA instead of holding that gy vector in
 * a register too (which would spill an accumulator). */
static AINLINE const float *opaque(const float *p) {
    __asm__ volatile("" : "+r"(p));
    return p;
}

/* How a pass reads x: PADDED from the zero-padded planes at xo[u] (grids
 * whose rows are whole vectors), FLAT from the phase split at 8u with lane
 * masks and masked loads near the buffer's ends; ZERO adds zero products for
 * the padding lanes (gy finite, see above), BLEND skips them. */
enum { PAD_ZERO, PAD_BLEND, FLAT_ZERO, FLAT_BLEND };

/* One vector u: x at xoff, gy at 8u.  ZERO modes hold CB - 1 gy vectors in
 * registers and read the last from memory in each of its FMAs: with the
 * CB x TB accumulators and the x vector that fills the 16 registers, and
 * loads (the limit here, x's mostly straddling cache lines) stay at
 * CB - 1 + 2 TB per CB x TB FMAs. */
static AINLINE void wg_step(const int CB, const int TB, const int mode, const bool safe, const float *const *g,
                            const float *const *x, const uint8_t *mu, int64_t u, int64_t xoff, __m256 acc[8][4]) {
    const int64_t o = 8 * u;
    if (mode == PAD_ZERO || (mode == FLAT_ZERO && safe)) {
        __m256 gv[8];
#pragma GCC unroll 8
        for (int c = 0; c < CB - 1; c++) gv[c] = _mm256_loadu_ps(g[c] + o);
#pragma GCC unroll 4
        for (int q = 0; q < TB; q++) {
            __m256 xv = _mm256_loadu_ps(x[q] + xoff);
            if (mode == FLAT_ZERO) /* zero the padding lanes */
                xv = _mm256_and_ps(xv, _mm256_castsi256_ps(lut_mask(mu[q])));
#pragma GCC unroll 8
            for (int c = 0; c < CB - 1; c++) acc[c][q] = _mm256_fmadd_ps(gv[c], xv, acc[c][q]);
            acc[CB - 1][q] = _mm256_fmadd_ps(_mm256_loadu_ps(opaque(g[CB - 1]) + o), xv, acc[CB - 1][q]);
        }
        return;
    }
    const bool blend = mode == PAD_BLEND || mode == FLAT_BLEND;
#pragma GCC unroll 4
    for (int q = 0; q < TB; q++) {
        const unsigned m = mu[q];
        if (blend && m == 0) continue;
        const __m256i mi = lut_mask(m);
        /* FLAT_ZERO here is unsafe: masked loads leave the padding lanes zero */
        const __m256 xv = safe ? _mm256_loadu_ps(x[q] + xoff) : _mm256_maskload_ps(x[q] + xoff, mi);
#pragma GCC unroll 8
        for (int c = 0; c < CB; c++) {
            const __m256 gv = safe ? _mm256_loadu_ps(g[c] + o) : _mm256_maskload_ps(g[c] + o, mi);
            const __m256 f = _mm256_fmadd_ps(gv, xv, acc[c][q]);
            /* BLEND: padding lanes are skipped, never added as zero products */
            acc[c][q] = !blend || m == 0xff ? f : _mm256_blendv_ps(acc[c][q], f, _mm256_castsi256_ps(mi));
        }
    }
}

/* acc[c][q] over the vectors u = u0, u0 + 2, ... of the segment. */
static AINLINE void wg_pass(const int CB, const int TB, const int mode, const wpass *p, int64_t u0,
                            __m256 acc[8][4]) {
    const float *g[8], *x[4];
#pragma GCC unroll 8
    for (int c = 0; c < CB; c++) g[c] = p->g[c];
#pragma GCC unroll 4
    for (int q = 0; q < TB; q++) x[q] = p->x[q];
    const int64_t T = p->T, nu = p->nu, lo = p->safe_lo, hi = p->safe_hi;
    const int64_t *xo = p->xo;
#pragma GCC unroll 8
    for (int c = 0; c < CB; c++)
#pragma GCC unroll 4
        for (int q = 0; q < TB; q++) acc[c][q] = _mm256_setzero_ps();
    int64_t u = u0;
    if (mode == PAD_ZERO || mode == PAD_BLEND) { /* every load inside the padded buffer */
        for (; u < nu; u += 2) wg_step(CB, TB, mode, true, g, x, p->m + u * T, u, xo[u], acc);
        return;
    }
    for (; u < nu && u < lo; u += 2) wg_step(CB, TB, mode, false, g, x, p->m + u * T, u, 8 * u, acc);
    for (; u < hi; u += 2) wg_step(CB, TB, mode, true, g, x, p->m + u * T, u, 8 * u, acc);
    for (; u < nu; u += 2) wg_step(CB, TB, mode, false, g, x, p->m + u * T, u, 8 * u, acc);
}

/* ie_canon_tree16 of lanes 0-7 (lo) and 8-15 (hi). */
static AINLINE float tree16(__m256 lo, __m256 hi) {
    /* lane 0 of q: (a0 + a2) + (a1 + a3); lane 4: (a4 + a6) + (a5 + a7) */
    __m256 plo = _mm256_add_ps(lo, _mm256_permute_ps(lo, _MM_SHUFFLE(1, 0, 3, 2)));
    __m256 phi = _mm256_add_ps(hi, _mm256_permute_ps(hi, _MM_SHUFFLE(1, 0, 3, 2)));
    __m256 qlo = _mm256_add_ps(plo, _mm256_permute_ps(plo, _MM_SHUFFLE(2, 3, 0, 1)));
    __m256 qhi = _mm256_add_ps(phi, _mm256_permute_ps(phi, _MM_SHUFFLE(2, 3, 0, 1)));
    __m256 s = _mm256_add_ps(qlo, qhi); /* lane 0: s0 + s2, lane 4: s1 + s3 */
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
}

/* The hot pass (PAD_ZERO, 4 channels x 3 taps) written out plainly: three
 * gy vectors in registers, the fourth read by its FMAs, x loaded once per
 * tap; 12 accumulators + 4 = the 16 registers, 9 loads per 12 FMAs.  (The
 * general template gets this allocation wrong under register pressure.) */
static __attribute__((noinline)) void wg_pad_pass_4x3(const wpass *p, int64_t u0, __m256 acc[8][4]) {
    const float *g0 = p->g[0], *g1 = p->g[1], *g2 = p->g[2], *g3 = p->g[3];
    const float *x0 = p->x[0], *x1 = p->x[1], *x2 = p->x[2];
    const int64_t *xo = p->xo, nu = p->nu;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
    __m256 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
    for (int64_t u = u0; u < nu; u += 2) {
        const int64_t o = 8 * u, xf = xo[u];
        const __m256 gv0 = _mm256_loadu_ps(g0 + o), gv1 = _mm256_loadu_ps(g1 + o), gv2 = _mm256_loadu_ps(g2 + o);
        __m256 xv = _mm256_loadu_ps(x0 + xf);
        a00 = _mm256_fmadd_ps(gv0, xv, a00);
        a10 = _mm256_fmadd_ps(gv1, xv, a10);
        a20 = _mm256_fmadd_ps(gv2, xv, a20);
        a30 = _mm256_fmadd_ps(_mm256_loadu_ps(opaque(g3) + o), xv, a30);
        xv = _mm256_loadu_ps(x1 + xf);
        a01 = _mm256_fmadd_ps(gv0, xv, a01);
        a11 = _mm256_fmadd_ps(gv1, xv, a11);
        a21 = _mm256_fmadd_ps(gv2, xv, a21);
        a31 = _mm256_fmadd_ps(_mm256_loadu_ps(opaque(g3) + o), xv, a31);
        xv = _mm256_loadu_ps(x2 + xf);
        a02 = _mm256_fmadd_ps(gv0, xv, a02);
        a12 = _mm256_fmadd_ps(gv1, xv, a12);
        a22 = _mm256_fmadd_ps(gv2, xv, a22);
        a32 = _mm256_fmadd_ps(_mm256_loadu_ps(opaque(g3) + o), xv, a32);
    }
    acc[0][0] = a00, acc[0][1] = a01, acc[0][2] = a02, acc[1][0] = a10, acc[1][1] = a11, acc[1][2] = a12;
    acc[2][0] = a20, acc[2][1] = a21, acc[2][2] = a22, acc[3][0] = a30, acc[3][1] = a31, acc[3][2] = a32;
}

/* One tile over a segment: out[c * TB + q] = the tree of its 16 lanes. */
static AINLINE void wg_tile(const int CB, const int TB, const int mode, const wpass *p, float *out) {
    __m256 lo[8][4], hi[8][4];
    if (mode == PAD_ZERO && CB == 4 && TB == 3) {
        wg_pad_pass_4x3(p, 0, lo);
        wg_pad_pass_4x3(p, 1, hi);
    } else {
        wg_pass(CB, TB, mode, p, 0, lo);
        wg_pass(CB, TB, mode, p, 1, hi);
    }
#pragma GCC unroll 8
    for (int c = 0; c < CB; c++)
#pragma GCC unroll 4
        for (int q = 0; q < TB; q++) out[c * TB + q] = tree16(lo[c][q], hi[c][q]);
}

/* Tiles: 4 channels x 3 taps where T divides by 3 (3x3x3 kernels), 3 x 4
 * where by 4 (4x4x4), else 8 x 1: at most 12 accumulators, so that the x
 * vector, a mask and a temporary fit in the 16 registers too. */
typedef void (*wg_tile_fn)(const wpass *, float *);
#define WG_MODE(CB, TB, MODE)                                                                             \
    static __attribute__((noinline)) void wg_##MODE##_##CB##x##TB(const wpass *p, float *out) {          \
        wg_tile(CB, TB, MODE, p, out);                                                                    \
    }
#define WG_VARIANT(CB, TB) \
    WG_MODE(CB, TB, PAD_ZERO) WG_MODE(CB, TB, PAD_BLEND) WG_MODE(CB, TB, FLAT_ZERO) WG_MODE(CB, TB, FLAT_BLEND)
WG_VARIANT(4, 3)
WG_VARIANT(3, 4)
WG_VARIANT(8, 1)
#define WG_FNS(CB, TB) {wg_PAD_ZERO_##CB##x##TB, wg_PAD_BLEND_##CB##x##TB, wg_FLAT_ZERO_##CB##x##TB, \
                        wg_FLAT_BLEND_##CB##x##TB}
static const wg_tile_fn WG_FNS_4x3[4] = WG_FNS(4, 3), WG_FNS_3x4[4] = WG_FNS(3, 4), WG_FNS_8x1[4] = WG_FNS(8, 1);

/* Per 8-voxel vector u of the segment [ja, jb): m[u * T + t] = its lanes
 * whose voxel lies before jb and reads inside the grid through tap t. */
static void segment_masks(const wjob *j, int64_t ja, int64_t jb, int64_t nu, uint8_t *m) {
    const ie_conv_geom *g = j->g;
    const ie_direct_taps *t = &j->taps;
    const int64_t GH = g->out[1], GW = g->out[2];
    for (int64_t u = 0; u < nu; u++) {
        uint8_t md[3][IE_DIRECT_MAXK];
        memset(md, 0, sizeof md);
        for (int l = 0; l < 8; l++) {
            const int64_t v = ja + 8 * u + l;
            if (v >= jb) break;
            const int64_t c[3] = {v / (GH * GW), (v / GW) % GH, v % GW};
            for (int d = 0; d < 3; d++)
                for (int k = 0; k < t->n[d]; k++)
                    if (c[d] + t->shift[d][k] >= 0 && c[d] + t->shift[d][k] < g->out[d]) md[d][k] |= (uint8_t)(1u << l);
        }
        uint8_t *row = m + u * j->T;
        for (int a = 0; a < t->n[0]; a++)
            for (int b = 0; b < t->n[1]; b++)
                for (int e = 0; e < t->n[2]; e++) *row++ = md[0][a] & md[1][b] & md[2][e];
    }
}

/* Padded x: the offset of each 8-voxel vector of the segment (all in one
 * grid row) in its padded plane. */
static void segment_offsets(const wjob *j, int64_t ja, int64_t nu, int64_t *xo) {
    const ie_conv_geom *g = j->g;
    const int64_t GH = g->out[1], GW = g->out[2];
    for (int64_t u = 0; u < nu; u++) {
        const int64_t v = ja + 8 * u, d = v / (GH * GW), h = (v / GW) % GH, w = v % GW;
        xo[u] = ((d + j->xp.lo[0]) * j->xp.dim[1] + h + j->xp.lo[1]) * j->xp.dim[2] + w + j->xp.lo[2];
    }
}

/* Segment [ja, jb) of batch item n, output-channel blocks [b0, b1). */
static void wg_segment(wjob *j, int64_t n, int64_t ja, int64_t jb, int64_t b0, int64_t b1, float *part) {
    const ie_conv_geom *g = j->g;
    const int64_t T = j->T, cin = g->cin, cout = g->cout, L = jb - ja;
    /* padded: whole vectors only (the grid's rows are); flat: a partial one ends the segment */
    const int64_t nu = j->padded ? L / 8 : 2 * cdiv(L, 16);
    uint8_t *m = (uint8_t *)ie_conv_scratch(2, (size_t)(nu * T) / 4 + 16);
    bool *finite = (bool *)ie_conv_scratch(3, (size_t)cout / 4 + 1);
    int64_t *xo = (int64_t *)ie_conv_scratch(1, (size_t)nu * 2 + 2);
    if (!m || !finite || !xo) {
        ie_conv_fail(&j->fail);
        return;
    }
    bool have_masks = !j->padded; /* padded: made when a tile must blend */
    wpass p = {.T = T, .nu = nu, .m = m, .xo = xo};
    if (j->padded) {
        segment_offsets(j, ja, nu, xo);
    } else {
        segment_masks(j, ja, jb, nu, m);
        /* Vectors [safe_lo, safe_hi) read x inside its buffer for every tap
         * and channel and end inside the segment: no masked loads. */
        int64_t min_off = 0, max_off = 0;
        for (int64_t t = 0; t < T; t++) {
            min_off = j->toff[t] < min_off ? j->toff[t] : min_off;
            max_off = j->toff[t] > max_off ? j->toff[t] : max_off;
        }
        const int64_t base = n * cin * j->xcs + ja, total = g->batch * cin * j->xcs;
        p.safe_lo = -(base + min_off) > 0 ? cdiv(-(base + min_off), 8) : 0;
        const int64_t room = total - base - (cin - 1) * j->xcs - 8 - max_off;
        p.safe_hi = imin(room < 0 ? 0 : room / 8 + 1, L / 8);
    }
    const float *xn = j->x + n * cin * j->xcs + (j->padded ? 0 : ja);
    const float *gn = j->gy + n * cout * j->gvol + ja;
    const int cb = (int)j->cb, tb = (int)j->tb;
    const wg_tile_fn *fns = tb == 3 ? WG_FNS_4x3 : tb == 4 ? WG_FNS_3x4 : WG_FNS_8x1;
    for (int64_t c = b0 * cb; c < imin(b1 * cb, cout); c++) finite[c] = row_finite(gn + c * j->gvol, L);
    /* input channel outer: its x rows stay in L1 while every channel block
     * passes over them (the segment's gy rows stay in L2) */
    for (int64_t ci = 0; ci < cin; ci++) {
        for (int64_t bi = b0; bi < b1; bi++) {
            const int64_t c0 = bi * cb, valid = imin(cb, cout - c0);
            bool zero = true; /* the block's gy rows are finite */
            for (int c = 0; c < cb; c++) {
                p.g[c] = c < valid ? gn + (c0 + c) * j->gvol : wg_zeros;
                zero = zero && (c >= valid || finite[c0 + c]);
            }
            if (!zero && !have_masks) {
                segment_masks(j, ja, jb, nu, m);
                have_masks = true;
            }
            const wg_tile_fn fn = fns[(j->padded ? PAD_ZERO : FLAT_ZERO) + (zero ? 0 : 1)];
            for (int64_t t0 = 0; t0 < T; t0 += tb) {
                for (int q = 0; q < tb; q++) p.x[q] = xn + ci * j->xcs + j->toff[t0 + q];
                p.m = m + t0;
                float out[12];
                fn(&p, out);
                for (int c = 0; c < valid; c++)
                    for (int q = 0; q < tb; q++) part[((c0 + c) * cin + ci) * T + t0 + q] += out[c * tb + q];
            }
        }
    }
}

/* The segments of weight-gradient group grp (canon_kernels.h): at most SEG
 * voxels, inside one batch item.  Call with *lo = -1 first; false at the end. */
static bool next_segment(int64_t grp, int64_t gvol, int64_t batch, int64_t *lo, int64_t *n, int64_t *ja,
                         int64_t *jb) {
    const int64_t hi = imin((grp + 1) * IE_CANON_WGRAD_GROUP, batch * gvol);
    *lo = *lo < 0 ? grp * IE_CANON_WGRAD_GROUP : *lo + (*jb - *ja);
    if (*lo >= hi) return false;
    *n = *lo / gvol;
    *ja = *lo % gvol;
    *jb = imin(imin(gvol, *ja + (hi - *lo)), *ja + SEG);
    return true;
}

static void wg_task(void *ctx, int64_t task) {
    wjob *j = ctx;
    const int64_t slot = task / j->ncg, cg = task % j->ncg, grp = j->wave_first + slot;
    const int64_t b0 = cg * j->nblk / j->ncg, b1 = (cg + 1) * j->nblk / j->ncg;
    const int64_t cin = j->g->cin, cout = j->g->cout, T = j->T;
    float *part = j->partial + slot * j->wsize;
    const int64_t c_lo = b0 * j->cb, c_hi = imin(b1 * j->cb, cout);
    if (c_hi > c_lo) memset(part + c_lo * cin * T, 0, (size_t)((c_hi - c_lo) * cin * T) * sizeof(float));
    int64_t lo = -1, n = 0, ja = 0, jb = 0;
    while (next_segment(grp, j->gvol, j->g->batch, &lo, &n, &ja, &jb)) wg_segment(j, n, ja, jb, b0, b1, part);
}

/* x's taps read a zero-padded copy where every 8-voxel vector lies in one
 * grid row (rows of whole vectors). */
static ie_status wg_input(wjob *j, const float *x, ie_tensor **owned) {
    const ie_conv_geom *g = j->g;
    const ie_direct_taps *t = &j->taps;
    j->padded = g->out[2] % 8 == 0;
    int64_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (int d = 0; d < 3; d++)
        for (int k = 0; k < t->n[d]; k++) {
            lo[d] = -t->shift[d][k] > lo[d] ? -t->shift[d][k] : lo[d];
            hi[d] = t->shift[d][k] > hi[d] ? t->shift[d][k] : hi[d];
        }
    if (!j->padded) {
        IE_TRY(ie_direct_phase_split(g, x, &j->x, owned));
        j->xcs = ie_conv_vol(g->in);
        for (int64_t q = 0, a = 0; a < t->n[0]; a++)
            for (int b = 0; b < t->n[1]; b++)
                for (int e = 0; e < t->n[2]; e++) j->toff[q++] = t->off[0][a] + t->off[1][b] + t->off[2][e];
        return IE_OK;
    }
    IE_TRY(ie_direct_phase_split_padded(g, x, lo, hi, &j->xp, owned));
    j->x = j->xp.x;
    j->xcs = j->xp.cstride;
    /* tap offset = phase plane + shift in the padded plane, per dimension */
    int64_t off[3][IE_DIRECT_MAXK];
    const int64_t pstride[3] = {(int64_t)g->stride[1] * g->stride[2] * j->xp.plane, (int64_t)g->stride[2] * j->xp.plane,
                                j->xp.plane};
    const int64_t sstride[3] = {j->xp.dim[1] * j->xp.dim[2], j->xp.dim[2], 1};
    for (int d = 0; d < 3; d++)
        for (int k = 0; k < t->n[d]; k++) {
            const int64_t phase = (int64_t)t->k[d][k] * g->dil[d] - g->pad[d] - (int64_t)g->stride[d] * t->shift[d][k];
            off[d][k] = phase * pstride[d] + t->shift[d][k] * sstride[d];
        }
    for (int64_t q = 0, a = 0; a < t->n[0]; a++)
        for (int b = 0; b < t->n[1]; b++)
            for (int e = 0; e < t->n[2]; e++) j->toff[q++] = off[0][a] + off[1][b] + off[2][e];
    return IE_OK;
}

/* ---------------- weight gradient, small grids ----------------
 *
 * On a grid of at most SMALL_GRID voxels (a U-Net's lowest levels) most
 * voxels touch the border and a lane's chain is a few voxels long, so the
 * voxel-lane kernel is all masks and trees.  Here 8 output channels share a
 * vector instead: for each tap and lane l, the chain over the lane's voxels
 * that the tap reads inside x (listed per tap, so padding is skipped
 * exactly) accumulates gy (transposed to channels-last) times x broadcast;
 * the 16 lane vectors are then added by the tree of ie_canon_tree16, lane
 * for lane, into the group's partial sums, kept as [ci][tap][co]. */

#define SMALL_GRID 512
#define SG_NCI 6 /* input channels per tile: 2 x 6 accumulators + 2 gy vectors + 1 broadcast */

typedef struct sjob {
    const ie_conv_geom *g;
    const float *x; /* phase split */
    const float *gy;
    ie_direct_taps taps;
    int64_t toff[IE_DIRECT_MAXTAPS];
    int64_t gvol, xcs, T, cop, nblk, ngroups, ncg, psize; /* cop: cout rounded up to 16; psize = cin * T * cop */
    float *partial;     /* [wave][cin][T][cop] */
    int64_t wave_first; /* first group of the current wave */
    ie_conv_failure fail;
} sjob;

/* out[v] += the tree of the 16 lane vectors lb[l][v] (ie_canon_tree16, per lane). */
static AINLINE __m256 tree16v(const __m256 *lb, int stride, int v) {
#define LB(l) lb[(l) * stride + v]
    const __m256 s0 = _mm256_add_ps(_mm256_add_ps(LB(0), LB(2)), _mm256_add_ps(LB(1), LB(3)));
    const __m256 s1 = _mm256_add_ps(_mm256_add_ps(LB(4), LB(6)), _mm256_add_ps(LB(5), LB(7)));
    const __m256 s2 = _mm256_add_ps(_mm256_add_ps(LB(8), LB(10)), _mm256_add_ps(LB(9), LB(11)));
    const __m256 s3 = _mm256_add_ps(_mm256_add_ps(LB(12), LB(14)), _mm256_add_ps(LB(13), LB(15)));
#undef LB
    return _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3));
}

/* 16 output channels x NCI input channels of one tap: each lane's chain,
 * then the tree into part[ci * pstride + (0..15)]. */
static AINLINE void sg_tile(const int NCI, const float *gyT, int64_t cop, const float *const *xp,
                            const int32_t *vj, const int32_t *vstart, float *part, int64_t pstride) {
    __m256 lb[16][2 * SG_NCI];
    for (int l = 0; l < 16; l++) {
        __m256 acc[2][SG_NCI];
#pragma GCC unroll 6
        for (int c = 0; c < NCI; c++) acc[0][c] = acc[1][c] = _mm256_setzero_ps();
        for (int32_t i = vstart[l]; i < vstart[l + 1]; i++) {
            const int64_t v = vj[i];
            const __m256 g0 = _mm256_loadu_ps(gyT + v * cop), g1 = _mm256_loadu_ps(gyT + v * cop + 8);
#pragma GCC unroll 6
            for (int c = 0; c < NCI; c++) {
                const __m256 xb = _mm256_broadcast_ss(xp[c] + v);
                acc[0][c] = _mm256_fmadd_ps(g0, xb, acc[0][c]);
                acc[1][c] = _mm256_fmadd_ps(g1, xb, acc[1][c]);
            }
        }
#pragma GCC unroll 6
        for (int c = 0; c < NCI; c++) {
            lb[l][2 * c] = acc[0][c];
            lb[l][2 * c + 1] = acc[1][c];
        }
    }
    for (int c = 0; c < NCI; c++)
        for (int h = 0; h < 2; h++) {
            float *o = part + c * pstride + 8 * h;
            _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), tree16v(&lb[0][0], 2 * SG_NCI, 2 * c + h)));
        }
}

#define SG_VARIANT(NCI)                                                                                    \
    static void sg_tile_##NCI(const float *gyT, int64_t cop, const float *const *xp, const int32_t *vj,  \
                              const int32_t *vstart, float *part, int64_t pstride) {                     \
        sg_tile(NCI, gyT, cop, xp, vj, vstart, part, pstride);                                             \
    }
SG_VARIANT(1)
SG_VARIANT(2)
SG_VARIANT(3)
SG_VARIANT(4)
SG_VARIANT(5)
SG_VARIANT(6)
typedef void (*sg_fn)(const float *, int64_t, const float *const *, const int32_t *, const int32_t *, float *,
                      int64_t);
static const sg_fn SG_FNS[SG_NCI] = {sg_tile_1, sg_tile_2, sg_tile_3, sg_tile_4, sg_tile_5, sg_tile_6};

/* Segment [ja, jb) of item n, channel blocks [b0, b1) of 16. */
static void sg_segment(sjob *j, int64_t n, int64_t ja, int64_t jb, int64_t b0, int64_t b1, float *part) {
    const ie_conv_geom *g = j->g;
    const ie_direct_taps *t = &j->taps;
    const int64_t L = jb - ja, cin = g->cin, cop = j->cop, GH = g->out[1], GW = g->out[2];
    float *gyT = ie_conv_scratch(2, (size_t)(L * cop));
    int32_t *vj = (int32_t *)ie_conv_scratch(3, (size_t)(L + 16 * 4 + 17));
    if (!gyT || !vj) {
        ie_conv_fail(&j->fail);
        return;
    }
    int32_t *vstart = vj + L;
    const int64_t c_lo = b0 * 16, c_hi = imin(b1 * 16, g->cout);
    for (int64_t v = 0; v < L; v++)
        for (int64_t c = b0 * 16; c < b1 * 16; c++)
            gyT[v * cop + c] = c < c_hi ? j->gy[(n * g->cout + c) * j->gvol + ja + v] : 0.0f;
    (void)c_lo;
    int64_t tap = 0;
    for (int a = 0; a < t->n[0]; a++)
        for (int b = 0; b < t->n[1]; b++)
            for (int e = 0; e < t->n[2]; e++, tap++) {
                /* each lane's voxels that this tap reads inside the grid, in order */
                int32_t k = 0;
                for (int l = 0; l < 16; l++) {
                    vstart[l] = k;
                    for (int64_t v = l; v < L; v += 16) {
                        const int64_t p = ja + v, d = p / (GH * GW), h = (p / GW) % GH, w = p % GW;
                        if (d + t->shift[0][a] >= 0 && d + t->shift[0][a] < g->out[0] && h + t->shift[1][b] >= 0 &&
                            h + t->shift[1][b] < GH && w + t->shift[2][e] >= 0 && w + t->shift[2][e] < GW)
                            vj[k++] = (int32_t)v;
                    }
                }
                vstart[16] = k;
                const float *xt = j->x + n * cin * j->xcs + ja + j->toff[tap];
                for (int64_t bi = b0; bi < b1; bi++)
                    for (int64_t c0 = 0; c0 < cin; c0 += SG_NCI) {
                        const int nci = (int)imin(SG_NCI, cin - c0);
                        const float *xp[SG_NCI];
                        for (int c = 0; c < nci; c++) xp[c] = xt + (c0 + c) * j->xcs;
                        SG_FNS[nci - 1](gyT + bi * 16, cop, xp, vj, vstart, part + (c0 * j->T + tap) * cop + bi * 16,
                                        j->T * cop);
                    }
            }
}

static void sg_task(void *ctx, int64_t task) {
    sjob *j = ctx;
    const int64_t slot = task / j->ncg, cg = task % j->ncg, grp = j->wave_first + slot;
    const int64_t b0 = cg * j->nblk / j->ncg, b1 = (cg + 1) * j->nblk / j->ncg;
    float *part = j->partial + slot * j->psize;
    if (b1 - b0 == j->nblk) /* the whole rows: one call (a call per row was 1% of a training step) */
        memset(part, 0, (size_t)j->psize * sizeof(float));
    else
        for (int64_t r = 0; r < j->g->cin * j->T; r++)
            memset(part + r * j->cop + b0 * 16, 0, (size_t)((b1 - b0) * 16) * sizeof(float));
    int64_t lo = -1, n = 0, ja = 0, jb = 0;
    while (next_segment(grp, j->gvol, j->g->batch, &lo, &n, &ja, &jb)) sg_segment(j, n, ja, jb, b0, b1, part);
}

static ie_status small_grid_wgrad(const ie_conv_geom *g, const float *x, const float *gy, float *gw) {
    sjob j = {.g = g, .gy = gy, .gvol = ie_conv_vol(g->out), .xcs = ie_conv_vol(g->in), .T = ie_conv_ktaps(g)};
    ie_direct_forward_taps(g, &j.taps);
    for (int64_t q = 0, a = 0; a < j.taps.n[0]; a++)
        for (int b = 0; b < j.taps.n[1]; b++)
            for (int e = 0; e < j.taps.n[2]; e++) j.toff[q++] = j.taps.off[0][a] + j.taps.off[1][b] + j.taps.off[2][e];
    j.cop = cdiv(g->cout, 16) * 16;
    j.nblk = j.cop / 16;
    j.psize = g->cin * j.T * j.cop;
    j.ngroups = cdiv(g->batch * j.gvol, IE_CANON_WGRAD_GROUP);
    j.ncg = j.ngroups >= MIN_TASKS ? 1 : imin(cdiv(MIN_TASKS, j.ngroups), j.nblk);
    ie_tensor *owned = NULL, *partial_t = NULL;
    IE_TRY(ie_direct_phase_split(g, x, &j.x, &owned));
    ie_status st = IE_OK;
    /* a wave's partial sums, then (several groups) their running sum */
    const int64_t wave = imin(j.ngroups, IE_CANON_WGRAD_WAVE);
    if (ie_conv_temp((wave + (j.ngroups > 1)) * j.psize, &partial_t) != IE_OK) {
        st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for partial sums");
        goto done;
    }
    j.partial = ie_f32(partial_t);
    float *const sum = j.ngroups > 1 ? j.partial + wave * j.psize : j.partial;
    atomic_init(&j.fail.failed, 0);
    for (int64_t first = 0; first < j.ngroups; first += wave) {
        const int64_t n = imin(wave, j.ngroups - first);
        j.wave_first = first;
        ie_parallel_for(n * j.ncg, sg_task, &j);
        if (atomic_load(&j.fail.failed)) {
            st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for a segment's tables");
            goto done;
        }
        if (j.ngroups > 1) ie_direct_sum_groups(j.partial, n, j.psize, first == 0, sum);
    }
    /* [ci * T][cop] -> gw [cout][ci * T] */
    transpose(sum, g->cin * j.T, g->cout, j.cop, 0, gw, g->cin * j.T, 0, 1);
done:
    ie_tensor_release(partial_t);
    ie_tensor_release(owned);
    return st;
}

ie_status ie_conv_direct_avx2_backward_weight(const ie_conv_geom *g, const float *x, const float *gy, float *gw) {
    const int64_t ovol = ie_conv_vol(g->out), T = ie_conv_ktaps(g);
    const int64_t wsize = g->cout * g->cin * T;
    if (wsize == 0) return IE_OK;
    if (g->batch * ovol == 0) {
        memset(gw, 0, (size_t)wsize * sizeof(float));
        return IE_OK;
    }
    if (ovol <= SMALL_GRID && ie_cpu_conv_get_mode() != IE_CPU_CONV_DIRECT_VECTOR)
        return small_grid_wgrad(g, x, gy, gw);
    ie_tensor *owned = NULL, *partial_t = NULL;
    wjob j = {.g = g, .gy = gy, .gvol = ovol, .T = T, .wsize = wsize};
    ie_direct_forward_taps(g, &j.taps);
    IE_TRY(wg_input(&j, x, &owned));
    ie_status st = IE_OK;
    j.tb = T % 3 == 0 ? 3 : T % 4 == 0 ? 4 : 1;
    j.cb = j.tb == 3 ? 4 : j.tb == 4 ? 3 : 8;
    j.nblk = cdiv(g->cout, j.cb);
    j.ngroups = cdiv(g->batch * ovol, IE_CANON_WGRAD_GROUP);
    j.ncg = j.ngroups >= MIN_TASKS ? 1 : imin(cdiv(MIN_TASKS, j.ngroups), j.nblk);
    const int64_t wave = imin(j.ngroups, IE_CANON_WGRAD_WAVE);
    if (j.ngroups > 1 && ie_conv_temp(wave * wsize, &partial_t) != IE_OK) {
        st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for %lld partial sums",
                          (long long)(wave * wsize));
        goto done;
    }
    j.partial = partial_t ? ie_f32(partial_t) : gw;
    atomic_init(&j.fail.failed, 0);
    for (int64_t first = 0; first < j.ngroups && st == IE_OK; first += wave) {
        const int64_t n = imin(wave, j.ngroups - first);
        j.wave_first = first;
        ie_parallel_for(n * j.ncg, wg_task, &j);
        if (atomic_load(&j.fail.failed))
            st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for a mask table");
        else if (j.ngroups > 1)
            ie_direct_sum_groups(j.partial, n, wsize, first == 0, gw);
    }
done:
    ie_tensor_release(partial_t);
    ie_tensor_release(owned);
    return st;
}
