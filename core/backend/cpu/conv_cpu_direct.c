/* core/backend/cpu - direct AVX-512 convolution kernels.
 *
 * They compute the canonical arithmetic order of canon_kernels.h (the
 * canonical kernels of every CPU path give the same bytes); they are the
 * avx512 path's fast implementation for the shapes below.
 *
 * They handle every geometry with in == stride * out per dimension (all of a
 * U-Net's convs: 'same' stride-1 convs, stride-2 downsampling of even sizes,
 * k4/s2/p1 transposed convs).  With that, each conv is a "flat gather" over a
 * grid G the size of the output:
 *
 *   y[co, j] = sum_{t, ci} w_t[ci, co] * x_t[ci, j + shift_t]   (0 outside G)
 *
 * Sixteen consecutive flattened voxels j form one vector; the kernel taps only
 * move the load address and a lane mask, so no column matrix is built and the
 * input is read from cache.  Register tile: 16 output channels x 1 vector (or
 * 8 x 2, 4 x 4), each weight broadcast from memory feeding one FMA.
 *  - forward with stride s: x is first split into s^3 phase planes so that
 *    every tap reads consecutive voxels;
 *  - backward data: the input voxels split into s^3 parity classes, each a
 *    gather from gy with its own taps, stored with a scatter;
 *  - backward weight: per fixed voxel group, register tiles of
 *    (channels x taps) dot products over the group, summed in group order.
 * Grids of at most SMALL_GRID voxels (a U-Net's lowest levels) put 16 output
 * channels in a vector instead and run each voxel's valid taps only (see
 * "small grids" below; the weight gradient's, "weight gradient, small
 * grids").  Where a whole vector provably stays inside the
 * buffer, loads are plain and the bounds masks go on the FMAs: a masked load
 * costs an extra uop on the FMA ports, a masked FMA does not.
 * Work is cut by voxel chunks and channel blocks fixed by the shape; every
 * output element is owned by one task and summed in a fixed order, so the
 * bytes do not depend on the thread count. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/cpu/canon_kernels.h"
#include "core/backend/cpu/conv_cpu_direct_common.h"

#define DTGT __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define DINLINE __attribute__((always_inline)) inline

#define FLAT_MAXK IE_DIRECT_MAXK
#define FLAT_MAXTAPS IE_DIRECT_MAXTAPS
#define CHUNK 1024                /* voxels per forward task */
#define CHUNK_VECS (CHUNK / 16)
#define WGRAD_GROUP 4096          /* voxels per weight-gradient group */
#define MIN_TASKS 16              /* split channels when voxels give fewer tasks */
#define SMALL_GRID 512            /* at most this many voxels: channels in lanes, exact taps */
#define VOX_MIN_TASKS 8           /* small grids: cut the batch until there are this many tasks */
#define VOX_MIN_ITEMS 8           /* ... but not below this many items per task */

bool ie_conv_direct_available(void) {
    static _Atomic int cached = -1; /* racing first calls compute the same value */
    int v = atomic_load(&cached);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("fma");
        atomic_store(&cached, v);
    }
    return v;
}

/* ---------------- taps and weight packing ---------------- */

typedef ie_direct_taps flat_taps;

static int64_t taps_count(const flat_taps *t) { return ie_direct_taps_count(t); }

/* Output-channel blocks: 16 wide while more than 8 remain, then 8, then 4
 * (padded with zero weights; the store skips the padding). */
typedef struct block {
    int64_t c0, off; /* first channel; float offset of the block in a class's pack */
    int width, valid;
} block;

typedef struct blocks {
    int64_t n;
    int64_t pack_size; /* floats per class */
    block b[];
} blocks;

static blocks *make_blocks(int64_t cy, int64_t cx, int64_t ntaps, bool only16) {
    blocks *b = malloc(sizeof *b + (size_t)(cy / 4 + 2) * sizeof(block));
    if (!b) return NULL;
    b->n = 0;
    b->pack_size = 0;
    for (int64_t c = 0; c < cy;) {
        int64_t rem = cy - c;
        int w = rem > 8 || only16 ? 16 : rem > 4 ? 8 : 4;
        block *k = &b->b[b->n++];
        k->c0 = c;
        k->width = w;
        k->valid = (int)(rem < w ? rem : w);
        k->off = b->pack_size;
        b->pack_size += ntaps * cx * w;
        c += w;
    }
    return b;
}

typedef struct pack_job {
    const float *w;
    float *pack;           /* [classes][pack_size] */
    const flat_taps *taps; /* per class, stride taps_stride bytes */
    size_t taps_stride;
    int64_t ncls;
    const blocks *b;
    int64_t cx, ktaps, sy, sx; /* w index = y*sy + x*sx + k */
    int kernel[3];
    ie_conv_failure *fail;
} pack_job;

/* The tap order of class c: ks[tt] = flat kernel index of its tap tt. */
static int64_t class_kernel_taps(const pack_job *j, const flat_taps *t, int64_t *ks) {
    int64_t T = 0;
    for (int a = 0; a < t->n[0]; a++)
        for (int bb = 0; bb < t->n[1]; bb++)
            for (int e = 0; e < t->n[2]; e++)
                ks[T++] = ((int64_t)t->k[0][a] * j->kernel[1] + t->k[1][bb]) * j->kernel[2] + t->k[2][e];
    return T;
}

/* One channel block of every class, with one gather per (x, tap) (x outer,
 * so each weight's run of taps is read from L1 once it is touched; every
 * write is a full block row).  Only used where a kernel tap belongs to more
 * than one class (pack_task). */
DTGT static void pack_block_gather(const pack_job *j, const block *blk) {
    const int w = blk->width, valid = blk->valid;
    const int64_t c0 = blk->c0, cx = j->cx;
    const __mmask16 m = (__mmask16)((1u << valid) - 1);
    const __mmask16 mw = (__mmask16)(w == 16 ? 0xffff : (1u << w) - 1);
    const __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)j->sy));
    for (int64_t c = 0; c < j->ncls; c++) {
        const flat_taps *t = (const flat_taps *)((const char *)j->taps + c * j->taps_stride);
        float *dst = j->pack + c * j->b->pack_size + blk->off;
        int64_t ks[FLAT_MAXTAPS];
        const int64_t T = class_kernel_taps(j, t, ks);
        for (int64_t x = 0; x < cx; x++) {
            const float *src = j->w + c0 * j->sy + x * j->sx;
            for (int64_t tt = 0; tt < T; tt++) {
                __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, rows, src + ks[tt], 4);
                _mm512_mask_storeu_ps(dst + (tt * cx + x) * w, mw, v);
            }
        }
    }
}

/* In-register transpose: lane l of r[i] becomes lane i of r[l]. */
DTGT static DINLINE void transpose16(__m512 *r) {
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* u[4g + q], 128-bit block b: rows 4g..4g+3 of column 4b + q */
    __m512 u[16];
#pragma GCC unroll 4
    for (int i = 0; i < 16; i += 4) {
        const __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
        const __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
        u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        const __m512 a = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88), b = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xdd);
        const __m512 c = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88),
                     d = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xdd);
        r[q] = _mm512_shuffle_f32x4(a, c, 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(a, c, 0xdd);
        r[4 + q] = _mm512_shuffle_f32x4(b, d, 0x88);
        r[12 + q] = _mm512_shuffle_f32x4(b, d, 0xdd);
    }
}

/* One channel block of every class.  The block's rows are read 16
 * consecutive weights at a time (plain loads, no gathers: the gathers were
 * most of a pack's time), transposed in registers, and each resulting column
 * (one weight of the block's channels) is stored to where its kernel tap
 * goes: the class and tap position that use it.  Every element of every class
 * is written exactly once, as by the gathers, so the pack is the same. */
DTGT static void pack_task(void *ctx, int64_t bi) {
    const pack_job *j = ctx;
    const block *blk = &j->b->b[bi];
    const int w = blk->width, valid = blk->valid;
    const int64_t cx = j->cx, K = j->ktaps;
    const __mmask16 mw = (__mmask16)(w == 16 ? 0xffff : (1u << w) - 1);
    /* dk[k]: where kernel tap k's block row for x = 0 goes (-1: no class uses it) */
    int64_t dk[FLAT_MAXTAPS];
    for (int64_t k = 0; k < K; k++) dk[k] = -1;
    for (int64_t c = 0; c < j->ncls; c++) {
        const flat_taps *t = (const flat_taps *)((const char *)j->taps + c * j->taps_stride);
        int64_t ks[FLAT_MAXTAPS];
        const int64_t T = class_kernel_taps(j, t, ks);
        for (int64_t tt = 0; tt < T; tt++) {
            if (dk[ks[tt]] >= 0) {
                pack_block_gather(j, blk);
                return;
            }
            dk[ks[tt]] = c * j->b->pack_size + blk->off + tt * cx * w;
        }
    }
    const float *src0 = j->w + blk->c0 * j->sy;
    /* Row segments: with sx == K a row's x and k are one run of cx * K
     * weights (the forward layout), else one run of K per x. */
    const bool flat = j->sx == K;
    const int64_t seg = flat ? cx * K : K, nseg = flat ? 1 : cx;
    for (int64_t s = 0; s < nseg; s++) {
        const float *base = src0 + s * j->sx;
        int64_t x = flat ? 0 : s, k = 0; /* of element f below */
        for (int64_t f = 0; f < seg; f += 16) {
            const int n = seg - f < 16 ? (int)(seg - f) : 16;
            const __mmask16 mt = (__mmask16)(n == 16 ? 0xffff : (1u << n) - 1);
            __m512 r[16];
#pragma GCC unroll 16
            for (int l = 0; l < 16; l++)
                r[l] = l < valid ? _mm512_maskz_loadu_ps(mt, base + l * j->sy + f) : _mm512_setzero_ps();
            transpose16(r);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                if (i >= n) break;
                if (dk[k] >= 0) _mm512_mask_storeu_ps(j->pack + dk[k] + x * w, mw, r[i]);
                if (++k == K) {
                    k = 0;
                    x++;
                }
            }
        }
    }
}

/* ---------------- lane coordinates ---------------- */

/* Grid coordinates of the 16 voxels starting at j0 (lanes past `end` get
 * coordinates too; the tail mask removes them). */
static void lane_coords(int64_t j0, const int64_t grid[3], int32_t *cd, int32_t *ch, int32_t *cw) {
    int64_t hw = grid[1] * grid[2];
    int64_t d = j0 / hw, h = (j0 / grid[2]) % grid[1], w = j0 % grid[2];
    for (int l = 0; l < 16; l++) {
        cd[l] = (int32_t)d;
        ch[l] = (int32_t)h;
        cw[l] = (int32_t)w;
        if (++w == grid[2]) {
            w = 0;
            if (++h == grid[1]) {
                h = 0;
                d++;
            }
        }
    }
}

/* Per vector of 16 voxels: masks[dim][k] = lanes whose coordinate + shift
 * stays inside the grid (dimension 0's masks also drop lanes past the end),
 * the tail mask, and for scattered stores each lane's output offset. */
typedef struct vec_masks {
    __mmask16 m[3][FLAT_MAXK];
    __mmask16 tail;
} vec_masks;

DTGT static void make_masks(int64_t j0, int64_t end, const int64_t grid[3], const flat_taps *t,
                            vec_masks *vm, __m512i *idx_out, const int64_t *ys, const int64_t *yr,
                            const int64_t *ydim) {
    int32_t cd[16], ch[16], cw[16];
    lane_coords(j0, grid, cd, ch, cw);
    __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int64_t left = end - j0 < 16 ? end - j0 : 16;
    __mmask16 tail = _mm512_cmplt_epi32_mask(lane, _mm512_set1_epi32((int)left));
    vm->tail = tail;
    __m512i c[3] = {_mm512_loadu_si512(cd), _mm512_loadu_si512(ch), _mm512_loadu_si512(cw)};
    for (int d = 0; d < 3; d++) {
        __m512i lim = _mm512_set1_epi32((int)grid[d]);
        for (int k = 0; k < t->n[d]; k++) {
            __m512i v = _mm512_add_epi32(c[d], _mm512_set1_epi32(t->shift[d][k]));
            __mmask16 m = _mm512_cmplt_epu32_mask(v, lim);
            vm->m[d][k] = d == 0 ? (__mmask16)(m & tail) : m;
        }
    }
    if (idx_out) { /* ((s*jd + r) * YH + s*jh + r) * YW + s*jw + r */
        __m512i o[3];
        for (int d = 0; d < 3; d++)
            o[d] = _mm512_add_epi32(_mm512_mullo_epi32(c[d], _mm512_set1_epi32((int)ys[d])),
                                    _mm512_set1_epi32((int)yr[d]));
        __m512i idx = _mm512_add_epi32(_mm512_mullo_epi32(o[0], _mm512_set1_epi32((int)ydim[1])), o[1]);
        *idx_out = _mm512_add_epi32(_mm512_mullo_epi32(idx, _mm512_set1_epi32((int)ydim[2])), o[2]);
    }
}

/* ---------------- the gather kernel (forward, backward data) ---------------- */

typedef struct gather_class {
    flat_taps taps;
    int64_t r[3]; /* scatter residue */
} gather_class;

/* Where the two halves of a vector's 16 voxels go when they are stored as
 * two runs of stride 2 (gather_job.pair_store): half h's lane i lands at
 * base[h] + 2i, for the lanes in m[h] (bit 2i per lane). */
typedef struct half_store {
    int64_t base[2];
    __mmask16 m[2];
} half_store;

typedef struct gather_job {
    const float *x;
    int64_t x_nstride, x_cstride, cx;
    int64_t grid[3], gvol;
    const gather_class *cls;
    int64_t ncls;
    const blocks *b;
    const float *pack; /* [ncls][pack_size] */
    const float *bias; /* [cy] or NULL */
    float *y;
    int64_t y_nstride, y_cstride;
    bool scatter;
    /* Scattered outputs of stride 2 in width on a grid whose rows are
     * multiples of 8 voxels: each half vector lies in one output row, so it
     * is spread over 16 lanes by a permute and written with a masked store
     * (a 16-lane scatter costs more than the two). */
    bool pair_store;
    int64_t ys[3], ydim[3];
    int64_t batch, nchunks, ngroups, cy;
} gather_job;

/* NV vectors of 16 voxels x CB output channels, accumulated over every tap
 * and input channel (weights of one tap: [cx][CB]). */
DTGT static DINLINE void gather_tile(const int NV, const int CB, const bool safe, const gather_job *j,
                                     const flat_taps *t,
                                     const float *xn, const float *wblk, const vec_masks *vm,
                                     const __m512i *idx, const half_store *hs, int64_t j0, float *yn,
                                     int64_t c0, int valid) {
    __m512 acc[16][4];
    const int64_t cx = j->cx, cs = j->x_cstride;
#pragma GCC unroll 16
    for (int c = 0; c < CB; c++) {
        __m512 b0 = _mm512_set1_ps(j->bias && c < valid ? j->bias[c0 + c] : 0.0f);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[c][v] = b0;
    }
    int64_t tap = 0;
    const int64_t n12 = (int64_t)t->n[1] * t->n[2];
    for (int a = 0; a < t->n[0]; a++) {
        __mmask16 ma[4];
        int any = 0;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            ma[v] = vm[v].m[0][a];
            any |= ma[v];
        }
        if (!any) {
            tap += n12;
            continue;
        }
        for (int b = 0; b < t->n[1]; b++) {
            __mmask16 mb[4];
            any = 0;
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) {
                mb[v] = ma[v] & vm[v].m[1][b];
                any |= mb[v];
            }
            if (!any) {
                tap += t->n[2];
                continue;
            }
            for (int e = 0; e < t->n[2]; e++, tap++) {
                __mmask16 m[4];
                any = 0;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                    m[v] = mb[v] & vm[v].m[2][e];
                    any |= m[v];
                }
                if (!any) continue;
                /* Lanes outside the grid are masked off, so the address may
                 * lie before or after the plane: masked lanes never load. */
                const float *xt = (const float *)((uintptr_t)xn +
                                                  (uintptr_t)(j0 + t->off[0][a] + t->off[1][b] + t->off[2][e]) *
                                                      sizeof(float));
                const float *wt = wblk + tap * cx * CB;
#pragma GCC unroll 4
                for (int64_t ci = 0; ci < cx; ci++) {
                    __m512 xv[4];
#pragma GCC unroll 4
                    for (int v = 0; v < NV; v++)
                        xv[v] = safe ? _mm512_loadu_ps(xt + ci * cs + 16 * v)
                                     : _mm512_maskz_loadu_ps(m[v], xt + ci * cs + 16 * v);
#pragma GCC unroll 16
                    for (int c = 0; c < CB; c++) {
                        /* Padding lanes are skipped, never added as zero products
                         * (canon_kernels.h); masking the FMA is free. */
                        __m512 wb = _mm512_set1_ps(wt[ci * CB + c]);
#pragma GCC unroll 4
                        for (int v = 0; v < NV; v++) acc[c][v] = _mm512_mask3_fmadd_ps(xv[v], wb, acc[c][v], m[v]);
                    }
                }
            }
        }
    }
    const __m512i spread_lo = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i spread_hi = _mm512_add_epi32(spread_lo, _mm512_set1_epi32(8));
#pragma GCC unroll 16
    for (int c = 0; c < CB; c++) {
        if (c >= valid) break;
        float *yc = yn + (c0 + c) * j->y_cstride;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            if (j->pair_store) {
                _mm512_mask_storeu_ps(yc + hs[v].base[0], hs[v].m[0], _mm512_permutexvar_ps(spread_lo, acc[c][v]));
                _mm512_mask_storeu_ps(yc + hs[v].base[1], hs[v].m[1], _mm512_permutexvar_ps(spread_hi, acc[c][v]));
            } else if (j->scatter) {
                _mm512_mask_i32scatter_ps(yc, vm[v].tail, idx[v], acc[c][v], 4);
            } else {
                _mm512_mask_storeu_ps(yc + j0 + 16 * v, vm[v].tail, acc[c][v]);
            }
        }
    }
}

#define GATHER_VARIANT(NV, CB)                                                                       \
    DTGT static void gather_##CB##x##NV(const gather_job *j, const flat_taps *t, const float *xn,     \
                                        const float *w, const vec_masks *vm, const __m512i *idx,     \
                                        const half_store *hs, int64_t j0, float *yn, int64_t c0,      \
                                        int valid, bool safe) {                                       \
        if (safe)                                                                                    \
            gather_tile(NV, CB, true, j, t, xn, w, vm, idx, hs, j0, yn, c0, valid);                  \
        else                                                                                         \
            gather_tile(NV, CB, false, j, t, xn, w, vm, idx, hs, j0, yn, c0, valid);                 \
    }
GATHER_VARIANT(1, 16)
GATHER_VARIANT(2, 8)
GATHER_VARIANT(4, 4)

DTGT static void gather_task(void *ctx, int64_t task) {
    const gather_job *j = ctx;
    int64_t grp = task % j->ngroups, rest = task / j->ngroups;
    int64_t chunk = rest % j->nchunks;
    rest /= j->nchunks;
    int64_t cls_i = rest % j->ncls, n = rest / j->ncls;
    const gather_class *cls = &j->cls[cls_i];
    const flat_taps *t = &cls->taps;
    int64_t ja = chunk * CHUNK, jb = ja + CHUNK < j->gvol ? ja + CHUNK : j->gvol;
    int64_t nvec = (jb - ja + 15) / 16;
    /* Three spare entries so that a 4-vector tile never reads past the table. */
    vec_masks vm[CHUNK_VECS + 3];
    __m512i idx[CHUNK_VECS + 3];
    for (int64_t v = 0; v < nvec; v++)
        make_masks(ja + 16 * v, jb, j->grid, t, &vm[v], j->scatter ? &idx[v] : NULL, j->ys, cls->r, j->ydim);
    for (int64_t v = nvec; v < nvec + 3; v++) {
        memset(&vm[v], 0, sizeof vm[v]);
        idx[v] = _mm512_setzero_si512();
    }
    half_store hs[CHUNK_VECS + 3];
    if (j->pair_store)
        for (int64_t v = 0; v < nvec + 3; v++) {
            int32_t o[16];
            _mm512_storeu_si512(o, idx[v]);
            for (int h = 0; h < 2; h++) {
                hs[v].base[h] = o[8 * h];
                unsigned m = 0;
                for (int i = 0; i < 8; i++)
                    if ((vm[v].tail >> (8 * h + i)) & 1) m |= 1u << (2 * i);
                hs[v].m[h] = (__mmask16)m;
            }
        }
    const float *xn = j->x + n * j->x_nstride;
    float *yn = j->y + n * j->y_nstride;
    const float *pack = j->pack + cls_i * j->b->pack_size;
    /* Plain loads are safe when every tap of every vector of this chunk
     * (and of every input channel) stays inside the whole x buffer. */
    int64_t lo_off = 0, hi_off = 0;
    for (int d = 0; d < 3; d++) {
        int64_t mn = 0, mx = 0;
        for (int k = 0; k < t->n[d]; k++) {
            if (t->off[d][k] < mn) mn = t->off[d][k];
            if (t->off[d][k] > mx) mx = t->off[d][k];
        }
        lo_off += mn;
        hi_off += mx;
    }
    const int64_t start = n * j->x_nstride + ja + lo_off;
    const int64_t end = n * j->x_nstride + (j->cx - 1) * j->x_cstride + ja + 16 * (nvec + 3) + hi_off;
    const bool safe = start >= 0 && end <= j->batch * j->x_nstride;
    int64_t b0 = grp * j->b->n / j->ngroups, b1 = (grp + 1) * j->b->n / j->ngroups;
    for (int64_t bi = b0; bi < b1; bi++) {
        const block *blk = &j->b->b[bi];
        const float *wblk = pack + blk->off;
        int w = blk->width, valid = blk->valid;
        int64_t c0 = blk->c0;
        for (int64_t v = 0; v < nvec; v += 16 / w) {
            int64_t j0 = ja + 16 * v;
            if (w == 16)
                gather_16x1(j, t, xn, wblk, &vm[v], &idx[v], &hs[v], j0, yn, c0, valid, safe);
            else if (w == 8)
                gather_8x2(j, t, xn, wblk, &vm[v], &idx[v], &hs[v], j0, yn, c0, valid, safe);
            else
                gather_4x4(j, t, xn, wblk, &vm[v], &idx[v], &hs[v], j0, yn, c0, valid, safe);
        }
    }
}

/* ---------------- small grids: channels in lanes, exact taps ----------------
 *
 * On a grid of a few hundred voxels most voxels touch the border, where a
 * vector of 16 voxels would multiply many padding zeros.  Here 16 output
 * channels share a vector instead, and each (batch item, voxel) pair runs
 * exactly its valid taps.  Pairs are tiled six at a time, so that every
 * weight vector loaded (from a pack of up to several MB, beyond the L2
 * cache) serves six pairs: a tile runs the union of its pairs' taps in
 * kernel order, each pair's FMAs masked off on the taps it does not reach
 * (a masked FMA leaves its accumulator exactly as skipping it would).  The
 * voxels are sorted by which taps they reach, the grid's longest dimension
 * last; each pattern's whole tiles come first (exact taps), then the
 * leftover pairs of all patterns, mixed, so that mixed tiles' pairs differ
 * along one dimension and their union stays small.  (Tiles used to hold the pairs of one pattern only: on
 * a 2 x 3 x 2 grid, two pairs per tile, and the pack read four times over.) */

#define VOX_NJ 6 /* pairs per tile */

typedef struct vox_tdesc {
    int64_t first, count; /* pairs [first, first + count) of the item-minor pair list */
    int64_t tap0, ntap;   /* range in plan.tap_x / tap_w / tap_on */
} vox_tdesc;

typedef struct vox_plan {
    int64_t *order;  /* voxels sorted by pattern */
    int64_t *yidx;   /* output offset of each voxel */
    int64_t *pair_v; /* voxel of each pair, in tile order */
    int32_t *pair_n; /* its batch item (relative to the task's first) */
    vox_tdesc *tile;
    int64_t ntile;
    int64_t *tap_x;  /* x offset of each tap of a tile */
    int64_t *tap_w;  /* its weight offset: tap index * cx * 16 */
    uint8_t *tap_on; /* the tile's pairs (bit k: pair first + k) that the tap reaches */
} vox_plan;

typedef struct vox_key {
    uint64_t key;
    int64_t j;
} vox_key;

static int vox_key_cmp(const void *a, const void *b) {
    const vox_key *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

static void vox_plan_free(vox_plan *p) {
    free(p->order);
    free(p->yidx);
    free(p->pair_v);
    free(p->pair_n);
    free(p->tile);
    free(p->tap_x);
    free(p->tap_w);
    free(p->tap_on);
}

/* Tap masks of a voxel, bits 16*d + k: tap k of dimension d stays inside the grid. */
static uint64_t vox_taps_mask(const gather_job *j, const flat_taps *t, int64_t v) {
    const int64_t GH = j->grid[1], GW = j->grid[2];
    const int64_t c[3] = {v / (GH * GW), (v / GW) % GH, v % GW};
    uint64_t key = 0;
    for (int d = 0; d < 3; d++) {
        uint64_t m = 0;
        for (int k = 0; k < t->n[d]; k++)
            if (c[d] + t->shift[d][k] >= 0 && c[d] + t->shift[d][k] < j->grid[d]) m |= 1u << k;
        key |= m << (16 * d);
    }
    return key;
}

/* The plan for `items` batch items per task: pairs (voxel order[q / items],
 * item q % items) for q in the item-minor list, tiled VOX_NJ at a time. */
static ie_status vox_plan_make(const gather_job *j, const gather_class *cls, int64_t items, vox_plan *p) {
    const flat_taps *t = &cls->taps;
    const int64_t G = j->gvol;
    memset(p, 0, sizeof *p);
    const int64_t P = G * items, ntile = (P + VOX_NJ - 1) / VOX_NJ, max_taps = taps_count(t);
    vox_key *keys = malloc((size_t)G * sizeof *keys);
    uint64_t *masks = malloc((size_t)G * sizeof *masks);
    p->order = malloc((size_t)G * sizeof(int64_t));
    p->yidx = malloc((size_t)G * sizeof(int64_t));
    p->pair_v = malloc((size_t)P * sizeof(int64_t));
    p->pair_n = malloc((size_t)P * sizeof(int32_t));
    p->tile = malloc((size_t)ntile * sizeof(vox_tdesc));
    p->tap_x = malloc((size_t)(ntile * max_taps + 1) * sizeof(int64_t));
    p->tap_w = malloc((size_t)(ntile * max_taps + 1) * sizeof(int64_t));
    p->tap_on = malloc((size_t)(ntile * max_taps + 1));
    if (!keys || !masks || !p->order || !p->yidx || !p->pair_v || !p->pair_n || !p->tile || !p->tap_x || !p->tap_w || !p->tap_on) {
        free(keys);
        free(masks);
        vox_plan_free(p);
        return ie_error_set(IE_ERR_NOMEM, "conv: out of memory planning a small-grid conv");
    }
    /* sort key: the other two dimensions' masks, then the longest dimension's */
    int dl = 0;
    for (int d = 1; d < 3; d++)
        if (j->grid[d] > j->grid[dl]) dl = d;
    for (int64_t v = 0; v < G; v++) {
        const uint64_t m = vox_taps_mask(j, t, v);
        uint64_t key = (m >> (16 * dl)) & 0xffff;
        for (int d = 0, sh = 16; d < 3; d++)
            if (d != dl) {
                key |= ((m >> (16 * d)) & 0xffff) << sh;
                sh += 16;
            }
        keys[v] = (vox_key){key, v};
        masks[v] = m;
        const int64_t GH = j->grid[1], GW = j->grid[2];
        const int64_t c[3] = {v / (GH * GW), (v / GW) % GH, v % GW};
        p->yidx[v] = j->scatter ? ((j->ys[0] * c[0] + cls->r[0]) * j->ydim[1] + j->ys[1] * c[1] + cls->r[1]) *
                                          j->ydim[2] +
                                      j->ys[2] * c[2] + cls->r[2]
                                : v;
    }
    qsort(keys, (size_t)G, sizeof *keys, vox_key_cmp);
    for (int64_t v = 0; v < G; v++) p->order[v] = keys[v].j;
    /* Pairs in tile order: each pattern's whole tiles first (they run
     * exactly its taps), then every pattern's leftover pairs, mixed. */
    int64_t q = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int64_t g0 = 0, g1; g0 < G; g0 = g1) {
            for (g1 = g0 + 1; g1 < G && keys[g1].key == keys[g0].key;) g1++;
            const int64_t count = (g1 - g0) * items, whole = count / VOX_NJ * VOX_NJ;
            for (int64_t i = pass == 0 ? 0 : whole; i < (pass == 0 ? whole : count); i++) {
                p->pair_v[q] = p->order[g0 + i / items];
                p->pair_n[q++] = (int32_t)(i % items);
            }
        }
    int64_t ntaps_total = 0;
    for (int64_t ti = 0; ti < ntile; ti++) {
        vox_tdesc *td = &p->tile[p->ntile++];
        td->first = ti * VOX_NJ;
        td->count = P - td->first < VOX_NJ ? P - td->first : VOX_NJ;
        td->tap0 = ntaps_total;
        for (int a = 0; a < t->n[0]; a++)
            for (int b = 0; b < t->n[1]; b++)
                for (int e = 0; e < t->n[2]; e++) {
                    unsigned on = 0;
                    for (int64_t k = 0; k < td->count; k++) {
                        const uint64_t m = masks[p->pair_v[td->first + k]];
                        if (((m >> a) & 1) && ((m >> (16 + b)) & 1) && ((m >> (32 + e)) & 1)) on |= 1u << k;
                    }
                    if (!on) continue;
                    p->tap_x[ntaps_total] = t->off[0][a] + t->off[1][b] + t->off[2][e];
                    p->tap_w[ntaps_total] = (((int64_t)a * t->n[1] + b) * t->n[2] + e) * j->cx * 16;
                    p->tap_on[ntaps_total] = (uint8_t)on;
                    ntaps_total++;
                }
        td->ntap = ntaps_total - td->tap0;
    }
    free(keys);
    free(masks);
    return IE_OK;
}

/* acc[k][c] for NJ pairs x NC vectors of 16 output channels; pair k is read
 * at x + xo[k] (its batch item's plane plus the voxel) and written at
 * y + yo[k].  On a tap that pair k does not reach, its FMAs are masked off
 * and its x pointer stays on the voxel itself (read, never used). */
DTGT static DINLINE void vox_tile(const int NJ, const int NC, const gather_job *j, const vox_plan *p,
                                  const vox_tdesc *td, const int64_t *xo, const int64_t *yo,
                                  const float *const *wb, int64_t c0) {
    __m512 acc[VOX_NJ][4];
    const int64_t cx = j->cx, cs = j->x_cstride;
    __mmask16 cmask[4];
#pragma GCC unroll 4
    for (int c = 0; c < NC; c++) {
        int64_t left = j->cy - (c0 + 16 * c);
        cmask[c] = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
        __m512 b = j->bias ? _mm512_maskz_loadu_ps(cmask[c], j->bias + c0 + 16 * c) : _mm512_setzero_ps();
#pragma GCC unroll 6
        for (int k = 0; k < NJ; k++) acc[k][c] = b;
    }
    for (int64_t tt = td->tap0; tt < td->tap0 + td->ntap; tt++) {
        const unsigned on = p->tap_on[tt];
        const float *xp[VOX_NJ];
        __mmask16 m[VOX_NJ];
#pragma GCC unroll 6
        for (int k = 0; k < NJ; k++) {
            const bool reach = (on >> k) & 1;
            m[k] = reach ? (__mmask16)0xffff : (__mmask16)0;
            xp[k] = j->x + xo[k] + (reach ? p->tap_x[tt] : 0);
        }
        const int64_t wo = p->tap_w[tt];
#pragma GCC unroll 2
        for (int64_t ci = 0; ci < cx; ci++) {
            __m512 wv[4];
#pragma GCC unroll 4
            for (int c = 0; c < NC; c++) wv[c] = _mm512_loadu_ps(wb[c] + wo + ci * 16);
#pragma GCC unroll 6
            for (int k = 0; k < NJ; k++) {
                __m512 xb = _mm512_set1_ps(xp[k][ci * cs]);
#pragma GCC unroll 4
                for (int c = 0; c < NC; c++) acc[k][c] = _mm512_mask3_fmadd_ps(xb, wv[c], acc[k][c], m[k]);
            }
        }
    }
    const __m512i lanes = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32((int)j->y_cstride));
#pragma GCC unroll 6
    for (int k = 0; k < NJ; k++)
#pragma GCC unroll 4
        for (int c = 0; c < NC; c++)
            _mm512_mask_i32scatter_ps(j->y + yo[k] + (c0 + 16 * c) * j->y_cstride, cmask[c], lanes, acc[k][c], 4);
}

#define VOX_VARIANT(NJ, NC)                                                                               \
    DTGT static void vox_##NJ##x##NC(const gather_job *j, const vox_plan *p, const vox_tdesc *td,       \
                                     const int64_t *xo, const int64_t *yo, const float *const *wb,       \
                                     int64_t c0) {                                                       \
        vox_tile(NJ, NC, j, p, td, xo, yo, wb, c0);                                                      \
    }
#define VOX_ROW(NC) VOX_VARIANT(1, NC) VOX_VARIANT(2, NC) VOX_VARIANT(3, NC) VOX_VARIANT(4, NC) \
    VOX_VARIANT(5, NC) VOX_VARIANT(6, NC)
VOX_ROW(1)
VOX_ROW(2)
VOX_ROW(4)

typedef void (*vox_fn)(const gather_job *, const vox_plan *, const vox_tdesc *, const int64_t *, const int64_t *,
                       const float *const *, int64_t);
static const vox_fn VOX_FNS[3][6] = {
    {vox_1x1, vox_2x1, vox_3x1, vox_4x1, vox_5x1, vox_6x1},
    {vox_1x2, vox_2x2, vox_3x2, vox_4x2, vox_5x2, vox_6x2},
    {vox_1x4, vox_2x4, vox_3x4, vox_4x4, vox_5x4, vox_6x4},
};

typedef struct vox_job {
    const gather_job *g;
    const vox_plan *plans; /* per class */
    int64_t group_blocks, ngroups;
    int64_t items_per_task; /* batch items per task: a divisor of the batch */
} vox_job;

/* One class and channel group of a chunk of batch items (vj->items_per_task,
 * a divisor of the batch), tile by tile: a tile holds up to six (item,
 * voxel) pairs, so its weights are read once for all six. */
static void vox_task(void *ctx, int64_t task) {
    const vox_job *vj = ctx;
    const gather_job *j = vj->g;
    int64_t grp = task % vj->ngroups, rest = task / vj->ngroups;
    int64_t cls_i = rest % j->ncls, n0 = rest / j->ncls * vj->items_per_task;
    const vox_plan *p = &vj->plans[cls_i];
    const float *pack = j->pack + cls_i * j->b->pack_size;
    int64_t b0 = grp * vj->group_blocks, b1 = b0 + vj->group_blocks < j->b->n ? b0 + vj->group_blocks : j->b->n;
    for (int64_t bi = b0; bi < b1;) {
        int nc = b1 - bi >= 4 ? 4 : b1 - bi >= 2 ? 2 : 1;
        const float *wb[4];
        for (int c = 0; c < nc; c++) wb[c] = pack + j->b->b[bi + c].off;
        int row = nc == 4 ? 2 : nc == 2 ? 1 : 0;
        for (int64_t ti = 0; ti < p->ntile; ti++) {
            const vox_tdesc *td = &p->tile[ti];
            int64_t xo[VOX_NJ], yo[VOX_NJ];
            for (int64_t k = 0; k < td->count; k++) {
                const int64_t q = td->first + k, n = n0 + p->pair_n[q], v = p->pair_v[q];
                xo[k] = n * j->x_nstride + v;
                yo[k] = n * j->y_nstride + p->yidx[v];
            }
            VOX_FNS[row][td->count - 1](j, p, td, xo, yo, wb, j->b->b[bi].c0);
        }
        bi += nc;
    }
}

static ie_status run_vox(gather_job *j, const gather_class *cls) {
    /* Channel groups of 64 (the widest register tile: 6 pairs x 4 vectors,
     * each weight vector loaded once for six FMAs; narrower tiles are bound
     * by their loads and by too few accumulators), and a large batch cut
     * into chunks of items, halved while the chunk stays a divisor of the
     * batch of at least VOX_MIN_ITEMS items (so a pattern with one voxel per
     * item still fills tiles of six), until there are VOX_MIN_TASKS tasks.
     * Small batches (a U-Net's): narrower groups, then one item per task,
     * until there are four.  Which outputs share a tile never changes an
     * output's sum (bias, then its taps and channels in order): this only
     * decides speed. */
    int64_t gb = 4, ipt = j->batch;
#define VOX_TASKS (j->ncls * ((j->b->n + gb - 1) / gb) * (j->batch / ipt))
    while (ipt % 2 == 0 && ipt / 2 >= VOX_MIN_ITEMS && VOX_TASKS < VOX_MIN_TASKS) ipt /= 2;
    while (gb > 1 && VOX_TASKS < 4) gb /= 2;
    if (VOX_TASKS < 4) ipt = 1;
#undef VOX_TASKS
    vox_job vj = {j, NULL, gb, (j->b->n + gb - 1) / gb, ipt};
    vox_plan *plans = calloc((size_t)j->ncls, sizeof *plans);
    if (!plans) return ie_error_set(IE_ERR_NOMEM, "conv: out of memory planning a small-grid conv");
    ie_status st = IE_OK;
    for (int64_t c = 0; c < j->ncls && st == IE_OK; c++)
        st = vox_plan_make(j, &cls[c], vj.items_per_task, &plans[c]);
    if (st == IE_OK) {
        vj.plans = plans;
        ie_parallel_for(j->batch / vj.items_per_task * j->ncls * vj.ngroups, vox_task, &vj);
    }
    for (int64_t c = 0; c < j->ncls; c++) vox_plan_free(&plans[c]);
    free(plans);
    return st;
}

/* Runs a prepared gather: packs the weights, then the parallel tasks. */
static ie_status run_gather(gather_job *j, gather_class *cls, const float *w, int64_t cy, int64_t sy,
                            int64_t sx, const int kernel[3]) {
    int64_t max_taps = 1;
    for (int64_t c = 0; c < j->ncls; c++)
        if (taps_count(&cls[c].taps) > max_taps) max_taps = taps_count(&cls[c].taps);
    const bool small = j->gvol <= SMALL_GRID && ie_cpu_conv_get_mode() != IE_CPU_CONV_DIRECT_VECTOR;
    blocks *b = make_blocks(cy, j->cx, max_taps, small);
    ie_tensor *pack_t = NULL;
    if (!b || ie_conv_temp(j->ncls * b->pack_size, &pack_t) != IE_OK) {
        free(b);
        return ie_error_set(IE_ERR_NOMEM, "conv: out of memory packing the weights");
    }
    float *pack = ie_f32(pack_t);
    ie_conv_failure fail;
    atomic_init(&fail.failed, 0);
    pack_job pj = {w, pack, &cls[0].taps, sizeof(gather_class), j->ncls, b, j->cx,
                   (int64_t)kernel[0] * kernel[1] * kernel[2], sy, sx, {kernel[0], kernel[1], kernel[2]}, &fail};
    ie_parallel_for(b->n, pack_task, &pj);
    if (atomic_load(&fail.failed)) {
        ie_tensor_release(pack_t);
        free(b);
        return ie_error_set(IE_ERR_NOMEM, "conv: out of memory packing the weights");
    }
    j->b = b;
    j->pack = pack;
    j->cy = cy;
    if (small) {
        ie_status st = run_vox(j, cls);
        ie_tensor_release(pack_t);
        free(b);
        return st;
    }
    j->nchunks = (j->gvol + CHUNK - 1) / CHUNK;
    int64_t base = j->batch * j->ncls * j->nchunks;
    j->ngroups = base >= MIN_TASKS ? 1 : (MIN_TASKS + base - 1) / base;
    if (j->ngroups > b->n) j->ngroups = b->n;
    ie_parallel_for(base * j->ngroups, gather_task, j);
    ie_tensor_release(pack_t);
    free(b);
    return IE_OK;
}

ie_status ie_conv_direct_forward(const ie_conv_geom *g, const float *x, const float *w, const float *bias,
                                 float *y) {
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out);
    if (g->batch == 0 || g->cout == 0) return IE_OK;
    const float *xs;
    ie_tensor *owned;
    IE_TRY(ie_direct_phase_split(g, x, &xs, &owned));
    gather_class cls;
    memset(&cls, 0, sizeof cls);
    ie_direct_forward_taps(g, &cls.taps);
    gather_job j = {.x = xs, .x_nstride = g->cin * ivol, .x_cstride = ivol, .cx = g->cin,
                    .grid = {g->out[0], g->out[1], g->out[2]}, .gvol = ovol, .cls = &cls, .ncls = 1,
                    .bias = bias, .y = y, .y_nstride = g->cout * ovol, .y_cstride = ovol,
                    .scatter = false, .batch = g->batch};
    ie_status st = run_gather(&j, &cls, w, g->cout, g->cin * ie_conv_ktaps(g), ie_conv_ktaps(g), g->kernel);
    ie_tensor_release(owned);
    return st;
}

ie_status ie_conv_direct_backward_data(const ie_conv_geom *g, const float *gy, const float *w,
                                       const float *bias, float *gx) {
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out);
    if (g->batch == 0 || g->cin == 0) return IE_OK;
    int64_t ncls = (int64_t)g->stride[0] * g->stride[1] * g->stride[2];
    gather_class *cls = calloc((size_t)ncls, sizeof *cls);
    if (!cls) return ie_error_set(IE_ERR_NOMEM, "conv backward: out of memory");
    for (int64_t c = 0; c < ncls; c++) ie_direct_class_taps(g, c, &cls[c].taps, cls[c].r);
    gather_job j = {.x = gy, .x_nstride = g->cout * ovol, .x_cstride = ovol, .cx = g->cout,
                    .grid = {g->out[0], g->out[1], g->out[2]}, .gvol = ovol, .cls = cls, .ncls = ncls,
                    .bias = bias, .y = gx, .y_nstride = g->cin * ivol, .y_cstride = ivol,
                    .scatter = ncls > 1, .pair_store = ncls > 1 && g->stride[2] == 2 && g->out[2] % 8 == 0,
                    .ys = {g->stride[0], g->stride[1], g->stride[2]},
                    .ydim = {g->in[0], g->in[1], g->in[2]}, .batch = g->batch};
    ie_status st = run_gather(&j, cls, w, g->cin, ie_conv_ktaps(g), g->cin * ie_conv_ktaps(g), g->kernel);
    free(cls);
    return st;
}

/* ---------------- weight gradient ---------------- */

#define WG_SUB 1024 /* voxels per register pass (G rows stay in L1) */

typedef struct wgrad_job {
    const ie_conv_geom *g;
    const float *x;  /* gather input (phase split when strided) */
    const float *gy;
    int64_t gvol, ntaps, cb, tb, nblocks, ngroups, ncg;
    int64_t grid_[3];
    flat_taps taps;
    float *partial; /* [wave][cout][cin][ntaps] */
    int64_t wave_first; /* first group of the current wave */
    ie_conv_failure fail;
} wgrad_job;

static const float wgrad_zeros[WG_SUB + 16];

/* Sums of 16 vectors at once: lane i of the result is the sum of a_i's
 * lanes (a transpose-and-add tree, 45 shuffles and adds instead of 16 full
 * horizontal reductions).  Arguments by value so the accumulators stay in
 * registers. */
DTGT static DINLINE __m512 pair_sum(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
}
DTGT static DINLINE __m512 quad_sum(__m512 t0, __m512 t1) {
    return _mm512_add_ps(_mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
}
DTGT static DINLINE __m512 reduce16(__m512 a0, __m512 a1, __m512 a2, __m512 a3, __m512 a4, __m512 a5, __m512 a6,
                                    __m512 a7, __m512 a8, __m512 a9, __m512 a10, __m512 a11, __m512 a12,
                                    __m512 a13, __m512 a14, __m512 a15) {
    /* each 128-bit lane of u_i holds partial sums of a_4i .. a_4i+3 */
    __m512 u0 = quad_sum(pair_sum(a0, a1), pair_sum(a2, a3));
    __m512 u1 = quad_sum(pair_sum(a4, a5), pair_sum(a6, a7));
    __m512 u2 = quad_sum(pair_sum(a8, a9), pair_sum(a10, a11));
    __m512 u3 = quad_sum(pair_sum(a12, a13), pair_sum(a14, a15));
    __m512 w0 = _mm512_add_ps(_mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 w1 = _mm512_add_ps(_mm512_shuffle_f32x4(u2, u3, _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_f32x4(u2, u3, _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w0, w1, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(w0, w1, _MM_SHUFFLE(3, 1, 3, 1)));
}
#define REDUCE16(a, o)                                                                                   \
    reduce16(a[(o) + 0], a[(o) + 1], a[(o) + 2], a[(o) + 3], a[(o) + 4], a[(o) + 5], a[(o) + 6], a[(o) + 7], \
             a[(o) + 8], a[(o) + 9], a[(o) + 10], a[(o) + 11], a[(o) + 12], a[(o) + 13], a[(o) + 14],      \
             a[(o) + 15])

/* One vector step of a weight-gradient tile.  Masked *loads* cost an extra
 * vector uop each on the FMA ports, so where it is safe (the whole vector
 * lies inside the buffer) the loads are plain and the tap masks go on the
 * FMAs instead (merge masking is free); gy is masked only on the last,
 * partial vector. */
DTGT static DINLINE void wgrad_step(const int CB, const int TB, const bool safe_x, const bool full_g, __m512 *acc,
                                    const float *const *grow, const float *xrow, const int64_t *toff,
                                    const __mmask16 *mrow, __mmask16 tail, int64_t v) {
    __m512 xv[4];
    __mmask16 mk[4];
#pragma GCC unroll 4
    for (int q = 0; q < TB; q++) {
        const float *p = (const float *)((uintptr_t)xrow + (uintptr_t)(toff[q] + 16 * v) * sizeof(float));
        mk[q] = _load_mask16((__mmask16 *)&mrow[q]);
        xv[q] = safe_x ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mk[q], p);
    }
#pragma GCC unroll 16
    for (int c = 0; c < CB; c++) {
        __m512 gv = full_g ? _mm512_loadu_ps(grow[c] + 16 * v) : _mm512_maskz_loadu_ps(tail, grow[c] + 16 * v);
#pragma GCC unroll 4
        for (int q = 0; q < TB; q++)
            acc[c * TB + q] = _mm512_mask3_fmadd_ps(gv, xv[q], acc[c * TB + q], mk[q]);
    }
}

/* out[c*ld + q] = sum over the vectors of gy_c . x_(ci, tap q) for CB
 * channels x TB taps; masks per (vector, tap) come from mt.  Vectors below
 * `safe_end` may load x without masks; all but the last are full. */
DTGT static DINLINE void wgrad_tile(const int CB, const int TB, const float *const *grow, const float *xrow,
                                    const int64_t *toff, const __mmask16 *mt, const __mmask16 *tail,
                                    int64_t ntaps, int64_t nvec, int64_t safe_lo, int64_t safe_hi, float *out,
                                    int64_t ld) {
    __m512 acc[32];
#pragma GCC unroll 32
    for (int i = 0; i < 32; i++) acc[i] = _mm512_setzero_ps();
    int64_t v = 0, nfull = tail[nvec - 1] == 0xffff ? nvec : nvec - 1;
    int64_t hi = safe_hi < nfull ? safe_hi : nfull;
    for (; v < safe_lo && v < nfull; v++)
        wgrad_step(CB, TB, false, true, acc, grow, xrow, toff, mt + v * ntaps, tail[v], v);
    for (; v < hi; v++) wgrad_step(CB, TB, true, true, acc, grow, xrow, toff, mt + v * ntaps, tail[v], v);
    for (; v < nvec; v++)
        wgrad_step(CB, TB, false, v < nfull, acc, grow, xrow, toff, mt + v * ntaps, tail[v], v);
    __m512 r[2];
    r[0] = REDUCE16(acc, 0);
    r[1] = CB * TB > 16 ? REDUCE16(acc, 16) : r[0];
    /* lane i of r[v] is the sum of accumulator 16v + i = c*TB + q: masked
     * stores put channel c's TB lanes at out + c*ld (no lane leaves them) */
#pragma GCC unroll 16
    for (int c = 0; c < CB; c++)
        for (int v = 0; v < 2; v++) {
            if (v == 1 && CB * TB <= 16) break;
            const int lo = c * TB > 16 * v ? c * TB : 16 * v, hi = c * TB + TB < 16 * v + 16 ? c * TB + TB : 16 * v + 16;
            if (lo >= hi) continue;
            const __mmask16 m = (__mmask16)(((1u << (hi - lo)) - 1u) << (lo - 16 * v));
            float *at = (float *)((uintptr_t)out + (uintptr_t)(c * ld + 16 * v - c * TB) * sizeof(float));
            _mm512_mask_storeu_ps(at, m, r[v]);
        }
}

#define WGRAD_VARIANT(CB, TB)                                                                              \
    DTGT static void wgrad_##CB##x##TB(const float *const *grow, const float *xrow, const int64_t *toff,    \
                                       const __mmask16 *mt, const __mmask16 *tail, int64_t ntaps,           \
                                       int64_t nvec, int64_t safe_lo, int64_t safe_hi, float *out,          \
                                       int64_t ld) {                                                        \
        wgrad_tile(CB, TB, grow, xrow, toff, mt, tail, ntaps, nvec, safe_lo, safe_hi, out, ld);             \
    }
WGRAD_VARIANT(8, 3)
WGRAD_VARIANT(6, 4)
WGRAD_VARIANT(16, 1)

/* One voxel segment [ja, jb) of batch item n, channel blocks [b0, b1). */
DTGT static void wgrad_segment(wgrad_job *j, int64_t n, int64_t ja, int64_t jb, int64_t b0, int64_t b1,
                               float *part) {
    const ie_conv_geom *g = j->g;
    const flat_taps *t = &j->taps;
    const int64_t T = j->ntaps, cin = g->cin, cout = g->cout;
    const int64_t ivol = ie_conv_vol(g->in);
    int64_t nvec = (jb - ja + 15) / 16;
    __mmask16 *mt = (__mmask16 *)ie_conv_scratch(2, (size_t)(nvec * T + 32) / 2 + 16);
    float *sums = ie_conv_scratch(3, (size_t)(16 * T + 16)); /* [cb][T] of one input channel */
    if (!mt || !sums) {
        ie_conv_fail(&j->fail);
        return;
    }
    __mmask16 tail[WG_SUB / 16];
    int64_t toff[FLAT_MAXTAPS];
    int64_t q = 0;
    for (int a = 0; a < t->n[0]; a++)
        for (int b = 0; b < t->n[1]; b++)
            for (int e = 0; e < t->n[2]; e++) toff[q++] = t->off[0][a] + t->off[1][b] + t->off[2][e];
    for (int64_t v = 0; v < nvec; v++) {
        vec_masks vm;
        make_masks(ja + 16 * v, jb, j->grid_, t, &vm, NULL, NULL, NULL, NULL);
        tail[v] = vm.tail;
        __mmask16 *row = mt + v * T;
        int64_t k = 0;
        for (int a = 0; a < t->n[0]; a++)
            for (int b = 0; b < t->n[1]; b++)
                for (int e = 0; e < t->n[2]; e++) row[k++] = vm.m[0][a] & vm.m[1][b] & vm.m[2][e];
    }
    /* Vectors [safe_lo, safe_hi) read x only inside the buffer for every
     * tap and channel, so their loads need no masks. */
    int64_t min_off = 0, max_off = 0;
    for (int64_t k = 0; k < T; k++) {
        if (toff[k] < min_off) min_off = toff[k];
        if (toff[k] > max_off) max_off = toff[k];
    }
    const int64_t base = n * cin * ivol + ja, total = g->batch * cin * ivol;
    int64_t safe_lo = -(base + min_off) > 0 ? (-(base + min_off) + 15) / 16 : 0;
    int64_t room = total - base - (cin - 1) * ivol - 16 - max_off;
    int64_t safe_hi = room < 0 ? 0 : room / 16 + 1;
    if (safe_hi > nvec) safe_hi = nvec;
    const float *xn = j->x + base;
    const float *gn = j->gy + n * cout * j->gvol + ja;
    for (int64_t bi = b0; bi < b1; bi++) {
        int64_t c0 = bi * j->cb;
        const float *grow[16];
        for (int c = 0; c < j->cb; c++) grow[c] = c0 + c < cout ? gn + (c0 + c) * j->gvol : wgrad_zeros;
        int valid = (int)(cout - c0 < j->cb ? cout - c0 : j->cb);
        /* The tiles store their sums as sums[c][tap] (masked vector stores)
         * and each channel's row is added to part with vector adds: one
         * addition per element and segment, in segment order, as before,
         * without the scalar read-back of every tile's vector (a third of
         * this kernel's time on 7x7 and 14x14 grids). */
        for (int64_t ci = 0; ci < cin; ci++) {
            const float *xrow = xn + ci * ivol;
            for (int64_t t0 = 0; t0 < T; t0 += j->tb) {
                if (j->tb == 3)
                    wgrad_8x3(grow, xrow, toff + t0, mt + t0, tail, T, nvec, safe_lo, safe_hi, sums + t0, T);
                else if (j->tb == 4)
                    wgrad_6x4(grow, xrow, toff + t0, mt + t0, tail, T, nvec, safe_lo, safe_hi, sums + t0, T);
                else
                    wgrad_16x1(grow, xrow, toff + t0, mt + t0, tail, T, nvec, safe_lo, safe_hi, sums + t0, T);
            }
            for (int c = 0; c < valid; c++) {
                float *dst = part + ((c0 + c) * cin + ci) * T;
                const float *src = sums + c * T;
                for (int64_t t = 0; t < T; t += 16) {
                    const __mmask16 m = T - t >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (T - t)) - 1u);
                    _mm512_mask_storeu_ps(dst + t, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + t),
                                                                    _mm512_maskz_loadu_ps(m, src + t)));
                }
            }
        }
    }
}

DTGT static void wgrad_task(void *ctx, int64_t task) {
    wgrad_job *j = ctx;
    int64_t grp = task / j->ncg, cg = task % j->ncg;
    int64_t b0 = cg * j->nblocks / j->ncg, b1 = (cg + 1) * j->nblocks / j->ncg;
    const int64_t cin = j->g->cin, cout = j->g->cout, T = j->ntaps;
    float *part = j->partial + grp * cout * cin * T;
    grp += j->wave_first;
    int64_t c_lo = b0 * j->cb, c_hi = b1 * j->cb < cout ? b1 * j->cb : cout;
    memset(part + c_lo * cin * T, 0, (size_t)((c_hi - c_lo) * cin * T) * sizeof(float));
    /* The group's voxels, as segments within one batch item. */
    int64_t total = j->g->batch * j->gvol;
    int64_t lo = grp * WGRAD_GROUP, hi = lo + WGRAD_GROUP < total ? lo + WGRAD_GROUP : total;
    while (lo < hi) {
        int64_t n = lo / j->gvol, ja = lo % j->gvol;
        int64_t jb = j->gvol < ja + (hi - lo) ? j->gvol : ja + (hi - lo);
        if (jb - ja > WG_SUB) jb = ja + WG_SUB;
        wgrad_segment(j, n, ja, jb, b0, b1, part);
        lo += jb - ja;
    }
}

/* ---------------- weight gradient, small grids ----------------
 *
 * On a grid of at most SMALL_GRID voxels (the Fashion-MNIST Classifier's
 * 14x14 and 7x7 convs, a U-Net's lowest levels) a lane's chain is a few
 * vectors long and most vectors touch the border, so the voxel-lane tiles
 * above spend as long on masks and the 16-lane reduction trees as on their
 * FMAs (and a 7x7 image fills 49 of 64 lanes).  Here 16 output channels share
 * a vector instead (as in the AVX2 kernel's small grids): for each tap and
 * lane l, the chain over the lane's voxels that the tap reads inside x
 * (listed per tap, so padding is skipped exactly) accumulates gy (transposed
 * to channels-last) times x broadcast; the 16 lane vectors are then added by
 * the tree of ie_canon_tree16, lane for lane, into the group's partial sums,
 * kept as [ci][tap][co] and transposed into gw at the end. */

#define SG_NCI 6 /* input channels per tile: 2 x 6 accumulators + 2 gy vectors */
#define SG_CB 32 /* output channels per block: two vectors */

typedef struct sjob {
    const ie_conv_geom *g;
    const float *x; /* phase split */
    const float *gy;
    const flat_taps *taps;
    int64_t toff[FLAT_MAXTAPS];
    int64_t gvol, xcs, T, cop, nblk, ngroups, ncg, psize; /* cop: cout rounded up to SG_CB; psize = cin * T * cop */
    float *partial;     /* [wave][cin][T][cop] */
    int64_t wave_first; /* first group of the current wave */
    ie_conv_failure fail;
} sjob;

/* The tree of ie_canon_tree16 over the 16 lane vectors lb[l * stride + v]. */
DTGT static DINLINE __m512 tree16v(const __m512 *lb, int stride, int v) {
#define LB(l) lb[(l) * stride + v]
    const __m512 s0 = _mm512_add_ps(_mm512_add_ps(LB(0), LB(2)), _mm512_add_ps(LB(1), LB(3)));
    const __m512 s1 = _mm512_add_ps(_mm512_add_ps(LB(4), LB(6)), _mm512_add_ps(LB(5), LB(7)));
    const __m512 s2 = _mm512_add_ps(_mm512_add_ps(LB(8), LB(10)), _mm512_add_ps(LB(9), LB(11)));
    const __m512 s3 = _mm512_add_ps(_mm512_add_ps(LB(12), LB(14)), _mm512_add_ps(LB(13), LB(15)));
#undef LB
    return _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3));
}

/* SG_CB output channels x NCI input channels of one tap: each lane's chain,
 * then the tree added to part[ci * pstride + (0..SG_CB-1)]. */
DTGT static DINLINE void sg_tile(const int NCI, const float *gyT, int64_t cop, const float *const *xp,
                                 const int32_t *vj, const int32_t *vstart, float *part, int64_t pstride) {
    __m512 lb[16][2 * SG_NCI];
    for (int l = 0; l < 16; l++) {
        __m512 acc[2][SG_NCI];
#pragma GCC unroll 6
        for (int c = 0; c < NCI; c++) acc[0][c] = acc[1][c] = _mm512_setzero_ps();
        for (int32_t i = vstart[l]; i < vstart[l + 1]; i++) {
            const int64_t v = vj[i];
            const __m512 g0 = _mm512_loadu_ps(gyT + v * cop), g1 = _mm512_loadu_ps(gyT + v * cop + 16);
#pragma GCC unroll 6
            for (int c = 0; c < NCI; c++) {
                const __m512 xb = _mm512_set1_ps(xp[c][v]);
                acc[0][c] = _mm512_fmadd_ps(g0, xb, acc[0][c]);
                acc[1][c] = _mm512_fmadd_ps(g1, xb, acc[1][c]);
            }
        }
#pragma GCC unroll 6
        for (int c = 0; c < NCI; c++) {
            lb[l][2 * c] = acc[0][c];
            lb[l][2 * c + 1] = acc[1][c];
        }
    }
#pragma GCC unroll 6
    for (int c = 0; c < NCI; c++)
        for (int h = 0; h < 2; h++) {
            float *o = part + c * pstride + 16 * h;
            _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), tree16v(&lb[0][0], 2 * SG_NCI, 2 * c + h)));
        }
}

#define SG_VARIANT(NCI)                                                                                   \
    DTGT static void sg_tile_##NCI(const float *gyT, int64_t cop, const float *const *xp, const int32_t *vj, \
                                   const int32_t *vstart, float *part, int64_t pstride) {                 \
        sg_tile(NCI, gyT, cop, xp, vj, vstart, part, pstride);                                            \
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

/* Segment [ja, jb) of item n, output channel blocks [b0, b1). */
static void sg_segment(sjob *j, int64_t n, int64_t ja, int64_t jb, int64_t b0, int64_t b1, float *part) {
    const ie_conv_geom *g = j->g;
    const flat_taps *t = j->taps;
    const int64_t L = jb - ja, cin = g->cin, cout = g->cout, cop = j->cop, GH = g->out[1], GW = g->out[2];
    float *gyT = ie_conv_scratch(2, (size_t)(L * cop));
    /* vj: L entries; vstart: 17; the voxels' grid coordinates: 3 * L */
    int32_t *vj = (int32_t *)ie_conv_scratch(3, (size_t)(4 * L + 17));
    if (!gyT || !vj) {
        ie_conv_fail(&j->fail);
        return;
    }
    int32_t *vstart = vj + L, *cd = vstart + 17, *ch = cd + L, *cw = ch + L;
    for (int64_t c = b0 * SG_CB; c < b1 * SG_CB; c++) {
        if (c >= cout) {
            for (int64_t v = 0; v < L; v++) gyT[v * cop + c] = 0.0f;
            continue;
        }
        const float *row = j->gy + (n * cout + c) * j->gvol + ja;
        for (int64_t v = 0; v < L; v++) gyT[v * cop + c] = row[v];
    }
    for (int64_t v = 0; v < L; v++) {
        const int64_t p = ja + v;
        cd[v] = (int32_t)(p / (GH * GW));
        ch[v] = (int32_t)((p / GW) % GH);
        cw[v] = (int32_t)(p % GW);
    }
    int64_t tap = 0;
    for (int a = 0; a < t->n[0]; a++)
        for (int b = 0; b < t->n[1]; b++)
            for (int e = 0; e < t->n[2]; e++, tap++) {
                /* each lane's voxels that this tap reads inside the grid, in order */
                const int sa = t->shift[0][a], sb = t->shift[1][b], se = t->shift[2][e];
                int32_t k = 0;
                for (int l = 0; l < 16; l++) {
                    vstart[l] = k;
                    for (int64_t v = l; v < L; v += 16)
                        if ((uint32_t)(cd[v] + sa) < (uint32_t)g->out[0] && (uint32_t)(ch[v] + sb) < (uint32_t)GH &&
                            (uint32_t)(cw[v] + se) < (uint32_t)GW)
                            vj[k++] = (int32_t)v;
                }
                vstart[16] = k;
                const float *xt = j->x + n * cin * j->xcs + ja + j->toff[tap];
                for (int64_t bi = b0; bi < b1; bi++)
                    for (int64_t c0 = 0; c0 < cin; c0 += SG_NCI) {
                        const int nci = (int)(cin - c0 < SG_NCI ? cin - c0 : SG_NCI);
                        const float *xp[SG_NCI];
                        for (int c = 0; c < nci; c++) xp[c] = xt + (c0 + c) * j->xcs;
                        SG_FNS[nci - 1](gyT + bi * SG_CB, cop, xp, vj, vstart,
                                        part + (c0 * j->T + tap) * cop + bi * SG_CB, j->T * cop);
                    }
            }
}

static void sg_task(void *ctx, int64_t task) {
    sjob *j = ctx;
    const int64_t slot = task / j->ncg, cg = task % j->ncg, grp = j->wave_first + slot;
    const int64_t b0 = cg * j->nblk / j->ncg, b1 = (cg + 1) * j->nblk / j->ncg;
    float *part = j->partial + slot * j->psize;
    if (b1 - b0 == j->nblk)
        memset(part, 0, (size_t)j->psize * sizeof(float));
    else
        for (int64_t r = 0; r < j->g->cin * j->T; r++)
            memset(part + r * j->cop + b0 * SG_CB, 0, (size_t)((b1 - b0) * SG_CB) * sizeof(float));
    /* the group's voxels, as segments of at most WG_SUB inside one batch item (canon_kernels.h) */
    const int64_t total = j->g->batch * j->gvol;
    int64_t lo = grp * WGRAD_GROUP;
    const int64_t hi = lo + WGRAD_GROUP < total ? lo + WGRAD_GROUP : total;
    while (lo < hi) {
        const int64_t n = lo / j->gvol, ja = lo % j->gvol;
        int64_t jb = j->gvol < ja + (hi - lo) ? j->gvol : ja + (hi - lo);
        if (jb - ja > WG_SUB) jb = ja + WG_SUB;
        sg_segment(j, n, ja, jb, b0, b1, part);
        lo += jb - ja;
    }
}

typedef struct sg_out_job {
    const float *sum; /* [cin * T][cop] */
    float *gw;        /* [cout][cin * T] */
    int64_t rows, cop, cout;
} sg_out_job;

/* gw rows co0..co0+15 = columns co0..co0+15 of the partial sums, 16 x 16
 * blocks transposed in registers (reading one column at a time touched a
 * cache line per element: 7 MB of lines per column block on a 256 x 256
 * layer). */
DTGT static void sg_out_task(void *ctx, int64_t blk) {
    const sg_out_job *j = ctx;
    const int64_t co0 = blk * 16;
    const int nco = j->cout - co0 < 16 ? (int)(j->cout - co0) : 16;
    for (int64_t r0 = 0; r0 < j->rows; r0 += 16) {
        const int nr = j->rows - r0 < 16 ? (int)(j->rows - r0) : 16;
        const __mmask16 mr = (__mmask16)(nr == 16 ? 0xffff : (1u << nr) - 1);
        __m512 v[16];
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++)
            v[l] = l < nr ? _mm512_loadu_ps(j->sum + (r0 + l) * j->cop + co0) : _mm512_setzero_ps();
        transpose16(v);
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++)
            if (l < nco) _mm512_mask_storeu_ps(j->gw + (co0 + l) * j->rows + r0, mr, v[l]);
    }
}

static ie_status small_grid_wgrad(const ie_conv_geom *g, const float *x, const float *gy, float *gw) {
    flat_taps taps;
    ie_direct_forward_taps(g, &taps);
    sjob j = {.g = g, .gy = gy, .taps = &taps, .gvol = ie_conv_vol(g->out), .xcs = ie_conv_vol(g->in),
              .T = ie_conv_ktaps(g)};
    for (int64_t q = 0, a = 0; a < taps.n[0]; a++)
        for (int b = 0; b < taps.n[1]; b++)
            for (int e = 0; e < taps.n[2]; e++) j.toff[q++] = taps.off[0][a] + taps.off[1][b] + taps.off[2][e];
    j.cop = (g->cout + SG_CB - 1) / SG_CB * SG_CB;
    j.nblk = j.cop / SG_CB;
    j.psize = g->cin * j.T * j.cop;
    j.ngroups = (g->batch * j.gvol + WGRAD_GROUP - 1) / WGRAD_GROUP;
    j.ncg = j.ngroups >= MIN_TASKS ? 1 : (MIN_TASKS + j.ngroups - 1) / j.ngroups;
    if (j.ncg > j.nblk) j.ncg = j.nblk;
    ie_tensor *owned = NULL, *partial_t = NULL;
    IE_TRY(ie_direct_phase_split(g, x, &j.x, &owned));
    ie_status st = IE_OK;
    /* a wave's partial sums, then (several groups) their running sum */
    const int64_t wave = j.ngroups < IE_CANON_WGRAD_WAVE ? j.ngroups : IE_CANON_WGRAD_WAVE;
    if (ie_conv_temp((wave + (j.ngroups > 1)) * j.psize, &partial_t) != IE_OK) {
        st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for partial sums");
        goto done;
    }
    j.partial = ie_f32(partial_t);
    float *const sum = j.ngroups > 1 ? j.partial + wave * j.psize : j.partial;
    atomic_init(&j.fail.failed, 0);
    for (int64_t first = 0; first < j.ngroups; first += wave) {
        const int64_t n = j.ngroups - first < wave ? j.ngroups - first : wave;
        j.wave_first = first;
        ie_parallel_for(n * j.ncg, sg_task, &j);
        if (atomic_load(&j.fail.failed)) {
            st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for a segment's tables");
            goto done;
        }
        if (j.ngroups > 1) ie_direct_sum_groups(j.partial, n, j.psize, first == 0, sum);
    }
    sg_out_job oj = {sum, gw, g->cin * j.T, j.cop, g->cout};
    ie_parallel_for((g->cout + 15) / 16, sg_out_task, &oj);
done:
    ie_tensor_release(partial_t);
    ie_tensor_release(owned);
    return st;
}

ie_status ie_conv_direct_backward_weight(const ie_conv_geom *g, const float *x, const float *gy, float *gw) {
    const int64_t ovol = ie_conv_vol(g->out), ktaps = ie_conv_ktaps(g);
    const int64_t wsize = g->cout * g->cin * ktaps;
    if (wsize == 0) return IE_OK;
    if (g->batch * ovol == 0) {
        memset(gw, 0, (size_t)wsize * sizeof(float));
        return IE_OK;
    }
    if (ovol <= SMALL_GRID && ie_cpu_conv_get_mode() != IE_CPU_CONV_DIRECT_VECTOR)
        return small_grid_wgrad(g, x, gy, gw);
    const float *xs;
    ie_tensor *owned;
    IE_TRY(ie_direct_phase_split(g, x, &xs, &owned));
    wgrad_job j = {.g = g, .x = xs, .gy = gy, .gvol = ovol, .ntaps = ktaps};
    ie_direct_forward_taps(g, &j.taps);
    for (int d = 0; d < 3; d++) j.grid_[d] = g->out[d];
    j.tb = ktaps % 3 == 0 ? 3 : ktaps % 4 == 0 ? 4 : 1;
    j.cb = j.tb == 3 ? 8 : j.tb == 4 ? 6 : 16;
    j.nblocks = (g->cout + j.cb - 1) / j.cb;
    j.ngroups = (g->batch * ovol + WGRAD_GROUP - 1) / WGRAD_GROUP;
    j.ncg = j.ngroups >= MIN_TASKS ? 1 : (MIN_TASKS + j.ngroups - 1) / j.ngroups;
    if (j.ncg > j.nblocks) j.ncg = j.nblocks;
    ie_tensor *partial_t = NULL;
    ie_status st = IE_OK;
    const int64_t wave = j.ngroups < IE_CANON_WGRAD_WAVE ? j.ngroups : IE_CANON_WGRAD_WAVE;
    if (j.ngroups > 1 && ie_conv_temp(wave * wsize, &partial_t) != IE_OK) {
        st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for %lld partial sums",
                          (long long)(wave * wsize));
        goto done;
    }
    j.partial = partial_t ? ie_f32(partial_t) : gw;
    atomic_init(&j.fail.failed, 0);
    for (int64_t first = 0; first < j.ngroups && st == IE_OK; first += wave) {
        const int64_t n = j.ngroups - first < wave ? j.ngroups - first : wave;
        j.wave_first = first;
        ie_parallel_for(n * j.ncg, wgrad_task, &j);
        if (atomic_load(&j.fail.failed)) {
            st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for a mask table");
        } else if (j.ngroups > 1) {
            ie_direct_sum_groups(j.partial, n, wsize, first == 0, gw);
        }
    }
    ie_tensor_release(partial_t);
done:
    ie_tensor_release(owned);
    return st;
}
