/* core/ops - normalisation layers: batch norm, instance norm, group norm,
 * layer norm.
 *
 * Argument checks, output and statistics allocation, autograd recording; the
 * arithmetic is in the backend's norm kernels.  Forward saves the input and
 * the statistics it normalised with (mean as hi + lo, 1/sqrt(var + eps)) so backward
 * never recomputes them and does not see later in-place running-stat updates. */
#include <math.h>
#include <stdlib.h>

#include "core/backend/cpu/cpu_sync_norm.h"
#include "core/backend/norm_kernels.h"
#include "core/backend/pointwise_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"
#include "core/ops/norm_sync.h"

/* x is f32 with min_ndim..5 dimensions: [N, C, ...]. */
static ie_status check_activation(const char *op, const ie_tensor *x, int min_ndim, const char *layouts) {
    char d[96];
    IE_TRY(ie_check_f32(op, "input", x, -1));
    if (x->ndim < min_ndim || x->ndim > 5)
        return ie_error_set(IE_ERR_SHAPE, "%s: input must be %s, got %s", op, layouts, IE_DESCRIBE(x, d));
    if (x->numel == 0)
        return ie_error_set(IE_ERR_SHAPE, "%s: input %s has no elements", op, IE_DESCRIBE(x, d));
    return IE_OK;
}

/* t (may be NULL) is a float [C] vector on x's device. */
static ie_status check_per_channel(const char *op, const char *what, const ie_tensor *t, const ie_tensor *x) {
    char dt[96], dx[96];
    if (!t) return IE_OK;
    IE_TRY(ie_check_f32(op, what, t, -1));
    IE_TRY(ie_check_same_device(op, x, t));
    if (t->ndim != 1 || t->shape[0] != x->shape[1])
        return ie_error_set(IE_ERR_SHAPE, "%s: %s %s must be [%lld], one value per channel of input %s",
                            op, what, IE_DESCRIBE(t, dt), (long long)x->shape[1], IE_DESCRIBE(x, dx));
    return IE_OK;
}

static ie_status check_eps(const char *op, float eps) {
    if (!(eps >= 0.0f) || isinf(eps))
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: eps must be finite and >= 0, got %g", op, (double)eps);
    return IE_OK;
}

static ie_norm_shape norm_shape(const ie_tensor *x, int64_t groups) {
    ie_norm_shape sh = {x->shape[0], x->shape[1], x->numel / (x->shape[0] * x->shape[1]), groups};
    return sh;
}

static void shape_to_ints(ie_node *node, ie_norm_shape sh) {
    node->ints[0] = sh.n;
    node->ints[1] = sh.c;
    node->ints[2] = sh.s;
    node->ints[3] = sh.groups;
}

static ie_norm_shape shape_from_ints(const ie_node *node) {
    ie_norm_shape sh = {node->ints[0], node->ints[1], node->ints[2], node->ints[3]};
    return sh;
}

/* Gradient buffers for inputs 0 (x), 1 (weight), 2 (bias) that want one. */
static ie_status grad_buffers(ie_node *node, ie_tensor *grads[3]) {
    for (int i = 0; i < 3; i++) {
        grads[i] = NULL;
        ie_tensor *in = node->inputs[i];
        if (!ie_autograd_wants(in)) continue;
        ie_status st = ie_tensor_empty(IE_F32, in->ndim, in->shape, in->device, &grads[i]);
        if (st != IE_OK) {
            for (int k = 0; k < i; k++) ie_tensor_release(grads[k]);
            return st;
        }
    }
    return IE_OK;
}

static ie_status accumulate_and_release(ie_node *node, ie_tensor *grads[3]) {
    ie_status st = IE_OK;
    for (int i = 0; i < 3; i++) {
        if (st == IE_OK && grads[i]) st = ie_autograd_accumulate(node->inputs[i], grads[i]);
        ie_tensor_release(grads[i]);
    }
    return st;
}

/* Saves x, weight, mean, invstd; inputs are {x, weight, bias}. */
static ie_status record(const char *op, ie_backward_fn backward, ie_tensor *x, ie_tensor *weight,
                        ie_tensor *bias, ie_tensor *mean, ie_tensor *invstd, ie_norm_shape sh,
                        ie_tensor *out, ie_node **node_out) {
    ie_tensor *inputs[3] = {x, weight, bias};
    *node_out = NULL;
    if (!ie_autograd_needed(inputs, 3)) return IE_OK;
    ie_node *node;
    IE_TRY(ie_autograd_record(out, op, backward, inputs, 3, &node));
    IE_TRY(ie_node_save(node, 0, x));
    IE_TRY(ie_node_save(node, 1, weight));
    IE_TRY(ie_node_save(node, 2, mean));
    IE_TRY(ie_node_save(node, 3, invstd));
    IE_TRY(ie_node_drop_input_data(node));
    shape_to_ints(node, sh);
    *node_out = node;
    return IE_OK;
}

/* ---------------- batch norm ---------------- */

/* Synchronised batch norm (train.sync_batch_norm; the rules are in
 * core/dist/sync_norm.h): in training, on a thread with a hook set
 * (core/ops/norm_sync.h), the statistics are those of the step's whole global batch.  Forward exchanges
 * each channel's (count, mean, M2); backward exchanges w_j * (sum dy,
 * sum dy * (x - mean)), w_j being this micro-batch's weight in the step's
 * loss: this micro-batch's backward differentiates its own loss L_j, the
 * step's loss is sum_j w_j L_j, so the coupling terms of dx are the step's
 * sums divided by w_j.  The parameter gradients are this micro-batch's own
 * sums, as in one process: the step adds them in its tree.  node->ints[5]
 * marks a synchronised node, ints[6] holds the step's count per channel. */
static ie_status sync_statistics(const ie_norm_sync *hook, const char *op, const ie_tensor *x, ie_norm_shape sh,
                                 ie_tensor *running_mean, ie_tensor *running_var, ie_tensor *num_batches_tracked,
                                 float momentum, float eps, ie_tensor *save_mean, ie_tensor *save_invstd,
                                 int64_t *count) {
    if (x->device != IE_CPU)
        return ie_error_set(IE_ERR_UNSUPPORTED, "%s: synchronised batch norm (train.sync_batch_norm) runs on the "
                            "CPU, this input is on %s", op, ie_device_name(x->device));
    double *v = malloc((size_t)(3 * sh.c) * sizeof *v);
    if (!v) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory for the statistics of %lld channels", op,
                                (long long)sh.c);
    ie_status st = ie_cpu_batch_moments(x, sh, v);
    if (st == IE_OK) st = hook->exchange(hook->ctx, IE_NORM_SYNC_MOMENTS, v, (size_t)(3 * sh.c), op);
    double n = st == IE_OK ? v[0] : 0;
    if (st == IE_OK && n < 2)
        st = ie_error_set(IE_ERR_SHAPE, "%s: training needs more than 1 value per channel over the step's "
                          "micro-batches, they have %g; use a larger batch or eval mode", op, n);
    bool update = hook->micro_batch == 0; /* the buffers follow micro-batch 0 (docs/distributed.md) */
    float *mean = ie_f32(save_mean), *invstd = ie_f32(save_invstd);
    for (int64_t c = 0; st == IE_OK && c < sh.c; c++) {
        double m = v[3 * c + 1], var = v[3 * c + 2] / n;
        mean[c] = (float)m;
        mean[sh.c + c] = (float)(m - (double)mean[c]);
        invstd[c] = (float)(1.0 / sqrt(var + (double)eps));
        if (update && running_mean) {
            float *rm = ie_f32(running_mean) + c;
            *rm = (float)((1.0 - momentum) * *rm + (double)momentum * m);
        }
        if (update && running_var) {
            float *rv = ie_f32(running_var) + c;
            *rv = (float)((1.0 - momentum) * *rv + (double)momentum * var * (n / (n - 1)));
        }
    }
    if (st == IE_OK && update && num_batches_tracked) (*(int64_t *)ie_tensor_ptr(num_batches_tracked))++;
    *count = (int64_t)n;
    free(v);
    return st;
}

/* dx, dweight, dbias of a synchronised node from x and dy (grads as
 * grad_buffers made them). */
static ie_status sync_backward(ie_node *node, const ie_tensor *x, const ie_tensor *dy, ie_tensor *grads[3]) {
    ie_norm_shape sh = shape_from_ints(node);
    const ie_norm_sync *hook = ie_norm_sync_get();
    if (!hook) /* the step that recorded this node runs its backward on the same thread */
        return ie_error_set(IE_ERR_INTERNAL, "%s: a synchronised exchange outside a synchronised step", node->op);
    if (dy->device != IE_CPU)
        return ie_error_set(IE_ERR_UNSUPPORTED, "%s: synchronised batch norm runs on the CPU", node->op);
    double *own = malloc((size_t)(4 * sh.c) * sizeof *own), *step = own ? own + 2 * sh.c : NULL;
    float *coef = malloc((size_t)(3 * sh.c) * sizeof *coef);
    ie_status st = own && coef ? IE_OK : ie_error_set(IE_ERR_NOMEM, "%s: out of memory", node->op);
    if (st == IE_OK) st = ie_cpu_batch_grad_sums(x, dy, sh, node->saved[2], own);
    double w = hook->weight, n = (double)node->ints[6];
    for (int64_t i = 0; st == IE_OK && i < 2 * sh.c; i++) step[i] = w * own[i];
    if (st == IE_OK) st = hook->exchange(hook->ctx, IE_NORM_SYNC_SUMS, step, (size_t)(2 * sh.c), node->op);
    const ie_tensor *weight = node->saved[1];
    const float *invstd = ie_f32(node->saved[3]);
    for (int64_t c = 0; st == IE_OK && c < sh.c; c++) {
        double r = invstd[c], g = weight ? ie_f32(weight)[c] : 1.0;
        if (grads[1]) ie_f32(grads[1])[c] = (float)(r * own[2 * c + 1]);
        if (grads[2]) ie_f32(grads[2])[c] = (float)own[2 * c];
        coef[c] = (float)(r * g);
        coef[sh.c + c] = (float)(-r * g * r * r * step[2 * c + 1] / (n * w));
        coef[2 * sh.c + c] = (float)(-r * g * step[2 * c] / (n * w));
    }
    if (st == IE_OK && grads[0])
        st = ie_cpu_batch_grad_input(x, dy, sh, node->saved[2], coef, coef + sh.c, coef + 2 * sh.c, grads[0]);
    free(own);
    free(coef);
    return st;
}


static ie_status batch_norm_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *grads[3];
    if (node->ints[5]) {
        IE_TRY(grad_buffers(node, grads));
        ie_status st = sync_backward(node, node->saved[0], g, grads);
        if (st == IE_OK) return accumulate_and_release(node, grads);
        for (int i = 0; i < 3; i++) ie_tensor_release(grads[i]);
        return st;
    }
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_NORM_BATCH_BACKWARD, &ctx));
    IE_TRY(grad_buffers(node, grads));
    ie_status st = ctx->backend->norm->batch_backward(ctx, node->saved[0], g, shape_from_ints(node), node->saved[1],
                                                      node->saved[2], node->saved[3], node->ints[4] != 0, grads[0],
                                                      grads[1], grads[2]);
    if (st != IE_OK) {
        for (int i = 0; i < 3; i++) ie_tensor_release(grads[i]);
        return st;
    }
    return accumulate_and_release(node, grads);
}

static ie_status check_batch_norm(const char *op, ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                                  ie_tensor *running_mean, ie_tensor *running_var,
                                  ie_tensor *num_batches_tracked, bool training, float momentum,
                                  float eps) {
    char d[96];
    IE_TRY(check_activation(op, x, 2, "[N, C], [N, C, L], [N, C, H, W] or [N, C, D, H, W]"));
    IE_TRY(check_per_channel(op, "weight", weight, x));
    IE_TRY(check_per_channel(op, "bias", bias, x));
    IE_TRY(check_per_channel(op, "running_mean", running_mean, x));
    IE_TRY(check_per_channel(op, "running_var", running_var, x));
    IE_TRY(check_eps(op, eps));
    if (num_batches_tracked) {
        IE_TRY(ie_check_same_device(op, x, num_batches_tracked));
        if (num_batches_tracked->dtype != IE_I64 || num_batches_tracked->numel != 1)
            return ie_error_set(IE_ERR_DTYPE, "%s: num_batches_tracked must be a one-element i64 tensor, got %s",
                                op, IE_DESCRIBE(num_batches_tracked, d));
    }
    if (!training && (!running_mean || !running_var))
        return ie_error_set(IE_ERR_INVALID_ARG,
                            "%s: eval mode normalises with running_mean and running_var, but %s is NULL; "
                            "pass both or use training mode",
                            op, running_mean ? "running_var" : "running_mean");
    if (training && !(momentum >= 0.0f && momentum <= 1.0f))
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: momentum must be in [0, 1], got %g", op,
                            (double)momentum);
    if (training && !ie_norm_sync_get() && x->numel / x->shape[1] < 2) /* synchronised: checked on the step */
        return ie_error_set(IE_ERR_SHAPE,
                            "%s: training needs more than 1 value per channel, input is %s; use a "
                            "larger batch or eval mode",
                            op, IE_DESCRIBE(x, d));
    return IE_OK;
}

/* For a trace: the running statistics are operands backward never takes. */
static ie_status describe_batch_norm(ie_node *node, bool training, bool relu, float eps, ie_tensor *running_mean,
                                     ie_tensor *running_var) {
    const int64_t ints[2] = {training, relu};
    const double floats[1] = {eps};
    ie_tensor *extra[2] = {running_mean, running_var};
    return ie_trace_describe(node, "batch_norm", ints, 2, floats, 1, extra, 2);
}

/* The checked forward the batch norm ops share: y = batch_norm(x), then
 * ReLU over it in place when relu; *mean / *invstd receive the statistics
 * (the caller records them on its node, then releases them).  in_place: y is
 * x itself (a new reference), written over element by element; the kernels
 * read every statistic before they write, and each output element only from
 * the input element at its own index, so the bytes are those of a fresh y. */
static ie_status batch_norm_forward(const char *op, ie_tensor *x, ie_tensor *weight, ie_tensor *bias,
                                    ie_tensor *running_mean, ie_tensor *running_var,
                                    ie_tensor *num_batches_tracked, bool training, float momentum, float eps,
                                    bool relu, bool in_place, ie_tensor **y, ie_tensor **mean, ie_tensor **invstd,
                                    int64_t *sync_count) {
    IE_TRY(check_batch_norm(op, x, weight, bias, running_mean, running_var, num_batches_tracked, training,
                            momentum, eps));
    bool sync = training && ie_norm_sync_get();
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(op, x, sync ? IE_KERNEL_NORM_BATCH_APPLY : IE_KERNEL_NORM_BATCH_FORWARD, &ctx));
    if (relu && !sync) IE_TRY(ie_kernel_require(ctx, IE_KERNEL_POINTWISE_UNARY, op));
    ie_norm_shape sh = norm_shape(x, 0);
    int64_t n_mean = 2 * sh.c;
    *y = *mean = *invstd = NULL;
    *sync_count = 0;
    ie_status st = IE_OK;
    if (in_place)
        *y = ie_tensor_retain(x);
    else
        st = ie_tensor_empty_like(x, y);
    if (st == IE_OK) st = ie_tensor_empty_f32(1, &n_mean, x->device, mean);
    if (st == IE_OK) st = ie_tensor_empty_f32(1, &sh.c, x->device, invstd);
    if (st == IE_OK && sync) {
        st = sync_statistics(ie_norm_sync_get(), op, x, sh, running_mean, running_var, num_batches_tracked,
                             momentum, eps, *mean, *invstd, sync_count);
        if (st == IE_OK) st = ctx->backend->norm->batch_apply(ctx, x, sh, weight, bias, *mean, *invstd, relu, *y);
        relu = false; /* applied */
    } else if (st == IE_OK && relu && ctx->backend->norm->batch_forward_relu) {
        st = ctx->backend->norm->batch_forward_relu(ctx, x, sh, weight, bias, running_mean, running_var,
                                                    num_batches_tracked, training, momentum, eps, *y, *mean,
                                                    *invstd);
        relu = false; /* applied */
    } else if (st == IE_OK)
        st = ctx->backend->norm->batch_forward(ctx, x, sh, weight, bias, running_mean, running_var,
                                               num_batches_tracked, training, momentum, eps, *y, *mean, *invstd);
    if (st == IE_OK && relu) st = ctx->backend->pointwise->unary(ctx, IE_UNARY_RELU, *y, 0.0f, 0.0f, *y);
    if (st != IE_OK) {
        ie_tensor_release(*y);
        ie_tensor_release(*mean);
        ie_tensor_release(*invstd);
        *y = *mean = *invstd = NULL;
    }
    return st;
}

ie_status ie_batch_norm(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_tensor *running_mean,
                        ie_tensor *running_var, ie_tensor *num_batches_tracked, bool training,
                        float momentum, float eps, ie_tensor **out) {
    const char *op = "batch_norm";
    IE_TRY(ie_check_out(op, out));
    ie_tensor *y, *mean, *invstd;
    int64_t sync_count;
    IE_TRY(batch_norm_forward(op, x, weight, bias, running_mean, running_var, num_batches_tracked, training,
                              momentum, eps, false, false, &y, &mean, &invstd, &sync_count));
    ie_node *node = NULL;
    ie_status st = record(op, batch_norm_backward, x, weight, bias, mean, invstd, norm_shape(x, 0), y, &node);
    if (node) node->ints[4] = training, node->ints[5] = sync_count > 0, node->ints[6] = sync_count;
    if (st == IE_OK) st = describe_batch_norm(node, training, false, eps, running_mean, running_var);
    ie_tensor_release(mean);
    ie_tensor_release(invstd);
    if (st != IE_OK) {
        ie_tensor_release(y);
        return st;
    }
    *out = y;
    return IE_OK;
}

/* ---------------- batch norm + ReLU ----------------
 * relu(batch_norm(x)) as one node that keeps only x and the statistics: the
 * batch norm output is never kept, and the ReLU output is recomputed from x
 * wherever it is needed in backward (by this node's own backward, and by a
 * convolution that consumed it, through ie_node_save_or_recipe).  The
 * recomputation is the forward's own last pass (batch_apply), so every byte
 * equals what ie_batch_norm followed by ie_relu computes. */

/* saved: x (or its recipe), weight, mean, invstd, bias; ints: shape, training */
static ie_status bn_relu_apply(ie_node *node, const ie_tensor *x, bool relu, ie_tensor **out) {
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, x, IE_KERNEL_NORM_BATCH_APPLY, &ctx));
    IE_TRY(ie_tensor_empty_like(x, out));
    ie_status st = ctx->backend->norm->batch_apply(ctx, x, shape_from_ints(node), node->saved[1], node->saved[4],
                                                   node->saved[2], node->saved[3], relu, *out);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

static ie_status bn_relu_regenerate(ie_node *node, ie_tensor **out) {
    ie_tensor *x = NULL;
    bool fresh = false;
    *out = NULL;
    IE_TRY(ie_node_saved_data(node, 0, &x, &fresh));
    if (!fresh) {
        ie_status st = bn_relu_apply(node, x, true, out);
        ie_tensor_release(x);
        return st;
    }
    /* a recomputed input is ours: normalise it in place (elementwise) */
    ie_device_ctx *ctx;
    ie_status st = ie_kernel_ctx(node->op, x, IE_KERNEL_NORM_BATCH_APPLY, &ctx);
    if (st == IE_OK)
        st = ctx->backend->norm->batch_apply(ctx, x, shape_from_ints(node), node->saved[1], node->saved[4],
                                             node->saved[2], node->saved[3], true, x);
    if (st == IE_OK)
        *out = x;
    else
        ie_tensor_release(x);
    return st;
}

static ie_status batch_norm_relu_backward(ie_node *node, ie_tensor *g) {
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_NORM_BATCH_BACKWARD, &ctx));
    IE_TRY(ie_kernel_require(ctx, IE_KERNEL_POINTWISE_UNARY_BACKWARD, node->op));
    ie_tensor *x = NULL, *g_bn = NULL, *grads[3] = {NULL, NULL, NULL};
    ie_status st = ie_node_saved_data(node, 0, &x, NULL);
    if (st == IE_OK && !node->ints[5] && ctx->backend->norm->batch_relu_backward) {
        /* the backend masks g while it sums (the same bytes, two passes
         * fewer); x, g and the input gradient are held at once, as many
         * activations as the steps below hold at their peak */
        st = grad_buffers(node, grads);
        if (st == IE_OK)
            st = ctx->backend->norm->batch_relu_backward(ctx, x, g, shape_from_ints(node), node->saved[1],
                                                         node->saved[4], node->saved[2], node->saved[3],
                                                         node->ints[4] != 0, grads[0], grads[1], grads[2]);
        ie_tensor_release(x);
        if (st != IE_OK) {
            for (int i = 0; i < 3; i++) ie_tensor_release(grads[i]);
            return st;
        }
        return accumulate_and_release(node, grads);
    }
    /* ReLU's backward needs only where the batch norm output is positive; its
     * result goes over the batch norm output (element i reads only element
     * i), and the output gradient, not read again, is let go of at once:
     * the input gradient can then take its memory. */
    if (st == IE_OK) st = bn_relu_apply(node, x, false, &g_bn);
    if (st == IE_OK) st = ctx->backend->pointwise->unary_backward(ctx, IE_UNARY_RELU, g_bn, g, 0.0f, g_bn);
    ie_tensor_release(node->grad);
    node->grad = NULL; /* g with it */
    if (st == IE_OK) st = grad_buffers(node, grads);
    if (st == IE_OK && node->ints[5]) st = sync_backward(node, x, g_bn, grads);
    else if (st == IE_OK)
        st = ctx->backend->norm->batch_backward(ctx, x, g_bn, shape_from_ints(node), node->saved[1], node->saved[2],
                                                node->saved[3], node->ints[4] != 0, grads[0], grads[1], grads[2]);
    ie_tensor_release(x);
    ie_tensor_release(g_bn);
    if (st != IE_OK) {
        for (int i = 0; i < 3; i++) ie_tensor_release(grads[i]);
        return st;
    }
    return accumulate_and_release(node, grads);
}

ie_status ie_batch_norm_relu(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_tensor *running_mean,
                             ie_tensor *running_var, ie_tensor *num_batches_tracked, bool training, float momentum,
                             float eps, ie_tensor **out) {
    const char *op = "batch_norm_relu";
    IE_TRY(ie_check_out(op, out));
    ie_tensor *y, *mean, *invstd;
    int64_t sync_count;
    IE_TRY(batch_norm_forward(op, x, weight, bias, running_mean, running_var, num_batches_tracked, training,
                              momentum, eps, true, false, &y, &mean, &invstd, &sync_count));
    ie_node *node = NULL;
    ie_status st = record(op, batch_norm_relu_backward, x, weight, bias, mean, invstd, norm_shape(x, 0), y, &node);
    if (st == IE_OK && node) {
        node->ints[4] = training, node->ints[5] = sync_count > 0, node->ints[6] = sync_count;
        node->regenerate = bn_relu_regenerate;
        st = ie_node_save(node, 4, bias);
        /* a recomputable input (a residual sum) is kept as its recipe */
        if (st == IE_OK) st = ie_node_save_or_recipe(node, 0, x);
        if (st == IE_OK) st = describe_batch_norm(node, training, true, eps, running_mean, running_var);
    }
    ie_tensor_release(mean);
    ie_tensor_release(invstd);
    if (st != IE_OK) {
        ie_tensor_release(y);
        return st;
    }
    *out = y;
    return IE_OK;
}

/* Whether nothing but the caller can see x's values: its one reference is
 * the caller's, its storage is no other tensor's (no view, no saved handle of
 * an autograd node), and the result will not be differentiated. */
static bool sole_owner(ie_tensor *x, ie_tensor *weight, ie_tensor *bias) {
    ie_tensor *inputs[3] = {x, weight, bias};
    return x && atomic_load(&x->refcount) == 1 && x->storage && atomic_load(&x->storage->refcount) == 1 &&
           !ie_autograd_needed(inputs, 3);
}

ie_status ie_batch_norm_relu_consume(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_tensor *running_mean,
                                     ie_tensor *running_var, ie_tensor *num_batches_tracked, bool training,
                                     float momentum, float eps, ie_tensor **out) {
    const char *op = "batch_norm_relu_consume";
    ie_status st = ie_check_out(op, out);
    if (st != IE_OK || !sole_owner(x, weight, bias)) {
        if (st == IE_OK) st = ie_batch_norm_relu(x, weight, bias, running_mean, running_var, num_batches_tracked,
                                                 training, momentum, eps, out);
        ie_tensor_release(x);
        return st;
    }
    ie_tensor *y, *mean, *invstd;
    int64_t sync_count;
    st = batch_norm_forward(op, x, weight, bias, running_mean, running_var, num_batches_tracked, training, momentum,
                            eps, true, true, &y, &mean, &invstd, &sync_count);
    ie_tensor_release(x); /* y holds it now, or it is dropped on failure */
    if (st != IE_OK) return st;
    ie_tensor_release(mean);
    ie_tensor_release(invstd);
    *out = y;
    return IE_OK;
}

/* ---------------- group and instance norm ---------------- */

static ie_status group_norm_backward(ie_node *node, ie_tensor *g) {
    ie_tensor *grads[3];
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(node->op, g, IE_KERNEL_NORM_GROUP_BACKWARD, &ctx));
    IE_TRY(grad_buffers(node, grads));
    ie_status st = ctx->backend->norm->group_backward(ctx, node->saved[0], g, shape_from_ints(node), node->saved[1],
                                                      node->saved[2], node->saved[3], grads[0], grads[1], grads[2]);
    if (st != IE_OK) {
        for (int i = 0; i < 3; i++) ie_tensor_release(grads[i]);
        return st;
    }
    return accumulate_and_release(node, grads);
}

/* layer_dims > 0: the caller is ie_layer_norm over that many trailing
 * dimensions, and exporters are told so (the kernel's [rows, cols, 1] view
 * is not the op's meaning). */
static ie_status group_norm(const char *op, ie_tensor *x, ie_norm_shape sh, ie_tensor *weight,
                            ie_tensor *bias, float eps, int layer_dims, ie_tensor **out) {
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(op, x, IE_KERNEL_NORM_GROUP_FORWARD, &ctx));
    int64_t n_stats = sh.n * sh.groups, n_mean = 2 * n_stats;
    ie_tensor *y = NULL, *mean = NULL, *invstd = NULL;
    ie_status st = ie_tensor_empty_like(x, &y);
    if (st == IE_OK) st = ie_tensor_empty_f32(1, &n_mean, x->device, &mean);
    if (st == IE_OK) st = ie_tensor_empty_f32(1, &n_stats, x->device, &invstd);
    if (st == IE_OK) st = ctx->backend->norm->group_forward(ctx, x, sh, weight, bias, eps, y, mean, invstd);
    ie_node *node = NULL;
    if (st == IE_OK) st = record(op, group_norm_backward, x, weight, bias, mean, invstd, sh, y, &node);
    if (st == IE_OK) {
        const double feps = eps;
        const int64_t groups = sh.groups, dims = layer_dims;
        st = layer_dims ? ie_trace_describe(node, "layer_norm", &dims, 1, &feps, 1, NULL, 0)
                        : ie_trace_describe(node, "group_norm", &groups, 1, &feps, 1, NULL, 0);
    }
    ie_tensor_release(mean);
    ie_tensor_release(invstd);
    if (st != IE_OK) {
        ie_tensor_release(y);
        return st;
    }
    *out = y;
    return IE_OK;
}

ie_status ie_group_norm(ie_tensor *x, int groups, ie_tensor *weight, ie_tensor *bias, float eps,
                        ie_tensor **out) {
    const char *op = "group_norm";
    char d[96];
    IE_TRY(ie_check_out(op, out));
    IE_TRY(check_activation(op, x, 2, "[N, C, ...] with up to 3 spatial dimensions"));
    IE_TRY(check_per_channel(op, "weight", weight, x));
    IE_TRY(check_per_channel(op, "bias", bias, x));
    IE_TRY(check_eps(op, eps));
    if (groups < 1)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: groups must be >= 1, got %d", op, groups);
    if (x->shape[1] % groups != 0)
        return ie_error_set(IE_ERR_SHAPE, "%s: %d groups do not divide the %lld channels of input %s", op,
                            groups, (long long)x->shape[1], IE_DESCRIBE(x, d));
    return group_norm(op, x, norm_shape(x, groups), weight, bias, eps, 0, out);
}

ie_status ie_instance_norm(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, float eps, ie_tensor **out) {
    const char *op = "instance_norm";
    char d[96];
    IE_TRY(ie_check_out(op, out));
    IE_TRY(check_activation(op, x, 3, "[N, C, L], [N, C, H, W] or [N, C, D, H, W]"));
    IE_TRY(check_per_channel(op, "weight", weight, x));
    IE_TRY(check_per_channel(op, "bias", bias, x));
    IE_TRY(check_eps(op, eps));
    if (x->numel / (x->shape[0] * x->shape[1]) < 2)
        return ie_error_set(IE_ERR_SHAPE, "%s: needs more than 1 spatial element per channel, input is %s",
                            op, IE_DESCRIBE(x, d));
    return group_norm(op, x, norm_shape(x, x->shape[1]), weight, bias, eps, 0, out);
}

/* Layer norm is group norm of x viewed as [rows, cols, 1] with one group:
 * the statistics of each row over its cols elements (in double, as for
 * batch norm), the affine map per element of the row.  So it shares the
 * group-norm kernels, their fixed order and their conformance cases. */
ie_status ie_layer_norm(ie_tensor *x, int dims, ie_tensor *weight, ie_tensor *bias, float eps, ie_tensor **out) {
    const char *op = "layer_norm";
    char d[96], dw[96];
    IE_TRY(ie_check_out(op, out));
    IE_TRY(ie_check_f32(op, "input", x, -1));
    if (dims < 1 || dims > x->ndim)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: dims must be 1 to %d (the trailing dimensions of input %s), got %d",
                            op, x->ndim, IE_DESCRIBE(x, d), dims);
    if (x->numel == 0)
        return ie_error_set(IE_ERR_SHAPE, "%s: input %s has no elements", op, IE_DESCRIBE(x, d));
    IE_TRY(check_eps(op, eps));
    int64_t cols = 1;
    for (int i = x->ndim - dims; i < x->ndim; i++) cols *= x->shape[i];
    ie_tensor *affine[2] = {weight, bias};
    for (int k = 0; k < 2; k++) {
        ie_tensor *t = affine[k];
        if (!t) continue;
        const char *what = k ? "bias" : "weight";
        IE_TRY(ie_check_f32(op, what, t, -1));
        IE_TRY(ie_check_same_device(op, x, t));
        bool same = t->ndim == dims;
        for (int i = 0; same && i < dims; i++) same = t->shape[i] == x->shape[x->ndim - dims + i];
        if (!same)
            return ie_error_set(IE_ERR_SHAPE, "%s: %s %s must have the shape of the last %d dimension(s) of input %s",
                                op, what, IE_DESCRIBE(t, dw), dims, IE_DESCRIBE(x, d));
    }
    ie_norm_shape sh = {x->numel / cols, cols, 1, 1};
    return group_norm(op, x, sh, weight, bias, eps, dims, out);
}
