/* core/backend/cpu - reductions and softmax kernels. */
#include "core/backend/cpu/cpu_families.h"
#include "core/backend/cpu/cpu_parallel.h"

typedef struct sum_job {
    const float *x;
    int64_t n;
    double *partial;
} sum_job;

static void sum_chunk(void *ctx, int64_t chunk) {
    const sum_job *j = ctx;
    int64_t lo = chunk * IE_CPU_CHUNK, hi = lo + IE_CPU_CHUNK < j->n ? lo + IE_CPU_CHUNK : j->n;
    double s = 0;
    for (int64_t i = lo; i < hi; i++) s += j->x[i];
    j->partial[chunk] = s;
}

static void cpu_sum(const ie_tensor *x, float scale, ie_tensor *out) {
    int64_t chunks = ie_cpu_chunks(x->numel);
    double stack_partial[64];
    double *partial = chunks <= 64 ? stack_partial : malloc((size_t)chunks * sizeof *partial);
    sum_job j = {ie_f32(x), x->numel, partial};
    ie_parallel_for(chunks, sum_chunk, &j);
    double s = 0;
    for (int64_t c = 0; c < chunks; c++) s += partial[c];
    if (partial != stack_partial) free(partial);
    ie_f32(out)[0] = (float)(s * scale);
}

static void cpu_fill_from_scalar(const ie_tensor *g, float scale, ie_tensor *out) {
    float v = ie_f32(g)[0] * scale;
    float *o = ie_f32(out);
    for (int64_t i = 0; i < out->numel; i++) o[i] = v;
}

const struct ie_reduce_kernels ie_cpu_reduce_kernels = {
    .sum = cpu_sum,
    .fill_from_scalar = cpu_fill_from_scalar,
};
