/* core/backend/cpu - the direct convolution kernels' shared plain-C parts
 * (conv_cpu_direct_common.h). */
#include "core/backend/cpu/conv_cpu_direct_common.h"

#include <string.h>

bool ie_conv_direct_fits(const ie_conv_geom *g) {
    int64_t taps = 1, ovol = 1, ivol = 1;
    for (int d = 0; d < 3; d++) {
        if (g->out[d] < 1 || g->in[d] != (int64_t)g->stride[d] * g->out[d]) return false;
        if (g->kernel[d] > IE_DIRECT_MAXK || g->stride[d] > 4) return false;
        taps *= g->kernel[d];
        ovol *= g->out[d];
        ivol *= g->in[d];
    }
    /* Lane indices, scatter offsets and the weight-packing gathers (16 rows
     * of cin * taps) are 32-bit. */
    return taps <= IE_DIRECT_MAXTAPS && ivol < ((int64_t)1 << 30) && ovol < ((int64_t)1 << 30) &&
           g->cin * taps < ((int64_t)1 << 26) && g->cout * taps < ((int64_t)1 << 26);
}

void ie_direct_forward_taps(const ie_conv_geom *g, ie_direct_taps *t) {
    const int64_t ovol = ie_conv_vol(g->out);
    const int64_t grid_stride[3] = {g->out[1] * g->out[2], g->out[2], 1};
    const int64_t phase_stride[3] = {(int64_t)g->stride[1] * g->stride[2] * ovol, (int64_t)g->stride[2] * ovol, ovol};
    for (int d = 0; d < 3; d++) {
        t->n[d] = g->kernel[d];
        for (int k = 0; k < g->kernel[d]; k++) {
            int64_t off = (int64_t)k * g->dil[d] - g->pad[d], s = g->stride[d];
            int64_t phase = ((off % s) + s) % s, shift = (off - phase) / s;
            t->k[d][k] = k;
            t->shift[d][k] = (int)shift;
            t->off[d][k] = phase * phase_stride[d] + shift * grid_stride[d];
        }
    }
}

void ie_direct_class_taps(const ie_conv_geom *g, int64_t cls, ie_direct_taps *t, int64_t r[3]) {
    const int64_t grid_stride[3] = {g->out[1] * g->out[2], g->out[2], 1};
    r[0] = cls / ((int64_t)g->stride[1] * g->stride[2]);
    r[1] = (cls / g->stride[2]) % g->stride[1];
    r[2] = cls % g->stride[2];
    for (int d = 0; d < 3; d++) {
        int n = 0;
        for (int kk = 0; kk < g->kernel[d]; kk++) {
            /* input i = s*j + r sees output o = (i + p - k*dil) / s when exact */
            int64_t num = r[d] + g->pad[d] - (int64_t)kk * g->dil[d], s = g->stride[d];
            if (((num % s) + s) % s != 0) continue;
            t->k[d][n] = kk;
            t->shift[d][n] = (int)(num / s);
            t->off[d][n] = (num / s) * grid_stride[d];
            n++;
        }
        t->n[d] = n;
    }
}

/* ---------------- phase split ---------------- */

typedef struct split_job {
    const ie_conv_geom *g;
    const float *x;
    float *xs;
    int64_t lo[3], dim[3], plane; /* padded planes (no padding: dim = out) */
} split_job;

/* Even and odd elements of a row of 2*n floats into two rows of n (compiled
 * for each instruction set: a plain copy, vectorised by the compiler). */
IE_CPU_CLONES static void deinterleave2(const float *restrict row, float *restrict even, float *restrict odd,
                                        int64_t n) {
    for (int64_t w = 0; w < n; w++) {
        even[w] = row[2 * w];
        odd[w] = row[2 * w + 1];
    }
}

/* Zeroes n floats: short gaps inline (a row's border is a float or two, and
 * a memset call per row border was 2% of an avx2 training step). */
static inline void zero_gap(float *p, int64_t n) {
    if (n > 16) {
        memset(p, 0, (size_t)n * sizeof(float));
        return;
    }
    for (int i = 0; i < 16; i++)
        if (i < n) p[i] = 0.0f;
}

/* Zeroes what lies outside the grid in a padded plane: the gaps between
 * consecutive grid rows (row borders, and the border planes and rows where
 * a depth slice or the plane begins or ends). */
static void zero_border(const split_job *j, float *plane) {
    const ie_conv_geom *g = j->g;
    const int64_t P1 = j->dim[1], P2 = j->dim[2];
    float *end = plane; /* end of the previous grid row */
    for (int64_t d = j->lo[0]; d < j->lo[0] + g->out[0]; d++)
        for (int64_t h = j->lo[1]; h < j->lo[1] + g->out[1]; h++) {
            float *row = plane + (d * P1 + h) * P2 + j->lo[2];
            zero_gap(end, row - end);
            end = row + g->out[2];
        }
    zero_gap(end, plane + j->dim[0] * P1 * P2 - end);
}

/* One (batch item, channel): xs[phase][j] = x[s*j + phase] per dimension,
 * phase = (pd*sh + ph)*sw + pw. */
static void split_task(void *ctx, int64_t task) {
    const split_job *j = ctx;
    const ie_conv_geom *g = j->g;
    const int64_t ivol = ie_conv_vol(g->in), phases = ivol / ie_conv_vol(g->out);
    const int64_t IH = g->in[1], IW = g->in[2], OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const int sw = g->stride[2];
    const bool padded = j->plane != ie_conv_vol(g->out);
    const float *src = j->x + task * ivol;
    float *dst = j->xs + task * phases * j->plane;
    for (int pd = 0; pd < g->stride[0]; pd++)
        for (int ph = 0; ph < g->stride[1]; ph++, dst += (int64_t)sw * j->plane) {
            if (padded)
                for (int pw = 0; pw < sw; pw++) zero_border(j, dst + pw * j->plane);
            for (int64_t d = 0; d < OD; d++)
                for (int64_t h = 0; h < OH; h++) {
                    const float *row = src + ((d * g->stride[0] + pd) * IH + h * g->stride[1] + ph) * IW;
                    float *out = dst + ((d + j->lo[0]) * j->dim[1] + h + j->lo[1]) * j->dim[2] + j->lo[2];
                    if (sw == 1) {
                        memcpy(out, row, (size_t)OW * sizeof(float));
                    } else if (sw == 2) { /* both width phases in one pass */
                        deinterleave2(row, out, out + j->plane, OW);
                    } else {
                        for (int pw = 0; pw < sw; pw++)
                            for (int64_t w = 0; w < OW; w++) out[pw * j->plane + w] = row[w * sw + pw];
                    }
                }
        }
}

static ie_status split(const ie_conv_geom *g, const float *x, split_job *sj, ie_tensor **owned) {
    const int64_t phases = ie_conv_vol(g->in) / ie_conv_vol(g->out);
    sj->plane = sj->dim[0] * sj->dim[1] * sj->dim[2];
    IE_TRY(ie_conv_temp(g->batch * g->cin * phases * sj->plane, owned));
    sj->g = g;
    sj->x = x;
    sj->xs = ie_f32(*owned);
    ie_parallel_for(g->batch * g->cin, split_task, sj);
    return IE_OK;
}

ie_status ie_direct_phase_split(const ie_conv_geom *g, const float *x, const float **xs, ie_tensor **owned) {
    *owned = NULL;
    *xs = x;
    if (!ie_direct_strided(g)) return IE_OK;
    split_job sj = {.dim = {g->out[0], g->out[1], g->out[2]}};
    IE_TRY(split(g, x, &sj, owned));
    *xs = sj.xs;
    return IE_OK;
}

ie_status ie_direct_phase_split_padded(const ie_conv_geom *g, const float *x, const int64_t lo[3],
                                       const int64_t hi[3], ie_direct_padded *out, ie_tensor **owned) {
    *owned = NULL;
    split_job sj;
    for (int d = 0; d < 3; d++) {
        sj.lo[d] = out->lo[d] = lo[d];
        sj.dim[d] = out->dim[d] = lo[d] + g->out[d] + hi[d];
    }
    IE_TRY(split(g, x, &sj, owned));
    out->x = sj.xs;
    out->plane = sj.plane;
    out->cstride = ie_conv_vol(g->in) / ie_conv_vol(g->out) * sj.plane;
    return IE_OK;
}

/* ---------------- group sum ---------------- */

typedef struct gsum_job {
    const float *partial;
    float *out;
    int64_t groups, size;
    bool first; /* out starts as row 0 (else row 0 is added to out) */
} gsum_job;

static void gsum_task(void *ctx, int64_t chunk) {
    const gsum_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = lo + IE_CPU_CHUNK < j->size ? lo + IE_CPU_CHUNK : j->size;
    for (int64_t e = lo; e < hi; e++) {
        float s = j->first ? j->partial[e] : j->out[e] + j->partial[e];
        for (int64_t p = 1; p < j->groups; p++) s += j->partial[p * j->size + e];
        j->out[e] = s;
    }
}

void ie_direct_sum_groups(const float *partial, int64_t groups, int64_t size, bool first, float *out) {
    gsum_job s = {partial, out, groups, size, first};
    ie_parallel_for(ie_cpu_chunks(size), gsum_task, &s);
}
