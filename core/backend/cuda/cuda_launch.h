/* core/backend/cuda - the launchers the .cu files export to the C side.
 *
 * The kernel family headers include tensor_impl.h, which is C11 (stdatomic)
 * and does not compile as C++; so the C files of this folder unpack tensors
 * and scalars, and the .cu files see only raw device pointers, sizes and the
 * stream.  Every launcher enqueues on `stream` and returns the launch's
 * cudaError_t as an int (0: enqueued); failures of the kernel itself surface
 * at the next synchronisation, as backend.h says.
 *
 * Launch grids are functions of the sizes only (never of the SM count), and
 * every reduction sums fixed-size pieces in a fixed order, so results are the
 * same bytes on every run on the same GPU model (docs/gpu.md). */
#ifndef IE_CORE_BACKEND_CUDA_LAUNCH_H
#define IE_CORE_BACKEND_CUDA_LAUNCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- memory (cuda_fill.cu) ---- */
int ie_cu_fill_f32(void *stream, float *p, int64_t n, float v);

/* ---- pointwise (pointwise.cu); op codes are ie_binary_op / ie_unary_op ---- */
/* bkind: 0 none, 1 scalar, 2 one b per run of `inner` (channel = (i / inner) % channels) */
int ie_cu_binary(void *stream, int op, const float *a, const float *b, int bkind, int64_t channels,
                 int64_t inner, float *out, int64_t n);
int ie_cu_unary(void *stream, int op, const float *x, float param, float param2, float *out, int64_t n);
int ie_cu_unary_backward(void *stream, int op, const float *saved, const float *g, float param, float *out,
                         int64_t n);
/* out[c] = sum over (outer, inner) of x[outer, channels, inner]: each
 * (channel, outer) row in double, rows combined in outer order (the CPU's
 * order of combination). partial: outer * channels doubles of scratch. */
int ie_cu_channel_sum(void *stream, const float *x, int64_t outer, int64_t channels, int64_t inner,
                      double *partial, float *out);

/* ---- optimisers (optim.cu): the operation order of optim_kernels.h ---- */
typedef struct ie_cu_sgd {
    float neg_lr, weight_decay, momentum, one_minus_dampening;
    int use_weight_decay, use_momentum, nesterov, first_step;
} ie_cu_sgd;
typedef struct ie_cu_adam {
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float weight_decay, decay, neg_step_size, bias_correction2_sqrt, eps;
    int use_weight_decay, decoupled, amsgrad;
} ie_cu_adam;
typedef struct ie_cu_rmsprop {
    float alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr;
    int use_weight_decay, use_momentum, centered;
} ie_cu_rmsprop;
int ie_cu_sgd_step(void *stream, ie_cu_sgd s, float *p, const float *g, float *buf, int64_t n);
int ie_cu_adam_step(void *stream, ie_cu_adam s, float *p, const float *g, float *m, float *v, float *vmax,
                    int64_t n);
int ie_cu_rmsprop_step(void *stream, ie_cu_rmsprop s, float *p, const float *g, float *sq, float *ga, float *buf,
                       int64_t n);

/* ---- reductions (reduce.cu) ---- */
/* Pieces of IE_CU_SUM_PIECE elements, each summed in double by a fixed
 * tree; the pieces' sums are then added in piece order by one thread. */
#define IE_CU_SUM_PIECE 4096
int ie_cu_sum(void *stream, const float *x, int64_t n, float scale, double *partial, float *out);
int ie_cu_fill_from_scalar(void *stream, const float *g, float scale, float *out, int64_t n);
int ie_cu_softmax(void *stream, const float *x, int64_t outer, int64_t dim, int64_t inner, int log, float *out);
int ie_cu_softmax_backward(void *stream, const float *y, const float *g, int64_t outer, int64_t dim,
                           int64_t inner, int log, float *out);
/* The counter-based Philox generator of core/random/philox.c. */
int ie_cu_dropout(void *stream, const float *x, float p, float scale, uint64_t seed, uint32_t stream_id,
                  uint32_t epoch, uint32_t item, float *out, int64_t n);
/* out[m, n] = init[n] + sum_k a[m, k] * b[n, k] and the transposes the
 * linear layer needs, each output one fma per k in k order: the CPU's
 * canonical product (canon_kernels.h), so results equal the CPU's. */
int ie_cu_gemm(void *stream, int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_ks,
               const float *b, int64_t b_ks, int64_t b_js, const float *init, float *c);
/* out[j] = sum over rows of g[rows, cols], rows in order, in double. */
int ie_cu_column_sum(void *stream, const float *g, int64_t rows, int64_t cols, float *out);

/* ---- pooling (pool.cu); mode 0 max (ind: int32 flat positions in the
 * input plane), 1 average over the full kernel volume ---- */
int ie_cu_pool_forward(void *stream, int mode, int64_t planes, const int64_t in[3], const int64_t out[3],
                       const int k[3], const int s[3], const int p[3], const float *x, float *y, int32_t *ind);
int ie_cu_pool_backward(void *stream, int mode, int64_t planes, const int64_t in[3], const int64_t out[3],
                        const int k[3], const int s[3], const int p[3], const float *dy, const int32_t *ind,
                        float *dx);
/* backward 0: dst[p] = mean of plane p; 1: dst[i] = src[i / spatial] / spatial. */
int ie_cu_global_avg(void *stream, int backward, const float *src, int64_t planes, int64_t spatial, float *dst);

/* ---- normalisation (norm.cu), the layout of core/backend/cpu/norm_cpu.c:
 * unit u's element j lives at u*ubase + (j/seg)*segstride + j%seg; each unit
 * is cut into `chunks` chunks of IE_CU_NORM_CHUNK elements, one partial
 * (two doubles) per (unit, chunk).  Statistics: mean [2 * n_stats] (all
 * high parts, then all low parts), invstd [n_stats]; groups 0 is batch norm
 * (a statistic per channel), else group norm (one per (n, group)). ---- */
#define IE_CU_NORM_CHUNK ((int64_t)16384)
typedef struct ie_cu_norm_layout {
    int64_t units, len, ubase, seg, segstride, chunks;
} ie_cu_norm_layout;
/* grad 0: (sum(x - k), sum((x - k)^2)), k the unit's first element;
 * grad 1: (sum(g), sum(g * (x - mean))), the mean of the unit's statistic
 * (stat_mode 0: statistic u; 1: unit u is an (n, c) plane of group norm). */
int ie_cu_norm_sums(void *stream, ie_cu_norm_layout l, int grad, int stat_mode, const float *x, const float *g,
                    const float *mean, int64_t n_stats, int64_t channels, int64_t groups, double *partial);
int ie_cu_batch_stats(void *stream, ie_cu_norm_layout l, const float *x, const double *partial, int training,
                      float momentum, float eps, float *running_mean, float *running_var,
                      int64_t *num_batches_tracked, float *mean, float *invstd);
int ie_cu_group_stats(void *stream, ie_cu_norm_layout l, const float *x, const double *partial, float eps,
                      float *mean, float *invstd);
/* y = ((x - hi) - lo) * (invstd * weight) + bias (then ReLU) over n
 * elements of [N, C, S]. */
int ie_cu_norm_apply(void *stream, const float *x, int64_t n, int64_t S, int64_t C, int64_t groups,
                     const float *mean, int64_t n_stats, const float *invstd, const float *weight, const float *bias,
                     int relu, float *y);
/* coef [3 * C]: a, b, c of dx = a dy + b (x - mean) + c per channel. */
int ie_cu_batch_backward_coef(void *stream, ie_cu_norm_layout l, const double *partial, int need_sums, int training,
                              const float *invstd, const float *weight, float *dweight, float *dbias, float *coef);
/* planes: the (n, c) plane layout whose grad sums are in partial;
 * plane_sum [2 * N * C] scratch; coef [3 * N * C] (may be NULL). */
int ie_cu_group_backward_coef(void *stream, ie_cu_norm_layout planes, const double *partial, double *plane_sum,
                              const float *invstd, const float *weight, int64_t N, int64_t C, int64_t groups,
                              int64_t S, float *dweight, float *dbias, float *coef);
int ie_cu_norm_grad_input(void *stream, const float *x, const float *g, int64_t n, int64_t S, int64_t C,
                          int64_t groups, const float *mean, int64_t n_stats, const float *coef, int64_t n_coef,
                          float *dx);

/* ---- losses (loss.cu): sums over chunks of IE_CU_LOSS_CHUNK voxels or
 * elements, one partial per chunk, added in chunk order ---- */
#define IE_CU_LOSS_CHUNK ((int64_t)4096)
typedef struct ie_cu_class_loss_args {
    const float *logits;
    const void *labels; /* int64 when label_i64, else int32 */
    int label_i64, focal;
    const float *weights; /* [classes] or NULL */
    int64_t batch, classes, spatial;
    float label_smoothing, gamma;
} ie_cu_class_loss_args;
/* partial: 2 doubles per chunk; weight_sum: one double on the device. */
int ie_cu_class_loss(void *stream, ie_cu_class_loss_args a, double *partial, float *out, double *weight_sum);
int ie_cu_class_loss_backward(void *stream, ie_cu_class_loss_args a, const float *g, const double *weight_sum,
                              float *grad);
typedef struct ie_cu_dice_args {
    const float *logits;
    const void *labels;
    int label_i64;
    const float *weights;
    int64_t batch, classes, spatial;
} ie_cu_dice_args;
/* Doubles of scratch ie_cu_dice needs. */
int64_t ie_cu_dice_partials(ie_cu_dice_args d);
int ie_cu_dice(void *stream, ie_cu_dice_args d, double *partial, float *stats, float *out);
/* coef: 2 * batch * classes doubles of scratch. */
int ie_cu_dice_backward(void *stream, ie_cu_dice_args d, const float *stats, const float *g, double *coef, float *grad);
/* kind: 0 MSE, 1 L1, 2 BCE (pw may be NULL); partial: ie_cu_pair_chunks(n) doubles. */
int64_t ie_cu_pair_chunks(int64_t n);
int ie_cu_pair_loss(void *stream, int kind, const float *a, const float *b, const float *pw, int64_t pw_len,
                    int64_t n, double *partial, float *out);
int ie_cu_pair_loss_backward(void *stream, int kind, const float *a, const float *b, const float *pw, int64_t pw_len,
                             int64_t n, const float *g, float *ga, float *gb);

/* ---- upsampling (pool.cu): torch's interpolate, nearest (mode 0) or
 * linear (1), source positions computed as core/backend/cpu/pool_cpu.c does;
 * backward in gather form, each input element summing its outputs in the
 * CPU's order ---- */
int ie_cu_upsample(void *stream, int backward, int linear, int align_corners, int64_t planes, const int64_t in[3],
                   const int64_t out[3], const float *src, float *dst);

#ifdef __cplusplus
}
#endif

#endif
