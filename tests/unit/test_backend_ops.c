/* The backend conformance test: every kernel of every family
 * (IE_KERNEL_LIST, core/backend/backend.h), forward and backward, on every
 * compiled backend and every CPU path, against the CPU reference.
 *
 * For each case (a kernel with one set of arguments) the inputs are drawn
 * from our Philox generator (derived inputs such as saved statistics, argmax
 * indices or a softmax output come from the reference's own forward kernel),
 * and then, per target:
 *   - inputs are copied to the target's device; outputs are made there
 *     poisoned (all bits set: NaN in f32, -1 in integers), so an element the
 *     kernel does not write shows up;
 *   - the kernel runs twice, from fresh copies (CPU targets on 3 threads and
 *     then on 1), and the two results must be identical byte for byte;
 *   - no output may keep its poison;
 *   - the result is compared with the reference, the CPU's generic path:
 *       CPU paths (avx512, avx2, generic): byte for byte, since they compute
 *         one canonical arithmetic order (core/backend/cpu/canon_kernels.h);
 *       any other backend: within the case's tolerance class (below).
 *
 * Tolerances for a non-CPU backend, and why (u = 2^-24, fp32 strict):
 *   EXACT    elementwise arithmetic, selections and copies: pointwise ops,
 *            activations (their expf/tanhf/erff included: the issue asks for
 *            pointwise ops and optimisers bit-identical to the CPU),
 *            optimisers (the fma order is written in optim_kernels.h),
 *            dropout (the mask is a pure function of Philox), max-pool
 *            values and argmax indices (first maximum wins), copy_rows,
 *            fill_from_scalar, global-average backward.  One rounding per
 *            element in a fixed order leaves no room for another answer.
 *   DOT      sums of products (convolutions, linear layers, channel and bias
 *            sums, average pooling, linear upsampling and every backward that
 *            sums gradients): whatever the summation order, a sum of n terms
 *            each rounded at most once is within gamma_n * sum|terms| of the
 *            exact sum (Higham, Accuracy and Stability of Numerical
 *            Algorithms, 2nd ed., 3.1; gamma_n = n u / (1 - n u)), so two
 *            implementations differ by at most 2 gamma_n sum|terms|.
 *            sum|terms| is measured: the reference kernel run on |inputs|
 *            (these kernels are linear in each input, with non-negative
 *            coefficients where the op itself supplies them).  n is the
 *            case's largest number of terms per output.
 *   NORMWISE nonlinear functions of reductions (softmax, log-softmax, attention, batch
 *            and group norm with their statistics and running buffers, the
 *            losses and their gradients): ||d||_2 <= 1e-5 ||reference||_2,
 *            the figure for conv/BN/softmax/losses in fp32.  Their
 *            reductions are over at most a few thousand terms whose sums are
 *            well conditioned here (exponentials, squares and losses are
 *            positive), so a float accumulation in any order is within
 *            log2(n) u (pairwise) to n u (sequential) relative of the CPU's
 *            double one: about 1e-6 at these sizes, and the normwise
 *            measure is not fooled by outputs that cancel to near zero.
 *            The class-loss weight sum (a float64) must agree to 1e-11
 *            relative: it sums at most 10^4 positive float weights in double.
 *
 * Usage: test_backend_ops [targets [filter]]
 *   targets  "all" (default: every target present), "cpu" (the CPU paths),
 *            or one target name ("cpu-avx2", "cuda", ...);
 *   filter   runs only cases whose name contains it ("conv.", "softmax").
 * A CUDA backend is one more entry in TARGETS (it is one already: the cuda
 * entry runs whatever backend serves IE_CUDA, the stand-in device in the
 * backend_ops_testdev ctest entry).  Exits 77 only when a named target's
 * backend is not present; a CPU path this CPU cannot run is reported and
 * left out. */
#include <stdarg.h>
#include <stdlib.h>

#include "core/backend/backend.h"
#include "core/backend/conv_kernels.h"
#include "core/backend/cpu/cpu_path.h"
#include "core/backend/loss_kernels.h"
#include "core/backend/norm_kernels.h"
#include "core/backend/optim_kernels.h"
#include "core/backend/pointwise_kernels.h"
#include "core/backend/pool_kernels.h"
#include "core/backend/reduce_kernels.h"
#include "test_util.h"

/* ------------------------------------------------------------ targets */

typedef struct target {
    const char *name;
    ie_device device;
    int cpu_path; /* an ie_cpu_path, or -1 for a device backend */
} target;

static const target TARGETS[] = {
    {"cpu-generic", IE_CPU, IE_CPU_PATH_GENERIC}, /* first: the reference */
    {"cpu-avx2", IE_CPU, IE_CPU_PATH_AVX2},
    {"cpu-avx512", IE_CPU, IE_CPU_PATH_AVX512},
    {"cuda", IE_CUDA, -1},
};
#define N_TARGETS ((int)(sizeof TARGETS / sizeof *TARGETS))

/* ------------------------------------------------------------ cases */

typedef enum { TOL_EXACT, TOL_DOT, TOL_NORMWISE } tol_kind;
static const char *const TOL_NAMES[3] = {"exact", "dot", "normwise"};
typedef enum { NONE = 0, IN, OUT, INOUT } role;

#define MAX_SLOTS 11

typedef struct slot_spec {
    role role;
    ie_dtype dtype;
    int ndim;
    int64_t shape[IE_MAX_DIMS];
    float lo, hi;   /* uniform range of a random f32 input */
    bool f64_bits;  /* an i64 tensor holding a float64 (the class-loss weight sum) */
} slot_spec;

struct bcase;
typedef ie_status (*case_fn)(ie_device_ctx *ctx, const struct bcase *c, ie_tensor **t);

typedef struct bcase {
    char name[160];
    ie_kernel_op kernel;
    tol_kind tol;
    int64_t terms; /* TOL_DOT: the most terms an output sums */
    slot_spec slot[MAX_SLOTS];
    case_fn run;
    case_fn prepare; /* fills derived inputs with reference kernels (may be NULL) */
    /* kernel arguments */
    ie_conv_geom conv;
    ie_pool_geom pool;
    ie_norm_shape norm;
    ie_broadcast bc;
    ie_class_loss_args cls; /* tensors filled in at run time */
    ie_sgd_scalars sgd;
    ie_adam_scalars adam;
    ie_rmsprop_scalars rms;
    int op;
    float f[4];
    bool b[2];
    int64_t i[8];
} bcase;

#define MAX_CASES 256
static bcase cases[MAX_CASES];
static int n_cases;

#define SH(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

static bcase *add_case(ie_kernel_op k, tol_kind tol, case_fn run, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bcase *add_case(ie_kernel_op k, tol_kind tol, case_fn run, const char *fmt, ...) {
    if (n_cases == MAX_CASES) {
        fprintf(stderr, "test_backend_ops: more than %d cases; raise MAX_CASES\n", MAX_CASES);
        exit(1);
    }
    bcase *c = &cases[n_cases++];
    memset(c, 0, sizeof *c);
    c->kernel = k;
    c->tol = tol;
    c->run = run;
    char detail[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(c->name, sizeof c->name, "%s %s", ie_kernel_op_name(k), detail);
    return c;
}

static void set_slot(bcase *c, int s, role r, ie_dtype dt, int ndim, const int64_t *shape, float lo, float hi) {
    slot_spec *p = &c->slot[s];
    p->role = r, p->dtype = dt, p->ndim = ndim, p->lo = lo, p->hi = hi;
    for (int i = 0; i < ndim; i++) p->shape[i] = shape[i];
}
static void in_f32(bcase *c, int s, int ndim, const int64_t *shape, float lo, float hi) {
    set_slot(c, s, IN, IE_F32, ndim, shape, lo, hi);
}
/* Integer inputs are drawn from [lo, hi). */
static void in_int(bcase *c, int s, ie_dtype dt, int ndim, const int64_t *shape, int lo, int hi) {
    set_slot(c, s, IN, dt, ndim, shape, (float)lo, (float)hi);
}
static void out_t(bcase *c, int s, ie_dtype dt, int ndim, const int64_t *shape) {
    set_slot(c, s, OUT, dt, ndim, shape, 0, 0);
}
static void inout_f32(bcase *c, int s, int ndim, const int64_t *shape, float lo, float hi) {
    set_slot(c, s, INOUT, IE_F32, ndim, shape, lo, hi);
}

/* ------------------------------------------------------------ kernel calls
 * One function per kernel; slots are documented at the case builders. */

static ie_status run_conv_forward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->conv->forward(x, &c->conv, t[0], t[1], t[2], t[3]);
}
static ie_status run_conv_backward_data(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->conv->backward_data(x, &c->conv, t[0], t[1], t[2], t[3]);
}
static ie_status run_conv_backward_weight(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->conv->backward_weight(x, &c->conv, t[0], t[1], t[2]);
}
static ie_status run_conv_bias_grad(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->conv->bias_grad(x, t[0], c->i[0], c->i[1], c->i[2], t[1]);
}

/* norm slots: 0 x, 1 weight, 2 bias, 3 running_mean, 4 running_var, 5 nbt,
 * 6 y, 7 save_mean, 8 save_invstd; backward: 0 x, 1 weight, 6 dy, 7/8 saved,
 * 2 dx, 3 dweight, 4 dbias (9/10: running stats for prepare). */
static ie_status run_batch_forward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->norm->batch_forward(x, t[0], c->norm, t[1], t[2], t[3], t[4], t[5], c->b[0], c->f[0], c->f[1],
                                           t[6], t[7], t[8]);
}
static ie_status run_batch_apply(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->norm->batch_apply(x, t[0], c->norm, t[1], t[2], t[7], t[8], c->b[1], t[6]);
}
static ie_status run_batch_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->norm->batch_backward(x, t[0], t[6], c->norm, t[1], t[7], t[8], c->b[0], t[2], t[3], t[4]);
}
static ie_status run_group_forward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->norm->group_forward(x, t[0], c->norm, t[1], t[2], c->f[1], t[6], t[7], t[8]);
}
static ie_status run_group_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->norm->group_backward(x, t[0], t[6], c->norm, t[1], t[7], t[8], t[2], t[3], t[4]);
}
/* Derived inputs of the norm backward cases: the forward's statistics. */
static ie_status prepare_batch_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_tensor *y = NULL;
    IE_TRY(ie_tensor_empty_like(t[0], &y));
    ie_status st = x->backend->norm->batch_forward(x, t[0], c->norm, t[1], NULL, t[9], t[10], NULL, c->b[0], 0.1f,
                                                   c->f[1], y, t[7], t[8]);
    ie_tensor_release(y);
    return st;
}
static ie_status prepare_group_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_tensor *y = NULL;
    IE_TRY(ie_tensor_empty_like(t[0], &y));
    ie_status st = x->backend->norm->group_forward(x, t[0], c->norm, t[1], NULL, c->f[1], y, t[7], t[8]);
    ie_tensor_release(y);
    return st;
}

/* pool slots: 0 x / dy, 1 y / dx, 2 indices. */
static ie_status run_max_forward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pool->max_forward(x, t[0], &c->pool, t[1], t[2]);
}
static ie_status run_max_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pool->max_backward(x, t[0], t[2], &c->pool, t[1]);
}
static ie_status prepare_max_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    /* slot 3 holds the pooled input the indices come from */
    ie_tensor *y = NULL;
    IE_TRY(ie_tensor_empty_like(t[0], &y));
    ie_status st = x->backend->pool->max_forward(x, t[3], &c->pool, y, t[2]);
    ie_tensor_release(y);
    return st;
}
static ie_status run_avg_forward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pool->avg_forward(x, t[0], &c->pool, t[1]);
}
static ie_status run_avg_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pool->avg_backward(x, t[0], &c->pool, t[1]);
}
static ie_status run_global_forward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pool->global_avg_forward(x, t[0], c->i[0], c->i[1], t[1]);
}
static ie_status run_global_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pool->global_avg_backward(x, t[0], c->i[0], c->i[1], t[1]);
}
static ie_status run_upsample_forward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pool->upsample_forward(x, t[0], &c->pool, (ie_upsample_mode)c->op, c->b[0], t[1]);
}
static ie_status run_upsample_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pool->upsample_backward(x, t[0], &c->pool, (ie_upsample_mode)c->op, c->b[0], t[1]);
}

/* pointwise slots: 0 a / x / saved, 1 b / grad_out, 2 out. */
static ie_status run_binary(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pointwise->binary(x, (ie_binary_op)c->op, t[0], t[1], c->bc, t[2]);
}
static ie_status run_unary(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pointwise->unary(x, (ie_unary_op)c->op, t[0], c->f[0], c->f[1], t[2]);
}
static ie_status run_unary_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pointwise->unary_backward(x, (ie_unary_op)c->op, t[0], t[1], c->f[0], t[2]);
}
/* The saved tensor is what the op saves: the output, except for leaky ReLU. */
static ie_status prepare_unary_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    if (c->op == IE_UNARY_LEAKY_RELU || c->op == IE_UNARY_AFFINE || c->op == IE_UNARY_GELU ||
        c->op == IE_UNARY_GELU_TANH || c->op == IE_UNARY_SILU)
        return IE_OK; /* these save the input: slot 0 is it */
    ie_tensor *in = NULL;
    IE_TRY(ie_tensor_clone(t[0], &in));
    ie_status st = x->backend->pointwise->unary(x, (ie_unary_op)c->op, in, c->f[0], c->f[1], t[0]);
    ie_tensor_release(in);
    return st;
}
static ie_status run_channel_sum(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->pointwise->channel_sum(x, t[0], c->i[0], c->i[1], c->i[2], t[2]);
}

/* reduce slots: 0 x / y / g / src, 1 w / grad_out / second src, 2 b, 3 out. */
static ie_status run_sum(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->reduce->sum(x, t[0], c->f[0], t[3]);
}
static ie_status run_fill_from_scalar(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->reduce->fill_from_scalar(x, t[0], c->f[0], t[3]);
}
static ie_status run_softmax(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->reduce->softmax(x, t[0], c->i[0], c->i[1], c->i[2], c->b[0], t[3]);
}
static ie_status run_softmax_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->reduce->softmax_backward(x, t[0], t[1], c->i[0], c->i[1], c->i[2], c->b[0], t[3]);
}
static ie_status prepare_softmax_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_tensor *in = NULL;
    IE_TRY(ie_tensor_clone(t[0], &in));
    ie_status st = x->backend->reduce->softmax(x, in, c->i[0], c->i[1], c->i[2], c->b[0], t[0]);
    ie_tensor_release(in);
    return st;
}
/* Concat of slots 0 and 1 along the row into slot 3: [rows, w0 + w1]. */
static ie_status run_copy_rows(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    int64_t es = (int64_t)ie_dtype_size(c->slot[0].dtype), rows = c->i[0], w0 = c->i[1] * es, w1 = c->i[2] * es;
    IE_TRY(x->backend->reduce->copy_rows(x, t[0], 0, w0, t[3], 0, w0 + w1, rows, w0));
    return x->backend->reduce->copy_rows(x, t[1], 0, w1, t[3], w0, w0 + w1, rows, w1);
}
static ie_status run_dropout(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_rng rng = ie_rng_make((uint64_t)c->i[0], IE_STREAM_DROPOUT, 3, 7);
    return x->backend->reduce->dropout(x, t[0], c->f[0], 1.0f / (1.0f - c->f[0]), &rng, t[3]);
}
static ie_status run_linear(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    (void)c;
    return x->backend->reduce->linear(x, t[0], t[1], t[2], t[3]);
}
static ie_status run_linear_grad_input(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    (void)c;
    return x->backend->reduce->linear_grad_input(x, t[0], t[1], t[3]);
}
static ie_status run_linear_grad_weight(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    (void)c;
    return x->backend->reduce->linear_grad_weight(x, t[0], t[1], t[3]);
}
/* matmul slots: 0 a, 1 b, 3 out; i[0..3] batch, m, k, n; b[0..1] trans_a, trans_b. */
static ie_status run_matmul(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_matmul_shape sh = {c->i[0], c->i[1], c->i[2], c->i[3], c->b[0], c->b[1]};
    return x->backend->reduce->matmul(x, t[0], t[1], sh, t[3]);
}
/* permute slots: 0 x, 3 out; i[0..ndim-1] the permutation. */
static ie_status run_permute(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    int perm[IE_MAX_DIMS];
    for (int d = 0; d < t[0]->ndim; d++) perm[d] = (int)c->i[d];
    return x->backend->reduce->permute(x, t[0], perm, t[3]);
}
/* embedding slots: 0 table, 1 indices, 3 out; backward: 1 indices, 2 g, 3 gtable. */
static ie_status run_embedding(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    (void)c;
    return x->backend->reduce->embedding(x, t[0], t[1], t[3]);
}
static ie_status run_embedding_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    (void)c;
    return x->backend->reduce->embedding_backward(x, t[1], t[2], t[3]);
}
/* attention slots: 0 q, 1 k, 2 v, 3 out, 4 lse; backward: 5 g, 6 gq, 7 gk,
 * 8 gv (3 and 4 are the forward's, made by prepare). i[0..3] the shape, b[0] causal. */
static ie_attention_shape att_shape(const bcase *c) {
    ie_attention_shape sh = {c->i[0], c->i[1], c->i[2], c->i[3], c->f[0], c->b[0]};
    return sh;
}
static ie_status run_attention_forward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->reduce->attention_forward(x, t[0], t[1], t[2], att_shape(c), t[3], t[4]);
}
static ie_status run_attention_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->reduce->attention_backward(x, t[0], t[1], t[2], t[3], t[4], t[5], att_shape(c), t[6], t[7],
                                                  t[8]);
}
static ie_status prepare_attention_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->reduce->attention_forward(x, t[0], t[1], t[2], att_shape(c), t[3], t[4]);
}
static ie_status run_linear_grad_bias(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    (void)c;
    return x->backend->reduce->linear_grad_bias(x, t[0], t[3]);
}

/* loss slots: 0 logits / a, 1 labels / b, 2 class weights / pos_weight,
 * 3 out, 4 weight sum or dice stats, 5 g, 6 grad (a), 7 grad b. */
static ie_class_loss_args class_args(const bcase *c, ie_tensor **t) {
    ie_class_loss_args a = c->cls;
    a.logits = t[0], a.labels = t[1], a.weights = t[2];
    return a;
}
static ie_status run_class_loss(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_class_loss_args a = class_args(c, t);
    return x->backend->loss->class_loss(x, &a, t[3], t[4]);
}
static ie_status run_class_loss_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_class_loss_args a = class_args(c, t);
    return x->backend->loss->class_loss_backward(x, &a, t[5], t[4], t[6]);
}
static ie_status prepare_class_loss_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_class_loss_args a = class_args(c, t);
    ie_tensor *out = NULL;
    IE_TRY(ie_tensor_empty(IE_F32, 0, NULL, IE_CPU, &out));
    ie_status st = x->backend->loss->class_loss(x, &a, out, t[4]);
    ie_tensor_release(out);
    return st;
}
static ie_status run_dice(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->loss->dice(x, t[0], t[1], t[2], c->i[0], c->i[1], c->i[2], t[4], t[3]);
}
static ie_status run_dice_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->loss->dice_backward(x, t[0], t[1], t[2], c->i[0], c->i[1], c->i[2], t[4], t[5], t[6]);
}
static ie_status prepare_dice_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    ie_tensor *out = NULL;
    IE_TRY(ie_tensor_empty(IE_F32, 0, NULL, IE_CPU, &out));
    ie_status st = x->backend->loss->dice(x, t[0], t[1], t[2], c->i[0], c->i[1], c->i[2], t[4], out);
    ie_tensor_release(out);
    return st;
}
static ie_status run_pair_loss(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->loss->pair_loss(x, (ie_pair_loss_kind)c->op, t[0], t[1], t[2], t[3]);
}
static ie_status run_pair_loss_backward(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->loss->pair_loss_backward(x, (ie_pair_loss_kind)c->op, t[0], t[1], t[2], t[5], t[6], t[7]);
}

/* optim slots: 0 param, 1 grad, 2..4 state. */
static ie_status run_sgd(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->optim->sgd(x, &c->sgd, t[0], t[1], t[2]);
}
static ie_status run_adam(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->optim->adam(x, &c->adam, t[0], t[1], t[2], t[3], t[4]);
}
static ie_status run_rmsprop(ie_device_ctx *x, const bcase *c, ie_tensor **t) {
    return x->backend->optim->rmsprop(x, &c->rms, t[0], t[1], t[2], t[3], t[4]);
}

/* ------------------------------------------------------------ case lists */

static void conv_cases(void) {
    typedef struct conv_shape {
        const char *what;
        int64_t batch, cin, cout, in[3];
        int k[3], s[3], p[3], d[3];
        bool bias;
    } conv_shape;
    /* The first two fit the direct AVX-512 kernels (in = stride * out), so the
     * avx512 path checks them against the canonical kernels; the others do
     * not (odd strided sizes, dilation, no padding, depth 1 for 2-D, 1x1x1). */
    static const conv_shape shapes[] = {
        {"3x3x3 s1 p1 (direct)", 2, 4, 8, {8, 8, 8}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, true},
        {"3x3x3 s2 p1 (direct)", 1, 3, 5, {8, 8, 8}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, false},
        {"3x3x3 s2 odd sizes", 2, 3, 4, {7, 9, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, true},
        {"3x3x3 dilation 2", 1, 2, 3, {9, 9, 9}, {3, 3, 3}, {1, 1, 1}, {2, 2, 2}, {2, 2, 2}, false},
        {"2-D 1x3x3 no padding", 2, 5, 3, {1, 10, 9}, {1, 3, 3}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, true},
        {"1x1x1", 2, 6, 3, {4, 5, 6}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, true},
        /* A UNet3D block's sizes (the channel counts where cuDNN's engines
         * differ from the toy shapes) and its 2x2x2 stride-2 transposed
         * convolution, which is backward_data of this regular one. */
        {"UNet block 3x3x3 16->16", 2, 16, 16, {10, 12, 14}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, true},
        {"2x2x2 s2 (ConvTranspose)", 2, 16, 8, {10, 12, 14}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}, true},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const conv_shape *s = &shapes[i];
        ie_conv_geom g = {.batch = s->batch, .cin = s->cin, .cout = s->cout};
        for (int d = 0; d < 3; d++) {
            g.in[d] = s->in[d];
            g.kernel[d] = s->k[d], g.stride[d] = s->s[d], g.pad[d] = s->p[d], g.dil[d] = s->d[d];
            g.out[d] = (s->in[d] + 2 * s->p[d] - s->d[d] * (s->k[d] - 1) - 1) / s->s[d] + 1;
        }
        int64_t taps = (int64_t)s->k[0] * s->k[1] * s->k[2];
        int64_t ovol = g.out[0] * g.out[1] * g.out[2];
        const int64_t xs[5] = {g.batch, g.cin, g.in[0], g.in[1], g.in[2]};
        const int64_t ys[5] = {g.batch, g.cout, g.out[0], g.out[1], g.out[2]};
        const int64_t ws[5] = {g.cout, g.cin, s->k[0], s->k[1], s->k[2]};
        bcase *c = add_case(IE_KERNEL_CONV_FORWARD, TOL_DOT, run_conv_forward, "%s%s", s->what, s->bias ? " bias" : "");
        c->conv = g, c->terms = g.cin * taps + 1;
        in_f32(c, 0, 5, xs, -1, 1), in_f32(c, 1, 5, ws, -1, 1), out_t(c, 3, IE_F32, 5, ys);
        if (s->bias) in_f32(c, 2, SH(g.cout), -1, 1);
        /* backward_data: gy [batch, cout, out] -> gx [batch, cin, in]; a
         * transposed conv's bias is per cin. */
        c = add_case(IE_KERNEL_CONV_BACKWARD_DATA, TOL_DOT, run_conv_backward_data, "%s%s", s->what,
                     s->bias ? " bias" : "");
        c->conv = g, c->terms = g.cout * taps + 1;
        in_f32(c, 0, 5, ys, -1, 1), in_f32(c, 1, 5, ws, -1, 1), out_t(c, 3, IE_F32, 5, xs);
        if (s->bias) in_f32(c, 2, SH(g.cin), -1, 1);
        c = add_case(IE_KERNEL_CONV_BACKWARD_WEIGHT, TOL_DOT, run_conv_backward_weight, "%s", s->what);
        c->conv = g, c->terms = g.batch * ovol;
        in_f32(c, 0, 5, xs, -1, 1), in_f32(c, 1, 5, ys, -1, 1), out_t(c, 2, IE_F32, 5, ws);
    }
    /* bias_grad over [batch, channels, inner], inner beyond one 8192 chunk. */
    const int64_t dims[2][3] = {{2, 5, 60}, {3, 2, 9000}};
    for (int i = 0; i < 2; i++) {
        bcase *c = add_case(IE_KERNEL_CONV_BIAS_GRAD, TOL_DOT, run_conv_bias_grad, "[%lld, %lld, %lld]",
                            (long long)dims[i][0], (long long)dims[i][1], (long long)dims[i][2]);
        c->i[0] = dims[i][0], c->i[1] = dims[i][1], c->i[2] = dims[i][2];
        c->terms = dims[i][0] * dims[i][2];
        in_f32(c, 0, 3, dims[i], -1, 1), out_t(c, 1, IE_F32, SH(dims[i][1]));
    }
}

static void norm_cases(void) {
    /* batch norm: training (running stats updated in place, the counter when
     * given) and eval (normalising with the running stats), with and without
     * the affine map; the input is offset so that the mean matters (the
     * saved mean is hi + lo). */
    const int64_t xs[5] = {2, 3, 4, 5, 3};
    ie_norm_shape sh = {2, 3, 60, 0};
    for (int training = 1; training >= 0; training--)
        for (int affine = 1; affine >= 0; affine--) {
            bcase *c = add_case(IE_KERNEL_NORM_BATCH_FORWARD, TOL_NORMWISE, run_batch_forward, "%s%s",
                                training ? "training" : "eval", affine ? " affine" : "");
            c->norm = sh, c->b[0] = training, c->f[0] = 0.1f, c->f[1] = 1e-5f;
            in_f32(c, 0, 5, xs, 2, 5);
            if (affine) in_f32(c, 1, SH(3), 0.5f, 1.5f), in_f32(c, 2, SH(3), -1, 1);
            set_slot(c, 3, training ? INOUT : IN, IE_F32, 1, (const int64_t[]){3}, -1, 1);
            set_slot(c, 4, training ? INOUT : IN, IE_F32, 1, (const int64_t[]){3}, 0.5f, 2);
            if (training && affine) set_slot(c, 5, INOUT, IE_I64, 1, (const int64_t[]){1}, 0, 5);
            out_t(c, 6, IE_F32, 5, xs), out_t(c, 7, IE_F32, SH(6)), out_t(c, 8, IE_F32, SH(3));
        }
    /* apply (the fused batch norm + ReLU's recomputation): the affine map of
     * the forward's saved statistics (slots 7/8, from prepare, as for the
     * backward below), then optionally ReLU; the same output as the forward,
     * so the same tolerance class. */
    for (int relu = 1; relu >= 0; relu--)
        for (int affine = 1; affine >= 0; affine--) {
            bcase *c = add_case(IE_KERNEL_NORM_BATCH_APPLY, TOL_NORMWISE, run_batch_apply, "%s%s",
                                relu ? "relu" : "no relu", affine ? " affine" : "");
            c->norm = sh, c->b[0] = 1, c->b[1] = relu, c->f[1] = 1e-5f;
            c->prepare = prepare_batch_backward;
            in_f32(c, 0, 5, xs, 2, 5);
            if (affine) in_f32(c, 1, SH(3), 0.5f, 1.5f), in_f32(c, 2, SH(3), -1, 1);
            in_f32(c, 9, SH(3), -1, 1), in_f32(c, 10, SH(3), 0.5f, 2);
            set_slot(c, 7, IN, IE_F32, 1, (const int64_t[]){6}, 0, 0);
            set_slot(c, 8, IN, IE_F32, 1, (const int64_t[]){3}, 0, 0);
            out_t(c, 6, IE_F32, 5, xs);
        }
    /* backward slots: 0 x, 1 weight, 6 dy, 7/8 the saved statistics (from the
     * forward, run by prepare with the running stats of slots 9/10), 2 dx,
     * 3 dweight, 4 dbias. */
    for (int training = 1; training >= 0; training--)
        for (int all = 1; all >= 0; all--) {
            bcase *c = add_case(IE_KERNEL_NORM_BATCH_BACKWARD, TOL_NORMWISE, run_batch_backward, "%s%s",
                                training ? "training" : "eval", all ? " dx dweight dbias" : " dx only, no weight");
            c->norm = sh, c->b[0] = training, c->f[1] = 1e-5f;
            c->prepare = prepare_batch_backward;
            in_f32(c, 0, 5, xs, 2, 5), in_f32(c, 6, 5, xs, -1, 1);
            if (all) in_f32(c, 1, SH(3), 0.5f, 1.5f);
            in_f32(c, 9, SH(3), -1, 1), in_f32(c, 10, SH(3), 0.5f, 2);
            set_slot(c, 7, IN, IE_F32, 1, (const int64_t[]){6}, 0, 0);
            set_slot(c, 8, IN, IE_F32, 1, (const int64_t[]){3}, 0, 0);
            out_t(c, 2, IE_F32, 5, xs);
            if (all) out_t(c, 3, IE_F32, SH(3)), out_t(c, 4, IE_F32, SH(3));
        }
    /* group norm (2 groups of 2 channels) and instance norm (groups = C). */
    const int64_t gs[5] = {2, 4, 3, 4, 5};
    const int64_t groups[2] = {2, 4};
    for (int i = 0; i < 2; i++) {
        ie_norm_shape g = {2, 4, 60, groups[i]};
        bcase *c = add_case(IE_KERNEL_NORM_GROUP_FORWARD, TOL_NORMWISE, run_group_forward, "%lld groups%s",
                            (long long)groups[i], i ? " (instance norm)" : " affine");
        c->norm = g, c->f[1] = 1e-5f;
        in_f32(c, 0, 5, gs, -3, 1);
        if (!i) in_f32(c, 1, SH(4), 0.5f, 1.5f), in_f32(c, 2, SH(4), -1, 1);
        out_t(c, 6, IE_F32, 5, gs), out_t(c, 7, IE_F32, SH(2 * 2 * groups[i])), out_t(c, 8, IE_F32, SH(2 * groups[i]));
        c = add_case(IE_KERNEL_NORM_GROUP_BACKWARD, TOL_NORMWISE, run_group_backward, "%lld groups%s",
                     (long long)groups[i], i ? " (instance norm), dx only" : " affine, dx dweight dbias");
        c->norm = g, c->f[1] = 1e-5f, c->prepare = prepare_group_backward;
        in_f32(c, 0, 5, gs, -3, 1), in_f32(c, 6, 5, gs, -1, 1);
        if (!i) in_f32(c, 1, SH(4), 0.5f, 1.5f);
        set_slot(c, 7, IN, IE_F32, 1, (const int64_t[]){2 * 2 * groups[i]}, 0, 0);
        set_slot(c, 8, IN, IE_F32, 1, (const int64_t[]){2 * groups[i]}, 0, 0);
        out_t(c, 2, IE_F32, 5, gs);
        if (!i) out_t(c, 3, IE_F32, SH(4)), out_t(c, 4, IE_F32, SH(4));
    }
    /* Units beyond one 16384-element chunk (the CPU's and the CUDA kernels'
     * chunk size), so partials are combined across chunks: batch norm with
     * 2 x 9600 elements per channel, group norm with 2 x 9600 per group. */
    {
        const int64_t bx[5] = {2, 2, 12, 20, 40};
        ie_norm_shape bsh = {2, 2, 9600, 0};
        bcase *c = add_case(IE_KERNEL_NORM_BATCH_FORWARD, TOL_NORMWISE, run_batch_forward,
                            "training affine, 19200 per channel (two chunks)");
        c->norm = bsh, c->b[0] = 1, c->f[0] = 0.1f, c->f[1] = 1e-5f;
        in_f32(c, 0, 5, bx, 2, 5), in_f32(c, 1, SH(2), 0.5f, 1.5f), in_f32(c, 2, SH(2), -1, 1);
        set_slot(c, 3, INOUT, IE_F32, 1, (const int64_t[]){2}, -1, 1);
        set_slot(c, 4, INOUT, IE_F32, 1, (const int64_t[]){2}, 0.5f, 2);
        set_slot(c, 5, INOUT, IE_I64, 1, (const int64_t[]){1}, 0, 5);
        out_t(c, 6, IE_F32, 5, bx), out_t(c, 7, IE_F32, SH(4)), out_t(c, 8, IE_F32, SH(2));
        c = add_case(IE_KERNEL_NORM_BATCH_BACKWARD, TOL_NORMWISE, run_batch_backward,
                     "training dx dweight dbias, 19200 per channel (two chunks)");
        c->norm = bsh, c->b[0] = 1, c->f[1] = 1e-5f, c->prepare = prepare_batch_backward;
        in_f32(c, 0, 5, bx, 2, 5), in_f32(c, 6, 5, bx, -1, 1), in_f32(c, 1, SH(2), 0.5f, 1.5f);
        in_f32(c, 9, SH(2), -1, 1), in_f32(c, 10, SH(2), 0.5f, 2);
        set_slot(c, 7, IN, IE_F32, 1, (const int64_t[]){4}, 0, 0);
        set_slot(c, 8, IN, IE_F32, 1, (const int64_t[]){2}, 0, 0);
        out_t(c, 2, IE_F32, 5, bx), out_t(c, 3, IE_F32, SH(2)), out_t(c, 4, IE_F32, SH(2));
        ie_norm_shape gsh = {2, 4, 9600, 2};
        const int64_t gx[5] = {2, 4, 12, 20, 40};
        c = add_case(IE_KERNEL_NORM_GROUP_FORWARD, TOL_NORMWISE, run_group_forward,
                     "2 groups affine, 19200 per group (two chunks)");
        c->norm = gsh, c->f[1] = 1e-5f;
        in_f32(c, 0, 5, gx, -3, 1), in_f32(c, 1, SH(4), 0.5f, 1.5f), in_f32(c, 2, SH(4), -1, 1);
        out_t(c, 6, IE_F32, 5, gx), out_t(c, 7, IE_F32, SH(8)), out_t(c, 8, IE_F32, SH(4));
        c = add_case(IE_KERNEL_NORM_GROUP_BACKWARD, TOL_NORMWISE, run_group_backward,
                     "2 groups affine, dx dweight dbias, 19200 per group (two chunks)");
        c->norm = gsh, c->f[1] = 1e-5f, c->prepare = prepare_group_backward;
        in_f32(c, 0, 5, gx, -3, 1), in_f32(c, 6, 5, gx, -1, 1), in_f32(c, 1, SH(4), 0.5f, 1.5f);
        set_slot(c, 7, IN, IE_F32, 1, (const int64_t[]){8}, 0, 0);
        set_slot(c, 8, IN, IE_F32, 1, (const int64_t[]){4}, 0, 0);
        out_t(c, 2, IE_F32, 5, gx), out_t(c, 3, IE_F32, SH(4)), out_t(c, 4, IE_F32, SH(4));
    }
    /* layer norm (ie_layer_norm): 37 rows of 96 features viewed as
     * [rows, features, 1] with one group; affine per feature. */
    {
        ie_norm_shape g = {37, 96, 1, 1};
        bcase *c = add_case(IE_KERNEL_NORM_GROUP_FORWARD, TOL_NORMWISE, run_group_forward, "layer norm [37, 96]");
        c->norm = g, c->f[1] = 1e-5f;
        in_f32(c, 0, SH(37, 96), -3, 1), in_f32(c, 1, SH(96), 0.5f, 1.5f), in_f32(c, 2, SH(96), -1, 1);
        out_t(c, 6, IE_F32, SH(37, 96)), out_t(c, 7, IE_F32, SH(2 * 37)), out_t(c, 8, IE_F32, SH(37));
        c = add_case(IE_KERNEL_NORM_GROUP_BACKWARD, TOL_NORMWISE, run_group_backward,
                     "layer norm [37, 96], dx dweight dbias");
        c->norm = g, c->f[1] = 1e-5f, c->prepare = prepare_group_backward;
        in_f32(c, 0, SH(37, 96), -3, 1), in_f32(c, 6, SH(37, 96), -1, 1), in_f32(c, 1, SH(96), 0.5f, 1.5f);
        set_slot(c, 7, IN, IE_F32, 1, (const int64_t[]){2 * 37}, 0, 0);
        set_slot(c, 8, IN, IE_F32, 1, (const int64_t[]){37}, 0, 0);
        out_t(c, 2, IE_F32, SH(37, 96)), out_t(c, 3, IE_F32, SH(96)), out_t(c, 4, IE_F32, SH(96));
    }
}

static ie_pool_geom pool_geom(int64_t planes, const int64_t in[3], const int k[3], const int s[3], const int p[3]) {
    ie_pool_geom g = {.planes = planes};
    for (int a = 0; a < 3; a++) {
        g.in[a] = in[a], g.kernel[a] = k[a], g.stride[a] = s[a], g.padding[a] = p[a];
        g.out[a] = (in[a] + 2 * p[a] - k[a]) / s[a] + 1;
    }
    return g;
}

static void pool_cases(void) {
    typedef struct pool_shape {
        const char *what;
        int64_t n, c, in[3];
        int k[3], s[3], p[3];
    } pool_shape;
    static const pool_shape shapes[] = {
        {"3-D k2 s2", 2, 3, {6, 8, 4}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}},
        {"3-D k3 s2 p1 (overlapping)", 1, 2, {7, 5, 9}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
        {"2-D k3 s1 p1", 2, 2, {1, 9, 7}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const pool_shape *s = &shapes[i];
        ie_pool_geom g = pool_geom(s->n * s->c, s->in, s->k, s->s, s->p);
        const int64_t xs[5] = {s->n, s->c, s->in[0], s->in[1], s->in[2]};
        const int64_t ys[5] = {s->n, s->c, g.out[0], g.out[1], g.out[2]};
        int64_t window = (int64_t)s->k[0] * s->k[1] * s->k[2];
        int64_t cover = window; /* windows that can share an input element, at most */
        for (int indices = 1; indices >= 0; indices--) {
            bcase *c = add_case(IE_KERNEL_POOL_MAX_FORWARD, TOL_EXACT, run_max_forward, "%s%s", s->what,
                                indices ? " with indices" : " (inference, no indices)");
            c->pool = g;
            in_f32(c, 0, 5, xs, -1, 1), out_t(c, 1, IE_F32, 5, ys);
            if (indices) out_t(c, 2, IE_I32, 5, ys);
        }
        bcase *c = add_case(IE_KERNEL_POOL_MAX_BACKWARD, TOL_DOT, run_max_backward, "%s", s->what);
        c->pool = g, c->prepare = prepare_max_backward, c->terms = cover;
        in_f32(c, 0, 5, ys, -1, 1), set_slot(c, 2, IN, IE_I32, 5, ys, 0, 0), in_f32(c, 3, 5, xs, -1, 1);
        out_t(c, 1, IE_F32, 5, xs);
        c = add_case(IE_KERNEL_POOL_AVG_FORWARD, TOL_DOT, run_avg_forward, "%s", s->what);
        c->pool = g, c->terms = window + 1; /* the division is one more rounding */
        in_f32(c, 0, 5, xs, -1, 1), out_t(c, 1, IE_F32, 5, ys);
        c = add_case(IE_KERNEL_POOL_AVG_BACKWARD, TOL_DOT, run_avg_backward, "%s", s->what);
        c->pool = g, c->terms = cover + 1;
        in_f32(c, 0, 5, ys, -1, 1), out_t(c, 1, IE_F32, 5, xs);
    }
    /* global average: planes x spatial, spatial beyond one 16384 chunk once. */
    const int64_t gdims[2][2] = {{6, 120}, {2, 20000}};
    for (int i = 0; i < 2; i++) {
        int64_t planes = gdims[i][0], spatial = gdims[i][1];
        bcase *c = add_case(IE_KERNEL_POOL_GLOBAL_AVG_FORWARD, TOL_DOT, run_global_forward, "%lld planes x %lld",
                            (long long)planes, (long long)spatial);
        c->i[0] = planes, c->i[1] = spatial, c->terms = spatial + 1;
        in_f32(c, 0, SH(planes, spatial), -1, 1), out_t(c, 1, IE_F32, SH(planes));
        c = add_case(IE_KERNEL_POOL_GLOBAL_AVG_BACKWARD, TOL_EXACT, run_global_backward, "%lld planes x %lld",
                     (long long)planes, (long long)spatial);
        c->i[0] = planes, c->i[1] = spatial;
        in_f32(c, 0, SH(planes), -1, 1), out_t(c, 1, IE_F32, SH(planes, spatial));
    }
    /* upsampling: nearest and linear (align_corners both ways), 3-D and
     * 2-D, up and down. */
    typedef struct up_shape {
        const char *what;
        int64_t in[3], out[3];
    } up_shape;
    static const up_shape ups[] = {
        {"3-D x2", {3, 4, 5}, {6, 8, 10}},
        {"3-D odd sizes", {4, 3, 5}, {7, 8, 3}},
        {"2-D", {1, 5, 4}, {1, 9, 11}},
        {"3-D down and up", {6, 9, 4}, {4, 5, 9}},
    };
    for (size_t i = 0; i < sizeof ups / sizeof *ups; i++)
        for (int mode = 0; mode < 3; mode++) {
            ie_upsample_mode m = mode == 0 ? IE_UPSAMPLE_NEAREST : IE_UPSAMPLE_LINEAR;
            bool align = mode == 2;
            ie_pool_geom g = {.planes = 4};
            for (int a = 0; a < 3; a++) g.in[a] = ups[i].in[a], g.out[a] = ups[i].out[a];
            const int64_t xs[5] = {2, 2, g.in[0], g.in[1], g.in[2]}, ys[5] = {2, 2, g.out[0], g.out[1], g.out[2]};
            const char *mname = mode == 0 ? "nearest" : align ? "linear align_corners" : "linear";
            /* linear forward: 8 weighted taps; backward: every output whose
             * taps reach an input (at most the size ratio rounded up, plus
             * 2, per axis). */
            int64_t reach = 1;
            for (int a = 0; a < 3; a++) reach *= (g.in[a] ? (g.out[a] + g.in[a] - 1) / g.in[a] : 1) + 2;
            bcase *c = add_case(IE_KERNEL_POOL_UPSAMPLE_FORWARD, mode ? TOL_DOT : TOL_EXACT, run_upsample_forward,
                                "%s %s", ups[i].what, mname);
            c->pool = g, c->op = m, c->b[0] = align, c->terms = 8 * 2;
            in_f32(c, 0, 5, xs, -1, 1), out_t(c, 1, IE_F32, 5, ys);
            c = add_case(IE_KERNEL_POOL_UPSAMPLE_BACKWARD, TOL_DOT, run_upsample_backward, "%s %s", ups[i].what,
                         mname);
            c->pool = g, c->op = m, c->b[0] = align, c->terms = 2 * reach;
            in_f32(c, 0, 5, ys, -1, 1), out_t(c, 1, IE_F32, 5, xs);
        }
}

static void pointwise_cases(void) {
    static const char *const ops[3] = {"add", "sub", "mul"};
    const int64_t as[4] = {2, 3, 5, 7};
    for (int op = 0; op < 3; op++) {
        bcase *c = add_case(IE_KERNEL_POINTWISE_BINARY, TOL_EXACT, run_binary, "%s same shape", ops[op]);
        c->op = op, c->bc = (ie_broadcast){IE_BROADCAST_NONE, 1, 1, 1};
        in_f32(c, 0, 4, as, -2, 2), in_f32(c, 1, 4, as, -2, 2), out_t(c, 2, IE_F32, 4, as);
        c = add_case(IE_KERNEL_POINTWISE_BINARY, TOL_EXACT, run_binary, "%s scalar", ops[op]);
        c->op = op, c->bc = (ie_broadcast){IE_BROADCAST_SCALAR, 1, 1, 1};
        in_f32(c, 0, 4, as, -2, 2), in_f32(c, 1, SH(1), -2, 2), out_t(c, 2, IE_F32, 4, as);
        c = add_case(IE_KERNEL_POINTWISE_BINARY, TOL_EXACT, run_binary, "%s per channel", ops[op]);
        c->op = op, c->bc = (ie_broadcast){IE_BROADCAST_CHANNEL, 2, 3, 35};
        in_f32(c, 0, 4, as, -2, 2), in_f32(c, 1, SH(3), -2, 2), out_t(c, 2, IE_F32, 4, as);
    }
    /* Beyond one 16384-element chunk, so chunk boundaries are crossed. */
    const int64_t big[2] = {3, 7000};
    static const struct {
        const char *name;
        ie_unary_op op;
        float p, p2;
    } unary[] = {{"relu", IE_UNARY_RELU, 0, 0},         {"leaky_relu 0.01", IE_UNARY_LEAKY_RELU, 0.01f, 0},
                 {"sigmoid", IE_UNARY_SIGMOID, 0, 0},   {"tanh", IE_UNARY_TANH, 0, 0},
                 {"affine 0.7 x - 0.3", IE_UNARY_AFFINE, 0.7f, -0.3f},
                 {"gelu", IE_UNARY_GELU, 0, 0},         {"gelu_tanh", IE_UNARY_GELU_TANH, 0, 0},
                 {"silu", IE_UNARY_SILU, 0, 0}};
    for (size_t i = 0; i < sizeof unary / sizeof *unary; i++) {
        bcase *c = add_case(IE_KERNEL_POINTWISE_UNARY, TOL_EXACT, run_unary, "%s", unary[i].name);
        c->op = unary[i].op, c->f[0] = unary[i].p, c->f[1] = unary[i].p2;
        in_f32(c, 0, 2, big, -4, 4), out_t(c, 2, IE_F32, 2, big);
        c = add_case(IE_KERNEL_POINTWISE_UNARY_BACKWARD, TOL_EXACT, run_unary_backward, "%s", unary[i].name);
        c->op = unary[i].op, c->f[0] = unary[i].p, c->f[1] = unary[i].p2, c->prepare = prepare_unary_backward;
        in_f32(c, 0, 2, big, -4, 4), in_f32(c, 1, 2, big, -1, 1), out_t(c, 2, IE_F32, 2, big);
    }
    const int64_t cs[3][3] = {{2, 3, 35}, {1, 1, 21000}, {4, 16, 1}};
    for (int i = 0; i < 3; i++) {
        bcase *c = add_case(IE_KERNEL_POINTWISE_CHANNEL_SUM, TOL_DOT, run_channel_sum, "[%lld, %lld, %lld]",
                            (long long)cs[i][0], (long long)cs[i][1], (long long)cs[i][2]);
        c->i[0] = cs[i][0], c->i[1] = cs[i][1], c->i[2] = cs[i][2], c->terms = cs[i][0] * cs[i][2];
        in_f32(c, 0, 3, cs[i], -1, 1), out_t(c, 2, IE_F32, SH(cs[i][1]));
    }
}

static void reduce_cases(void) {
    const int64_t ns[3] = {1, 1000, 40000};
    for (int i = 0; i < 3; i++)
        for (int mean = 0; mean < 2; mean++) {
            bcase *c = add_case(IE_KERNEL_REDUCE_SUM, TOL_DOT, run_sum, "%lld elements%s", (long long)ns[i],
                                mean ? ", mean" : "");
            c->f[0] = mean ? 1.0f / (float)ns[i] : 1.0f, c->terms = ns[i] + 1;
            in_f32(c, 0, SH(ns[i]), -1, 1), out_t(c, 3, IE_F32, 0, NULL);
        }
    bcase *c = add_case(IE_KERNEL_REDUCE_FILL_FROM_SCALAR, TOL_EXACT, run_fill_from_scalar, "scale 0.25 into [3, 6000]");
    c->f[0] = 0.25f;
    in_f32(c, 0, 0, NULL, -3, 3), out_t(c, 3, IE_F32, SH(3, 6000));
    /* softmax over the middle of [outer, dim, inner]: whole rows (inner 1)
     * and lanes (inner > 1, also beyond one 128-lane block). */
    const int64_t views[3][3] = {{5, 7, 1}, {2, 4, 150}, {3, 1, 9}};
    for (int v = 0; v < 3; v++)
        for (int log = 0; log < 2; log++) {
            c = add_case(IE_KERNEL_REDUCE_SOFTMAX, TOL_NORMWISE, run_softmax, "%s [%lld, %lld, %lld]",
                         log ? "log" : "softmax", (long long)views[v][0], (long long)views[v][1], (long long)views[v][2]);
            c->i[0] = views[v][0], c->i[1] = views[v][1], c->i[2] = views[v][2], c->b[0] = log;
            in_f32(c, 0, 3, views[v], -5, 5), out_t(c, 3, IE_F32, 3, views[v]);
            c = add_case(IE_KERNEL_REDUCE_SOFTMAX_BACKWARD, TOL_NORMWISE, run_softmax_backward, "%s [%lld, %lld, %lld]",
                         log ? "log" : "softmax", (long long)views[v][0], (long long)views[v][1], (long long)views[v][2]);
            c->i[0] = views[v][0], c->i[1] = views[v][1], c->i[2] = views[v][2], c->b[0] = log;
            c->prepare = prepare_softmax_backward;
            in_f32(c, 0, 3, views[v], -5, 5), in_f32(c, 1, 3, views[v], -1, 1), out_t(c, 3, IE_F32, 3, views[v]);
        }
    /* concat = two strided row copies, f32 and i64 */
    for (int labels = 0; labels < 2; labels++) {
        c = add_case(IE_KERNEL_REDUCE_COPY_ROWS, TOL_EXACT, run_copy_rows, "concat %s [6, 5] + [6, 3]",
                     labels ? "i64" : "f32");
        c->i[0] = 6, c->i[1] = 5, c->i[2] = 3;
        if (labels) {
            in_int(c, 0, IE_I64, SH(6, 5), -1000, 1000), in_int(c, 1, IE_I64, SH(6, 3), -1000, 1000);
            out_t(c, 3, IE_I64, SH(6, 8));
        } else {
            in_f32(c, 0, SH(6, 5), -1, 1), in_f32(c, 1, SH(6, 3), -1, 1), out_t(c, 3, IE_F32, SH(6, 8));
        }
    }
    c = add_case(IE_KERNEL_REDUCE_DROPOUT, TOL_EXACT, run_dropout, "p 0.3 over [4, 9000]");
    c->f[0] = 0.3f, c->i[0] = 1234;
    in_f32(c, 0, SH(4, 9000), -1, 1), out_t(c, 3, IE_F32, SH(4, 9000));
    /* linear layers: x [N, in], w [out, in] */
    const int64_t ls[2][3] = {{4, 33, 7}, {3, 300, 20}};
    for (int i = 0; i < 2; i++) {
        int64_t n = ls[i][0], in = ls[i][1], out = ls[i][2];
        for (int bias = 1; bias >= 0; bias--) {
            c = add_case(IE_KERNEL_REDUCE_LINEAR, TOL_DOT, run_linear, "[%lld, %lld] -> %lld%s", (long long)n,
                         (long long)in, (long long)out, bias ? " bias" : "");
            c->terms = in + 1;
            in_f32(c, 0, SH(n, in), -1, 1), in_f32(c, 1, SH(out, in), -1, 1), out_t(c, 3, IE_F32, SH(n, out));
            if (bias) in_f32(c, 2, SH(out), -1, 1);
        }
        c = add_case(IE_KERNEL_REDUCE_LINEAR_GRAD_INPUT, TOL_DOT, run_linear_grad_input, "[%lld, %lld] -> %lld",
                     (long long)n, (long long)in, (long long)out);
        c->terms = out;
        in_f32(c, 0, SH(n, out), -1, 1), in_f32(c, 1, SH(out, in), -1, 1), out_t(c, 3, IE_F32, SH(n, in));
        c = add_case(IE_KERNEL_REDUCE_LINEAR_GRAD_WEIGHT, TOL_DOT, run_linear_grad_weight, "[%lld, %lld] -> %lld",
                     (long long)n, (long long)in, (long long)out);
        c->terms = n;
        in_f32(c, 0, SH(n, out), -1, 1), in_f32(c, 1, SH(n, in), -1, 1), out_t(c, 3, IE_F32, SH(out, in));
        c = add_case(IE_KERNEL_REDUCE_LINEAR_GRAD_BIAS, TOL_DOT, run_linear_grad_bias, "[%lld, %lld]", (long long)n,
                     (long long)out);
        c->terms = n;
        in_f32(c, 0, SH(n, out), -1, 1), out_t(c, 3, IE_F32, SH(out));
    }
    /* matmul: every transpose combination (the op's forward and its two
     * gradients), batched, and one long reduction. */
    const int64_t ms[2][4] = {{3, 5, 33, 7}, {1, 17, 600, 9}};
    for (int i = 0; i < 2; i++)
        for (int tr = 0; tr < 4; tr++) {
            int64_t bt = ms[i][0], m = ms[i][1], k = ms[i][2], n = ms[i][3];
            bool ta = tr & 1, tb = (tr >> 1) & 1;
            c = add_case(IE_KERNEL_REDUCE_MATMUL, TOL_DOT, run_matmul, "%lld x [%lld, %lld] x [%lld, %lld]%s%s",
                         (long long)bt, (long long)m, (long long)k, (long long)k, (long long)n, ta ? " a^T" : "",
                         tb ? " b^T" : "");
            c->terms = k;
            c->i[0] = bt, c->i[1] = m, c->i[2] = k, c->i[3] = n, c->b[0] = ta, c->b[1] = tb;
            in_f32(c, 0, SH(bt, ta ? k : m, ta ? m : k), -1, 1);
            in_f32(c, 1, SH(bt, tb ? n : k, tb ? k : n), -1, 1);
            out_t(c, 3, IE_F32, SH(bt, m, n));
        }
    /* permute: a transpose of the last two dimensions, a full reversal
     * beyond one 16384-element chunk, and attention's head split. */
    static const struct {
        int ndim;
        int64_t shape[5];
        int64_t perm[5];
    } ps[] = {{3, {4, 33, 7}, {0, 2, 1}}, {4, {5, 6, 7, 90}, {3, 2, 1, 0}}, {4, {2, 9, 4, 16}, {0, 2, 1, 3}}};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
        c = add_case(IE_KERNEL_REDUCE_PERMUTE, TOL_EXACT, run_permute, "%d-D case %zu", ps[i].ndim, i);
        int64_t os[5];
        for (int d = 0; d < ps[i].ndim; d++) c->i[d] = ps[i].perm[d], os[d] = ps[i].shape[ps[i].perm[d]];
        in_f32(c, 0, ps[i].ndim, ps[i].shape, -1, 1), out_t(c, 3, IE_F32, ps[i].ndim, os);
    }
    /* embedding: 300 lookups into a [50, 70] table (repeats certain), so the
     * backward sums several rows per table row. */
    c = add_case(IE_KERNEL_REDUCE_EMBEDDING, TOL_EXACT, run_embedding, "[50, 70] table, [3, 100] indices");
    in_f32(c, 0, SH(50, 70), -1, 1), in_int(c, 1, IE_I64, SH(3, 100), 0, 50), out_t(c, 3, IE_F32, SH(3, 100, 70));
    c = add_case(IE_KERNEL_REDUCE_EMBEDDING_BACKWARD, TOL_DOT, run_embedding_backward,
                 "[50, 70] table, [3, 100] indices");
    c->terms = 300;
    in_int(c, 1, IE_I64, SH(3, 100), 0, 50), in_f32(c, 2, SH(3, 100, 70), -1, 1), out_t(c, 3, IE_F32, SH(50, 70));
    /* attention: 6 (batch x head) items, more queries than one 16-row task,
     * Lq != Lk, with and without the causal mask. */
    const int64_t at[2][4] = {{6, 37, 37, 16}, {2, 20, 45, 8}};
    for (int i = 0; i < 2; i++)
        for (int causal = 0; causal < 2; causal++) {
            int64_t bt = at[i][0], nq = at[i][1], nk = at[i][2], d = at[i][3];
            for (int backward = 0; backward < 2; backward++) {
                c = backward ? add_case(IE_KERNEL_REDUCE_ATTENTION_BACKWARD, TOL_NORMWISE, run_attention_backward,
                                        "%lld x [%lld, %lld] keys %lld%s", (long long)bt, (long long)nq, (long long)d,
                                        (long long)nk, causal ? " causal" : "")
                             : add_case(IE_KERNEL_REDUCE_ATTENTION_FORWARD, TOL_NORMWISE, run_attention_forward,
                                        "%lld x [%lld, %lld] keys %lld%s", (long long)bt, (long long)nq, (long long)d,
                                        (long long)nk, causal ? " causal" : "");
                c->i[0] = bt, c->i[1] = nq, c->i[2] = nk, c->i[3] = d, c->b[0] = causal;
                c->f[0] = 1.0f / sqrtf((float)d);
                in_f32(c, 0, SH(bt, nq, d), -2, 2), in_f32(c, 1, SH(bt, nk, d), -2, 2);
                in_f32(c, 2, SH(bt, nk, d), -1, 1);
                if (!backward) {
                    out_t(c, 3, IE_F32, SH(bt, nq, d)), out_t(c, 4, IE_F32, SH(bt * nq));
                    continue;
                }
                c->prepare = prepare_attention_backward;
                set_slot(c, 3, IN, IE_F32, 3, (const int64_t[]){bt, nq, d}, 0, 0);
                set_slot(c, 4, IN, IE_F32, 1, (const int64_t[]){bt * nq}, 0, 0);
                in_f32(c, 5, SH(bt, nq, d), -1, 1);
                out_t(c, 6, IE_F32, SH(bt, nq, d)), out_t(c, 7, IE_F32, SH(bt, nk, d));
                out_t(c, 8, IE_F32, SH(bt, nk, d));
            }
        }
}

static void loss_cases(void) {
    /* class losses: logits [N, C, D, H, W] (and [N, C]), labels [N, ...] */
    typedef struct class_case {
        const char *what;
        ie_class_loss_kind kind;
        float smoothing, gamma;
        bool weights;
        ie_dtype label_type;
        int ndim;
        int64_t shape[5];
    } class_case;
    static const class_case cls[] = {
        {"cross-entropy", IE_CLASS_LOSS_CROSS_ENTROPY, 0, 0, false, IE_I64, 5, {2, 3, 4, 5, 6}},
        {"cross-entropy weighted, smoothing 0.1", IE_CLASS_LOSS_CROSS_ENTROPY, 0.1f, 0, true, IE_I64, 5, {2, 4, 3, 5, 4}},
        {"cross-entropy [N, C], i32 labels", IE_CLASS_LOSS_CROSS_ENTROPY, 0, 0, true, IE_I32, 2, {9, 5}},
        {"cross-entropy beyond one 4096-voxel chunk", IE_CLASS_LOSS_CROSS_ENTROPY, 0, 0, false, IE_I64, 5, {1, 2, 10, 20, 30}},
        {"focal gamma 2 weighted", IE_CLASS_LOSS_FOCAL, 0, 2.0f, true, IE_I64, 5, {2, 3, 4, 4, 5}},
        {"focal gamma 0", IE_CLASS_LOSS_FOCAL, 0, 0.0f, false, IE_I32, 5, {2, 3, 3, 4, 5}},
    };
    for (size_t i = 0; i < sizeof cls / sizeof *cls; i++) {
        const class_case *k = &cls[i];
        int64_t ls[4], n = k->shape[0], classes = k->shape[1], spatial = 1;
        ls[0] = n;
        for (int d = 2; d < k->ndim; d++) ls[d - 1] = k->shape[d], spatial *= k->shape[d];
        for (int backward = 0; backward < 2; backward++) {
            bcase *c = backward ? add_case(IE_KERNEL_LOSS_CLASS_BACKWARD, TOL_NORMWISE, run_class_loss_backward, "%s",
                                           k->what)
                                : add_case(IE_KERNEL_LOSS_CLASS, TOL_NORMWISE, run_class_loss, "%s", k->what);
            c->cls = (ie_class_loss_args){k->kind, NULL, NULL, NULL, n, classes, spatial, k->smoothing, k->gamma};
            in_f32(c, 0, k->ndim, k->shape, -3, 3), in_int(c, 1, k->label_type, k->ndim - 1, ls, 0, (int)classes);
            if (k->weights) in_f32(c, 2, SH(classes), 0.2f, 2);
            set_slot(c, 4, backward ? IN : OUT, IE_I64, 1, (const int64_t[]){1}, 0, 0);
            c->slot[4].f64_bits = true;
            if (backward) {
                c->prepare = prepare_class_loss_backward;
                in_f32(c, 5, 0, NULL, 0.5f, 2), out_t(c, 6, IE_F32, k->ndim, k->shape);
            } else {
                out_t(c, 3, IE_F32, 0, NULL);
            }
        }
    }
    /* soft Dice */
    const int64_t ds[2][5] = {{2, 3, 4, 5, 6}, {1, 2, 16, 16, 17}};
    for (int i = 0; i < 2; i++)
        for (int backward = 0; backward < 2; backward++) {
            int64_t spatial = ds[i][2] * ds[i][3] * ds[i][4], ls[4] = {ds[i][0], ds[i][2], ds[i][3], ds[i][4]};
            bcase *c = backward ? add_case(IE_KERNEL_LOSS_DICE_BACKWARD, TOL_NORMWISE, run_dice_backward, "%s",
                                           i ? "beyond one 4096-voxel block" : "weighted")
                                : add_case(IE_KERNEL_LOSS_DICE, TOL_NORMWISE, run_dice, "%s",
                                           i ? "beyond one 4096-voxel block" : "weighted");
            c->i[0] = ds[i][0], c->i[1] = ds[i][1], c->i[2] = spatial;
            in_f32(c, 0, 5, ds[i], -3, 3), in_int(c, 1, IE_I64, 4, ls, 0, (int)ds[i][1]);
            if (!i) in_f32(c, 2, SH(ds[i][1]), 0.2f, 2);
            const int64_t ss[3] = {ds[i][0], ds[i][1], 3};
            set_slot(c, 4, backward ? IN : OUT, IE_F32, 3, ss, 0, 0);
            if (backward) {
                c->prepare = prepare_dice_backward;
                in_f32(c, 5, 0, NULL, 0.5f, 2), out_t(c, 6, IE_F32, 5, ds[i]);
            } else {
                out_t(c, 3, IE_F32, 0, NULL);
            }
        }
    /* elementwise losses: MSE, L1, BCE (with pos_weight by the last dim) */
    static const char *const kinds[3] = {"mse", "l1", "bce"};
    const int64_t ps[2] = {6, 3000};
    for (int k = 0; k < 3; k++)
        for (int backward = 0; backward < 2; backward++) {
            bool pw = k == IE_PAIR_LOSS_BCE;
            bcase *c = backward ? add_case(IE_KERNEL_LOSS_PAIR_BACKWARD, TOL_NORMWISE, run_pair_loss_backward,
                                           "%s%s", kinds[k], backward && k == 1 ? " (grad a only)" : "")
                                : add_case(IE_KERNEL_LOSS_PAIR, TOL_NORMWISE, run_pair_loss, "%s%s", kinds[k],
                                           pw ? " pos_weight" : "");
            c->op = k;
            in_f32(c, 0, 2, ps, -3, 3), in_f32(c, 1, 2, ps, k == IE_PAIR_LOSS_BCE ? 0 : -3, k == IE_PAIR_LOSS_BCE ? 1 : 3);
            if (pw) in_f32(c, 2, SH(3000), 0.5f, 3);
            if (backward) {
                in_f32(c, 5, 0, NULL, 0.5f, 2), out_t(c, 6, IE_F32, 2, ps);
                if (k != 1) out_t(c, 7, IE_F32, 2, ps);
            } else {
                out_t(c, 3, IE_F32, 0, NULL);
            }
        }
}

static void optim_cases(void) {
    const int64_t ps[2] = {3, 7000};
    static const struct {
        const char *what;
        bool wd, momentum, nesterov, first;
    } sgd[] = {{"plain", false, false, false, false},
               {"momentum, first step", false, true, false, true},
               {"momentum, weight decay", true, true, false, false},
               {"nesterov", false, true, true, false}};
    for (size_t i = 0; i < sizeof sgd / sizeof *sgd; i++) {
        bcase *c = add_case(IE_KERNEL_OPTIM_SGD, TOL_EXACT, run_sgd, "%s", sgd[i].what);
        c->sgd = (ie_sgd_scalars){.neg_lr = -0.01f, .weight_decay = 1e-4f, .momentum = 0.9f,
                                  .one_minus_dampening = 1.0f, .use_weight_decay = sgd[i].wd,
                                  .use_momentum = sgd[i].momentum, .nesterov = sgd[i].nesterov,
                                  .first_step = sgd[i].first};
        inout_f32(c, 0, 2, ps, -1, 1), in_f32(c, 1, 2, ps, -1, 1);
        if (sgd[i].momentum) inout_f32(c, 2, 2, ps, -1, 1);
    }
    static const struct {
        const char *what;
        bool decoupled, amsgrad, wd;
    } adam[] = {{"adam", false, false, false}, {"adam L2 amsgrad", false, true, true}, {"adamw", true, false, false}};
    for (size_t i = 0; i < sizeof adam / sizeof *adam; i++) {
        bcase *c = add_case(IE_KERNEL_OPTIM_ADAM, TOL_EXACT, run_adam, "%s", adam[i].what);
        /* step 3 with lr 1e-3, betas (0.9, 0.999), as optimizer.c computes them */
        double bc1 = 1 - pow(0.9, 3), bc2 = 1 - pow(0.999, 3);
        c->adam = (ie_adam_scalars){.beta1 = 0.9f, .one_minus_beta1 = (float)(1 - 0.9), .beta2 = 0.999f,
                                    .one_minus_beta2 = (float)(1 - 0.999), .weight_decay = 0.01f,
                                    .decay = (float)(1 - 1e-3 * 0.01), .neg_step_size = (float)(-1e-3 / bc1),
                                    .bias_correction2_sqrt = (float)sqrt(bc2), .eps = 1e-8f,
                                    .use_weight_decay = adam[i].wd, .decoupled = adam[i].decoupled,
                                    .amsgrad = adam[i].amsgrad};
        inout_f32(c, 0, 2, ps, -1, 1), in_f32(c, 1, 2, ps, -1, 1);
        inout_f32(c, 2, 2, ps, -0.1f, 0.1f), inout_f32(c, 3, 2, ps, 0, 0.01f);
        if (adam[i].amsgrad) inout_f32(c, 4, 2, ps, 0, 0.01f);
    }
    static const struct {
        const char *what;
        bool centered, momentum, wd;
    } rms[] = {{"plain", false, false, false}, {"centered momentum", true, true, false}, {"weight decay", false, false, true}};
    for (size_t i = 0; i < sizeof rms / sizeof *rms; i++) {
        bcase *c = add_case(IE_KERNEL_OPTIM_RMSPROP, TOL_EXACT, run_rmsprop, "%s", rms[i].what);
        c->rms = (ie_rmsprop_scalars){.alpha = 0.99f, .one_minus_alpha = (float)(1 - 0.99), .eps = 1e-8f,
                                      .weight_decay = 1e-4f, .momentum = 0.9f, .neg_lr = -0.01f,
                                      .use_weight_decay = rms[i].wd, .use_momentum = rms[i].momentum,
                                      .centered = rms[i].centered};
        inout_f32(c, 0, 2, ps, -1, 1), in_f32(c, 1, 2, ps, -1, 1), inout_f32(c, 2, 2, ps, 0.01f, 0.1f);
        /* centered keeps grad_avg small against square_avg, as training does */
        if (rms[i].centered) inout_f32(c, 3, 2, ps, -0.05f, 0.05f);
        if (rms[i].momentum) inout_f32(c, 4, 2, ps, -0.1f, 0.1f);
    }
}

/* ------------------------------------------------------------ data */

/* Random contents for slot s of case ci on the CPU (Philox, keyed by case
 * and slot, so every target sees the same inputs). */
static ie_tensor *make_input(int ci, int s, const slot_spec *p) {
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_empty(p->dtype, p->ndim, p->shape, IE_CPU, &t));
    ie_rng rng = ie_rng_make(20261207u + (uint64_t)ci, IE_STREAM_USER, (uint32_t)s, 0);
    int64_t n = ie_tensor_numel(t);
    if (p->dtype == IE_F32) {
        ie_rng_fill_uniform(&rng, 0, ie_tensor_data(t), n, p->lo, p->hi);
        return t;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)p->lo + (int64_t)(ie_rng_uniform_at(&rng, (uint64_t)i) * (p->hi - p->lo));
        if (v >= (int64_t)p->hi && p->hi > p->lo) v = (int64_t)p->hi - 1;
        if (p->dtype == IE_I64) ((int64_t *)ie_tensor_data(t))[i] = v;
        else if (p->dtype == IE_I32) ((int32_t *)ie_tensor_data(t))[i] = (int32_t)v;
        else ((uint8_t *)ie_tensor_data(t))[i] = (uint8_t)v;
    }
    return t;
}

static size_t nbytes_of(const ie_tensor *t) { return (size_t)ie_tensor_numel(t) * ie_dtype_size(ie_tensor_dtype(t)); }

/* The tensors of one run on `device`: inputs copied there, outputs poisoned
 * (every bit set) there. */
static void stage(const bcase *c, ie_tensor *const *host, ie_device device, ie_tensor **dev) {
    for (int s = 0; s < MAX_SLOTS; s++) {
        dev[s] = NULL;
        const slot_spec *p = &c->slot[s];
        if (p->role == NONE) continue;
        if (p->role == OUT) {
            ie_tensor *poison = NULL;
            CHECK_OK(ie_tensor_empty(p->dtype, p->ndim, p->shape, IE_CPU, &poison));
            memset(ie_tensor_data(poison), 0xFF, nbytes_of(poison));
            CHECK_OK(ie_tensor_to(poison, device, &dev[s]));
            if (dev[s] == poison) { /* on the CPU: a tensor of its own, not the staging one */
                ie_tensor_release(dev[s]);
                CHECK_OK(ie_tensor_clone(poison, &dev[s]));
            }
            ie_tensor_release(poison);
        } else { /* IN and INOUT: a fresh copy, so INOUT starts from the same state each run */
            ie_tensor *copy = NULL;
            CHECK_OK(ie_tensor_empty(p->dtype, p->ndim, p->shape, device, &copy));
            CHECK_OK(ie_tensor_copy_data(copy, host[s]));
            dev[s] = copy;
        }
    }
}

/* Runs the case once on `tg` with `threads`; *res gets CPU copies of the
 * OUT and INOUT slots.  abs_inputs: |inputs| (the magnitude run). */
static ie_status run_once(const bcase *c, ie_tensor *const *host, const target *tg, int threads, bool abs_inputs,
                          ie_tensor **res) {
    ie_threads_set(threads);
    if (tg->cpu_path >= 0) ie_cpu_path_set((ie_cpu_path)tg->cpu_path);
    ie_tensor *in[MAX_SLOTS] = {NULL};
    for (int s = 0; s < MAX_SLOTS; s++) {
        in[s] = host[s] ? ie_tensor_retain(host[s]) : NULL;
        if (abs_inputs && host[s] && c->slot[s].dtype == IE_F32 && c->slot[s].role == IN) {
            ie_tensor_release(in[s]);
            CHECK_OK(ie_tensor_clone(host[s], &in[s]));
            float *v = ie_tensor_data(in[s]);
            for (int64_t i = 0; i < ie_tensor_numel(in[s]); i++) v[i] = fabsf(v[i]);
        }
    }
    ie_tensor *dev[MAX_SLOTS];
    stage(c, in, tg->device, dev);
    ie_device_ctx *ctx = NULL;
    ie_status st = ie_device_ctx_get(c->name, tg->device, &ctx);
    if (st == IE_OK) st = ie_kernel_require(ctx, c->kernel, c->name);
    if (st == IE_OK) st = c->run(ctx, c, dev);
    if (st == IE_OK) st = ie_device_ctx_sync(ctx);
    for (int s = 0; s < MAX_SLOTS; s++) {
        res[s] = NULL;
        if (st == IE_OK && dev[s] && (c->slot[s].role == OUT || c->slot[s].role == INOUT)) {
            ie_status cs = ie_tensor_to(dev[s], IE_CPU, &res[s]);
            if (cs != IE_OK) st = cs;
        }
    }
    for (int s = 0; s < MAX_SLOTS; s++) {
        ie_tensor_release(dev[s]);
        ie_tensor_release(in[s]);
    }
    return st;
}

/* ------------------------------------------------------------ comparisons */

static const double U = 5.9604644775390625e-08; /* 2^-24 */

static double gamma_n(int64_t n) { return (double)n * U / (1.0 - (double)n * U); }

static double f64_at(const ie_tensor *t, int64_t i) {
    double v;
    memcpy(&v, (const char *)ie_tensor_data(t) + 8 * i, sizeof v);
    return v;
}

/* Elements that kept their poison (all bits set). */
static int64_t poisoned(const ie_tensor *t, const slot_spec *p, int64_t *first) {
    int64_t n = ie_tensor_numel(t), bad = 0;
    *first = -1;
    for (int64_t i = 0; i < n; i++) {
        bool b;
        if (p->f64_bits) b = isnan(f64_at(t, i));
        else if (p->dtype == IE_F32) b = isnan(((const float *)ie_tensor_data(t))[i]);
        else if (p->dtype == IE_I64) b = ((const int64_t *)ie_tensor_data(t))[i] == -1;
        else if (p->dtype == IE_I32) b = ((const int32_t *)ie_tensor_data(t))[i] == -1;
        else b = ((const uint8_t *)ie_tensor_data(t))[i] == 0xFF;
        if (b && *first < 0) *first = i;
        bad += b;
    }
    return bad;
}

/* The first element where two same-sized tensors differ in their bytes. */
static int64_t first_difference(const ie_tensor *a, const ie_tensor *b) {
    size_t es = ie_dtype_size(ie_tensor_dtype(a));
    const char *pa = ie_tensor_data(a), *pb = ie_tensor_data(b);
    for (int64_t i = 0; i < ie_tensor_numel(a); i++)
        if (memcmp(pa + (size_t)i * es, pb + (size_t)i * es, es) != 0) return i;
    return -1;
}

static void describe_element(const ie_tensor *t, const slot_spec *p, int64_t i, char *buf, size_t size) {
    if (p->f64_bits) snprintf(buf, size, "%.17g", f64_at(t, i));
    else if (p->dtype == IE_F32) snprintf(buf, size, "%.9g", (double)((const float *)ie_tensor_data(t))[i]);
    else if (p->dtype == IE_I64) snprintf(buf, size, "%lld", (long long)((const int64_t *)ie_tensor_data(t))[i]);
    else if (p->dtype == IE_I32) snprintf(buf, size, "%d", ((const int32_t *)ie_tensor_data(t))[i]);
    else snprintf(buf, size, "%u", ((const uint8_t *)ie_tensor_data(t))[i]);
}

/* Whether got agrees with ref under tolerance `tol`; why says where not. */
static bool within(tol_kind tol, const slot_spec *p, const ie_tensor *got, const ie_tensor *ref, const ie_tensor *mag,
                   int64_t terms, char *why, size_t why_size) {
    int64_t n = ie_tensor_numel(ref);
    char a[64], b[64];
    if (p->f64_bits) { /* a float64 sum of positive weights: 1e-11 relative */
        for (int64_t i = 0; i < n; i++) {
            double r = f64_at(ref, i), g = f64_at(got, i);
            if (!(fabs(g - r) <= 1e-11 * fabs(r))) {
                snprintf(why, why_size, "element %lld: %.17g, reference %.17g (float64 tolerance 1e-11)", (long long)i, g, r);
                return false;
            }
        }
        return true;
    }
    if (tol == TOL_EXACT || p->dtype != IE_F32) {
        int64_t i = first_difference(got, ref);
        if (i < 0) return true;
        describe_element(got, p, i, a, sizeof a), describe_element(ref, p, i, b, sizeof b);
        snprintf(why, why_size, "element %lld: %s, reference %s (must be identical)", (long long)i, a, b);
        return false;
    }
    const float *g = ie_tensor_data(got), *r = ie_tensor_data(ref);
    if (tol == TOL_DOT) {
        const float *m = ie_tensor_data(mag);
        double bound = 2.0 * gamma_n(terms);
        for (int64_t i = 0; i < n; i++)
            if (!(fabs((double)g[i] - (double)r[i]) <= bound * (double)m[i])) {
                snprintf(why, why_size, "element %lld: %.9g, reference %.9g, |difference| above 2 gamma_%lld * "
                         "sum|terms| = %.3g",
                         (long long)i, (double)g[i], (double)r[i], (long long)terms, bound * (double)m[i]);
                return false;
            }
        return true;
    }
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)g[i] - (double)r[i];
        diff += d * d, norm += (double)r[i] * r[i];
    }
    if (sqrt(diff) <= 1e-5 * sqrt(norm)) return true;
    snprintf(why, why_size, "||difference|| %.3g above 1e-5 ||reference|| = %.3g", sqrt(diff), 1e-5 * sqrt(norm));
    return false;
}

/* The comparators must catch what they exist to catch: a one-ulp change is
 * not exact, a change inside the bounds passes, one outside fails. */
static void comparator_selftest(void) {
    const int64_t n = 4;
    slot_spec p = {.role = OUT, .dtype = IE_F32, .ndim = 1, .shape = {4}};
    ie_tensor *ref = NULL, *got = NULL, *mag = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 1, &n, (const float[]){1.0f, -2.0f, 0.5f, 3.0f}, &ref));
    CHECK_OK(ie_tensor_from_data(IE_F32, 1, &n, (const float[]){4.0f, 4.0f, 4.0f, 4.0f}, &mag));
    CHECK_OK(ie_tensor_clone(ref, &got));
    char why[256];
    CHECK(within(TOL_EXACT, &p, got, ref, mag, 10, why, sizeof why), "identical passes");
    float *g = ie_tensor_data(got);
    g[2] = nextafterf(0.5f, 1.0f);
    CHECK(!within(TOL_EXACT, &p, got, ref, mag, 10, why, sizeof why) && strstr(why, "element 2"),
          "one ulp is not exact: %s", why);
    CHECK(within(TOL_DOT, &p, got, ref, mag, 10, why, sizeof why), "one ulp of 0.5 is inside 2 gamma_10 * 4: %s", why);
    g[2] = 0.5f + 1e-5f;
    CHECK(!within(TOL_DOT, &p, got, ref, mag, 10, why, sizeof why), "1e-5 is outside 2 gamma_10 * 4 (4.8e-6)");
    CHECK(within(TOL_NORMWISE, &p, got, ref, mag, 0, why, sizeof why), "1e-5 against a norm of 3.8 is normwise 2.6e-6");
    g[2] = 0.5f + 1e-4f;
    CHECK(!within(TOL_NORMWISE, &p, got, ref, mag, 0, why, sizeof why), "1e-4 against a norm of 3.8 is not");
    g[2] = NAN;
    int64_t first;
    CHECK(poisoned(got, &p, &first) == 1 && first == 2, "a NaN is found as poison");
    ie_tensor_release(ref);
    ie_tensor_release(got);
    ie_tensor_release(mag);
}

/* ------------------------------------------------------------ the run */

typedef struct stats {
    int cases, runs, comparisons, failures, unsupported;
} stats;

static bool target_wanted(const target *tg, const char *which) {
    if (!strcmp(which, "all")) return true;
    if (!strcmp(which, "cpu")) return tg->device == IE_CPU;
    return !strcmp(which, tg->name);
}

/* Whether target tg can run here; *why says why not. */
static bool target_present(const target *tg, const char **why) {
    if (tg->device == IE_CPU) {
        *why = "this CPU cannot run the path";
        return ie_cpu_path_supported((ie_cpu_path)tg->cpu_path);
    }
    *why = "no backend for the device";
    return ie_device_available(tg->device);
}

static void release_all(ie_tensor **t) {
    for (int s = 0; s < MAX_SLOTS; s++) {
        ie_tensor_release(t[s]);
        t[s] = NULL;
    }
}

/* Checks one run of case c on tg against the reference and its twin. */
static void check_target(int ci, const bcase *c, ie_tensor *const *host, const target *tg, ie_tensor *const *ref,
                         ie_tensor *const *mag, stats *st) {
    ie_tensor *a[MAX_SLOTS] = {NULL}, *b[MAX_SLOTS] = {NULL};
    bool cpu = tg->device == IE_CPU;
    ie_status sa = run_once(c, host, tg, cpu ? 3 : 1, false, a);
    ie_status sb = sa == IE_OK ? run_once(c, host, tg, 1, false, b) : sa;
    st->runs += 2;
    /* A device backend may leave kernels out of its table (backend.h): that
     * is reported and counted, not a failure; what it runs must be right. */
    if (!cpu && sa == IE_ERR_UNSUPPORTED) {
        printf("[%s] %s: not in the backend's table (%s)\n", tg->name, c->name, ie_kernel_op_name(c->kernel));
        ie_error_clear();
        st->unsupported++;
        return;
    }
    CHECK(sa == IE_OK && sb == IE_OK, "[%s] %s: %s", tg->name, c->name, ie_error_message());
    if (sa != IE_OK || sb != IE_OK) {
        st->failures++;
        release_all(a), release_all(b);
        return;
    }
    (void)ci;
    char why[512];
    for (int s = 0; s < MAX_SLOTS; s++) {
        if (!a[s]) continue;
        const slot_spec *p = &c->slot[s];
        int64_t first, left = poisoned(a[s], p, &first);
        bool ok = left == 0;
        CHECK(ok, "[%s] %s: output slot %d: %lld elements not written (first %lld)", tg->name, c->name, s,
              (long long)left, (long long)first);
        int64_t d = first_difference(a[s], b[s]);
        CHECK(d < 0, "[%s] %s: output slot %d differs between two runs%s at element %lld", tg->name, c->name, s,
              cpu ? " (3 threads, then 1)" : "", (long long)d);
        ok = ok && d < 0;
        if (ref) {
            tol_kind tol = cpu ? TOL_EXACT : c->tol;
            bool agree = within(tol, p, a[s], ref[s], mag ? mag[s] : NULL, c->terms, why, sizeof why);
            CHECK(agree, "[%s] %s: output slot %d against the reference (%s): %s", tg->name, c->name, s,
                  cpu ? "CPU paths are identical" : TOL_NAMES[tol], why);
            ok = ok && agree;
            st->comparisons++;
        }
        st->comparisons += 2;
        if (!ok) st->failures++;
    }
    release_all(a), release_all(b);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 && argv[1][0] ? argv[1] : "all", *filter = argc > 2 ? argv[2] : "";
    conv_cases(), norm_cases(), pool_cases(), pointwise_cases(), reduce_cases(), loss_cases(), optim_cases();
    comparator_selftest();

    /* Every kernel of every family has a case. */
    for (int k = 0; k < IE_KERNEL_COUNT; k++) {
        int count = 0;
        for (int i = 0; i < n_cases; i++) count += cases[i].kernel == (ie_kernel_op)k;
        CHECK(count > 0, "kernel %s has no conformance case; add one", ie_kernel_op_name((ie_kernel_op)k));
    }

    /* Which targets run: a named target that is not present is a skip. */
    bool run_target[N_TARGETS];
    int wanted = 0, present = 0;
    for (int t = 0; t < N_TARGETS; t++) {
        const char *why = "";
        bool want = target_wanted(&TARGETS[t], which), here = want && target_present(&TARGETS[t], &why);
        wanted += want, present += here;
        run_target[t] = here;
        if (want && !here) printf("target %s: not run (%s)\n", TARGETS[t].name, why);
    }
    if (!wanted) {
        fprintf(stderr, "test_backend_ops: no target named '%s' (all, cpu", which);
        for (int t = 0; t < N_TARGETS; t++) fprintf(stderr, ", %s", TARGETS[t].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    /* A named target whose backend is absent is a skip; "all" and "cpu"
     * run whatever is present (the CPU's generic path always is). */
    bool named = strcmp(which, "all") && strcmp(which, "cpu");
    if (named && !present) {
        /* On a GPU machine a missing backend is a failure, not a skip
         * (tools/gpu/check.sh sets IE_REQUIRE_DEVICE=1). */
        const char *req = getenv("IE_REQUIRE_DEVICE");
        if (req && *req && strcmp(req, "0")) {
            printf("FAILED: the %s backend is not present and IE_REQUIRE_DEVICE is set\n", which);
            return 1;
        }
        printf("skipped: the %s backend is not present\n", which);
        return 77;
    }
    stats st = {0};
    const target *reference = &TARGETS[0];
    int default_threads = ie_threads_get();
    for (int ci = 0; ci < n_cases; ci++) {
        const bcase *c = &cases[ci];
        if (filter[0] && !strstr(c->name, filter)) continue;
        st.cases++;
        ie_tensor *host[MAX_SLOTS] = {NULL};
        for (int s = 0; s < MAX_SLOTS; s++)
            if (c->slot[s].role == IN || c->slot[s].role == INOUT) host[s] = make_input(ci, s, &c->slot[s]);
        if (c->prepare) {
            ie_device_ctx *cpu = NULL;
            ie_cpu_path_set((ie_cpu_path)reference->cpu_path);
            CHECK_OK(ie_device_ctx_get("prepare", IE_CPU, &cpu));
            CHECK_OK(c->prepare(cpu, c, host));
        }
        /* The reference: the CPU's generic path, itself checked like any
         * target (poison, two runs); the magnitudes for DOT cases. */
        ie_tensor *ref[MAX_SLOTS] = {NULL}, *mag[MAX_SLOTS] = {NULL};
        CHECK_OK(run_once(c, host, reference, 1, false, ref));
        if (c->tol == TOL_DOT) CHECK_OK(run_once(c, host, reference, 1, true, mag));
        for (int t = 0; t < N_TARGETS; t++)
            if (run_target[t]) check_target(ci, c, host, &TARGETS[t], t == 0 ? NULL : ref, mag, &st);
        release_all(ref), release_all(mag), release_all(host);
    }
    ie_threads_set(default_threads);
    ie_cpu_path_set(ie_cpu_path_best());
    printf("backend conformance: %d cases on", st.cases);
    for (int t = 0; t < N_TARGETS; t++)
        if (run_target[t]) printf(" %s", TARGETS[t].name);
    printf(" (reference %s): %d kernel runs, %d comparisons, %d failed, %d cases not in a device's table\n",
           reference->name, st.runs, st.comparisons, st.failures, st.unsupported);
    return test_summary();
}
