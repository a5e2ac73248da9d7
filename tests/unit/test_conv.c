/* Convolutions: forward and all gradients against PyTorch (float64) fixtures
 * through every CPU implementation (direct AVX-512, the canonical kernels,
 * and the opt-in vol2col + OpenBLAS), finite differences, bit-identical
 * results for 1, 2 and 3 threads and between the direct and canonical
 * kernels, and errors.  tests/unit/test_cpu_paths.c compares the CPU paths. */
#include "core/backend/cpu/cpu_conv.h"
#include "core/backend/cpu/cpu_path.h"
#include "innereye/threads.h"
#include "test_util.h"

typedef enum { OP_C3, OP_C2, OP_T3, OP_T2 } op_kind;

static ie_status run_op(op_kind op, ie_tensor *x, ie_tensor *w, ie_tensor *b, ie_conv_opts o, ie_tensor **y) {
    switch (op) {
    case OP_C3: return ie_conv3d(x, w, b, o, y);
    case OP_C2: return ie_conv2d(x, w, b, o, y);
    case OP_T3: return ie_conv_transpose3d(x, w, b, o, y);
    default: return ie_conv_transpose2d(x, w, b, o, y);
    }
}

#define O3(s0, s1, s2, p0, p1, p2, d0, d1, d2, q0, q1, q2)                                         \
    (ie_conv_opts) { {s0, s1, s2}, {p0, p1, p2}, {d0, d1, d2}, {q0, q1, q2} }

typedef struct fixture_case {
    const char *name;
    op_kind op;
    ie_conv_opts opts;
    bool bias;
} fixture_case;

/* Must match tests/reference/gen_conv.py. Stride 0 and dilation 0 mean 1. */
static const fixture_case CASES[] = {
    {"c3_s1", OP_C3, O3(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0), true},
    {"c3_s2_even", OP_C3, O3(2, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0), false},
    {"c3_s2_odd", OP_C3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0), true},
    {"c3_dil2_same", OP_C3, O3(1, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0), true},
    {"c3_dil2_valid", OP_C3, O3(0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0), false},
    {"c3_k1", OP_C3, O3(1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0), true},
    {"c3_wide", OP_C3, O3(1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0), true},
    {"c3_aniso", OP_C3, O3(1, 2, 2, 0, 1, 1, 1, 1, 1, 0, 0, 0), true},
    {"c2_s1", OP_C2, O3(1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0), true},
    {"c2_s2", OP_C2, O3(2, 2, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0), false},
    {"t3_k4s2p1", OP_T3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0), true},
    {"t3_k3s2p1_op1", OP_T3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1), true},
    {"t3_k3s1p1", OP_T3, O3(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0), false},
    {"t3_k2s2", OP_T3, O3(2, 2, 2, 0, 0, 0, 1, 1, 1, 0, 0, 0), true},
    {"t2_k3s2", OP_T2, O3(2, 2, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0), true},
    {"t2_dil", OP_T2, O3(1, 1, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0), false},
};

static double max_abs(const ie_tensor *t) {
    double m = 0;
    for (int64_t i = 0; i < t->numel; i++) m = fmax(m, fabs(ie_f32(t)[i]));
    return m;
}

static ie_tensor *fx_get(ie_params *fx, const char *name, const char *what, bool grad) {
    char key[96];
    snprintf(key, sizeof key, "%s.%s", name, what);
    return fixture_leaf(fx, key, grad);
}

static void compare(const char *name, const char *what, const char *mode, const ie_tensor *got,
                    const ie_tensor *want, double rtol) {
    char label[160];
    snprintf(label, sizeof label, "%s %s (%s)", name, what, mode);
    check_close(label, got, want, rtol, 1e-6 * (max_abs(want) + 1e-30));
}

static void run_fixture(ie_params *fx, const fixture_case *c, const char *mode) {
    ie_tensor *x = fx_get(fx, c->name, "x", true), *w = fx_get(fx, c->name, "w", true);
    ie_tensor *b = c->bias ? fx_get(fx, c->name, "b", true) : NULL;
    ie_tensor *r = fx_get(fx, c->name, "r", false), *y = NULL, *yr = NULL, *loss = NULL;
    CHECK_OK(run_op(c->op, x, w, b, c->opts, &y));
    CHECK(y->ndim == r->ndim && ie_tensor_same_shape(y, r), "%s: output shape differs from PyTorch's", c->name);
    ie_tensor *want = fx_get(fx, c->name, "y", false);
    compare(c->name, "forward", mode, y, want, 1e-5);
    CHECK_OK(ie_mul(y, r, &yr));
    CHECK_OK(ie_sum(yr, &loss));
    CHECK_OK(ie_backward(loss));
    ie_tensor *gx = fx_get(fx, c->name, "gx", false), *gw = fx_get(fx, c->name, "gw", false);
    compare(c->name, "grad input", mode, ie_tensor_grad(x), gx, 1e-5);
    compare(c->name, "grad weight", mode, ie_tensor_grad(w), gw, 1e-5);
    ie_tensor *gb = NULL;
    if (b) {
        gb = fx_get(fx, c->name, "gb", false);
        compare(c->name, "grad bias", mode, ie_tensor_grad(b), gb, 1e-5);
    }
    ie_tensor *all[] = {x, w, b, r, y, yr, loss, want, gx, gw, gb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

/* ---- finite differences ---- */

typedef struct fd_ctx {
    op_kind op;
    ie_conv_opts opts;
} fd_ctx;

static ie_status fd_fn(ie_tensor **in, void *ctx, ie_tensor **out) {
    fd_ctx *c = ctx;
    return run_op(c->op, in[0], in[1], in[2], c->opts, out);
}

static void fd_case(const char *name, op_kind op, ie_conv_opts o, int nd, const int64_t *xs, const int64_t *ws,
                    int64_t nb, uint32_t seed) {
    ie_tensor *in[3] = {test_random(nd, xs, seed, -1, 1, true), test_random(nd, ws, seed + 1, -1, 1, true),
                        nb ? test_random(1, &nb, seed + 2, -1, 1, true) : NULL};
    fd_ctx c = {op, o};
    gradcheck(name, fd_fn, in, 3, &c, 1e-2, 2e-3, 1e-2);
    for (int i = 0; i < 3; i++) ie_tensor_release(in[i]);
}

/* ---- determinism across thread counts ---- */

typedef struct run_result {
    ie_tensor *y, *gx, *gw, *gb;
} run_result;

static run_result run_train_step(op_kind op, ie_conv_opts o, int nd, const int64_t *xs, const int64_t *ws,
                                 int64_t nb) {
    ie_tensor *x = test_random(nd, xs, 7, -1, 1, true), *w = test_random(nd, ws, 8, -0.3f, 0.3f, true);
    ie_tensor *b = test_random(1, &nb, 9, -1, 1, true), *y = NULL, *r = NULL, *yr = NULL, *loss = NULL;
    CHECK_OK(run_op(op, x, w, b, o, &y));
    r = test_random(y->ndim, y->shape, 10, -1, 1, false);
    CHECK_OK(ie_mul(y, r, &yr));
    CHECK_OK(ie_sum(yr, &loss));
    CHECK_OK(ie_backward(loss));
    run_result res = {y, ie_tensor_retain(ie_tensor_grad(x)), ie_tensor_retain(ie_tensor_grad(w)),
                      ie_tensor_retain(ie_tensor_grad(b))};
    ie_tensor *all[] = {x, w, b, r, yr, loss};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
    return res;
}

static bool same_bytes(const ie_tensor *a, const ie_tensor *b) {
    return a && b && a->numel == b->numel && memcmp(ie_f32(a), ie_f32(b), (size_t)a->numel * 4) == 0;
}

static void release_result(run_result *r) {
    ie_tensor_release(r->y);
    ie_tensor_release(r->gx);
    ie_tensor_release(r->gw);
    ie_tensor_release(r->gb);
}

static void determinism_case(const char *name, op_kind op, ie_conv_opts o, const int64_t *xs, const int64_t *ws,
                             int64_t nb) {
    ie_threads_set(1);
    run_result ref = run_train_step(op, o, 5, xs, ws, nb);
    for (int threads = 2; threads <= 3; threads++) {
        ie_threads_set(threads);
        run_result got = run_train_step(op, o, 5, xs, ws, nb);
        CHECK(same_bytes(got.y, ref.y), "%s: output differs between 1 and %d threads", name, threads);
        CHECK(same_bytes(got.gx, ref.gx), "%s: input gradient differs between 1 and %d threads", name, threads);
        CHECK(same_bytes(got.gw, ref.gw), "%s: weight gradient differs between 1 and %d threads", name, threads);
        CHECK(same_bytes(got.gb, ref.gb), "%s: bias gradient differs between 1 and %d threads", name, threads);
        release_result(&got);
    }
    release_result(&ref);
}

/* The direct kernels and the canonical ones compute the same order of
 * roundings (core/backend/cpu/canon_kernels.h): the same bytes. */
static void paths_agree(const char *name, ie_cpu_conv_mode mode, op_kind op, ie_conv_opts o, const int64_t *xs,
                        const int64_t *ws, int64_t nb) {
    ie_cpu_conv_set_mode(mode);
    run_result a = run_train_step(op, o, 5, xs, ws, nb);
    ie_cpu_conv_set_mode(IE_CPU_CONV_CANON);
    run_result g = run_train_step(op, o, 5, xs, ws, nb);
    ie_cpu_conv_set_mode(IE_CPU_CONV_AUTO);
    CHECK(same_bytes(a.y, g.y), "%s: output differs between mode %d and the canonical kernels", name, mode);
    CHECK(same_bytes(a.gx, g.gx), "%s: input gradient differs between mode %d and the canonical kernels", name, mode);
    CHECK(same_bytes(a.gw, g.gw), "%s: weight gradient differs between mode %d and the canonical kernels", name,
          mode);
    CHECK(same_bytes(a.gb, g.gb), "%s: bias gradient differs between mode %d and the canonical kernels", name, mode);
    release_result(&a);
    release_result(&g);
}

/* An empty batch gives an empty output and zero weight and bias gradients. */
static void empty_batch(void) {
    const int64_t xs[5] = {0, 2, 4, 4, 4}, ws[5] = {3, 2, 3, 3, 3}, bs[1] = {3};
    for (int m = 0; m < 4; m++) {
        ie_cpu_conv_set_mode((ie_cpu_conv_mode)m);
        ie_tensor *x = NULL, *y = NULL, *loss = NULL;
        CHECK_OK(ie_tensor_empty(IE_F32, 5, xs, IE_CPU, &x));
        ie_tensor *w = test_random(5, ws, 1, -1, 1, true), *b = test_random(1, bs, 2, -1, 1, true);
        ie_conv_opts o = {.padding = {1, 1, 1}};
        CHECK_OK(ie_conv3d(x, w, b, o, &y));
        CHECK(y->shape[0] == 0 && y->shape[1] == 3 && y->shape[4] == 4, "empty batch: wrong output shape");
        CHECK_OK(ie_sum(y, &loss));
        CHECK_OK(ie_backward(loss));
        bool zero = ie_tensor_grad(w) && ie_tensor_grad(b);
        for (int64_t i = 0; zero && i < w->numel; i++) zero = ie_f32(ie_tensor_grad(w))[i] == 0.0f;
        for (int64_t i = 0; zero && i < b->numel; i++) zero = ie_f32(ie_tensor_grad(b))[i] == 0.0f;
        CHECK(zero, "empty batch: weight and bias gradients must be zero (mode %d)", m);
        ie_tensor *all[] = {x, y, loss, w, b};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
    }
    ie_cpu_conv_set_mode(IE_CPU_CONV_AUTO);
}

/* ---- bad input ---- */

static void bad_inputs(void) {
    const int64_t xs[5] = {1, 3, 4, 4, 4}, ws[5] = {2, 4, 3, 3, 3}, big[5] = {2, 3, 7, 7, 7};
    const int64_t x4s[4] = {1, 3, 4, 4}, ok_ws[5] = {2, 3, 3, 3, 3}, bs[1] = {5};
    ie_tensor *x = test_random(5, xs, 1, -1, 1, false), *w = test_random(5, ws, 2, -1, 1, false);
    ie_tensor *wbig = test_random(5, big, 3, -1, 1, false), *x4 = test_random(4, x4s, 4, -1, 1, false);
    ie_tensor *wok = test_random(5, ok_ws, 5, -1, 1, false), *b5 = test_random(1, bs, 6, -1, 1, false);
    ie_tensor *out = NULL;
    ie_conv_opts none = {0};
    CHECK_FAILS(ie_conv3d(x, w, NULL, none, &out), IE_ERR_SHAPE,
                "conv3d: weight [2, 4, 3, 3, 3] f32 expects 4 input channels, input is [1, 3, 4, 4, 4] f32");
    CHECK(out == NULL, "a failed conv must leave *out NULL");
    CHECK_FAILS(ie_conv3d(x, wbig, NULL, none, &out), IE_ERR_SHAPE, "larger than the padded input 4x4x4");
    CHECK_FAILS(ie_conv3d(x4, wok, NULL, none, &out), IE_ERR_SHAPE, "conv3d: input must have 5 dimensions");
    CHECK_FAILS(ie_conv2d(x, wok, NULL, none, &out), IE_ERR_SHAPE, "conv2d: input must have 4 dimensions");
    CHECK_FAILS(ie_conv3d(NULL, wok, NULL, none, &out), IE_ERR_INVALID_ARG, "conv3d: input is NULL");
    CHECK_FAILS(ie_conv3d(x, NULL, NULL, none, &out), IE_ERR_INVALID_ARG, "conv3d: weight is NULL");
    CHECK_FAILS(ie_conv3d(x, wok, NULL, none, NULL), IE_ERR_INVALID_ARG, "conv3d: out is NULL");
    CHECK_FAILS(ie_conv3d(x, wok, b5, none, &out), IE_ERR_SHAPE, "conv3d: bias [5] f32 must have one value per output channel (2");
    ie_conv_opts neg = {.padding = {-1, 0, 0}};
    CHECK_FAILS(ie_conv3d(x, wok, NULL, neg, &out), IE_ERR_INVALID_ARG, "must not be negative");
    ie_conv_opts op = {.output_padding = {1, 0, 0}};
    CHECK_FAILS(ie_conv3d(x, wok, NULL, op, &out), IE_ERR_INVALID_ARG, "transposed convolutions only");
    /* transposed: weight [cin, cout, k]; output_padding must stay below stride or dilation */
    const int64_t tws[5] = {3, 2, 3, 3, 3};
    ie_tensor *tw = test_random(5, tws, 7, -1, 1, false);
    CHECK_FAILS(ie_conv_transpose3d(x, tw, NULL, op, &out), IE_ERR_INVALID_ARG, "conv_transpose3d: output_padding 1");
    CHECK_FAILS(ie_conv_transpose3d(x, w, NULL, none, &out), IE_ERR_SHAPE,
                "conv_transpose3d: weight [2, 4, 3, 3, 3] f32 expects 2 input channels");
    ie_conv_opts pad3 = {.padding = {3, 3, 3}};
    CHECK_FAILS(ie_conv_transpose3d(x, tw, NULL, pad3, &out), IE_ERR_SHAPE, "empty output");
    /* stride 0 and dilation 0 mean 1 (ops.h): same bytes as the explicit defaults */
    ie_tensor *y0 = NULL, *y1 = NULL;
    ie_conv_opts ones = {{1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}};
    CHECK_OK(ie_conv3d(x, wok, NULL, none, &y0));
    CHECK_OK(ie_conv3d(x, wok, NULL, ones, &y1));
    CHECK(y0->shape[2] == 2 && same_bytes(y0, y1), "stride 0 / dilation 0 must act as 1");
    ie_tensor *all[] = {x, w, wbig, x4, wok, b5, tw, y0, y1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

/* On the avx512 and avx2 paths the "auto" runs must really exercise the direct kernels. */
static void direct_path_taken(void) {
    ie_conv_geom same = {.batch = 2, .cin = 3, .cout = 4, .in = {4, 5, 6}, .out = {4, 5, 6},
                         .kernel = {3, 3, 3}, .stride = {1, 1, 1}, .pad = {1, 1, 1}, .dil = {1, 1, 1}};
    ie_conv_geom odd = same;
    odd.stride[0] = 2;
    odd.in[0] = 7;
    odd.out[0] = 4;
    /* IE_CPU_PATH may force a path without them */
    bool direct = ie_cpu_path_get() == IE_CPU_PATH_AVX512 || ie_cpu_path_get() == IE_CPU_PATH_AVX2;
    ie_cpu_conv_set_mode(IE_CPU_CONV_AUTO);
    CHECK(ie_cpu_conv_direct_applies(&same) == direct,
          "direct kernels should apply to a 'same' conv iff the CPU path is avx512 or avx2");
    CHECK(!ie_cpu_conv_direct_applies(&odd), "direct kernels must not take odd strided sizes");
    ie_cpu_conv_set_mode(IE_CPU_CONV_CANON);
    CHECK(!ie_cpu_conv_direct_applies(&same), "canonical mode must not take the direct kernels");
    ie_cpu_conv_set_mode(IE_CPU_CONV_AUTO);
    if (!direct) printf("note: CPU path %s; the direct kernels were not tested\n", ie_cpu_path_name(ie_cpu_path_get()));
}

int main(void) {
    direct_path_taken();
    ie_params *fx = fixture_load("conv.safetensors");
    /* Every fixture through every CPU implementation: auto (small grids take
     * the channels-in-lanes kernels), the canonical kernels, direct 16-voxel
     * vectors, and the opt-in vol2col + OpenBLAS. */
    const char *modes[4] = {"auto", "canonical", "direct vector", "openblas"};
    const ie_cpu_conv_mode mode_ids[4] = {IE_CPU_CONV_AUTO, IE_CPU_CONV_CANON, IE_CPU_CONV_DIRECT_VECTOR,
                                          IE_CPU_CONV_BLAS};
    for (int m = 0; m < 4; m++) {
        ie_cpu_conv_set_mode(mode_ids[m]);
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) run_fixture(fx, &CASES[i], modes[m]);
    }
    ie_params_free(fx);

    for (int m = 0; m < 4; m++) {
        ie_cpu_conv_set_mode(mode_ids[m]);
        const int64_t x3[5] = {1, 2, 4, 3, 4}, w3[5] = {2, 2, 3, 2, 3};
        fd_case("conv3d s2 p1", OP_C3, O3(2, 1, 2, 1, 0, 1, 1, 1, 1, 0, 0, 0), 5, x3, w3, 2, 11);
        const int64_t x3b[5] = {1, 2, 4, 4, 4}, w3b[5] = {2, 2, 3, 3, 3};
        fd_case("conv3d same", OP_C3, O3(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0), 5, x3b, w3b, 2, 12);
        const int64_t xt[5] = {1, 2, 2, 3, 2}, wt[5] = {2, 2, 3, 3, 3};
        fd_case("conv_transpose3d s2 op1", OP_T3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 1), 5, xt, wt, 2, 13);
        const int64_t xt4[5] = {1, 2, 2, 2, 3}, wt4[5] = {2, 2, 4, 4, 4};
        fd_case("conv_transpose3d k4s2p1", OP_T3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0), 5, xt4, wt4, 2, 14);
        const int64_t x2[4] = {2, 2, 5, 4}, w2[4] = {3, 2, 3, 2};
        fd_case("conv2d dil2", OP_C2, O3(1, 1, 0, 1, 1, 0, 2, 1, 0, 0, 0, 0), 4, x2, w2, 3, 15);
        const int64_t xt2[4] = {1, 3, 3, 3}, wt2[4] = {3, 2, 3, 3};
        fd_case("conv_transpose2d s2", OP_T2, O3(2, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0), 4, xt2, wt2, 2, 16);
    }
    ie_cpu_conv_set_mode(IE_CPU_CONV_AUTO);

    /* Shapes large enough for many chunks, channel blocks and weight groups. */
    const int64_t xd[5] = {2, 16, 12, 16, 20}, wd[5] = {24, 16, 3, 3, 3};
    const int64_t xs2[5] = {2, 8, 16, 12, 20}, ws2[5] = {16, 8, 3, 3, 3};
    const int64_t xtr[5] = {2, 16, 6, 8, 10}, wtr[5] = {16, 8, 4, 4, 4};
    const int64_t xk1[5] = {2, 16, 16, 16, 16}, wk1[5] = {3, 16, 1, 1, 1};
    for (int m = 0; m < 4; m++) {
        ie_cpu_conv_set_mode(mode_ids[m]);
        determinism_case("conv3d same", OP_C3, O3(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0), xd, wd, 24);
        determinism_case("conv3d s2", OP_C3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0), xs2, ws2, 16);
        determinism_case("conv_transpose3d k4s2p1", OP_T3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0), xtr, wtr, 8);
        determinism_case("conv3d k1", OP_C3, O3(1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0), xk1, wk1, 3);
    }
    ie_cpu_conv_set_mode(IE_CPU_CONV_AUTO);
    ie_threads_set(2);
    for (int m = 0; m < 2; m++) {
        ie_cpu_conv_mode mode = m == 0 ? IE_CPU_CONV_AUTO : IE_CPU_CONV_DIRECT_VECTOR;
        paths_agree("conv3d same", mode, OP_C3, O3(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0), xd, wd, 24);
        paths_agree("conv3d s2", mode, OP_C3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0), xs2, ws2, 16);
        paths_agree("conv_transpose3d k4s2p1", mode, OP_T3, O3(2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0), xtr, wtr, 8);
        paths_agree("conv3d k1", mode, OP_C3, O3(1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0), xk1, wk1, 3);
        const int64_t xa[5] = {1, 4, 8, 6, 10}, wa[5] = {5, 4, 3, 3, 3};
        paths_agree("conv3d stride 2x2x1", mode, OP_C3, O3(2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0), xa, wa, 5);
        const int64_t xs3[5] = {1, 3, 9, 6, 12}, ws3[5] = {4, 3, 3, 3, 3};
        paths_agree("conv3d stride 3", mode, OP_C3, O3(3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0), xs3, ws3, 4);
    }

    empty_batch();
    bad_inputs();
    return test_summary();
}
