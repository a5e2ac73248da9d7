/* core/backend/cpu - convolutions as vol2col + OpenBLAS sgemm, for any shape.
 *
 * Forward: per (batch item, fixed block of output voxels) a column tile
 * [cin*K, block] is gathered in per-thread scratch and multiplied by the
 * weight matrix [cout, cin*K] straight into the output.
 * Backward data: a gather, never a scatter: the input voxels are split into
 * stride^3 parity classes; within a class every voxel sees the same kernel
 * taps, so each class is a small dense conv of gy with its own weight slice,
 * and every gx element is written by exactly one task.
 * Backward weight: a fixed number of voxel groups each accumulate
 * gy_block x col_block^T into their own partial; partials are summed in group
 * order.  OpenBLAS runs single-threaded inside each task (see threads.h). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/cpu/conv_cpu_internal.h"

/* Column tiles are kept around this many floats so they stay in L2. */
#define TILE_FLOATS ((int64_t)131072)
/* Backward-weight partials: at most this many groups, and at most this many
 * floats of partials in all. */
#define WGRAD_GROUPS 16
#define WGRAD_PARTIAL_FLOATS ((int64_t)8 << 20)

static int64_t block_for_rows(int64_t rows, int64_t extent) {
    int64_t b = TILE_FLOATS / (rows > 0 ? rows : 1);
    b = b / 16 * 16;
    if (b < 64) b = 64;
    if (b > 4096) b = 4096;
    if (b > extent) b = extent;
    return b > 0 ? b : 1;
}

static bool is_pointwise(const ie_conv_geom *g) {
    for (int d = 0; d < 3; d++)
        if (g->kernel[d] != 1 || g->stride[d] != 1 || g->pad[d] != 0 || g->in[d] != g->out[d])
            return false;
    return true;
}

#define MAX_COL_TAPS 64

/* Which source voxel each column entry reads: along each dimension, grid
 * position j and tap a read source position j * s + off[a] (0 outside). */
typedef struct col_spec {
    int64_t src[3], grid[3];
    int64_t s[3];
    int n[3];
    int64_t off[3][MAX_COL_TAPS];
} col_spec;

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* col[r][jj] for r = (c, a, b, e) and grid voxels j0 .. j0+bj-1, walking
 * grid rows so that each row of the tile is a few contiguous copies. */
static void build_col_ld(const col_spec *cs, const float *src, int64_t channels, int64_t j0, int64_t bj, float *col,
                         int64_t ld) {
    const int64_t GH = cs->grid[1], GW = cs->grid[2], SD = cs->src[0], SH = cs->src[1], SW = cs->src[2];
    const int64_t svol = SD * SH * SW, sw = cs->s[2];
    const int64_t jd0 = j0 / (GH * GW), jh0 = (j0 / GW) % GH, jw0 = j0 % GW;
    int64_t r = 0;
    for (int64_t c = 0; c < channels; c++)
        for (int a = 0; a < cs->n[0]; a++)
            for (int b = 0; b < cs->n[1]; b++)
                for (int e = 0; e < cs->n[2]; e++, r++) {
                    const float *sc = src + c * svol;
                    float *dst = col + r * ld;
                    const int64_t offw = cs->off[2][e];
                    int64_t jd = jd0, jh = jh0, jw = jw0, jj = 0;
                    while (jj < bj) {
                        int64_t seg = GW - jw < bj - jj ? GW - jw : bj - jj;
                        int64_t id = jd * cs->s[0] + cs->off[0][a], ih = jh * cs->s[1] + cs->off[1][b];
                        float *d = dst + jj;
                        if (id < 0 || id >= SD || ih < 0 || ih >= SH) {
                            memset(d, 0, (size_t)seg * sizeof(float));
                        } else {
                            const float *row = sc + (id * SH + ih) * SW;
                            /* t in [lo, hi) reads inside the row */
                            int64_t lo = floor_div(-offw + sw - 1, sw) - jw, hi = floor_div(SW - 1 - offw, sw) - jw + 1;
                            if (lo < 0) lo = 0;
                            if (lo > seg) lo = seg; /* a short row entirely in the padding (dilated taps) */
                            if (hi > seg) hi = seg;
                            if (hi < lo) hi = lo;
                            memset(d, 0, (size_t)lo * sizeof(float));
                            if (sw == 1) {
                                memcpy(d + lo, row + jw + lo + offw, (size_t)(hi - lo) * sizeof(float));
                            } else {
                                for (int64_t t = lo; t < hi; t++) d[t] = row[(jw + t) * sw + offw];
                            }
                            memset(d + hi, 0, (size_t)(seg - hi) * sizeof(float));
                        }
                        jj += seg;
                        jw += seg;
                        if (jw == GW) {
                            jw = 0;
                            if (++jh == GH) {
                                jh = 0;
                                jd++;
                            }
                        }
                    }
                }
}

static void build_col(const col_spec *cs, const float *src, int64_t channels, int64_t j0, int64_t bj, float *col) {
    build_col_ld(cs, src, channels, j0, bj, col, bj);
}

/* The regular conv's columns: output voxel o, tap k reads x at o*s - p + k*dil. */
static bool conv_col_spec(const ie_conv_geom *g, col_spec *cs) {
    for (int d = 0; d < 3; d++) {
        if (g->kernel[d] > MAX_COL_TAPS) return false;
        cs->src[d] = g->in[d];
        cs->grid[d] = g->out[d];
        cs->s[d] = g->stride[d];
        cs->n[d] = g->kernel[d];
        for (int k = 0; k < g->kernel[d]; k++) cs->off[d][k] = (int64_t)k * g->dil[d] - g->pad[d];
    }
    return true;
}

static ie_status check_kernel(const ie_conv_geom *g) {
    for (int d = 0; d < 3; d++)
        if (g->kernel[d] > MAX_COL_TAPS)
            return ie_error_set(IE_ERR_UNSUPPORTED, "conv: kernel size %d is larger than the supported %d",
                                g->kernel[d], MAX_COL_TAPS);
    return IE_OK;
}

static void vol2col(const ie_conv_geom *g, const float *xn, int64_t j0, int64_t bj, float *col) {
    col_spec cs;
    conv_col_spec(g, &cs); /* kernel sizes were checked by the caller */
    build_col(&cs, xn, g->cin, j0, bj, col);
}

/* ---------------- forward ---------------- */

typedef struct fwd_job {
    const ie_conv_geom *g;
    const float *x, *w, *bias;
    float *y;
    int64_t block, blocks_per_item, krows;
    bool pointwise;
    ie_conv_failure fail;
} fwd_job;

static void fill_rows(float *y, int64_t rows, int64_t ld, int64_t cols, const float *bias) {
    for (int64_t r = 0; r < rows; r++) {
        float v = bias ? bias[r] : 0.0f;
        for (int64_t c = 0; c < cols; c++) y[r * ld + c] = v;
    }
}

static void fwd_task(void *ctx, int64_t task) {
    fwd_job *j = ctx;
    const ie_conv_geom *g = j->g;
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out);
    int64_t n = task / j->blocks_per_item, j0 = (task % j->blocks_per_item) * j->block;
    int64_t bj = ovol - j0 < j->block ? ovol - j0 : j->block;
    const float *xn = j->x + n * g->cin * ivol;
    float *yb = j->y + n * g->cout * ovol + j0;
    if (j->bias) fill_rows(yb, g->cout, ovol, bj, j->bias);
    float beta = j->bias ? 1.0f : 0.0f;
    if (j->krows == 0) {
        if (!j->bias) fill_rows(yb, g->cout, ovol, bj, NULL);
        return;
    }
    if (j->pointwise) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->cout, (int)bj, (int)g->cin,
                    1.0f, j->w, (int)g->cin, xn + j0, (int)ivol, beta, yb, (int)ovol);
        return;
    }
    float *col = ie_conv_scratch(0, (size_t)(j->krows * bj));
    if (!col) {
        ie_conv_fail(&j->fail);
        return;
    }
    vol2col(g, xn, j0, bj, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->cout, (int)bj, (int)j->krows,
                1.0f, j->w, (int)j->krows, col, (int)bj, beta, yb, (int)ovol);
}

ie_status ie_conv_gemm_forward(const ie_conv_geom *g, const float *x, const float *w,
                               const float *bias, float *y) {
    const int64_t ovol = ie_conv_vol(g->out);
    if (ovol == 0 || g->batch == 0 || g->cout == 0) return IE_OK;
    IE_TRY(check_kernel(g));
    fwd_job j = {.g = g, .x = x, .w = w, .bias = bias, .y = y};
    j.krows = g->cin * ie_conv_ktaps(g);
    j.pointwise = is_pointwise(g);
    j.block = block_for_rows(j.krows, ovol);
    j.blocks_per_item = (ovol + j.block - 1) / j.block;
    atomic_init(&j.fail.failed, 0);
    ie_parallel_for(g->batch * j.blocks_per_item, fwd_task, &j);
    if (atomic_load(&j.fail.failed))
        return ie_error_set(IE_ERR_NOMEM, "conv: out of memory for a %lld-float column tile",
                            (long long)(j.krows * j.block));
    return IE_OK;
}

/* ---------------- backward data ---------------- */

#define MAX_CLASS_TAPS MAX_COL_TAPS

/* One parity class: input voxels i = s*j + r; kernel taps whose output
 * position o = j + shift is an integer. */
typedef struct grad_class {
    int64_t r[3], grid[3], vol;
    int ntap[3];
    int k[3][MAX_CLASS_TAPS];
    int64_t shift[3][MAX_CLASS_TAPS];
    int64_t taps;
    float *wc;  /* [cin][cout * taps] */
    int64_t first_task;
    int64_t blocks;
} grad_class;

typedef struct bwd_data_job {
    const ie_conv_geom *g;
    const float *gy, *bias;
    float *gx;
    grad_class *classes;
    int64_t n_classes, block, tasks_per_item;
    ie_conv_failure fail;
} bwd_data_job;

static void class_col(const ie_conv_geom *g, const grad_class *c, const float *gyn, int64_t j0,
                      int64_t bj, float *col) {
    col_spec cs;
    for (int d = 0; d < 3; d++) {
        cs.src[d] = g->out[d];
        cs.grid[d] = c->grid[d];
        cs.s[d] = 1;
        cs.n[d] = c->ntap[d];
        for (int k = 0; k < c->ntap[d]; k++) cs.off[d][k] = c->shift[d][k];
    }
    build_col(&cs, gyn, g->cout, j0, bj, col);
}

static void bwd_data_task(void *ctx, int64_t task) {
    bwd_data_job *j = ctx;
    const ie_conv_geom *g = j->g;
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out);
    int64_t n = task / j->tasks_per_item, t = task % j->tasks_per_item;
    int64_t ci_ = 0;
    while (ci_ + 1 < j->n_classes && j->classes[ci_ + 1].first_task <= t) ci_++;
    const grad_class *c = &j->classes[ci_];
    int64_t j0 = (t - c->first_task) * j->block;
    int64_t bj = c->vol - j0 < j->block ? c->vol - j0 : j->block;
    const float *gyn = j->gy + n * g->cout * ovol;
    float *gxn = j->gx + n * g->cin * ivol;
    const int64_t krows = g->cout * c->taps;
    bool unit_stride = j->n_classes == 1 && c->vol == ivol;
    float *tile;
    int64_t ldt;
    if (unit_stride) { /* the class is the whole input: write gx directly */
        tile = gxn + j0;
        ldt = ivol;
    } else {
        tile = ie_conv_scratch(1, (size_t)(g->cin * bj));
        ldt = bj;
        if (!tile) {
            ie_conv_fail(&j->fail);
            return;
        }
    }
    fill_rows(tile, g->cin, ldt, bj, j->bias);
    if (krows > 0) {
        float *col = ie_conv_scratch(0, (size_t)(krows * bj));
        if (!col) {
            ie_conv_fail(&j->fail);
            return;
        }
        class_col(g, c, gyn, j0, bj, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->cin, (int)bj, (int)krows,
                    1.0f, c->wc, (int)krows, col, (int)bj, 1.0f, tile, (int)ldt);
    }
    if (unit_stride) return;
    const int64_t IH = g->in[1], IW = g->in[2], JH = c->grid[1], JW = c->grid[2];
    for (int64_t jj = 0; jj < bj; jj++) {
        int64_t jv = j0 + jj;
        int64_t id = (jv / (JH * JW)) * g->stride[0] + c->r[0];
        int64_t ih = ((jv / JW) % JH) * g->stride[1] + c->r[1];
        int64_t iw = (jv % JW) * g->stride[2] + c->r[2];
        int64_t at = (id * IH + ih) * IW + iw;
        for (int64_t ci = 0; ci < g->cin; ci++) gxn[ci * ivol + at] = tile[ci * bj + jj];
    }
}

/* Taps of kernel dimension d seen by input residue r: o = (i + p - k*dil)/s. */
static int class_taps(const ie_conv_geom *g, int d, int64_t r, int *k, int64_t *shift) {
    int n = 0;
    for (int kk = 0; kk < g->kernel[d]; kk++) {
        int64_t num = r + g->pad[d] - (int64_t)kk * g->dil[d];
        int64_t s = g->stride[d];
        if (((num % s) + s) % s != 0) continue;
        if (n == MAX_CLASS_TAPS) return -1;
        k[n] = kk;
        shift[n] = num / s;
        n++;
    }
    return n;
}

ie_status ie_conv_gemm_backward_data(const ie_conv_geom *g, const float *gy, const float *w,
                                     const float *bias, float *gx) {
    const int64_t ivol = ie_conv_vol(g->in);
    if (ivol == 0 || g->batch == 0 || g->cin == 0) return IE_OK;
    const int64_t ktaps = ie_conv_ktaps(g);
    int64_t n_classes = (int64_t)g->stride[0] * g->stride[1] * g->stride[2];
    grad_class *classes = calloc((size_t)n_classes, sizeof *classes);
    ie_tensor *wc_t = NULL;
    ie_status st = IE_OK;
    if (!classes || ie_conv_temp(g->cin * g->cout * ktaps, &wc_t) != IE_OK) {
        st = ie_error_set(IE_ERR_NOMEM, "conv backward: out of memory packing the weights");
        goto done;
    }
    int64_t max_rows = 1;
    for (int64_t ci = 0; ci < n_classes; ci++) {
        grad_class *c = &classes[ci];
        c->r[0] = ci / ((int64_t)g->stride[1] * g->stride[2]);
        c->r[1] = (ci / g->stride[2]) % g->stride[1];
        c->r[2] = ci % g->stride[2];
        c->taps = 1;
        c->vol = 1;
        for (int d = 0; d < 3; d++) {
            c->grid[d] = g->in[d] > c->r[d] ? (g->in[d] - c->r[d] + g->stride[d] - 1) / g->stride[d] : 0;
            c->ntap[d] = class_taps(g, d, c->r[d], c->k[d], c->shift[d]);
            if (c->ntap[d] < 0) {
                st = ie_error_set(IE_ERR_UNSUPPORTED, "conv backward: kernel size %d is too large "
                                  "(at most %d taps per stride class)", g->kernel[d], MAX_CLASS_TAPS);
                goto done;
            }
            c->taps *= c->ntap[d];
            c->vol *= c->grid[d];
        }
        if (g->cout * c->taps > max_rows) max_rows = g->cout * c->taps;
    }
    /* Pack each class's weights as [cin][cout * taps]. */
    float *wp = ie_f32(wc_t);
    for (int64_t ci = 0; ci < n_classes; ci++) {
        grad_class *c = &classes[ci];
        c->wc = wp;
        int64_t krows = g->cout * c->taps;
        for (int64_t x = 0; x < g->cin; x++)
            for (int64_t co = 0; co < g->cout; co++) {
                int64_t t = 0;
                for (int a = 0; a < c->ntap[0]; a++)
                    for (int b = 0; b < c->ntap[1]; b++)
                        for (int e = 0; e < c->ntap[2]; e++, t++) {
                            int64_t k = ((int64_t)c->k[0][a] * g->kernel[1] + c->k[1][b]) * g->kernel[2] +
                                        c->k[2][e];
                            wp[x * krows + co * c->taps + t] = w[(co * g->cin + x) * ktaps + k];
                        }
            }
        wp += g->cin * krows;
    }
    bwd_data_job j = {.g = g, .gy = gy, .bias = bias, .gx = gx, .classes = classes,
                      .n_classes = n_classes};
    j.block = block_for_rows(max_rows > g->cin ? max_rows : g->cin, ivol);
    int64_t t = 0;
    for (int64_t ci = 0; ci < n_classes; ci++) {
        classes[ci].first_task = t;
        classes[ci].blocks = (classes[ci].vol + j.block - 1) / j.block;
        t += classes[ci].blocks;
    }
    j.tasks_per_item = t;
    atomic_init(&j.fail.failed, 0);
    ie_parallel_for(g->batch * j.tasks_per_item, bwd_data_task, &j);
    if (atomic_load(&j.fail.failed))
        st = ie_error_set(IE_ERR_NOMEM, "conv backward: out of memory for a column tile");
done:
    free(classes);
    ie_tensor_release(wc_t);
    return st;
}

/* ---------------- backward weight ---------------- */

typedef struct bwd_weight_job {
    const ie_conv_geom *g;
    const float *x, *gy;
    float *partial; /* [groups][cout][krows] */
    int64_t block, blocks_per_item, total_blocks, groups, krows;
    bool pointwise;
    ie_conv_failure fail;
} bwd_weight_job;

static void bwd_weight_task(void *ctx, int64_t grp) {
    bwd_weight_job *j = ctx;
    const ie_conv_geom *g = j->g;
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out);
    const int64_t wsize = g->cout * j->krows;
    float *part = j->partial + grp * wsize;
    memset(part, 0, (size_t)wsize * sizeof(float));
    int64_t b0 = grp * j->total_blocks / j->groups, b1 = (grp + 1) * j->total_blocks / j->groups;
    for (int64_t b = b0; b < b1; b++) {
        int64_t n = b / j->blocks_per_item, j0 = (b % j->blocks_per_item) * j->block;
        int64_t bj = ovol - j0 < j->block ? ovol - j0 : j->block;
        const float *xn = j->x + n * g->cin * ivol, *gyb = j->gy + n * g->cout * ovol + j0;
        if (j->pointwise) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->cout, (int)g->cin, (int)bj,
                        1.0f, gyb, (int)ovol, xn + j0, (int)ivol, 1.0f, part, (int)j->krows);
            continue;
        }
        float *col = ie_conv_scratch(0, (size_t)(j->krows * bj));
        if (!col) {
            ie_conv_fail(&j->fail);
            return;
        }
        vol2col(g, xn, j0, bj, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->cout, (int)j->krows, (int)bj,
                    1.0f, gyb, (int)ovol, col, (int)bj, 1.0f, part, (int)j->krows);
    }
}

typedef struct sum_job {
    const float *partial;
    float *out;
    int64_t groups, size;
} sum_job;

static void sum_partials_task(void *ctx, int64_t chunk) {
    const sum_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = lo + IE_CPU_CHUNK < j->size ? lo + IE_CPU_CHUNK : j->size;
    for (int64_t e = lo; e < hi; e++) {
        float s = j->partial[e];
        for (int64_t p = 1; p < j->groups; p++) s += j->partial[p * j->size + e];
        j->out[e] = s;
    }
}

/* Few voxels in all (a U-Net's lowest levels): one column matrix for every
 * voxel of the batch, then each task owns a band of its rows (input channel
 * x tap) and writes those columns of gw directly (no partial sums).  Bands
 * of column rows keep OpenBLAS packing each column entry once. */
#define SMALL_WGRAD_VOXELS 1024

typedef struct small_wgrad_job {
    const ie_conv_geom *g;
    const float *x, *gy;
    float *col, *gc, *gw; /* col [krows][nvox], gc [cout][nvox] */
    int64_t krows, nvox, band;
    int32_t *map;         /* [ktaps][ovol]: input offset each tap reads, -1 in the padding */
} small_wgrad_job;

static void small_col_task(void *ctx, int64_t task) {
    const small_wgrad_job *j = ctx;
    const ie_conv_geom *g = j->g;
    const int64_t ivol = ie_conv_vol(g->in), ovol = ie_conv_vol(g->out), ktaps = ie_conv_ktaps(g);
    int64_t n = task / (g->cin + g->cout), c = task % (g->cin + g->cout);
    if (c < g->cin) {
        const float *xc = j->x + (n * g->cin + c) * ivol;
        for (int64_t k = 0; k < ktaps; k++) {
            const int32_t *m = j->map + k * ovol;
            float *dst = j->col + (c * ktaps + k) * j->nvox + n * ovol;
            for (int64_t v = 0; v < ovol; v++) dst[v] = m[v] >= 0 ? xc[m[v]] : 0.0f;
        }
    } else {
        c -= g->cin;
        memcpy(j->gc + c * j->nvox + n * ovol, j->gy + (n * g->cout + c) * ovol, (size_t)ovol * sizeof(float));
    }
}

static void small_gemm_task(void *ctx, int64_t band) {
    const small_wgrad_job *j = ctx;
    int64_t r0 = band * j->band, rows = j->krows - r0 < j->band ? j->krows - r0 : j->band;
    /* column-major view: gw is [krows x cout] with leading dimension krows */
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)rows, (int)j->g->cout, (int)j->nvox, 1.0f,
                j->col + r0 * j->nvox, (int)j->nvox, j->gc, (int)j->nvox, 0.0f, j->gw + r0, (int)j->krows);
}

static ie_status small_backward_weight(const ie_conv_geom *g, const float *x, const float *gy, float *gw) {
    small_wgrad_job j = {.g = g, .x = x, .gy = gy, .gw = gw};
    j.krows = g->cin * ie_conv_ktaps(g);
    j.nvox = g->batch * ie_conv_vol(g->out);
    const int64_t ovol = ie_conv_vol(g->out), ktaps = ie_conv_ktaps(g);
    j.map = malloc((size_t)(ktaps * ovol) * sizeof(int32_t));
    if (!j.map) return ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory");
    for (int64_t k = 0; k < ktaps; k++) {
        int64_t kk[3] = {k / ((int64_t)g->kernel[1] * g->kernel[2]), (k / g->kernel[2]) % g->kernel[1],
                         k % g->kernel[2]};
        for (int64_t v = 0; v < ovol; v++) {
            int64_t o[3] = {v / (g->out[1] * g->out[2]), (v / g->out[2]) % g->out[1], v % g->out[2]}, at = 0;
            bool inside = true;
            for (int d = 0; d < 3; d++) {
                int64_t i = o[d] * g->stride[d] - g->pad[d] + kk[d] * g->dil[d];
                inside = inside && i >= 0 && i < g->in[d];
                at = at * g->in[d] + i;
            }
            j.map[k * ovol + v] = inside ? (int32_t)at : -1;
        }
    }
    /* eight bands of column rows (multiples of 16) */
    j.band = (j.krows + 7) / 8;
    j.band = (j.band + 15) / 16 * 16;
    ie_tensor *col_t = NULL, *gc_t = NULL;
    if (ie_conv_temp(j.krows * j.nvox, &col_t) != IE_OK || ie_conv_temp(g->cout * j.nvox, &gc_t) != IE_OK) {
        ie_tensor_release(col_t);
        free(j.map);
        return ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for the column matrix");
    }
    j.col = ie_f32(col_t);
    j.gc = ie_f32(gc_t);
    ie_parallel_for(g->batch * (g->cin + g->cout), small_col_task, &j);
    ie_parallel_for((j.krows + j.band - 1) / j.band, small_gemm_task, &j);
    ie_tensor_release(col_t);
    ie_tensor_release(gc_t);
    free(j.map);
    return IE_OK;
}

ie_status ie_conv_gemm_backward_weight(const ie_conv_geom *g, const float *x, const float *gy,
                                       float *gw) {
    const int64_t ovol = ie_conv_vol(g->out);
    IE_TRY(check_kernel(g));
    bwd_weight_job j = {.g = g, .x = x, .gy = gy};
    j.krows = g->cin * ie_conv_ktaps(g);
    const int64_t wsize = g->cout * j.krows;
    if (wsize == 0) return IE_OK;
    if (ovol == 0 || g->batch == 0) {
        memset(gw, 0, (size_t)wsize * sizeof(float));
        return IE_OK;
    }
    if (g->batch * ovol <= SMALL_WGRAD_VOXELS && ie_conv_vol(g->in) < ((int64_t)1 << 31))
        return small_backward_weight(g, x, gy, gw);
    j.pointwise = is_pointwise(g);
    j.block = block_for_rows(j.krows, ovol);
    j.blocks_per_item = (ovol + j.block - 1) / j.block;
    j.total_blocks = g->batch * j.blocks_per_item;
    j.groups = j.total_blocks < WGRAD_GROUPS ? j.total_blocks : WGRAD_GROUPS;
    int64_t cap = WGRAD_PARTIAL_FLOATS / wsize;
    if (cap < 1) cap = 1;
    if (j.groups > cap) j.groups = cap;
    ie_tensor *partial_t = NULL;
    if (j.groups > 1 && ie_conv_temp(j.groups * wsize, &partial_t) != IE_OK)
        return ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for %lld partial sums",
                            (long long)(j.groups * wsize));
    j.partial = partial_t ? ie_f32(partial_t) : gw;
    atomic_init(&j.fail.failed, 0);
    ie_parallel_for(j.groups, bwd_weight_task, &j);
    ie_status st = IE_OK;
    if (atomic_load(&j.fail.failed)) {
        st = ie_error_set(IE_ERR_NOMEM, "conv weight gradient: out of memory for a column tile");
    } else if (j.groups > 1) {
        sum_job s = {j.partial, gw, j.groups, wsize};
        ie_parallel_for(ie_cpu_chunks(wsize), sum_partials_task, &s);
    }
    ie_tensor_release(partial_t);
    return st;
}
