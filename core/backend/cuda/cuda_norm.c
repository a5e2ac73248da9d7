/* core/backend/cuda - the norm family (norm_kernels.h): the passes of
 * core/backend/cpu/norm_cpu.c, each a launcher of norm.cu, with their
 * partial sums in stream-ordered scratch. */
#include "core/backend/cuda/cuda_internal.h"
#include "core/backend/norm_kernels.h"

static ie_cu_norm_layout layout_make(int64_t units, int64_t len, int64_t ubase, int64_t seg, int64_t segstride) {
    ie_cu_norm_layout l = {units, len, ubase, seg, segstride, (len + IE_CU_NORM_CHUNK - 1) / IE_CU_NORM_CHUNK};
    if (l.chunks < 1) l.chunks = 1;
    return l;
}

/* Batch norm: unit = channel, its runs are the N planes [n, c, :]. */
static ie_cu_norm_layout layout_channels(ie_norm_shape sh) {
    return layout_make(sh.c, sh.n * sh.s, sh.s, sh.s, sh.c * sh.s);
}

static ie_cu_norm_layout layout_blocks(int64_t units, int64_t len) { return layout_make(units, len, len, len, len); }

static const float *opt(const ie_tensor *t) { return t ? ie_f32(t) : NULL; }
static float *opt_mut(ie_tensor *t) { return t ? ie_f32(t) : NULL; }

/* Scratch for `n_double` doubles then `n_float` floats, one allocation. */
static ie_status scratch(ie_device_ctx *ctx, int64_t n_double, int64_t n_float, double **d, float **f) {
    void *p;
    IE_TRY(ie_cuda_scratch(ctx, (size_t)n_double * sizeof(double) + (size_t)n_float * sizeof(float), &p));
    *d = p;
    *f = (float *)((double *)p + n_double);
    return IE_OK;
}

static ie_status cuda_batch_forward(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh,
                                    const ie_tensor *weight, const ie_tensor *bias, ie_tensor *running_mean,
                                    ie_tensor *running_var, ie_tensor *num_batches_tracked, bool training,
                                    float momentum, float eps, ie_tensor *y, ie_tensor *save_mean,
                                    ie_tensor *save_invstd) {
    ie_cu_norm_layout l = layout_channels(sh);
    double *partial = NULL;
    float *unused;
    if (training) IE_TRY(scratch(ctx, 2 * l.units * l.chunks, 0, &partial, &unused));
    float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    int e = 0;
    if (training)
        e = ie_cu_norm_sums(ctx->stream, l, 0, 0, ie_f32(x), NULL, NULL, sh.c, sh.c, 0, partial);
    if (e == 0)
        e = ie_cu_batch_stats(ctx->stream, l, ie_f32(x), partial, training, momentum, eps, opt_mut(running_mean),
                              opt_mut(running_var),
                              num_batches_tracked ? (int64_t *)ie_tensor_ptr(num_batches_tracked) : NULL, mean,
                              invstd);
    if (e == 0)
        e = ie_cu_norm_apply(ctx->stream, ie_f32(x), x->numel, sh.s, sh.c, 0, mean, sh.c, invstd, opt(weight),
                             opt(bias), 0, ie_f32(y));
    if (partial) ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "norm.batch_forward");
}

static ie_status cuda_batch_apply(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh, const ie_tensor *weight,
                                  const ie_tensor *bias, const ie_tensor *save_mean, const ie_tensor *save_invstd,
                                  bool relu, ie_tensor *y) {
    return ie_cuda_status(ie_cu_norm_apply(ctx->stream, ie_f32(x), x->numel, sh.s, sh.c, 0, ie_f32(save_mean), sh.c,
                                           ie_f32(save_invstd), opt(weight), opt(bias), relu, ie_f32(y)),
                          "norm.batch_apply");
}

static ie_status cuda_batch_backward(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *dy, ie_norm_shape sh,
                                     const ie_tensor *weight, const ie_tensor *save_mean, const ie_tensor *save_invstd,
                                     bool training, ie_tensor *dx, ie_tensor *dweight, ie_tensor *dbias) {
    ie_cu_norm_layout l = layout_channels(sh);
    bool need_sums = training || dweight || dbias;
    double *partial;
    float *coef; /* a[C], b[C], c[C] */
    IE_TRY(scratch(ctx, need_sums ? 2 * l.units * l.chunks : 0, 3 * sh.c, &partial, &coef));
    const float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    int e = 0;
    if (need_sums) e = ie_cu_norm_sums(ctx->stream, l, 1, 0, ie_f32(x), ie_f32(dy), mean, sh.c, sh.c, 0, partial);
    if (e == 0)
        e = ie_cu_batch_backward_coef(ctx->stream, l, partial, need_sums, training, invstd, opt(weight),
                                      opt_mut(dweight), opt_mut(dbias), coef);
    if (e == 0 && dx)
        e = ie_cu_norm_grad_input(ctx->stream, ie_f32(x), ie_f32(dy), x->numel, sh.s, sh.c, 0, mean, sh.c, coef, sh.c,
                                  ie_f32(dx));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "norm.batch_backward");
}

static ie_status cuda_group_forward(ie_device_ctx *ctx, const ie_tensor *x, ie_norm_shape sh,
                                    const ie_tensor *weight, const ie_tensor *bias, float eps, ie_tensor *y,
                                    ie_tensor *save_mean, ie_tensor *save_invstd) {
    int64_t cpg = sh.c / sh.groups, n_stats = sh.n * sh.groups;
    ie_cu_norm_layout groups = layout_blocks(n_stats, cpg * sh.s);
    double *partial;
    float *unused;
    IE_TRY(scratch(ctx, 2 * groups.units * groups.chunks, 0, &partial, &unused));
    float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    int e = ie_cu_norm_sums(ctx->stream, groups, 0, 0, ie_f32(x), NULL, NULL, n_stats, sh.c, sh.groups, partial);
    if (e == 0) e = ie_cu_group_stats(ctx->stream, groups, ie_f32(x), partial, eps, mean, invstd);
    if (e == 0)
        e = ie_cu_norm_apply(ctx->stream, ie_f32(x), x->numel, sh.s, sh.c, sh.groups, mean, n_stats, invstd,
                             opt(weight), opt(bias), 0, ie_f32(y));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "norm.group_forward");
}

static ie_status cuda_group_backward(ie_device_ctx *ctx, const ie_tensor *x, const ie_tensor *dy, ie_norm_shape sh,
                                     const ie_tensor *weight, const ie_tensor *save_mean, const ie_tensor *save_invstd,
                                     ie_tensor *dx, ie_tensor *dweight, ie_tensor *dbias) {
    int64_t planes = sh.n * sh.c, n_stats = sh.n * sh.groups;
    ie_cu_norm_layout pl = layout_blocks(planes, sh.s);
    double *partial;
    float *coef; /* a, b, c per plane */
    IE_TRY(scratch(ctx, 2 * pl.units * pl.chunks + 2 * planes, 3 * planes, &partial, &coef));
    double *plane_sum = partial + 2 * pl.units * pl.chunks;
    const float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    int e = ie_cu_norm_sums(ctx->stream, pl, 1, 1, ie_f32(x), ie_f32(dy), mean, n_stats, sh.c, sh.groups, partial);
    if (e == 0)
        e = ie_cu_group_backward_coef(ctx->stream, pl, partial, plane_sum, invstd, opt(weight), sh.n, sh.c, sh.groups,
                                      sh.s, opt_mut(dweight), opt_mut(dbias), dx ? coef : NULL);
    if (e == 0 && dx)
        e = ie_cu_norm_grad_input(ctx->stream, ie_f32(x), ie_f32(dy), x->numel, sh.s, sh.c, sh.groups, mean, n_stats,
                                  coef, planes, ie_f32(dx));
    ie_cuda_scratch_free(ctx, partial);
    return ie_cuda_status(e, "norm.group_backward");
}

const struct ie_norm_kernels ie_cuda_norm_kernels = {
    .batch_forward = cuda_batch_forward,
    .batch_apply = cuda_batch_apply,
    .batch_backward = cuda_batch_backward,
    .group_forward = cuda_group_forward,
    .group_backward = cuda_group_backward,
};
