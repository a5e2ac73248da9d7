/* tests/export - every op the ONNX exporter maps, traced and exported as
 * small graphs, for ONNX Runtime to recompute (tests/cli/test_export_onnx.sh):
 *
 *   export_ops_tool DIR
 *       writes DIR/<case>.onnx, <case>.in (the input, raw float32) and
 *       <case>.expected (the engine's own output for it) for each case, and
 *       checks the refusals (an op with no ONNX form, data made outside the
 *       SDK's ops, embedding indices that are not a buffer of the model,
 *       batch norm in training mode), each naming the op and the model.  Exit 1 when a refusal is missing or says something else.
 *
 * Attributes are chosen away from their defaults (strides, paddings,
 * dilations, output padding, groups, align_corners) so that a mapping that
 * drops one changes the numbers.  Parameter values are a fixed pseudo-random
 * pattern. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/trace.h"
#include "core/export/onnx_graph.h"
#include "innereye/ops.h"

static int failures;
static unsigned seed = 12345;

static float next(void) { /* deterministic values in [-1, 1) */
    seed = seed * 1103515245u + 12345u;
    return (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static ie_tensor *filled(int ndim, const int64_t *shape, float scale, float offset) {
    ie_tensor *t = NULL;
    if (ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, &t) != IE_OK) abort();
    float *p = ie_tensor_data_f32(t);
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) p[i] = offset + scale * next();
    return t;
}

/* A parameter named `name` of the case's params. */
static ie_tensor *param(ie_params *ps, const char *name, int ndim, const int64_t *shape, float scale, float offset) {
    ie_tensor *t = filled(ndim, shape, scale, offset);
    if (ie_params_add(ps, name, t, IE_BUFFER) != IE_OK) abort();
    ie_tensor_release(t);
    return t; /* borrowed: the params hold it */
}

static void write_raw(const char *dir, const char *name, const char *ext, const ie_tensor *t) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "wb");
    size_t n = (size_t)ie_tensor_numel(t);
    if (!f || fwrite(ie_tensor_data_f32(t), sizeof(float), n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* Exports the traced graph of `out` with input x, and writes the files. */
static void save(const char *dir, const char *name, ie_tensor *x, ie_tensor *out, ie_params *ps) {
    ie_onnx_builder b = {0};
    char result[IE_ONNX_NAME], path[4200], shape_text[128];
    const char *input_names[1] = {"image"};
    ie_status st = ie_onnx_add_trace(&b, name, out, &x, input_names, 1, ps, "", result);
    int n = snprintf(shape_text, sizeof shape_text, "[");
    for (int i = 0; i < ie_tensor_ndim(x); i++)
        n += snprintf(shape_text + n, sizeof shape_text - (size_t)n, i ? ",%lld" : "%lld",
                      (long long)ie_tensor_shape(x)[i]);
    snprintf(shape_text + n, sizeof shape_text - (size_t)n, "]");
    const char *keys[1] = {"innereye.input_shape"}, *values[1] = {shape_text};
    const int ndims[1] = {ie_tensor_ndim(x)};
    const int64_t *shapes[1] = {ie_tensor_shape(x)};
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    if (st == IE_OK)
        st = ie_onnx_save(&b, name, 1, input_names, ndims, shapes, result, "output", ie_tensor_ndim(out),
                          ie_tensor_shape(out), 1, keys, values, path);
    ie_onnx_builder_free(&b);
    if (st != IE_OK) {
        fprintf(stderr, "FAIL  %s: %s\n", name, ie_error_message());
        failures++;
        return;
    }
    write_raw(dir, name, "in", x);
    write_raw(dir, name, "expected", out);
    printf("wrote %s\n", path);
}

#define T(call)                                                                    \
    do {                                                                           \
        if ((call) != IE_OK) {                                                     \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, ie_error_message()); \
            exit(2);                                                               \
        }                                                                          \
    } while (0)

/* 2-D: strided, padded conv; leaky ReLU; max pool; transposed conv with
 * output padding; group norm; sigmoid; per-channel mul; scalar affine; sub;
 * average pool with padding; nearest upsampling; softmax. */
static void case_2d(const char *dir) {
    ie_params *ps;
    T(ie_params_new(&ps));
    int64_t xs[4] = {1, 3, 11, 13}, w1[4] = {6, 3, 3, 3}, b1[1] = {6}, w2[4] = {6, 4, 3, 3}, c4[1] = {4};
    ie_tensor *x = filled(4, xs, 1.0f, 0.0f);
    ie_tensor *W1 = param(ps, "conv1.weight", 4, w1, 0.3f, 0), *B1 = param(ps, "conv1.bias", 1, b1, 0.1f, 0);
    ie_tensor *W2 = param(ps, "up.weight", 4, w2, 0.3f, 0);
    ie_tensor *G = param(ps, "gn.weight", 1, c4, 0.2f, 1), *GB = param(ps, "gn.bias", 1, c4, 0.1f, 0);
    ie_tensor *M = param(ps, "scale", 1, c4, 0.5f, 1);
    bool was = ie_trace_set(true);
    ie_tensor *a, *b, *c, *d, *e, *f, *g, *h, *i, *j, *k, *l, *m;
    T(ie_conv2d(x, W1, B1, (ie_conv_opts){.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}}, &a));
    T(ie_leaky_relu(a, 0.1f, &b));
    T(ie_max_pool2d(b, (int[]){2, 2}, (int[]){1, 2}, (int[]){1, 0}, &c));
    T(ie_conv_transpose2d(c, W2, NULL, (ie_conv_opts){.stride = {2, 2}, .padding = {1, 0}, .output_padding = {1, 0}},
                          &d));
    T(ie_group_norm(d, 2, G, GB, 1e-5f, &e));
    T(ie_sigmoid(e, &f));
    T(ie_mul(f, M, &g));
    T(ie_add_scalar(g, 0.5f, &h));
    T(ie_mul_scalar(h, 2.0f, &i));
    T(ie_tanh(i, &j));
    T(ie_sub(i, j, &k));
    T(ie_avg_pool2d(k, (int[]){3, 3}, (int[]){1, 1}, (int[]){1, 1}, &l));
    int64_t size[2] = {2 * ie_tensor_dim(l, 2), 2 * ie_tensor_dim(l, 3)};
    ie_tensor *u;
    T(ie_upsample(l, size, IE_UPSAMPLE_NEAREST, false, &u));
    T(ie_softmax(u, 1, &m));
    ie_trace_set(was);
    save(dir, "ops_2d", x, m, ps);
    ie_tensor *all[] = {x, a, b, c, d, e, f, g, h, i, j, k, l, u, m};
    for (size_t n = 0; n < sizeof all / sizeof all[0]; n++) ie_tensor_release(all[n]);
    ie_params_free(ps);
}

/* 3-D: dilated conv, instance norm without affine, ReLU, linear upsampling
 * (both corner conventions), concat, 3-D max and average pooling, global
 * average pooling, flatten, reshape, linear, log-softmax. */
static void case_3d(const char *dir) {
    ie_params *ps;
    T(ie_params_new(&ps));
    int64_t xs[5] = {1, 2, 6, 7, 8}, w1[5] = {4, 2, 3, 3, 3}, b1[1] = {4}, w2[5] = {3, 2, 1, 1, 1}, lw[2] = {5, 7},
            lb[1] = {5};
    ie_tensor *x = filled(5, xs, 1.0f, 0.0f);
    ie_tensor *W1 = param(ps, "c1.weight", 5, w1, 0.3f, 0), *B1 = param(ps, "c1.bias", 1, b1, 0.1f, 0);
    ie_tensor *W2 = param(ps, "c2.weight", 5, w2, 0.5f, 0);
    ie_tensor *LW = param(ps, "fc.weight", 2, lw, 0.4f, 0), *LB = param(ps, "fc.bias", 1, lb, 0.1f, 0);
    bool was = ie_trace_set(true);
    ie_tensor *a, *b, *c, *u1, *u2, *s, *cat, *p1, *p2, *g, *fl, *r, *l, *o;
    T(ie_conv3d(x, W1, B1, (ie_conv_opts){.padding = {2, 2, 2}, .dilation = {2, 2, 2}}, &a));
    T(ie_instance_norm(a, NULL, NULL, 1e-5f, &b));
    T(ie_relu(b, &c));
    int64_t up1[3] = {9, 10, 13}, up2[3] = {6, 7, 8};
    T(ie_upsample(c, up1, IE_UPSAMPLE_LINEAR, false, &u1));
    T(ie_upsample(u1, up2, IE_UPSAMPLE_LINEAR, true, &u2));
    T(ie_conv3d(x, W2, NULL, (ie_conv_opts){0}, &s));
    ie_tensor *parts[2] = {u2, s};
    T(ie_concat(parts, 2, 1, &cat));
    T(ie_max_pool3d(cat, (int[]){2, 2, 2}, (int[]){2, 2, 2}, (int[]){0, 1, 0}, &p1));
    T(ie_avg_pool3d(p1, (int[]){2, 2, 2}, (int[]){1, 1, 1}, (int[]){1, 0, 1}, &p2));
    T(ie_global_avg_pool(p2, &g));
    T(ie_flatten(g, &fl));
    T(ie_linear(fl, LW, LB, &l));
    int64_t rs[3] = {1, 5, 1};
    T(ie_reshape(l, 3, rs, &r));
    int64_t back[2] = {1, 5};
    ie_tensor *r2;
    T(ie_reshape(r, 2, back, &r2));
    T(ie_log_softmax(r2, 1, &o));
    ie_trace_set(was);
    save(dir, "ops_3d", x, o, ps);
    ie_tensor *all[] = {x, a, b, c, u1, u2, s, cat, p1, p2, g, fl, l, r, r2, o};
    for (size_t n = 0; n < sizeof all / sizeof all[0]; n++) ie_tensor_release(all[n]);
    ie_params_free(ps);
}

/* Batch norm in evaluation mode (running statistics), with and without the
 * fused ReLU, without affine; a per-channel add; ie_window crop + edge pad. */
static void case_norm_window(const char *dir) {
    ie_params *ps;
    T(ie_params_new(&ps));
    int64_t xs[5] = {1, 3, 5, 6, 7}, c3[1] = {3};
    ie_tensor *x = filled(5, xs, 2.0f, 0.5f);
    ie_tensor *W = param(ps, "bn.weight", 1, c3, 0.3f, 1), *B = param(ps, "bn.bias", 1, c3, 0.2f, 0);
    ie_tensor *RM = param(ps, "bn.running_mean", 1, c3, 0.3f, 0.2f), *RV = param(ps, "bn.running_var", 1, c3, 0.3f, 1);
    ie_tensor *RM2 = param(ps, "bn2.running_mean", 1, c3, 0.3f, 0), *RV2 = param(ps, "bn2.running_var", 1, c3, 0.2f, 2);
    ie_tensor *A = param(ps, "bias", 1, c3, 1.0f, 0);
    bool was = ie_trace_set(true);
    ie_tensor *a, *b, *c, *d, *e;
    T(ie_batch_norm(x, W, B, RM, RV, NULL, false, 0.1f, 1e-3f, &a));
    T(ie_batch_norm_relu(a, NULL, NULL, RM2, RV2, NULL, false, 0.1f, 1e-5f, &b));
    T(ie_add(b, A, &c));
    T(ie_window(c, (int64_t[]){-2, 1, 0}, (int64_t[]){8, 4, 9}, &d));
    T(ie_window(d, (int64_t[]){1, 1, 1}, (int64_t[]){5, 2, 6}, &e));
    ie_trace_set(was);
    save(dir, "ops_norm_window", x, e, ps);
    ie_tensor *all[] = {x, a, b, c, d, e};
    for (size_t n = 0; n < sizeof all / sizeof all[0]; n++) ie_tensor_release(all[n]);
    ie_params_free(ps);
}

/* An int64 buffer of `n` indices in [0, rows), a fixed pattern. */
static ie_tensor *index_buffer(ie_params *ps, const char *name, int ndim, const int64_t *shape, int64_t rows) {
    int64_t n = 1, idx[4096];
    for (int i = 0; i < ndim; i++) n *= shape[i];
    if (n > 4096) abort();
    for (int64_t i = 0; i < n; i++) idx[i] = (i * 7 + 3) % rows;
    ie_tensor *t = NULL;
    T(ie_tensor_from_data(IE_I64, ndim, shape, idx, &t));
    T(ie_params_add(ps, name, t, IE_BUFFER));
    ie_tensor_release(t);
    return t;
}

/* The transformer ops (plugin ABI 1.3): permute and transpose, matmul with a
 * shared 2-D weight and batched, layer norm over one and over two trailing
 * dimensions (with and without affine), exact and tanh GELU, SiLU,
 * attention with and without the causal mask, softmax over a middle axis,
 * embedding with indices from an int64 buffer. */
static void case_transformer(const char *dir) {
    ie_params *ps;
    T(ie_params_new(&ps));
    int64_t xs[5] = {1, 3, 2, 4, 5}, ws[2] = {3, 8}, e8[1] = {8}, tab[2] = {10, 4}, is[3] = {1, 2, 40};
    ie_tensor *x = filled(5, xs, 1.0f, 0.0f);
    ie_tensor *W = param(ps, "proj", 2, ws, 0.8f, 0), *LW = param(ps, "ln.weight", 1, e8, 0.3f, 1),
              *LB = param(ps, "ln.bias", 1, e8, 0.2f, 0), *TAB = param(ps, "embed.weight", 2, tab, 1.0f, 0);
    ie_tensor *IDX = index_buffer(ps, "embed.positions", 3, is, 10);
    bool was = ie_trace_set(true);
    ie_tensor *p, *seq, *h, *n1, *n2, *g1, *g2, *s1, *q4, *k4, *v4, *q, *k, *v, *a1, *a2, *a, *at, *sc, *sm, *emb, *o;
    T(ie_permute(x, (int[]){0, 2, 3, 4, 1}, &p)); /* [1, 2, 4, 5, 3] */
    T(ie_reshape(p, 3, (int64_t[]){1, 40, 3}, &seq));
    T(ie_matmul(seq, W, &h)); /* [1, 40, 8] */
    T(ie_layer_norm(h, 1, LW, LB, 1e-5f, &n1));
    T(ie_layer_norm(h, 2, NULL, NULL, 1e-3f, &n2));
    T(ie_gelu(n1, false, &g1));
    T(ie_gelu(n2, true, &g2));
    T(ie_silu(h, &s1));
    const int64_t split[4] = {1, 40, 2, 4};
    T(ie_reshape(g1, 4, split, &q4));
    T(ie_reshape(g2, 4, split, &k4));
    T(ie_reshape(s1, 4, split, &v4));
    T(ie_transpose(q4, 1, 2, &q)); /* [1, 2, 40, 4] */
    T(ie_transpose(k4, 1, 2, &k));
    T(ie_transpose(v4, -3, -2, &v));
    T(ie_attention(q, k, v, true, &a1));
    T(ie_attention(q, k, v, false, &a2));
    T(ie_add(a1, a2, &a));
    T(ie_transpose(a2, -1, -2, &at)); /* [1, 2, 4, 40] */
    T(ie_matmul(a, at, &sc));        /* batched: [1, 2, 40, 40] */
    T(ie_softmax(sc, 2, &sm));
    T(ie_embedding(TAB, IDX, &emb)); /* [1, 2, 40, 4] */
    T(ie_matmul(sm, emb, &o));
    ie_trace_set(was);
    save(dir, "ops_transformer", x, o, ps);
    ie_tensor *all[] = {x, p, seq, h, n1, n2, g1, g2, s1, q4, k4, v4, q, k, v, a1, a2, a, at, sc, sm, emb, o};
    for (size_t n = 0; n < sizeof all / sizeof all[0]; n++) ie_tensor_release(all[n]);
    ie_params_free(ps);
}

/* ---- refusals ---- */

static void expect_refused(const char *what, ie_tensor *x, ie_tensor *out, ie_params *ps, const char *text) {
    ie_onnx_builder b = {0};
    char result[IE_ONNX_NAME];
    const char *names[1] = {"image"};
    ie_status st = ie_onnx_add_trace(&b, "TestNet", out, &x, names, 1, ps, "", result);
    ie_onnx_builder_free(&b);
    if (st == IE_OK || !strstr(ie_error_message(), text) || !strstr(ie_error_message(), "TestNet")) {
        fprintf(stderr, "FAIL  refused: %s: got %s\n", what, st == IE_OK ? "no error" : ie_error_message());
        failures++;
    } else {
        printf("ok    refused: %s: %s\n", what, ie_error_message());
    }
}

static void refusals(void) {
    ie_params *ps;
    T(ie_params_new(&ps));
    int64_t xs[5] = {1, 1, 4, 4, 4}, ws[5] = {2, 1, 3, 3, 3}, c2[1] = {2};
    ie_tensor *x = filled(5, xs, 1, 0), *W = param(ps, "w", 5, ws, 0.3f, 0);
    ie_tensor *RM = param(ps, "rm", 1, c2, 0.1f, 0), *RV = param(ps, "rv", 1, c2, 0.1f, 1);
    bool was = ie_trace_set(true);
    ie_tensor *a, *s, *outside, *c, *bn;
    T(ie_conv3d(x, W, NULL, (ie_conv_opts){.padding = {1, 1, 1}}, &a));
    T(ie_sum(a, &s));
    expect_refused("an op with no ONNX form", x, s, ps, "op 'sum' cannot be exported to ONNX");
    outside = filled(5, xs, 1, 0); /* as if a plugin computed on the data directly */
    T(ie_conv3d(outside, W, NULL, (ie_conv_opts){0}, &c));
    expect_refused("data computed outside the SDK's ops", x, c, ps, "computed outside the SDK's ops");
    T(ie_batch_norm(a, NULL, NULL, RM, RV, NULL, true, 0.1f, 1e-5f, &bn));
    expect_refused("batch norm in training mode", x, bn, ps, "training mode");
    int64_t ts[2] = {4, 3}, is[1] = {5}, idx[5] = {0, 3, 1, 1, 2};
    ie_tensor *table = param(ps, "table", 2, ts, 1, 0), *positions, *emb;
    T(ie_tensor_from_data(IE_I64, 1, is, idx, &positions)); /* indices the plugin made itself */
    T(ie_embedding(table, positions, &emb));
    expect_refused("embedding indices that are no buffer of the model", x, emb, ps, "computed outside the SDK's ops");
    ie_trace_set(was);
    ie_tensor *all[] = {x, a, s, outside, c, bn, positions, emb};
    for (size_t n = 0; n < sizeof all / sizeof all[0]; n++) ie_tensor_release(all[n]);
    ie_params_free(ps);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: export_ops_tool DIR\n");
        return 2;
    }
    case_2d(argv[1]);
    case_3d(argv[1]);
    case_norm_window(argv[1]);
    case_transformer(argv[1]);
    refusals();
    return failures ? 1 : 0;
}
