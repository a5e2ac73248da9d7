/* core/ops - convolutions: conv2d/3d and their transposes, with backward.
 *
 * Each op turns its arguments into one regular-convolution geometry (see
 * core/backend/conv_kernels.h) and runs forward, backward_data or
 * backward_weight of it; 2D ops are 3D ones with depth 1. */
#include <stdio.h>

#include "core/backend/conv_kernels.h"
#include "core/ops/op_util.h"
#include "core/autograd/trace.h"

typedef struct conv_spec {
    const char *name;
    int spatial;     /* 2 or 3 */
    bool transposed;
} conv_spec;

/* node->ints layout */
enum { G_BATCH, G_CIN, G_COUT, G_IN, G_OUT = G_IN + 3, G_K = G_OUT + 3, G_S = G_K + 3, G_P = G_S + 3,
       G_D = G_P + 3, G_TRANSPOSED = G_D + 3, G_HAS_BIAS };

static void geom_store(const ie_conv_geom *g, bool transposed, bool has_bias, int64_t *ints) {
    ints[G_BATCH] = g->batch;
    ints[G_CIN] = g->cin;
    ints[G_COUT] = g->cout;
    for (int d = 0; d < 3; d++) {
        ints[G_IN + d] = g->in[d];
        ints[G_OUT + d] = g->out[d];
        ints[G_K + d] = g->kernel[d];
        ints[G_S + d] = g->stride[d];
        ints[G_P + d] = g->pad[d];
        ints[G_D + d] = g->dil[d];
    }
    ints[G_TRANSPOSED] = transposed;
    ints[G_HAS_BIAS] = has_bias;
}

static ie_conv_geom geom_load(const int64_t *ints) {
    ie_conv_geom g = {.batch = ints[G_BATCH], .cin = ints[G_CIN], .cout = ints[G_COUT]};
    for (int d = 0; d < 3; d++) {
        g.in[d] = ints[G_IN + d];
        g.out[d] = ints[G_OUT + d];
        g.kernel[d] = (int)ints[G_K + d];
        g.stride[d] = (int)ints[G_S + d];
        g.pad[d] = (int)ints[G_P + d];
        g.dil[d] = (int)ints[G_D + d];
    }
    return g;
}

/* "3x3x3" or "3x3" of the last `n` of three values. */
static const char *triple(char *buf, size_t size, const int *v, int n) {
    if (n == 3)
        snprintf(buf, size, "%dx%dx%d", v[0], v[1], v[2]);
    else
        snprintf(buf, size, "%dx%d", v[1], v[2]);
    return buf;
}

/* Reads opts into 3D form (2D ops use entries 0 and 1 for H and W). */
static ie_status read_opts(const conv_spec *sp, ie_conv_opts o, int stride[3], int pad[3], int dil[3],
                           int opad[3]) {
    for (int d = 0; d < 3; d++) {
        stride[d] = 1;
        pad[d] = 0;
        dil[d] = 1;
        opad[d] = 0;
    }
    for (int i = 0; i < sp->spatial; i++) {
        int d = 3 - sp->spatial + i;
        if (o.stride[i] < 0 || o.padding[i] < 0 || o.dilation[i] < 0 || o.output_padding[i] < 0)
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "%s: stride, padding, dilation and output_padding must not be negative "
                                "(got stride %d, padding %d, dilation %d, output_padding %d in dimension %d)",
                                sp->name, o.stride[i], o.padding[i], o.dilation[i], o.output_padding[i], i);
        stride[d] = o.stride[i] ? o.stride[i] : 1;
        pad[d] = o.padding[i];
        dil[d] = o.dilation[i] ? o.dilation[i] : 1;
        opad[d] = o.output_padding[i];
        if (!sp->transposed && opad[d] != 0)
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "%s: output_padding applies to transposed convolutions only (got %d); leave it 0",
                                sp->name, opad[d]);
        if (sp->transposed && opad[d] >= stride[d] && opad[d] >= dil[d])
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "%s: output_padding %d must be smaller than the stride (%d) or the dilation (%d)",
                                sp->name, opad[d], stride[d], dil[d]);
        if (stride[d] > (1 << 20) || pad[d] > (1 << 20) || dil[d] > (1 << 20))
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: stride %d, padding %d or dilation %d is implausibly large",
                                sp->name, stride[d], pad[d], dil[d]);
    }
    return IE_OK;
}

static ie_status check_args(const conv_spec *sp, ie_tensor *x, ie_tensor *w, ie_tensor *bias, ie_tensor **out) {
    char dx[96], dw[96], db[96];
    const int nd = sp->spatial + 2;
    IE_TRY(ie_check_out(sp->name, out));
    IE_TRY(ie_check_f32(sp->name, "input", x, nd));
    IE_TRY(ie_check_f32(sp->name, "weight", w, nd));
    IE_TRY(ie_check_same_device(sp->name, x, w));
    if (bias) {
        IE_TRY(ie_check_f32(sp->name, "bias", bias, 1));
        IE_TRY(ie_check_same_device(sp->name, x, bias));
    }
    for (int i = 0; i < nd; i++) {
        if (w->shape[i] < 1)
            return ie_error_set(IE_ERR_SHAPE, "%s: weight %s has an empty dimension", sp->name, IE_DESCRIBE(w, dw));
        if (i > 0 && x->shape[i] < 1)
            return ie_error_set(IE_ERR_SHAPE, "%s: input %s has an empty dimension", sp->name, IE_DESCRIBE(x, dx));
    }
    /* conv weight [cout, cin, k...]; transposed weight [cin, cout, k...] */
    int64_t w_in = sp->transposed ? w->shape[0] : w->shape[1];
    int64_t w_out = sp->transposed ? w->shape[1] : w->shape[0];
    if (x->shape[1] != w_in)
        return ie_error_set(IE_ERR_SHAPE, "%s: weight %s expects %lld input channels, input is %s", sp->name,
                            IE_DESCRIBE(w, dw), (long long)w_in, IE_DESCRIBE(x, dx));
    if (bias && bias->shape[0] != w_out)
        return ie_error_set(IE_ERR_SHAPE, "%s: bias %s must have one value per output channel (%lld, from weight %s)",
                            sp->name, IE_DESCRIBE(bias, db), (long long)w_out, IE_DESCRIBE(w, dw));
    return IE_OK;
}

/* Builds the regular-conv geometry and the op's output shape. */
static ie_status make_geom(const conv_spec *sp, const ie_tensor *x, const ie_tensor *w, ie_conv_opts opts,
                           ie_conv_geom *g, int64_t *out_shape) {
    int stride[3], pad[3], dil[3], opad[3], k[3] = {1, 1, 1};
    int64_t sz[3] = {1, 1, 1};
    IE_TRY(read_opts(sp, opts, stride, pad, dil, opad));
    for (int i = 0; i < sp->spatial; i++) {
        int d = 3 - sp->spatial + i;
        if (w->shape[2 + i] > (1 << 20))
            return ie_error_set(IE_ERR_SHAPE, "%s: kernel size %lld is implausibly large", sp->name,
                                (long long)w->shape[2 + i]);
        k[d] = (int)w->shape[2 + i];
        sz[d] = x->shape[2 + i];
    }
    *g = (ie_conv_geom){.batch = x->shape[0]};
    int64_t res[3];
    for (int d = 0; d < 3; d++) {
        int64_t span = (int64_t)dil[d] * (k[d] - 1) + 1; /* dilated kernel extent */
        if (!sp->transposed) {
            int64_t padded = sz[d] + 2 * (int64_t)pad[d];
            if (padded < span) {
                char a[48], b[48], c[48], e[48], dx[96];
                int padded3[3];
                for (int q = 0; q < 3; q++) padded3[q] = (int)(sz[q] + 2 * (int64_t)pad[q]);
                return ie_error_set(IE_ERR_SHAPE,
                                    "%s: kernel %s (dilation %s) is larger than the padded input %s "
                                    "(input %s, padding %s); use a smaller kernel or more padding",
                                    sp->name, triple(a, sizeof a, k, sp->spatial), triple(b, sizeof b, dil, sp->spatial),
                                    triple(c, sizeof c, padded3, sp->spatial), IE_DESCRIBE(x, dx),
                                    triple(e, sizeof e, pad, sp->spatial));
            }
            res[d] = (padded - span) / stride[d] + 1;
        } else {
            res[d] = (sz[d] - 1) * stride[d] - 2 * (int64_t)pad[d] + span + opad[d];
            if (res[d] < 1) {
                char dx[96];
                return ie_error_set(IE_ERR_SHAPE,
                                    "%s: input %s with padding %d gives an empty output in dimension %d; use "
                                    "less padding",
                                    sp->name, IE_DESCRIBE(x, dx), pad[d], d - (3 - sp->spatial));
            }
        }
        g->kernel[d] = k[d];
        g->stride[d] = stride[d];
        g->pad[d] = pad[d];
        g->dil[d] = dil[d];
        if (sp->transposed) {
            g->in[d] = res[d]; /* the regular conv runs from the transposed output ... */
            g->out[d] = sz[d]; /* ... to the transposed input */
        } else {
            g->in[d] = sz[d];
            g->out[d] = res[d];
        }
    }
    /* conv weight [cout, cin, k...]; a transposed weight [cin_t, cout_t, k...]
     * is the weight of the regular conv from cout_t to cin_t channels. */
    g->cin = w->shape[1];
    g->cout = w->shape[0];
    out_shape[0] = x->shape[0];
    out_shape[1] = sp->transposed ? w->shape[1] : w->shape[0];
    for (int i = 0; i < sp->spatial; i++) out_shape[2 + i] = res[3 - sp->spatial + i];
    return IE_OK;
}

static ie_status conv_backward(ie_node *node, ie_tensor *grad) {
    ie_conv_geom g = geom_load(node->ints);
    bool transposed = node->ints[G_TRANSPOSED];
    ie_tensor *x = node->inputs[0], *w = node->inputs[1], *b = node->ints[G_HAS_BIAS] ? node->inputs[2] : NULL;
    ie_tensor *ws = node->saved[1];
    bool want_b = b && ie_autograd_wants(b);
    ie_device_ctx *ctx;
    IE_TRY(ie_device_ctx_for(node->op, grad, &ctx));
    /* Every kernel this backward needs is checked before any gradient is
     * accumulated, so a refusal leaves none half done. */
    if (ie_autograd_wants(x))
        IE_TRY(ie_kernel_require(ctx, transposed ? IE_KERNEL_CONV_FORWARD : IE_KERNEL_CONV_BACKWARD_DATA, node->op));
    if (ie_autograd_wants(w)) IE_TRY(ie_kernel_require(ctx, IE_KERNEL_CONV_BACKWARD_WEIGHT, node->op));
    if (want_b) IE_TRY(ie_kernel_require(ctx, IE_KERNEL_CONV_BIAS_GRAD, node->op));
    const struct ie_conv_kernels *k = ctx->backend->conv;
    ie_status st = IE_OK;
    ie_tensor *gx = NULL, *gw = NULL, *gb = NULL;
    if (ie_autograd_wants(x)) {
        st = ie_tensor_empty_like(x, &gx);
        if (st == IE_OK)
            st = transposed ? k->forward(ctx, &g, grad, ws, NULL, gx) : k->backward_data(ctx, &g, grad, ws, NULL, gx);
        if (st == IE_OK) st = ie_autograd_accumulate(x, gx);
        ie_tensor_release(gx); /* the input's gradient holds it now, or a sum that includes it */
        gx = NULL;
    }
    if (st == IE_OK && ie_autograd_wants(w)) {
        ie_tensor *xs = NULL; /* the input, recomputed when only its recipe was saved */
        st = ie_node_saved_data(node, 0, &xs, NULL);
        if (st == IE_OK) st = ie_tensor_empty_like(w, &gw);
        if (st == IE_OK)
            st = transposed ? k->backward_weight(ctx, &g, grad, xs, gw) : k->backward_weight(ctx, &g, xs, grad, gw);
        ie_tensor_release(xs);
        if (st == IE_OK) st = ie_autograd_accumulate(w, gw);
    }
    if (st == IE_OK && want_b) {
        st = ie_tensor_empty_like(b, &gb);
        int64_t channels = grad->shape[1], inner = 1;
        for (int i = 2; i < grad->ndim; i++) inner *= grad->shape[i];
        if (st == IE_OK) st = k->bias_grad(ctx, grad, grad->shape[0], channels, inner, gb);
        if (st == IE_OK) st = ie_autograd_accumulate(b, gb);
    }
    ie_tensor_release(gx);
    ie_tensor_release(gw);
    ie_tensor_release(gb);
    return st;
}

static ie_status conv_op(const conv_spec *sp, ie_tensor *x, ie_tensor *w, ie_tensor *bias, ie_conv_opts opts,
                         ie_tensor **out) {
    IE_TRY(check_args(sp, x, w, bias, out));
    ie_conv_geom g;
    int64_t shape[5];
    IE_TRY(make_geom(sp, x, w, opts, &g, shape));
    ie_device_ctx *ctx;
    IE_TRY(ie_kernel_ctx(sp->name, x, sp->transposed ? IE_KERNEL_CONV_BACKWARD_DATA : IE_KERNEL_CONV_FORWARD, &ctx));
    IE_TRY(ie_tensor_empty(IE_F32, sp->spatial + 2, shape, x->device, out));
    ie_status st = sp->transposed ? ctx->backend->conv->backward_data(ctx, &g, x, w, bias, *out)
                                  : ctx->backend->conv->forward(ctx, &g, x, w, bias, *out);
    if (st != IE_OK) {
        ie_error_wrap(st, "%s", sp->name);
        goto fail;
    }
    ie_tensor *inputs[3] = {x, w, bias};
    int n_inputs = bias ? 3 : 2;
    if (ie_autograd_needed(inputs, n_inputs)) {
        ie_node *node;
        st = ie_autograd_record(*out, sp->name, conv_backward, inputs, n_inputs, &node);
        if (st == IE_OK) st = ie_node_save_or_recipe(node, 0, x);
        if (st == IE_OK) st = ie_node_save(node, 1, w);
        if (st == IE_OK) st = ie_node_drop_input_data(node);
        if (st != IE_OK) goto fail;
        geom_store(&g, sp->transposed, bias != NULL, node->ints);
        /* For a trace: the call's own arguments, defaults filled in. */
        int64_t d[2 + 12] = {sp->spatial, sp->transposed};
        for (int i = 0; i < 3; i++) {
            d[2 + i] = opts.stride[i] ? opts.stride[i] : 1;
            d[5 + i] = opts.padding[i];
            d[8 + i] = opts.dilation[i] ? opts.dilation[i] : 1;
            d[11 + i] = opts.output_padding[i];
        }
        st = ie_trace_describe(node, "conv", d, 14, NULL, 0, NULL, 0);
        if (st != IE_OK) goto fail;
    }
    return IE_OK;
fail:
    ie_tensor_release(*out);
    *out = NULL;
    return st;
}

ie_status ie_conv3d(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_conv_opts opts, ie_tensor **out) {
    static const conv_spec sp = {"conv3d", 3, false};
    return conv_op(&sp, x, weight, bias, opts, out);
}

ie_status ie_conv2d(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_conv_opts opts, ie_tensor **out) {
    static const conv_spec sp = {"conv2d", 2, false};
    return conv_op(&sp, x, weight, bias, opts, out);
}

ie_status ie_conv_transpose3d(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_conv_opts opts,
                              ie_tensor **out) {
    static const conv_spec sp = {"conv_transpose3d", 3, true};
    return conv_op(&sp, x, weight, bias, opts, out);
}

ie_status ie_conv_transpose2d(ie_tensor *x, ie_tensor *weight, ie_tensor *bias, ie_conv_opts opts,
                              ie_tensor **out) {
    static const conv_spec sp = {"conv_transpose2d", 2, true};
    return conv_op(&sp, x, weight, bias, opts, out);
}
