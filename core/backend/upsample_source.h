/* core/backend - where an upsampled output index samples its input along one
 * axis: nearest, or (bi/tri)linear with its two weights.  Computed exactly as
 * PyTorch 1.13 does (the same float and double operations, the same special
 * cases), so the sampled positions agree bit for bit.  One definition for the
 * CPU kernels (pool_cpu.c) and the CUDA ones (pool.cu): both are built
 * without contraction (-ffp-contract=off, nvcc --fmad=false), so they sample
 * the same positions with the same weights. */
#ifndef IE_CORE_BACKEND_UPSAMPLE_SOURCE_H
#define IE_CORE_BACKEND_UPSAMPLE_SOURCE_H

#include <math.h>
#include <stdint.h>

/* A function callable from host code and, under nvcc, from device code. */
#ifndef IE_HOST_DEVICE
#ifdef __CUDACC__
#define IE_HOST_DEVICE __host__ __device__
#else
#define IE_HOST_DEVICE
#endif
#endif

/* Output index o reads inputs i0 and i1 with weights l0 and l1 (nearest:
 * i1 = i0, l0 = 1, l1 = 0). */
typedef struct ie_upsample_source {
    int64_t i0, i1;
    float l0, l1;
} ie_upsample_source;

static inline IE_HOST_DEVICE ie_upsample_source ie_upsample_source_of(int64_t o, int64_t in, int64_t out, int linear,
                                                                       int align_corners) {
    ie_upsample_source m;
    if (!linear) {
        if (out == in) {
            m.i0 = o;
        } else if (out == 2 * in) {
            m.i0 = o >> 1;
        } else {
            float scale = (float)in / (float)out;
            int64_t i = (int64_t)floorf((float)o * scale);
            m.i0 = i < in - 1 ? i : in - 1;
        }
        m.i1 = m.i0, m.l0 = 1.0f, m.l1 = 0.0f;
        return m;
    }
    if (in == out) {
        m.i0 = m.i1 = o, m.l0 = 1.0f, m.l1 = 0.0f;
        return m;
    }
    float real;
    if (align_corners) {
        float scale = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        real = scale * (float)o;
    } else {
        float scale = (float)in / (float)out;
        real = (float)((double)scale * ((double)o + 0.5) - 0.5);
        if (real < 0) real = 0;
    }
    int64_t i0 = (int64_t)real;
    float l1 = real - (float)i0;
    l1 = l1 < 0 ? 0 : l1 > 1 ? 1 : l1;
    m.i0 = i0, m.i1 = i0 + (i0 < in - 1 ? 1 : 0), m.l1 = l1, m.l0 = 1.0f - l1;
    return m;
}

#endif
