/* core/export - each traced op as ONNX (opset 17) nodes.
 *
 * The descriptions are those of core/autograd/trace.h, filled by the op
 * front ends in core/ops.  Each mapping reproduces the op's definition in
 * ops.h (PyTorch's semantics), not its kernels: results agree to float
 * rounding, not bit for bit (docs/export.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/trace.h"
#include "core/export/onnx_graph.h"
#include "core/export/onnx_writer.h"

typedef char name_t[IE_ONNX_NAME];

static void node1(ie_onnx_builder *b, const char *op, const char *in0, const char *out, ie_pb *attrs) {
    const char *in[1] = {in0};
    char label[IE_ONNX_NAME + 32];
    snprintf(label, sizeof label, "%s_%s", op, out);
    ie_onnx_node(&b->graph, op, label, in, 1, out, attrs);
}

static void nodeN(ie_onnx_builder *b, const char *op, const char *const *in, int n, const char *out, ie_pb *attrs) {
    char label[IE_ONNX_NAME + 32];
    snprintf(label, sizeof label, "%s_%s", op, out);
    ie_onnx_node(&b->graph, op, label, in, n, out, attrs);
}

static void const_filled(ie_onnx_builder *b, int64_t n, float value, name_t name) {
    float buf[4096];
    if (n > 4096) n = 4096; /* callers pass channel counts */
    for (int64_t i = 0; i < n; i++) buf[i] = value;
    ie_onnx_const_f32(b, 1, &n, buf, name);
}

static ie_status refuse(const char *model, const ie_node *node, const char *why) {
    return ie_error_set(IE_ERR_UNSUPPORTED, "export: model %s: op '%s' cannot be exported to ONNX: %s", model,
                        node->op, why);
}

static ie_status conv(ie_onnx_builder *b, const ie_node *node, const ie_op_desc *d, name_t *names, const char *out) {
    int dims = (int)d->ints[0];
    bool transposed = d->ints[1] != 0;
    const ie_tensor *w = node->inputs[1];
    int64_t kernel[3], strides[3], pads[6], dil[3], outpad[3];
    for (int i = 0; i < dims; i++) {
        kernel[i] = w->shape[2 + i];
        strides[i] = d->ints[2 + i];
        pads[i] = pads[dims + i] = d->ints[5 + i];
        dil[i] = d->ints[8 + i];
        outpad[i] = d->ints[11 + i];
    }
    ie_pb attrs = {0};
    ie_onnx_attr_ints(&attrs, "kernel_shape", kernel, dims);
    ie_onnx_attr_ints(&attrs, "strides", strides, dims);
    ie_onnx_attr_ints(&attrs, "pads", pads, 2 * dims);
    ie_onnx_attr_ints(&attrs, "dilations", dil, dims);
    if (transposed) ie_onnx_attr_ints(&attrs, "output_padding", outpad, dims);
    const char *in[3] = {names[0], names[1], names[2]};
    nodeN(b, transposed ? "ConvTranspose" : "Conv", in, node->n_inputs, out, &attrs);
    return IE_OK;
}

static ie_status batch_norm(ie_onnx_builder *b, const char *model, const ie_node *node, const ie_op_desc *d,
                            name_t *names, const char *out) {
    if (d->ints[0]) return refuse(model, node, "it ran in training mode (the trace must run in evaluation mode)");
    const ie_tensor *x = node->inputs[0];
    name_t scale, bias, mean, var;
    /* the running statistics are parameters (buffers) of the model */
    if (!d->extra[0] || !d->extra[1]) return refuse(model, node, "it has no running statistics");
    snprintf(scale, sizeof scale, "%s", names[1]);
    snprintf(bias, sizeof bias, "%s", node->n_inputs > 2 ? names[2] : "");
    if (!node->inputs[1]) const_filled(b, x->shape[1], 1.0f, scale);
    if (node->n_inputs < 3 || !node->inputs[2]) const_filled(b, x->shape[1], 0.0f, bias);
    snprintf(mean, sizeof mean, "%s", names[IE_ONNX_EXTRA0]);
    snprintf(var, sizeof var, "%s", names[IE_ONNX_EXTRA0 + 1]);
    ie_pb attrs = {0};
    ie_onnx_attr_float(&attrs, "epsilon", (float)d->floats[0]);
    const char *in[5] = {names[0], scale, bias, mean, var};
    bool relu = d->ints[1] != 0;
    name_t normed;
    if (relu) ie_onnx_fresh(b, normed);
    nodeN(b, "BatchNormalization", in, 5, relu ? normed : out, &attrs);
    if (relu) node1(b, "Relu", normed, out, NULL);
    return IE_OK;
}

/* Group norm = instance norm over [N, G, rest], then the per-channel affine. */
static ie_status group_norm(ie_onnx_builder *b, const ie_node *node, const ie_op_desc *d, name_t *names,
                            const char *out) {
    const ie_tensor *x = node->inputs[0];
    int64_t groups = d->ints[0], c = x->shape[1];
    ie_pb attrs = {0};
    ie_onnx_attr_float(&attrs, "epsilon", (float)d->floats[0]);
    bool has_w = node->n_inputs > 1 && node->inputs[1], has_b = node->n_inputs > 2 && node->inputs[2];
    name_t ones, zeros, shape3, grouped, normed, back, chan, wv, bv, scaled;
    if (groups == c) { /* instance norm: the affine goes into the op */
        if (!has_w) const_filled(b, c, 1.0f, ones);
        if (!has_b) const_filled(b, c, 0.0f, zeros);
        const char *in[3] = {names[0], has_w ? names[1] : ones, has_b ? names[2] : zeros};
        nodeN(b, "InstanceNormalization", in, 3, out, &attrs);
        return IE_OK;
    }
    const int64_t s3[3] = {x->shape[0], groups, -1};
    ie_onnx_const_i64(b, 3, s3, shape3);
    ie_onnx_fresh(b, grouped);
    const char *r1[2] = {names[0], shape3};
    nodeN(b, "Reshape", r1, 2, grouped, NULL);
    const_filled(b, groups, 1.0f, ones);
    const_filled(b, groups, 0.0f, zeros);
    ie_onnx_fresh(b, normed);
    const char *in[3] = {grouped, ones, zeros};
    nodeN(b, "InstanceNormalization", in, 3, normed, &attrs);
    int64_t xs[IE_MAX_DIMS];
    memcpy(xs, x->shape, sizeof xs);
    name_t xshape;
    ie_onnx_const_i64(b, x->ndim, xs, xshape);
    const char *r2[2] = {normed, xshape};
    if (!has_w && !has_b) {
        nodeN(b, "Reshape", r2, 2, out, NULL);
        return IE_OK;
    }
    ie_onnx_fresh(b, back);
    nodeN(b, "Reshape", r2, 2, back, NULL);
    int64_t cs[IE_MAX_DIMS] = {c};
    for (int i = 1; i < x->ndim - 1; i++) cs[i] = 1;
    ie_onnx_const_i64(b, x->ndim - 1, cs, chan);
    const char *cur = back;
    if (has_w) {
        ie_onnx_fresh(b, wv);
        const char *rw[2] = {names[1], chan};
        nodeN(b, "Reshape", rw, 2, wv, NULL);
        if (has_b) ie_onnx_fresh(b, scaled);
        const char *m[2] = {back, wv};
        nodeN(b, "Mul", m, 2, has_b ? scaled : out, NULL);
        cur = scaled;
    }
    if (has_b) {
        ie_onnx_fresh(b, bv);
        const char *rb[2] = {names[2], chan};
        nodeN(b, "Reshape", rb, 2, bv, NULL);
        const char *a[2] = {cur, bv};
        nodeN(b, "Add", a, 2, out, NULL);
    }
    return IE_OK;
}

/* add/sub/mul: b has a's shape, one element, or one value per channel. */
static ie_status binary(ie_onnx_builder *b, const ie_node *node, const char *op, name_t *names, const char *out) {
    const ie_tensor *x = node->inputs[0], *y = node->inputs[1];
    const char *in[2] = {names[0], names[1]};
    name_t shape, reshaped;
    if (y->ndim != x->ndim && ie_tensor_numel(y) != 1) { /* [C] -> [C, 1, ...] against [N, C, ...] */
        int64_t cs[IE_MAX_DIMS] = {y->shape[0]};
        for (int i = 1; i < x->ndim - 1; i++) cs[i] = 1;
        ie_onnx_const_i64(b, x->ndim - 1, cs, shape);
        ie_onnx_fresh(b, reshaped);
        const char *r[2] = {names[1], shape};
        nodeN(b, "Reshape", r, 2, reshaped, NULL);
        in[1] = reshaped;
    }
    nodeN(b, op, in, 2, out, NULL);
    return IE_OK;
}

static ie_status scalar_affine(ie_onnx_builder *b, const ie_node *node, bool add, const ie_op_desc *d, name_t *names,
                               const char *out) {
    (void)node;
    float v = (float)(add ? d->floats[1] : d->floats[0]);
    name_t c;
    ie_onnx_const_f32(b, 0, NULL, &v, c);
    const char *in[2] = {names[0], c};
    nodeN(b, add ? "Add" : "Mul", in, 2, out, NULL);
    return IE_OK;
}

static ie_status pool(ie_onnx_builder *b, bool max, const ie_op_desc *d, name_t *names, const char *out) {
    int dims = (int)d->ints[0];
    int64_t pads[6];
    for (int i = 0; i < dims; i++) pads[i] = pads[dims + i] = d->ints[1 + 2 * dims + i];
    ie_pb attrs = {0};
    ie_onnx_attr_ints(&attrs, "kernel_shape", d->ints + 1, dims);
    ie_onnx_attr_ints(&attrs, "strides", d->ints + 1 + dims, dims);
    ie_onnx_attr_ints(&attrs, "pads", pads, 2 * dims);
    if (!max) ie_onnx_attr_int(&attrs, "count_include_pad", 1);
    node1(b, max ? "MaxPool" : "AveragePool", names[0], out, &attrs);
    return IE_OK;
}

static ie_status upsample(ie_onnx_builder *b, const ie_op_desc *d, name_t *names, int ndim, const int64_t *shape,
                          const char *out) {
    bool linear = d->ints[0] == 1, align = d->ints[1] != 0;
    name_t sizes;
    ie_onnx_const_i64(b, ndim, shape, sizes);
    ie_pb attrs = {0};
    ie_onnx_attr_string(&attrs, "mode", linear ? "linear" : "nearest");
    /* torch: nearest is "asymmetric" with floor; linear uses half pixels
     * (align_corners=False, with sizes > 1) or aligned corners */
    ie_onnx_attr_string(&attrs, "coordinate_transformation_mode",
                        !linear ? "asymmetric" : align ? "align_corners" : "half_pixel");
    if (!linear) ie_onnx_attr_string(&attrs, "nearest_mode", "floor");
    const char *in[4] = {names[0], "", "", sizes};
    nodeN(b, "Resize", in, 4, out, &attrs);
    return IE_OK;
}

/* Crop (Slice) and edge padding (Pad "edge") from the window's offsets. */
static ie_status window(ie_onnx_builder *b, const char *model, const ie_node *node, const ie_op_desc *d, name_t *names,
                        const int64_t *shape, const char *out) {
    const ie_tensor *x = node->inputs[0];
    int64_t starts[3], ends[3], axes[3] = {2, 3, 4}, pads[10] = {0};
    bool crop = false, pad = false;
    for (int i = 0; i < 3; i++) {
        int64_t off = d->ints[i], size = shape[2 + i], n = x->shape[2 + i];
        starts[i] = off > 0 ? off : 0;
        ends[i] = off + size < n ? off + size : n;
        if (ends[i] <= starts[i]) return refuse(model, node, "a window entirely outside its input");
        pads[2 + i] = off < 0 ? -off : 0;
        pads[7 + i] = off + size > n ? off + size - n : 0;
        crop = crop || starts[i] > 0 || ends[i] < n;
        pad = pad || pads[2 + i] || pads[7 + i];
    }
    const char *cur = names[0];
    name_t sliced, cs, ce, ca, cp;
    if (crop) {
        ie_onnx_const_i64(b, 3, starts, cs);
        ie_onnx_const_i64(b, 3, ends, ce);
        ie_onnx_const_i64(b, 3, axes, ca);
        if (pad) ie_onnx_fresh(b, sliced);
        const char *in[4] = {cur, cs, ce, ca};
        nodeN(b, "Slice", in, 4, pad ? sliced : out, NULL);
        cur = sliced;
    }
    if (pad) {
        ie_onnx_const_i64(b, 10, pads, cp);
        ie_pb attrs = {0};
        ie_onnx_attr_string(&attrs, "mode", "edge");
        const char *in[2] = {cur, cp};
        nodeN(b, "Pad", in, 2, out, &attrs);
    }
    if (!crop && !pad) node1(b, "Identity", cur, out, NULL);
    return IE_OK;
}

/* A scalar float constant. */
static void scalar(ie_onnx_builder *b, float v, name_t name) { ie_onnx_const_f32(b, 0, NULL, &v, name); }

/* out = in0 <op> in1, into a fresh name unless out is given. */
static const char *binop(ie_onnx_builder *b, const char *op, const char *in0, const char *in1, const char *out,
                         name_t fresh) {
    const char *in[2] = {in0, in1};
    if (!out) {
        ie_onnx_fresh(b, fresh);
        out = fresh;
    }
    nodeN(b, op, in, 2, out, NULL);
    return out;
}

/* GELU as ops.h defines it and the CPU kernel computes it:
 * exact 0.5 x (1 + erf(x / sqrt 2)); tanh form
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).  ONNX has Gelu only from
 * opset 20, so it is written out (as torch.onnx does at opset 17). */
static ie_status gelu(ie_onnx_builder *b, bool tanh_form, name_t *names, const char *out) {
    const char *x = names[0];
    name_t c, k, cx, cxx, cube, inner, arg, f, one, half, onef, halfx, unused;
    if (!tanh_form) {
        scalar(b, 0.70710678118654752440f, c);
        binop(b, "Mul", x, c, NULL, arg);
    } else { /* in the kernel's order: sqrt(2/pi) * (x + ((0.044715 x) x) x) */
        scalar(b, 0.044715f, k);
        scalar(b, 0.79788456080286535588f, c);
        binop(b, "Mul", k, x, NULL, cx);
        binop(b, "Mul", cx, x, NULL, cxx);
        binop(b, "Mul", cxx, x, NULL, cube);
        binop(b, "Add", x, cube, NULL, inner);
        binop(b, "Mul", c, inner, NULL, arg);
    }
    ie_onnx_fresh(b, f);
    node1(b, tanh_form ? "Tanh" : "Erf", arg, f, NULL);
    scalar(b, 1.0f, one);
    scalar(b, 0.5f, half);
    binop(b, "Add", one, f, NULL, onef);
    binop(b, "Mul", half, x, NULL, halfx);
    binop(b, "Mul", halfx, onef, out, unused); /* (0.5 x) (1 + f), as the kernel */
    return IE_OK;
}

/* Layer norm over the last `dims` dimensions: LayerNormalization (opset 17),
 * axis -dims; a missing weight or bias is ones or zeros of that shape. */
static ie_status layer_norm(ie_onnx_builder *b, const ie_node *node, const ie_op_desc *d, name_t *names,
                            const char *out) {
    const ie_tensor *x = node->inputs[0];
    int dims = (int)d->ints[0];
    int64_t shape[IE_MAX_DIMS], n = 1;
    for (int i = 0; i < dims; i++) n *= shape[i] = x->shape[x->ndim - dims + i];
    name_t fill[2];
    const char *in[3] = {names[0], names[1], names[2]};
    for (int k = 0; k < 2; k++) {
        if (node->n_inputs > 1 + k && node->inputs[1 + k]) continue;
        float *v = malloc((size_t)n * sizeof *v);
        if (!v) return ie_error_set(IE_ERR_NOMEM, "export: out of memory writing a layer norm");
        for (int64_t i = 0; i < n; i++) v[i] = k ? 0.0f : 1.0f;
        ie_onnx_const_f32(b, dims, shape, v, fill[k]);
        free(v);
        in[1 + k] = fill[k];
    }
    ie_pb attrs = {0};
    ie_onnx_attr_int(&attrs, "axis", -dims);
    ie_onnx_attr_float(&attrs, "epsilon", (float)d->floats[0]);
    nodeN(b, "LayerNormalization", in, 3, out, &attrs);
    return IE_OK;
}

/* Scaled-dot-product attention written out: softmax(q k^T * scale [+ causal
 * mask]) v, with q [..., Lq, d], k and v [..., Lk, d].  The mask adds -inf
 * where key j > query i, so those weights are exactly 0 after the softmax,
 * as in the fused kernel, which skips them. */
static ie_status attention(ie_onnx_builder *b, const ie_node *node, const ie_op_desc *d, name_t *names,
                           const char *out) {
    const ie_tensor *q = node->inputs[0], *k = node->inputs[1];
    const int r = q->ndim;
    const int64_t lq = q->shape[r - 2], lk = k->shape[r - 2];
    int64_t perm[IE_MAX_DIMS];
    for (int i = 0; i < r; i++) perm[i] = i;
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    ie_pb tattrs = {0};
    ie_onnx_attr_ints(&tattrs, "perm", perm, r);
    name_t kt, scores, sc, scaled, masked, mask, weights, t1;
    ie_onnx_fresh(b, kt);
    node1(b, "Transpose", names[1], kt, &tattrs);
    binop(b, "MatMul", names[0], kt, NULL, scores);
    scalar(b, (float)d->floats[0], sc);
    const char *logits = binop(b, "Mul", scores, sc, NULL, scaled);
    if (d->ints[0]) {
        float *m = malloc((size_t)(lq * lk) * sizeof *m);
        if (!m) return ie_error_set(IE_ERR_NOMEM, "export: out of memory writing an attention mask");
        for (int64_t i = 0; i < lq; i++)
            for (int64_t j = 0; j < lk; j++) m[i * lk + j] = j > i ? -INFINITY : 0.0f;
        const int64_t dims[2] = {lq, lk};
        ie_onnx_const_f32(b, 2, dims, m, mask);
        free(m);
        logits = binop(b, "Add", logits, mask, NULL, masked);
    }
    ie_pb sattrs = {0};
    ie_onnx_attr_int(&sattrs, "axis", -1);
    ie_onnx_fresh(b, weights);
    node1(b, "Softmax", logits, weights, &sattrs);
    binop(b, "MatMul", weights, names[2], out, t1);
    return IE_OK;
}

ie_status ie_onnx_emit_op(ie_onnx_builder *b, const char *model, const ie_node *node, name_t *names, int ndim,
                          const int64_t *shape, const char *out) {
    const ie_op_desc *d = ie_node_desc(node);
    if (!d) return refuse(model, node, "it has no export description (it is not an inference op)");
    const char *t = d->type;
    if (!strcmp(t, "conv")) return conv(b, node, d, names, out);
    if (!strcmp(t, "batch_norm")) return batch_norm(b, model, node, d, names, out);
    if (!strcmp(t, "group_norm")) return group_norm(b, node, d, names, out);
    if (!strcmp(t, "add")) return binary(b, node, "Add", names, out);
    if (!strcmp(t, "sub")) return binary(b, node, "Sub", names, out);
    if (!strcmp(t, "mul")) return binary(b, node, "Mul", names, out);
    if (!strcmp(t, "add_scalar")) return scalar_affine(b, node, true, d, names, out);
    if (!strcmp(t, "mul_scalar")) return scalar_affine(b, node, false, d, names, out);
    if (!strcmp(t, "relu")) return node1(b, "Relu", names[0], out, NULL), IE_OK;
    if (!strcmp(t, "sigmoid")) return node1(b, "Sigmoid", names[0], out, NULL), IE_OK;
    if (!strcmp(t, "tanh")) return node1(b, "Tanh", names[0], out, NULL), IE_OK;
    if (!strcmp(t, "leaky_relu")) {
        ie_pb attrs = {0};
        ie_onnx_attr_float(&attrs, "alpha", (float)d->floats[0]);
        node1(b, "LeakyRelu", names[0], out, &attrs);
        return IE_OK;
    }
    if (!strcmp(t, "softmax") || !strcmp(t, "log_softmax")) {
        ie_pb attrs = {0};
        ie_onnx_attr_int(&attrs, "axis", d->ints[0]);
        node1(b, t[0] == 's' ? "Softmax" : "LogSoftmax", names[0], out, &attrs);
        return IE_OK;
    }
    if (!strcmp(t, "concat")) {
        const char *in[32];
        for (int i = 0; i < node->n_inputs; i++) in[i] = names[i];
        ie_pb attrs = {0};
        ie_onnx_attr_int(&attrs, "axis", d->ints[0]);
        nodeN(b, "Concat", in, node->n_inputs, out, &attrs);
        return IE_OK;
    }
    if (!strcmp(t, "reshape")) {
        name_t s;
        ie_onnx_const_i64(b, ndim, shape, s);
        const char *in[2] = {names[0], s};
        nodeN(b, "Reshape", in, 2, out, NULL);
        return IE_OK;
    }
    if (!strcmp(t, "max_pool") || !strcmp(t, "avg_pool")) return pool(b, t[0] == 'm', d, names, out);
    if (!strcmp(t, "global_avg_pool")) { /* [N, C, ...] -> [N, C, 1, ...] -> [N, C] */
        name_t pooled;
        ie_onnx_fresh(b, pooled);
        node1(b, "GlobalAveragePool", names[0], pooled, NULL);
        ie_pb attrs = {0};
        ie_onnx_attr_int(&attrs, "axis", 1);
        node1(b, "Flatten", pooled, out, &attrs);
        return IE_OK;
    }
    if (!strcmp(t, "upsample")) return upsample(b, d, names, ndim, shape, out);
    if (!strcmp(t, "linear")) {
        ie_pb attrs = {0};
        ie_onnx_attr_int(&attrs, "transB", 1);
        const char *in[3] = {names[0], names[1], names[2]};
        nodeN(b, "Gemm", in, node->n_inputs, out, &attrs);
        return IE_OK;
    }
    if (!strcmp(t, "window")) return window(b, model, node, d, names, shape, out);
    if (!strcmp(t, "matmul")) { /* ONNX MatMul broadcasts a 2-D b over a's leading dimensions, as ie_matmul */
        name_t unused;
        binop(b, "MatMul", names[0], names[1], out, unused);
        return IE_OK;
    }
    if (!strcmp(t, "permute")) {
        ie_pb attrs = {0};
        ie_onnx_attr_ints(&attrs, "perm", d->ints, d->n_ints);
        node1(b, "Transpose", names[0], out, &attrs);
        return IE_OK;
    }
    if (!strcmp(t, "layer_norm")) return layer_norm(b, node, d, names, out);
    if (!strcmp(t, "gelu") || !strcmp(t, "gelu_tanh")) return gelu(b, t[4] == '_', names, out);
    if (!strcmp(t, "silu")) { /* x * sigmoid(x) */
        name_t s, unused;
        ie_onnx_fresh(b, s);
        node1(b, "Sigmoid", names[0], s, NULL);
        binop(b, "Mul", names[0], s, out, unused);
        return IE_OK;
    }
    if (!strcmp(t, "embedding")) { /* table rows picked by the indices: Gather on axis 0 */
        name_t unused;
        binop(b, "Gather", names[0], names[IE_ONNX_EXTRA0], out, unused);
        return IE_OK;
    }
    if (!strcmp(t, "attention")) return attention(b, node, d, names, out);
    return refuse(model, node, "no ONNX form is defined for it");
}
