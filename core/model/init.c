/* core/model - parameter initialisers (torch.nn.init's rules, Philox draws).
 *
 * Each element's value depends only on the rng's coordinates and its own
 * index, so the fill runs over fixed chunks on the thread pool and gives the
 * same bytes on any thread count. */
#include <math.h>

#include "core/tensor/tensor_impl.h"
#include "innereye/init.h"
#include "innereye/threads.h"

/* Elements per parallel task.  Each value depends on its index alone, so any
 * chunk size gives the same bytes; this one amortises the task overhead. */
#define FILL_CHUNK ((int64_t)16384)

typedef enum fill_kind { FILL_UNIFORM, FILL_NORMAL } fill_kind;

typedef struct fill_job {
    fill_kind kind;
    ie_rng rng;
    uint64_t first; /* sequence index (uniform) or normal index of element 0 */
    float a, b;     /* uniform: lo, hi; normal: mean, std */
    float *out;
    int64_t n;
} fill_job;

static void fill_task(void *ctx, int64_t chunk) {
    const fill_job *j = ctx;
    int64_t i0 = chunk * FILL_CHUNK, i1 = i0 + FILL_CHUNK < j->n ? i0 + FILL_CHUNK : j->n;
    if (j->kind == FILL_UNIFORM) {
        ie_rng_fill_uniform(&j->rng, j->first + (uint64_t)i0, j->out + i0, i1 - i0, j->a, j->b);
        return;
    }
    for (int64_t i = i0; i < i1; i++) j->out[i] = j->a + j->b * ie_rng_normal_at(&j->rng, j->first + (uint64_t)i);
}

static ie_status check_target(const char *op, const ie_tensor *t, const ie_rng *rng) {
    char d[96];
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "%s: tensor is NULL", op);
    if (t->dtype != IE_F32 || t->device != IE_CPU)
        return ie_error_set(IE_ERR_DTYPE, "%s: needs an f32 CPU tensor, got %s on %s; initialise on the CPU "
                                          "and move the tensor afterwards",
                            op, ie_tensor_describe(t, d, sizeof d), ie_device_name(t->device));
    if (rng == NULL) return ie_error_set(IE_ERR_INVALID_ARG, "%s: rng is NULL", op);
    return IE_OK;
}

/* Fills t and advances rng->next past the 32-bit draws used. */
static ie_status fill(const char *op, ie_tensor *t, ie_rng *rng, fill_kind kind, double a, double b) {
    uint64_t n = (uint64_t)t->numel;
    /* Normals take sequence indices 2k and 2k+1; start k at an even index so
     * they never overlap draws made before. */
    uint64_t first = kind == FILL_NORMAL ? ((uint64_t)rng->next + 1) / 2 : rng->next;
    uint64_t end = kind == FILL_NORMAL ? 2 * (first + n) : first + n;
    if (end > UINT32_MAX)
        return ie_error_set(IE_ERR_INVALID_ARG,
                            "%s: %llu values from index %u overflow the rng's 32-bit sequence; give this "
                            "tensor its own item",
                            op, (unsigned long long)n, rng->next);
    fill_job job = {kind, *rng, first, (float)a, (float)b, ie_f32(t), t->numel};
    ie_parallel_for((t->numel + FILL_CHUNK - 1) / FILL_CHUNK, fill_task, &job);
    rng->next = (uint32_t)end;
    return IE_OK;
}

ie_status ie_init_fans(int ndim, const int64_t *shape, int64_t *fan_in, int64_t *fan_out) {
    if (!shape || !fan_in || !fan_out) return ie_error_set(IE_ERR_INVALID_ARG, "init_fans: NULL argument");
    if (ndim < 2 || ndim > IE_MAX_DIMS)
        return ie_error_set(IE_ERR_SHAPE,
                            "init_fans: fan in and fan out need a weight with 2 to %d dimensions, got %d",
                            IE_MAX_DIMS, ndim);
    int64_t receptive = 1;
    for (int i = 2; i < ndim; i++) receptive *= shape[i];
    *fan_in = shape[1] * receptive;
    *fan_out = shape[0] * receptive;
    return IE_OK;
}

double ie_init_leaky_relu_gain(double a) { return sqrt(2.0 / (1.0 + a * a)); }

ie_status ie_init_uniform(ie_tensor *t, double lo, double hi, ie_rng *rng) {
    IE_TRY(check_target("init_uniform", t, rng));
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return ie_error_set(IE_ERR_INVALID_ARG, "init_uniform: needs finite lo <= hi, got [%g, %g)", lo, hi);
    return fill("init_uniform", t, rng, FILL_UNIFORM, lo, hi);
}

ie_status ie_init_normal(ie_tensor *t, double mean, double std, ie_rng *rng) {
    IE_TRY(check_target("init_normal", t, rng));
    if (!isfinite(mean) || !isfinite(std) || std < 0.0)
        return ie_error_set(IE_ERR_INVALID_ARG, "init_normal: needs a finite mean and std >= 0, got mean %g, std %g",
                            mean, std);
    return fill("init_normal", t, rng, FILL_NORMAL, mean, std);
}

ie_status ie_init_constant(ie_tensor *t, float value) {
    char d[96];
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "init_constant: tensor is NULL");
    if (t->dtype != IE_F32)
        return ie_error_set(IE_ERR_DTYPE, "init_constant: needs an f32 tensor, got %s",
                            ie_tensor_describe(t, d, sizeof d));
    return ie_tensor_fill(t, value);
}

static ie_status check_fan(const char *op, int64_t fan) {
    if (fan <= 0)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: fan must be > 0, got %lld (a weight with a zero dimension?)",
                            op, (long long)fan);
    return IE_OK;
}

ie_status ie_init_kaiming_uniform(ie_tensor *t, double a, int64_t fan, ie_rng *rng) {
    IE_TRY(check_target("init_kaiming_uniform", t, rng));
    IE_TRY(check_fan("init_kaiming_uniform", fan));
    /* torch: std = gain / sqrt(fan); bound = sqrt(3) * std (same order). */
    double std = ie_init_leaky_relu_gain(a) / sqrt((double)fan);
    double bound = sqrt(3.0) * std;
    return fill("init_kaiming_uniform", t, rng, FILL_UNIFORM, -bound, bound);
}

ie_status ie_init_kaiming_normal(ie_tensor *t, double a, int64_t fan, ie_rng *rng) {
    IE_TRY(check_target("init_kaiming_normal", t, rng));
    IE_TRY(check_fan("init_kaiming_normal", fan));
    double std = ie_init_leaky_relu_gain(a) / sqrt((double)fan);
    return fill("init_kaiming_normal", t, rng, FILL_NORMAL, 0.0, std);
}

ie_status ie_init_xavier_uniform(ie_tensor *t, double gain, ie_rng *rng) {
    IE_TRY(check_target("init_xavier_uniform", t, rng));
    int64_t fan_in = 0, fan_out = 0;
    IE_TRY(ie_init_fans(t->ndim, t->shape, &fan_in, &fan_out));
    IE_TRY(check_fan("init_xavier_uniform", fan_in + fan_out));
    double std = gain * sqrt(2.0 / (double)(fan_in + fan_out));
    double bound = sqrt(3.0) * std;
    return fill("init_xavier_uniform", t, rng, FILL_UNIFORM, -bound, bound);
}

ie_status ie_init_layer_default(ie_tensor *weight, ie_tensor *bias, ie_rng *rng) {
    IE_TRY(check_target("init_layer_default", weight, rng));
    int64_t fan_in = 0, fan_out = 0;
    IE_TRY(ie_init_fans(weight->ndim, weight->shape, &fan_in, &fan_out));
    if (weight->numel == 0) return IE_OK; /* torch: a zero-element tensor is left alone */
    IE_TRY(ie_init_kaiming_uniform(weight, sqrt(5.0), fan_in, rng));
    if (!bias) return IE_OK;
    IE_TRY(check_target("init_layer_default", bias, rng));
    double bound = 1.0 / sqrt((double)fan_in);
    return fill("init_layer_default", bias, rng, FILL_UNIFORM, -bound, bound);
}
