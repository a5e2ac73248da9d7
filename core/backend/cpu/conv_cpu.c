/* core/backend/cpu - the CPU conv kernel table: picks the direct kernels of
 * the CPU path (AVX-512 or AVX2) or its canonical kernels per call (vol2col +
 * OpenBLAS only when asked for), owns the per-thread scratch and the bias
 * gradient. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/cpu/conv_cpu_internal.h"
#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_path.h"

/* ---------------- per-thread scratch ---------------- */

#define SCRATCH_SLOTS 4

typedef struct scratch_set {
    float *buf[SCRATCH_SLOTS];
    size_t cap[SCRATCH_SLOTS];
} scratch_set;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p) {
    scratch_set *s = p;
    for (int i = 0; i < SCRATCH_SLOTS; i++) free(s->buf[i]);
    free(s);
}

static void scratch_init(void) { (void)pthread_key_create(&scratch_key, scratch_free); }

float *ie_conv_scratch(int slot, size_t nfloats) {
    pthread_once(&scratch_once, scratch_init);
    scratch_set *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (nfloats == 0) nfloats = 1;
    if (s->cap[slot] < nfloats) {
        free(s->buf[slot]);
        s->cap[slot] = 0;
        /* Round up so that growing by a little does not reallocate each call. */
        size_t want = (nfloats + 4095) & ~(size_t)4095;
        s->buf[slot] = aligned_alloc(64, want * sizeof(float));
        if (!s->buf[slot]) return NULL;
        s->cap[slot] = want;
    }
    return s->buf[slot];
}

ie_status ie_conv_temp(int64_t nfloats, ie_tensor **out) {
    int64_t n = nfloats > 0 ? nfloats : 1;
    return ie_tensor_empty_f32(1, &n, IE_CPU, out);
}

/* ---------------- dispatch ---------------- */

static _Atomic int conv_mode = IE_CPU_CONV_AUTO;

void ie_cpu_conv_set_mode(ie_cpu_conv_mode mode) { atomic_store(&conv_mode, (int)mode); }
ie_cpu_conv_mode ie_cpu_conv_get_mode(void) { return (ie_cpu_conv_mode)atomic_load(&conv_mode); }

bool ie_cpu_conv_direct_applies(const ie_conv_geom *g) {
    ie_cpu_conv_mode mode = ie_cpu_conv_get_mode();
    ie_cpu_path path = ie_cpu_path_get();
    return (mode == IE_CPU_CONV_AUTO || mode == IE_CPU_CONV_DIRECT_VECTOR) &&
           ((path == IE_CPU_PATH_AVX512 && ie_conv_direct_available()) || path == IE_CPU_PATH_AVX2) &&
           ie_conv_direct_fits(g);
}

/* The avx2 path is only set on CPUs that run it (cpu_path.h). */
static bool direct_avx2(void) { return ie_cpu_path_get() == IE_CPU_PATH_AVX2; }

static ie_status cpu_forward(ie_device_ctx *ctx, const ie_conv_geom *g, const ie_tensor *x,
                             const ie_tensor *w, const ie_tensor *bias, ie_tensor *y) {
    (void)ctx;
    const float *b = bias ? ie_f32(bias) : NULL;
    if (ie_cpu_conv_get_mode() == IE_CPU_CONV_BLAS)
        return ie_conv_gemm_forward(g, ie_f32(x), ie_f32(w), b, ie_f32(y));
    if (ie_cpu_conv_direct_applies(g))
        return (direct_avx2() ? ie_conv_direct_avx2_forward : ie_conv_direct_forward)(g, ie_f32(x), ie_f32(w), b,
                                                                                     ie_f32(y));
    return ie_cpu_canon()->conv_forward(g, ie_f32(x), ie_f32(w), b, ie_f32(y));
}

static ie_status cpu_backward_data(ie_device_ctx *ctx, const ie_conv_geom *g, const ie_tensor *gy,
                                   const ie_tensor *w, const ie_tensor *bias, ie_tensor *gx) {
    (void)ctx;
    const float *b = bias ? ie_f32(bias) : NULL;
    if (ie_cpu_conv_get_mode() == IE_CPU_CONV_BLAS)
        return ie_conv_gemm_backward_data(g, ie_f32(gy), ie_f32(w), b, ie_f32(gx));
    if (ie_cpu_conv_direct_applies(g))
        return (direct_avx2() ? ie_conv_direct_avx2_backward_data : ie_conv_direct_backward_data)(
            g, ie_f32(gy), ie_f32(w), b, ie_f32(gx));
    return ie_cpu_canon()->conv_backward_data(g, ie_f32(gy), ie_f32(w), b, ie_f32(gx));
}

static ie_status cpu_backward_weight(ie_device_ctx *ctx, const ie_conv_geom *g, const ie_tensor *x,
                                     const ie_tensor *gy, ie_tensor *gw) {
    (void)ctx;
    if (ie_cpu_conv_get_mode() == IE_CPU_CONV_BLAS)
        return ie_conv_gemm_backward_weight(g, ie_f32(x), ie_f32(gy), ie_f32(gw));
    if (ie_cpu_conv_direct_applies(g))
        return (direct_avx2() ? ie_conv_direct_avx2_backward_weight : ie_conv_direct_backward_weight)(
            g, ie_f32(x), ie_f32(gy), ie_f32(gw));
    return ie_cpu_canon()->conv_backward_weight(g, ie_f32(x), ie_f32(gy), ie_f32(gw));
}

/* ---------------- bias gradient ---------------- */

#define BIAS_CHUNK ((int64_t)8192)

typedef struct bias_job {
    const float *t;
    double *partial; /* [channels][batch * chunks] */
    int64_t batch, channels, inner, chunks;
} bias_job;

/* One task per (channel, batch item, chunk); each sums its chunk with four
 * interleaved double accumulators combined in a fixed order. */
static void bias_chunk(void *ctx, int64_t task) {
    const bias_job *j = ctx;
    int64_t per_c = j->batch * j->chunks;
    int64_t c = task / per_c, rest = task % per_c, n = rest / j->chunks, k = rest % j->chunks;
    int64_t lo = k * BIAS_CHUNK, hi = lo + BIAS_CHUNK < j->inner ? lo + BIAS_CHUNK : j->inner;
    const float *row = j->t + (n * j->channels + c) * j->inner;
    double a[4] = {0, 0, 0, 0};
    int64_t i = lo;
    for (; i + 4 <= hi; i += 4)
        for (int q = 0; q < 4; q++) a[q] += row[i + q];
    for (; i < hi; i++) a[0] += row[i];
    j->partial[task] = (a[0] + a[1]) + (a[2] + a[3]);
}

static ie_status cpu_bias_grad(ie_device_ctx *ctx, const ie_tensor *t, int64_t batch, int64_t channels,
                               int64_t inner, ie_tensor *gb) {
    (void)ctx;
    int64_t chunks = inner > 0 ? (inner + BIAS_CHUNK - 1) / BIAS_CHUNK : 1;
    int64_t n_tasks = channels * batch * chunks;
    double *partial = malloc((size_t)(n_tasks ? n_tasks : 1) * sizeof *partial);
    if (!partial)
        return ie_error_set(IE_ERR_NOMEM, "conv: out of memory summing the bias gradient");
    bias_job j = {ie_f32(t), partial, batch, channels, inner, chunks};
    if (inner > 0) {
        ie_parallel_for(n_tasks, bias_chunk, &j);
    } else {
        for (int64_t i = 0; i < n_tasks; i++) partial[i] = 0;
    }
    float *o = ie_f32(gb);
    for (int64_t c = 0; c < channels; c++) {
        double s = 0;
        for (int64_t k = 0; k < batch * chunks; k++) s += partial[c * batch * chunks + k];
        o[c] = (float)s;
    }
    free(partial);
    return IE_OK;
}

const struct ie_conv_kernels ie_cpu_conv_kernels = {
    .forward = cpu_forward,
    .backward_data = cpu_backward_data,
    .backward_weight = cpu_backward_weight,
    .bias_grad = cpu_bias_grad,
};
