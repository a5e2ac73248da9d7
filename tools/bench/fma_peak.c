/* tools/bench - the machine's measured FMA peak per core, for the roofline
 * line of tools/bench/unet3d_cpu.sh: twelve independent chains of fused
 * multiply-adds per vector width (enough to cover the FMA latency on every
 * x86-64 core we know), one thread, best of three.  Prints
 *   fma_peak avx512 <GFLOP/s per core>   (when the CPU has AVX-512)
 *   fma_peak avx2 <GFLOP/s per core>     (when it has AVX2 + FMA) */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 12
#define ITERS 50000000L

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

__attribute__((target("avx512f"))) static double peak512(void) {
    __m512 a[CHAINS];
    const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    for (int i = 0; i < CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
    double t = now();
    for (long k = 0; k < ITERS; k++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    t = now() - t;
    volatile float sink = 0;
    for (int i = 0; i < CHAINS; i++) sink += _mm512_reduce_add_ps(a[i]);
    (void)sink;
    return (double)CHAINS * ITERS * 32 / t / 1e9;
}

__attribute__((target("avx2,fma"))) static double peak256(void) {
    __m256 a[CHAINS];
    const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    for (int i = 0; i < CHAINS; i++) a[i] = _mm256_set1_ps((float)i);
    double t = now();
    for (long k = 0; k < ITERS; k++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    t = now() - t;
    float tmp[8];
    volatile float sink = 0;
    for (int i = 0; i < CHAINS; i++) {
        _mm256_storeu_ps(tmp, a[i]);
        sink += tmp[0];
    }
    (void)sink;
    return (double)CHAINS * ITERS * 16 / t / 1e9;
}

int main(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        double best = 0;
        for (int r = 0; r < 3; r++) {
            double v = peak512();
            best = v > best ? v : best;
        }
        printf("fma_peak avx512 %.1f\n", best);
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        double best = 0;
        for (int r = 0; r < 3; r++) {
            double v = peak256();
            best = v > best ? v : best;
        }
        printf("fma_peak avx2 %.1f\n", best);
    }
    return 0;
}
