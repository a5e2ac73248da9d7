/* core/backend/cpu - the vector layer of the canonical kernels (canon_body.h).
 *
 * One translation unit per CPU path includes this header with one of
 * IE_SIMD_AVX512, IE_SIMD_AVX2 or neither (the portable path) defined, and is
 * compiled with that path's instruction set (CMakeLists.txt).  Every
 * operation here is lane-wise and exact in IEEE single precision: a fused
 * multiply-add rounds once, an add rounds once, loads and stores move bits.
 * So a kernel written against this layer computes each output lane with the
 * same sequence of roundings whatever VL is, and the three paths agree bit
 * for bit.  Masked operations leave the masked-off lanes untouched ("skip"
 * semantics: a padding tap is not added, rather than added as a zero product,
 * which could turn a -0.0 accumulator into +0.0).
 *
 *   VL                      lanes per vector (16, 8 or 1)
 *   vf                      a vector of VL floats; vmask a lane mask
 *   vf_zero, vf_set1(x)     constants
 *   vf_load(p), vf_store(p, v)
 *   vf_fma(a, b, c)         a * b + c, one rounding
 *   vf_add(a, b)
 *   vm_bits(bits)           lane l on when bit l of bits is set
 *   vf_load_m(m, p)         masked-off lanes read nothing (may point outside)
 *   vf_gather_m(m, base, idx)  lane l reads base[idx[l]] where on
 *   vf_fma_m(m, a, b, c)    vf_fma on the lanes of m, c elsewhere */
#ifndef IE_CORE_BACKEND_CPU_SIMD_H
#define IE_CORE_BACKEND_CPU_SIMD_H

#include <math.h>
#include <stdint.h>

#if defined(IE_SIMD_AVX512)
#include <immintrin.h>
#define VL 16
typedef __m512 vf;
typedef __mmask16 vmask;
static inline vf vf_zero(void) { return _mm512_setzero_ps(); }
static inline vf vf_set1(float x) { return _mm512_set1_ps(x); }
static inline vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vmask vm_bits(uint32_t bits) { return (vmask)bits; }
static inline vf vf_load_m(vmask m, const float *p) { return _mm512_maskz_loadu_ps(m, p); }
static inline vf vf_gather_m(vmask m, const float *base, const int32_t *idx) {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, _mm512_loadu_si512(idx), base, 4);
}
static inline vf vf_fma_m(vmask m, vf a, vf b, vf c) { return _mm512_mask3_fmadd_ps(a, b, c, m); }

#elif defined(IE_SIMD_AVX2)
#include <immintrin.h>
#define VL 8
typedef __m256 vf;
typedef __m256i vmask;
static inline vf vf_zero(void) { return _mm256_setzero_ps(); }
static inline vf vf_set1(float x) { return _mm256_set1_ps(x); }
static inline vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vf_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vmask vm_bits(uint32_t bits) {
    const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), lane), lane);
}
/* maskload never faults on masked-off lanes */
static inline vf vf_load_m(vmask m, const float *p) { return _mm256_maskload_ps(p, m); }
static inline vf vf_gather_m(vmask m, const float *base, const int32_t *idx) {
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, _mm256_loadu_si256((const __m256i *)idx),
                                    _mm256_castsi256_ps(m), 4);
}
static inline vf vf_fma_m(vmask m, vf a, vf b, vf c) {
    return _mm256_blendv_ps(c, _mm256_fmadd_ps(a, b, c), _mm256_castsi256_ps(m));
}

#else /* portable C: one lane, fmaf (a libm call where the CPU has no FMA unit) */
#define VL 1
typedef float vf;
typedef uint32_t vmask;
static inline vf vf_zero(void) { return 0.0f; }
static inline vf vf_set1(float x) { return x; }
static inline vf vf_load(const float *p) { return *p; }
static inline void vf_store(float *p, vf v) { *p = v; }
static inline vf vf_fma(vf a, vf b, vf c) { return fmaf(a, b, c); }
static inline vf vf_add(vf a, vf b) { return a + b; }
static inline vmask vm_bits(uint32_t bits) { return bits & 1u; }
static inline vf vf_load_m(vmask m, const float *p) { return m ? *p : 0.0f; }
static inline vf vf_gather_m(vmask m, const float *base, const int32_t *idx) { return m ? base[idx[0]] : 0.0f; }
static inline vf vf_fma_m(vmask m, vf a, vf b, vf c) { return m ? fmaf(a, b, c) : c; }
#endif

/* One rounding per multiply-add on the scalar edges too (fmaf is inlined
 * where the translation unit is compiled with FMA). */
static inline float sf_fma(float a, float b, float c) { return fmaf(a, b, c); }

#endif
