/* Batch, instance and group norm: forward, running statistics and gradients
 * against PyTorch fixtures, finite-difference gradchecks, a multi-chunk case
 * against a double-precision reference, thread-count determinism, and error
 * messages for bad arguments; batch norm + ReLU (fused, and written over its
 * input) against the two ops. */
#include "test_util.h"

#include "innereye/threads.h"

static const double FWD_RTOL = 1e-5, FWD_ATOL = 1e-6;
static const double GRAD_RTOL = 1e-5, GRAD_ATOL = 1e-5;

static char key_buf[128];
static const char *key(const char *name, const char *field) {
    snprintf(key_buf, sizeof key_buf, "%s.%s", name, field);
    return key_buf;
}

static ie_tensor *leaf_or_null(ie_params *fx, const char *name, const char *field, bool grad) {
    return ie_params_find(fx, key(name, field)) ? fixture_leaf(fx, key(name, field), grad) : NULL;
}

/* Runs backward of sum(y * gy). */
static void backward_with(ie_tensor *y, ie_tensor *gy) {
    ie_tensor *prod = NULL, *loss = NULL;
    CHECK_OK(ie_mul(y, gy, &prod));
    CHECK_OK(ie_sum(prod, &loss));
    CHECK_OK(ie_backward(loss));
    ie_tensor_release(prod);
    ie_tensor_release(loss);
}

static void check_grad(ie_params *fx, const char *name, const char *field, ie_tensor *t) {
    if (!t) return;
    char what[128];
    snprintf(what, sizeof what, "%s %s", name, field);
    check_close(what, ie_tensor_grad(t), fixture_get(fx, key(name, field)), GRAD_RTOL, GRAD_ATOL);
}

static ie_tensor *counter(int64_t value) {
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_from_data(IE_I64, 0, NULL, &value, &t));
    return t;
}

static int64_t counter_value(const ie_tensor *t) { return *(const int64_t *)ie_tensor_data(t); }

static void batch_case(ie_params *fx, const char *name, bool training, float momentum, float eps,
                       double fwd_atol) {
    ie_tensor *x = fixture_leaf(fx, key(name, "x"), true), *w = leaf_or_null(fx, name, "w", true),
              *b = leaf_or_null(fx, name, "b", true), *rm = fixture_leaf(fx, key(name, "rm0"), false),
              *rv = fixture_leaf(fx, key(name, "rv0"), false), *gy = fixture_leaf(fx, key(name, "gy"), false),
              *nbt = counter(7), *y = NULL;
    CHECK_OK(ie_batch_norm(x, w, b, rm, rv, nbt, training, momentum, eps, &y));
    char what[128];
    snprintf(what, sizeof what, "%s forward", name);
    check_close(what, y, fixture_get(fx, key(name, "y")), FWD_RTOL, fwd_atol);
    snprintf(what, sizeof what, "%s running_mean", name);
    check_close(what, rm, fixture_get(fx, key(name, "rm")), FWD_RTOL, 1e-7);
    snprintf(what, sizeof what, "%s running_var", name);
    check_close(what, rv, fixture_get(fx, key(name, "rv")), FWD_RTOL, 1e-7);
    CHECK(counter_value(nbt) == (training ? 8 : 7), "%s: num_batches_tracked is %lld", name,
          (long long)counter_value(nbt));
    backward_with(y, gy);
    check_grad(fx, name, "gx", x);
    check_grad(fx, name, "gw", w);
    check_grad(fx, name, "gb", b);
    ie_tensor *ts[] = {x, w, b, rm, rv, gy, nbt, y};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) ie_tensor_release(ts[i]);
}

static void group_case(ie_params *fx, const char *name, int groups, bool instance, float eps) {
    ie_tensor *x = fixture_leaf(fx, key(name, "x"), true), *w = leaf_or_null(fx, name, "w", true),
              *b = leaf_or_null(fx, name, "b", true), *gy = fixture_leaf(fx, key(name, "gy"), false),
              *y = NULL;
    if (instance)
        CHECK_OK(ie_instance_norm(x, w, b, eps, &y));
    else
        CHECK_OK(ie_group_norm(x, groups, w, b, eps, &y));
    char what[128];
    snprintf(what, sizeof what, "%s forward", name);
    check_close(what, y, fixture_get(fx, key(name, "y")), FWD_RTOL, FWD_ATOL);
    backward_with(y, gy);
    check_grad(fx, name, "gx", x);
    check_grad(fx, name, "gw", w);
    check_grad(fx, name, "gb", b);
    ie_tensor *ts[] = {x, w, b, gy, y};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) ie_tensor_release(ts[i]);
}

/* Only the weight wants a gradient: x's is skipped, weight's still matches. */
static void weight_only_case(ie_params *fx) {
    const char *name = "bn3d_train";
    ie_tensor *x = fixture_leaf(fx, key(name, "x"), false), *w = fixture_leaf(fx, key(name, "w"), true),
              *b = fixture_leaf(fx, key(name, "b"), false), *gy = fixture_leaf(fx, key(name, "gy"), false),
              *y = NULL;
    CHECK_OK(ie_batch_norm(x, w, b, NULL, NULL, NULL, true, 0.1f, 1e-5f, &y));
    check_close("batch_norm without running stats", y, fixture_get(fx, key(name, "y")), FWD_RTOL, FWD_ATOL);
    backward_with(y, gy);
    check_grad(fx, name, "gw", w);
    CHECK(ie_tensor_grad(x) == NULL && ie_tensor_grad(b) == NULL, "inputs without requires_grad got a gradient");
    ie_tensor *ts[] = {x, w, b, gy, y};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) ie_tensor_release(ts[i]);
}

/* ---- finite-difference gradchecks ---- */

typedef struct norm_ctx {
    int kind; /* 0 batch train, 1 batch eval, 2 instance, 3 group */
    int groups;
    ie_tensor *rm, *rv;
} norm_ctx;

static ie_status f_norm(ie_tensor **in, void *vctx, ie_tensor **out) {
    norm_ctx *c = vctx;
    switch (c->kind) {
    case 0: return ie_batch_norm(in[0], in[1], in[2], c->rm, c->rv, NULL, true, 0.1f, 1e-5f, out);
    case 1: return ie_batch_norm(in[0], in[1], in[2], c->rm, c->rv, NULL, false, 0.1f, 1e-5f, out);
    case 2: return ie_instance_norm(in[0], in[1], in[2], 1e-5f, out);
    default: return ie_group_norm(in[0], c->groups, in[1], in[2], 1e-5f, out);
    }
}

static void gradchecks(void) {
    const int64_t s3d[5] = {2, 3, 2, 3, 2}, s2d[4] = {2, 4, 3, 3}, sc[1] = {3}, sc4[1] = {4}, s1d[2] = {5, 3};
    const double eps = 1e-3, atol = 3e-3, rtol = 3e-2;
    ie_tensor *x3 = test_random(5, s3d, 11, -2, 2, true), *w3 = test_random(1, sc, 12, 0.5f, 1.5f, true),
              *b3 = test_random(1, sc, 13, -1, 1, true), *rm = test_random(1, sc, 14, -0.5f, 0.5f, false),
              *rv = test_random(1, sc, 15, 0.5f, 1.5f, false), *x2 = test_random(4, s2d, 16, -2, 2, true),
              *w4 = test_random(1, sc4, 17, 0.5f, 1.5f, true), *b4 = test_random(1, sc4, 18, -1, 1, true),
              *x1 = test_random(2, s1d, 19, -2, 2, true);
    norm_ctx c = {0, 0, rm, rv};
    gradcheck("batch_norm 3d train", f_norm, (ie_tensor *[]){x3, w3, b3}, 3, &c, eps, atol, rtol);
    gradcheck("batch_norm [N, C] train no affine", f_norm, (ie_tensor *[]){x1, NULL, NULL}, 3, &c, eps, atol, rtol);
    c.kind = 1;
    gradcheck("batch_norm 3d eval", f_norm, (ie_tensor *[]){x3, w3, b3}, 3, &c, eps, atol, rtol);
    c.kind = 2;
    gradcheck("instance_norm 3d", f_norm, (ie_tensor *[]){x3, w3, b3}, 3, &c, eps, atol, rtol);
    gradcheck("instance_norm 2d", f_norm, (ie_tensor *[]){x2, w4, b4}, 3, &c, eps, atol, rtol);
    c.kind = 3;
    c.groups = 2;
    gradcheck("group_norm 2d", f_norm, (ie_tensor *[]){x2, w4, b4}, 3, &c, eps, atol, rtol);
    gradcheck("group_norm 2d no affine", f_norm, (ie_tensor *[]){x2, NULL, NULL}, 3, &c, eps, atol, rtol);
    ie_tensor *ts[] = {x3, w3, b3, rm, rv, x2, w4, b4, x1};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) ie_tensor_release(ts[i]);
}

/* ---- several chunks per statistic, against a double-precision reference ---- */

static bool bit_equal(const ie_tensor *a, const ie_tensor *b) {
    return a && b && a->numel == b->numel && memcmp(ie_f32(a), ie_f32(b), (size_t)a->numel * 4) == 0;
}

typedef struct big_result {
    ie_tensor *y, *gx, *gw, *gb, *rm, *rv;
} big_result;

static big_result run_big(ie_tensor *x0, ie_tensor *gy, int kind) {
    big_result r = {0};
    const int64_t c[1] = {4};
    ie_tensor *x = NULL, *w = NULL, *b = NULL;
    CHECK_OK(ie_tensor_clone(x0, &x));
    ie_tensor_set_requires_grad(x, true);
    CHECK_OK(ie_tensor_full(1, c, 1.25f, &w));
    CHECK_OK(ie_tensor_full(1, c, -0.5f, &b));
    ie_tensor_set_requires_grad(w, true);
    ie_tensor_set_requires_grad(b, true);
    CHECK_OK(ie_tensor_zeros(IE_F32, 1, c, IE_CPU, &r.rm));
    CHECK_OK(ie_tensor_full(1, c, 1.0f, &r.rv));
    if (kind == 0)
        CHECK_OK(ie_batch_norm(x, w, b, r.rm, r.rv, NULL, true, 0.1f, 1e-5f, &r.y));
    else
        CHECK_OK(ie_group_norm(x, 2, w, b, 1e-5f, &r.y));
    backward_with(r.y, gy);
    CHECK_OK(ie_tensor_clone(ie_tensor_grad(x), &r.gx));
    CHECK_OK(ie_tensor_clone(ie_tensor_grad(w), &r.gw));
    CHECK_OK(ie_tensor_clone(ie_tensor_grad(b), &r.gb));
    ie_tensor_release(x);
    ie_tensor_release(w);
    ie_tensor_release(b);
    return r;
}

static void big_release(big_result *r) {
    ie_tensor *ts[] = {r->y, r->gx, r->gw, r->gb, r->rm, r->rv};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) ie_tensor_release(ts[i]);
}

/* Batch norm of [2, 4, 8, 32, 40] (20480 values per channel, two chunks) in
 * double precision, with gradients of sum(y * gy). */
static void big_reference(const ie_tensor *x, const ie_tensor *gy, ie_tensor *y, ie_tensor *gx) {
    const int64_t N = 2, C = 4, S = 8 * 32 * 40;
    const float *xp = ie_f32(x), *g = ie_f32(gy);
    for (int64_t c = 0; c < C; c++) {
        double m = 0, v = 0, sg = 0, sgx = 0, M = (double)(N * S);
        for (int64_t n = 0; n < N; n++)
            for (int64_t s = 0; s < S; s++) m += xp[(n * C + c) * S + s];
        m /= M;
        for (int64_t n = 0; n < N; n++)
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c) * S + s;
                v += (xp[i] - m) * (xp[i] - m);
                sg += g[i];
                sgx += g[i] * (xp[i] - m);
            }
        v /= M;
        double r = 1.0 / sqrt(v + 1e-5);
        for (int64_t n = 0; n < N; n++)
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c) * S + s;
                double xh = (xp[i] - m) * r;
                ie_f32(y)[i] = (float)(1.25 * xh - 0.5);
                ie_f32(gx)[i] = (float)(1.25 * r * (g[i] - sg / M - xh * r * sgx / M));
            }
    }
}

static void multi_chunk_and_threads(void) {
    const int64_t shape[5] = {2, 4, 8, 32, 40};
    ie_tensor *x = test_random(5, shape, 21, 2.0f, 6.0f, false), *gy = test_random(5, shape, 22, -1, 1, false);
    ie_tensor *want_y = NULL, *want_gx = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, 5, shape, IE_CPU, &want_y));
    CHECK_OK(ie_tensor_empty(IE_F32, 5, shape, IE_CPU, &want_gx));
    big_reference(x, gy, want_y, want_gx);
    int threads = ie_threads_get();
    for (int kind = 0; kind < 2; kind++) {
        ie_threads_set(1);
        big_result one = run_big(x, gy, kind);
        ie_threads_set(4);
        big_result four = run_big(x, gy, kind);
        const char *name = kind ? "group_norm" : "batch_norm";
        CHECK(bit_equal(one.y, four.y) && bit_equal(one.gx, four.gx) && bit_equal(one.gw, four.gw) &&
                  bit_equal(one.gb, four.gb) && bit_equal(one.rm, four.rm) && bit_equal(one.rv, four.rv),
              "%s: results differ between 1 and 4 threads", name);
        if (kind == 0) {
            check_close("batch_norm multi-chunk forward", one.y, want_y, 1e-5, 1e-6);
            check_close("batch_norm multi-chunk grad", one.gx, want_gx, 1e-4, 1e-6);
        }
        big_release(&one);
        big_release(&four);
    }
    ie_threads_set(threads);
    ie_tensor_release(x);
    ie_tensor_release(gy);
    ie_tensor_release(want_y);
    ie_tensor_release(want_gx);
}

/* ---- bad arguments ---- */

/* ---- batch norm + ReLU: the same bytes as the two ops, less memory ----
 * A block as U-Nets build it: conv -> BN+ReLU -> conv -> BN+ReLU, a residual
 * sum of the two activations, BN+ReLU of the sum, a last conv.  Once with
 * ie_batch_norm followed by ie_relu, once with ie_batch_norm_relu, whose
 * outputs consumers keep as recipes (recomputed in backward, the sum too):
 * outputs, every gradient and the running statistics must be identical, and
 * the fused graph must hold at least the four recomputable activations'
 * bytes less once the forward's own handles are gone. */

typedef struct fused_net {
    ie_tensor *w[3], *gamma[3], *beta[3], *rm[3], *rv[3];
} fused_net;

static ie_status bn_relu_or_pair(fused_net *n, int i, ie_tensor *x, bool fused, ie_tensor **out) {
    if (fused) return ie_batch_norm_relu(x, n->gamma[i], n->beta[i], n->rm[i], n->rv[i], NULL, true, 0.1f, 1e-5f, out);
    ie_tensor *b = NULL;
    IE_TRY(ie_batch_norm(x, n->gamma[i], n->beta[i], n->rm[i], n->rv[i], NULL, true, 0.1f, 1e-5f, &b));
    ie_status st = ie_relu(b, out);
    ie_tensor_release(b);
    return st;
}

/* Forward and backward; returns the bytes the forward left alive. */
static size_t fused_run(fused_net *n, ie_tensor *x, bool fused, ie_tensor **y_out) {
    ie_memory_trim(); /* fresh blocks of exact sizes, so live bytes compare */
    ie_memory_stats before;
    ie_memory_get_stats(&before);
    ie_conv_opts same = {.padding = {1, 1, 1}};
    ie_tensor *c0 = NULL, *a = NULL, *c1 = NULL, *b = NULL, *sum = NULL, *s = NULL, *y = NULL, *loss = NULL;
    CHECK_OK(ie_conv3d(x, n->w[0], NULL, same, &c0));
    CHECK_OK(bn_relu_or_pair(n, 0, c0, fused, &a));
    ie_tensor_release(c0);
    CHECK_OK(ie_conv3d(a, n->w[1], NULL, same, &c1));
    CHECK_OK(bn_relu_or_pair(n, 1, c1, fused, &b));
    ie_tensor_release(c1);
    CHECK_OK(ie_add(a, b, &sum));
    ie_tensor_release(a);
    ie_tensor_release(b);
    CHECK_OK(bn_relu_or_pair(n, 2, sum, fused, &s));
    ie_tensor_release(sum);
    CHECK_OK(ie_conv3d(s, n->w[2], NULL, same, &y));
    ie_tensor_release(s);
    ie_memory_stats ms;
    ie_memory_get_stats(&ms);
    ie_tensor *sq = NULL;
    CHECK_OK(ie_mul(y, y, &sq));
    CHECK_OK(ie_sum(sq, &loss));
    CHECK_OK(ie_backward(loss));
    ie_tensor_release(sq);
    ie_tensor_release(loss);
    *y_out = y;
    return ms.bytes_in_use - before.bytes_in_use;
}

static void fused_bn_relu(void) {
    const int64_t xs[5] = {2, 3, 6, 7, 8}, cs[1] = {5};
    const int64_t ws[3][5] = {{5, 3, 3, 3, 3}, {5, 5, 3, 3, 3}, {4, 5, 3, 3, 3}};
    ie_tensor *x = test_random(5, xs, 41, -1, 1, true);
    fused_net nets[2];
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++) {
            nets[k].w[i] = test_random(5, ws[i], 42 + i, -0.3f, 0.3f, true);
            nets[k].gamma[i] = test_random(1, cs, 45 + i, 0.5f, 1.5f, true);
            nets[k].beta[i] = test_random(1, cs, 48 + i, -0.5f, 0.5f, true);
            nets[k].rm[i] = test_random(1, cs, 51 + i, -0.1f, 0.1f, false);
            nets[k].rv[i] = test_random(1, cs, 54 + i, 0.9f, 1.1f, false);
        }
    ie_tensor *y[2], *gx[2];
    size_t live[2];
    for (int k = 0; k < 2; k++) {
        ie_tensor_zero_grad(x);
        live[k] = fused_run(&nets[k], x, k == 1, &y[k]);
        CHECK_OK(ie_tensor_clone(ie_tensor_grad(x), &gx[k]));
    }
    CHECK(memcmp(ie_f32(y[0]), ie_f32(y[1]), (size_t)y[0]->numel * 4) == 0, "fused BN+ReLU: outputs differ");
    CHECK(memcmp(ie_f32(gx[0]), ie_f32(gx[1]), (size_t)gx[0]->numel * 4) == 0,
          "fused BN+ReLU: input gradients differ");
    for (int i = 0; i < 3; i++) {
        ie_tensor *pairs[4][2] = {{nets[0].w[i], nets[1].w[i]}, {nets[0].gamma[i], nets[1].gamma[i]},
                                  {nets[0].beta[i], nets[1].beta[i]}, {nets[0].rm[i], nets[1].rm[i]}};
        for (int p = 0; p < 4; p++) {
            const ie_tensor *a = p < 3 ? ie_tensor_grad(pairs[p][0]) : pairs[p][0];
            const ie_tensor *b = p < 3 ? ie_tensor_grad(pairs[p][1]) : pairs[p][1];
            CHECK(a && b && memcmp(ie_f32(a), ie_f32(b), (size_t)a->numel * 4) == 0,
                  "fused BN+ReLU: layer %d %s differs", i, p == 0 ? "weight gradient" : p == 1 ? "gamma gradient"
                                                       : p == 2 ? "beta gradient" : "running mean");
        }
    }
    /* a, b, the sum and s (5 channels of 6x7x8, batch 2) are recipes in the fused graph */
    const size_t act = 2 * 5 * 6 * 7 * 8 * sizeof(float);
    CHECK(live[0] >= live[1] + 4 * act, "fused BN+ReLU: the fused graph holds %zu bytes, the unfused %zu (expected at "
          "least %zu less)", live[1], live[0], 4 * act);
    for (int k = 0; k < 2; k++) {
        ie_tensor_release(y[k]);
        ie_tensor_release(gx[k]);
        for (int i = 0; i < 3; i++) {
            ie_tensor *all[] = {nets[k].w[i], nets[k].gamma[i], nets[k].beta[i], nets[k].rm[i], nets[k].rv[i]};
            for (int t = 0; t < 5; t++) ie_tensor_release(all[t]);
        }
    }
    ie_tensor_release(x);
}

/* ---- batch norm + ReLU over its own input (ie_batch_norm_relu_consume) ----
 * Against PyTorch: relu of the fixture's F.batch_norm output.  ReLU is exact
 * and 1-Lipschitz (|relu(a) - relu(b)| <= |a - b|), so batch_case's forward
 * tolerances hold unchanged.  Against ie_batch_norm_relu: the same bytes,
 * running statistics and counter included, whether written in place or not.
 * In place exactly when nothing else can see the input. */

static bool same_bytes(const ie_tensor *a, const ie_tensor *b) {
    return a && b && a->numel == b->numel && memcmp(ie_f32(a), ie_f32(b), (size_t)a->numel * 4) == 0;
}

typedef struct bn_args {
    ie_tensor *w, *b, *rm, *rv, *nbt;
} bn_args;

static bn_args bn_args_of(ie_params *fx, const char *name, bool grad) {
    bn_args a = {leaf_or_null(fx, name, "w", grad), leaf_or_null(fx, name, "b", grad),
                 fixture_leaf(fx, key(name, "rm0"), false), fixture_leaf(fx, key(name, "rv0"), false), counter(7)};
    return a;
}

static void bn_args_release(bn_args *a) {
    ie_tensor *all[] = {a->w, a->b, a->rm, a->rv, a->nbt};
    for (int i = 0; i < 5; i++) ie_tensor_release(all[i]);
}

static void check_same_state(const char *what, const bn_args *got, const bn_args *want) {
    CHECK(same_bytes(got->rm, want->rm) && same_bytes(got->rv, want->rv) &&
              counter_value(got->nbt) == counter_value(want->nbt),
          "%s: running statistics differ from ie_batch_norm_relu's", what);
}

static void consume_case(ie_params *fx, const char *name, bool training, float momentum, float eps) {
    char what[160];
    ie_tensor *x = fixture_leaf(fx, key(name, "x"), false), *torch_relu = NULL, *ref = NULL, *out = NULL;
    CHECK_OK(ie_relu(fixture_get(fx, key(name, "y")), &torch_relu));
    bn_args ra = bn_args_of(fx, name, false);
    CHECK_OK(ie_batch_norm_relu(x, ra.w, ra.b, ra.rm, ra.rv, ra.nbt, training, momentum, eps, &ref));

    /* a private copy: written over */
    bn_args a = bn_args_of(fx, name, false);
    ie_tensor *mine = NULL;
    CHECK_OK(ie_tensor_clone(x, &mine));
    const void *mem = ie_tensor_data(mine);
    CHECK_OK(ie_batch_norm_relu_consume(mine, a.w, a.b, a.rm, a.rv, a.nbt, training, momentum, eps, &out));
    snprintf(what, sizeof what, "%s consume in place", name);
    CHECK(ie_tensor_data(out) == mem, "%s: the output is not the input's memory", what);
    check_close(what, out, torch_relu, FWD_RTOL, FWD_ATOL);
    CHECK(same_bytes(out, ref), "%s: bytes differ from ie_batch_norm_relu's", what);
    check_same_state(what, &a, &ra);
    ie_tensor_release(out);
    bn_args_release(&a);

    /* held elsewhere (a second reference, then a view): a new output, the input untouched */
    for (int k = 0; k < 2; k++) {
        a = bn_args_of(fx, name, false);
        ie_tensor *arg = NULL;
        if (k == 0) arg = ie_tensor_retain(x);
        else CHECK_OK(ie_reshape(x, x->ndim, x->shape, &arg));
        CHECK_OK(ie_batch_norm_relu_consume(arg, a.w, a.b, a.rm, a.rv, a.nbt, training, momentum, eps, &out));
        snprintf(what, sizeof what, "%s consume of a %s", name, k ? "view" : "shared tensor");
        CHECK(ie_tensor_data(out) != ie_tensor_data(x), "%s: written over the input", what);
        CHECK(same_bytes(x, fixture_get(fx, key(name, "x"))), "%s: the input changed", what);
        CHECK(same_bytes(out, ref), "%s: bytes differ from ie_batch_norm_relu's", what);
        check_same_state(what, &a, &ra);
        ie_tensor_release(out);
        bn_args_release(&a);
    }

    /* a gradient wanted: recorded like ie_batch_norm_relu, the same gradients */
    ie_tensor *gy = fixture_leaf(fx, key(name, "gy"), false), *xs[2], *y[2];
    bn_args ga[2];
    for (int k = 0; k < 2; k++) {
        xs[k] = fixture_leaf(fx, key(name, "x"), true);
        ga[k] = bn_args_of(fx, name, true);
        if (k) CHECK_OK(ie_batch_norm_relu_consume(ie_tensor_retain(xs[k]), ga[k].w, ga[k].b, ga[k].rm, ga[k].rv,
                                                   ga[k].nbt, training, momentum, eps, &y[k]));
        else CHECK_OK(ie_batch_norm_relu(xs[k], ga[k].w, ga[k].b, ga[k].rm, ga[k].rv, ga[k].nbt, training,
                                         momentum, eps, &y[k]));
        backward_with(y[k], gy);
    }
    snprintf(what, sizeof what, "%s consume with gradients", name);
    CHECK(ie_tensor_data(y[1]) != ie_tensor_data(xs[1]), "%s: written over an input autograd needs", what);
    CHECK(same_bytes(y[1], y[0]) && same_bytes(ie_tensor_grad(xs[1]), ie_tensor_grad(xs[0])),
          "%s: output or input gradient differs from ie_batch_norm_relu's", what);
    if (ga[0].w)
        CHECK(same_bytes(ie_tensor_grad(ga[1].w), ie_tensor_grad(ga[0].w)) &&
                  same_bytes(ie_tensor_grad(ga[1].b), ie_tensor_grad(ga[0].b)),
              "%s: weight or bias gradient differs", what);
    for (int k = 0; k < 2; k++) {
        ie_tensor_release(xs[k]);
        ie_tensor_release(y[k]);
        bn_args_release(&ga[k]);
    }
    ie_tensor_release(gy);
    ie_tensor_release(x);
    ie_tensor_release(torch_relu);
    ie_tensor_release(ref);
    bn_args_release(&ra);
}

/* Misuse: an error naming the op, and the input still released (the
 * sanitizer build would report a leak). */
static void consume_errors(void) {
    const int64_t s4[4] = {2, 3, 4, 5}, s1[1] = {5};
    ie_tensor *out = NULL;
    CHECK_FAILS(ie_batch_norm_relu_consume(test_random(4, s4, 61, -1, 1, false), NULL, NULL, NULL, NULL, NULL, true,
                                           0.1f, 1e-5f, NULL),
                IE_ERR_INVALID_ARG, "batch_norm_relu_consume: out is NULL");
    CHECK_FAILS(ie_batch_norm_relu_consume(test_random(1, s1, 62, -1, 1, false), NULL, NULL, NULL, NULL, NULL, true,
                                           0.1f, 1e-5f, &out),
                IE_ERR_SHAPE, "batch_norm_relu_consume: input must be [N, C]");
    CHECK(out == NULL, "a failed consume set its output");
    CHECK_FAILS(ie_batch_norm_relu_consume(NULL, NULL, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, &out),
                IE_ERR_INVALID_ARG, "input is NULL");
}

static void bad_inputs(void) {
    const int64_t s4[4] = {2, 3, 4, 5}, s2[2] = {1, 3}, s1[1] = {5}, c3[1] = {3}, c4[1] = {4}, c6[4] = {2, 6, 2, 2};
    ie_tensor *x = test_random(4, s4, 31, -1, 1, false), *one = test_random(2, s2, 32, -1, 1, false),
              *flat = test_random(1, s1, 33, -1, 1, false), *v3 = test_random(1, c3, 34, 0.5f, 1, false),
              *v4 = test_random(1, c4, 35, 0.5f, 1, false), *x6 = test_random(4, c6, 36, -1, 1, false),
              *fcount = NULL, *out = NULL;
    CHECK_OK(ie_tensor_scalar(0.0f, &fcount));
    CHECK_FAILS(ie_batch_norm(NULL, NULL, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, &out), IE_ERR_INVALID_ARG,
                "batch_norm: input is NULL");
    CHECK_FAILS(ie_batch_norm(x, NULL, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, NULL), IE_ERR_INVALID_ARG,
                "batch_norm: out is NULL");
    CHECK_FAILS(ie_batch_norm(flat, NULL, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, &out), IE_ERR_SHAPE,
                "batch_norm: input must be [N, C]");
    CHECK_FAILS(ie_batch_norm(x, v4, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, &out), IE_ERR_SHAPE,
                "batch_norm: weight [4] f32 must be [3], one value per channel of input [2, 3, 4, 5] f32");
    CHECK_FAILS(ie_batch_norm(x, v3, v3, v3, v4, NULL, true, 0.1f, 1e-5f, &out), IE_ERR_SHAPE,
                "batch_norm: running_var [4] f32");
    CHECK_FAILS(ie_batch_norm(x, NULL, NULL, v4, v3, NULL, false, 0.1f, 1e-5f, &out), IE_ERR_SHAPE,
                "running_mean [4] f32");
    CHECK_FAILS(ie_batch_norm(x, NULL, NULL, NULL, v3, NULL, false, 0.1f, 1e-5f, &out), IE_ERR_INVALID_ARG,
                "running_mean is NULL");
    CHECK_FAILS(ie_batch_norm(one, NULL, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, &out), IE_ERR_SHAPE,
                "more than 1 value per channel, input is [1, 3] f32");
    CHECK_FAILS(ie_batch_norm(x, NULL, NULL, v3, v3, fcount, true, 0.1f, 1e-5f, &out), IE_ERR_DTYPE,
                "num_batches_tracked must be a one-element i64 tensor, got [] f32");
    CHECK_FAILS(ie_batch_norm(x, NULL, NULL, v3, v3, NULL, true, 1.5f, 1e-5f, &out), IE_ERR_INVALID_ARG,
                "momentum");
    CHECK_FAILS(ie_batch_norm(x, NULL, NULL, v3, v3, NULL, true, 0.1f, -1.0f, &out), IE_ERR_INVALID_ARG,
                "eps");
    CHECK_FAILS(ie_group_norm(x6, 4, NULL, NULL, 1e-5f, &out), IE_ERR_SHAPE,
                "group_norm: 4 groups do not divide the 6 channels of input [2, 6, 2, 2] f32");
    CHECK_FAILS(ie_group_norm(x6, 0, NULL, NULL, 1e-5f, &out), IE_ERR_INVALID_ARG, "groups must be >= 1");
    CHECK_FAILS(ie_group_norm(x6, 3, v3, NULL, 1e-5f, &out), IE_ERR_SHAPE,
                "group_norm: weight [3] f32 must be [6]");
    CHECK_FAILS(ie_group_norm(NULL, 3, NULL, NULL, 1e-5f, &out), IE_ERR_INVALID_ARG, "group_norm: input is NULL");
    CHECK_FAILS(ie_instance_norm(one, NULL, NULL, 1e-5f, &out), IE_ERR_SHAPE,
                "instance_norm: input must be [N, C, L], [N, C, H, W] or [N, C, D, H, W], got [1, 3] f32");
    CHECK_FAILS(ie_instance_norm(x, NULL, v4, 1e-5f, &out), IE_ERR_SHAPE, "instance_norm: bias [4] f32");
    CHECK_FAILS(ie_instance_norm(x, fcount, NULL, 1e-5f, &out), IE_ERR_SHAPE, "instance_norm: weight [] f32");
    CHECK(out == NULL, "a failed op must leave *out NULL");
    ie_tensor *ts[] = {x, one, flat, v3, v4, x6, fcount};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) ie_tensor_release(ts[i]);
}

int main(void) {
    ie_params *fx = fixture_load("norm.safetensors");
    batch_case(fx, "bn3d_train", true, 0.1f, 1e-5f, FWD_ATOL);
    batch_case(fx, "bn2d_train", true, 0.3f, 1e-3f, FWD_ATOL);
    batch_case(fx, "bn1d_train", true, 0.1f, 1e-5f, FWD_ATOL);
    batch_case(fx, "bn3d_eval", false, 0.1f, 1e-5f, FWD_ATOL);
    /* Mean 1000, spread 0.1: the reference is float64, so this checks that
     * the variance survives the cancellation float32 arithmetic invites. */
    batch_case(fx, "bn_offset", true, 0.1f, 1e-5f, FWD_ATOL);
    group_case(fx, "in3d", 0, true, 1e-5f);
    group_case(fx, "in2d", 0, true, 1e-5f);
    group_case(fx, "gn3d", 3, false, 1e-5f);
    group_case(fx, "gn2d", 2, false, 1e-3f);
    group_case(fx, "gn1d", 3, false, 1e-5f);
    weight_only_case(fx);
    gradchecks();
    multi_chunk_and_threads();
    fused_bn_relu();
    consume_case(fx, "bn3d_train", true, 0.1f, 1e-5f);
    consume_case(fx, "bn2d_train", true, 0.3f, 1e-3f);
    consume_case(fx, "bn3d_eval", false, 0.1f, 1e-5f);
    consume_errors();
    bad_inputs();
    ie_params_free(fx);
    return test_summary();
}
