/* core/backend/cpu - what the direct convolution kernels of every instruction
 * set share (conv_cpu_direct.c: AVX-512, conv_cpu_direct_avx2.c: AVX2 + FMA):
 * the shapes they take, their tap tables, the phase split of a strided input
 * and the sum of the weight gradient's groups.  Plain C: the ISA files hold
 * the vector code.
 *
 * Every direct kernel works on geometries with in == stride * out per
 * dimension, where a conv is a "flat gather" over a grid the size of the
 * output: tap t of a voxel j reads source voxel j + off_t of a plane of the
 * grid's size (a phase plane of x for the forward conv, gy itself for the
 * residue classes of backward data). */
#ifndef IE_CORE_BACKEND_CPU_CONV_CPU_DIRECT_COMMON_H
#define IE_CORE_BACKEND_CPU_CONV_CPU_DIRECT_COMMON_H

#include "core/backend/cpu/conv_cpu_internal.h"

#define IE_DIRECT_MAXK 16     /* kernel taps per dimension */
#define IE_DIRECT_MAXTAPS 512 /* taps per class */

/* Per dimension, the taps a class uses: kernel index, shift on the grid (for
 * bounds) and element offset in the source (phase plane + shift). */
typedef struct ie_direct_taps {
    int n[3];
    int k[3][IE_DIRECT_MAXK];
    int shift[3][IE_DIRECT_MAXK];
    int64_t off[3][IE_DIRECT_MAXK];
} ie_direct_taps;

static inline int64_t ie_direct_taps_count(const ie_direct_taps *t) { return (int64_t)t->n[0] * t->n[1] * t->n[2]; }

static inline bool ie_direct_strided(const ie_conv_geom *g) {
    return g->stride[0] > 1 || g->stride[1] > 1 || g->stride[2] > 1;
}

/* Forward taps, reading the phase split of x (ie_direct_phase_split): offset
 * k*dil - pad = s*shift + phase per dimension. */
void ie_direct_forward_taps(const ie_conv_geom *g, ie_direct_taps *t);

/* Backward data: the input voxels i = s*j + r form stride^3 residue classes
 * (r = cls's digits, returned in r), each a stride-1 gather from gy over the
 * output grid with the taps that reach it. */
void ie_direct_class_taps(const ie_conv_geom *g, int64_t cls, ie_direct_taps *t, int64_t r[3]);

/* x as the forward gather reads it: x itself for stride 1, else its split
 * into stride^3 phase planes of the output's size, [n][c][phase][out] (same
 * size as x), so that every tap reads consecutive voxels.  *owned receives
 * the split copy (NULL when x is read in place). */
ie_status ie_direct_phase_split(const ie_conv_geom *g, const float *x, const float **xs, ie_tensor **owned);

/* The phase split with every plane padded by lo[d] zeros before and hi[d]
 * after the grid in each dimension, so that taps read zeros instead of
 * leaving the plane: [n][c][phase][dim[0]][dim[1]][dim[2]], always a copy. */
typedef struct ie_direct_padded {
    const float *x;
    int64_t lo[3], dim[3];
    int64_t plane, cstride; /* floats per padded plane, per channel (all phases) */
} ie_direct_padded;
ie_status ie_direct_phase_split_padded(const ie_conv_geom *g, const float *x, const int64_t lo[3],
                                       const int64_t hi[3], ie_direct_padded *out, ie_tensor **owned);

/* The weight gradient's groups folded in order (canon_kernels.h), one wave
 * of `groups` rows at a time: out[e] = ((out[e] + partial[e]) + partial[size
 * + e]) + ..., where the first wave (first) starts from partial[e] instead. */
void ie_direct_sum_groups(const float *partial, int64_t groups, int64_t size, bool first, float *out);

#endif
