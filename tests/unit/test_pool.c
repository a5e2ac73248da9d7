/* Pooling and upsampling: forward and gradients against PyTorch fixtures
 * (including max-pool ties and every align_corners case), finite-difference
 * gradchecks, thread-count determinism and error messages. */
#include "test_util.h"

#include "innereye/threads.h"

typedef enum kind { MAX3, MAX2, AVG3, AVG2, GAP, UP } kind;

typedef struct op_case {
    const char *name;
    kind kind;
    int k[3], s[3], p[3];
    bool null_stride; /* pass NULL stride and padding */
    int64_t size[3];
    ie_upsample_mode mode;
    bool align;
} op_case;

static ie_status run_case(const op_case *c, ie_tensor *x, ie_tensor **out) {
    const int *s = c->null_stride ? NULL : c->s, *p = c->null_stride ? NULL : c->p;
    switch (c->kind) {
    case MAX3: return ie_max_pool3d(x, c->k, s, p, out);
    case MAX2: return ie_max_pool2d(x, c->k, s, p, out);
    case AVG3: return ie_avg_pool3d(x, c->k, s, p, out);
    case AVG2: return ie_avg_pool2d(x, c->k, s, p, out);
    case GAP: return ie_global_avg_pool(x, out);
    default: return ie_upsample(x, c->size, c->mode, c->align, out);
    }
}

static const op_case fixture_cases[] = {
    {"mp3d", MAX3, {2, 3, 2}, {2, 2, 1}, {1, 1, 0}, false, {0}, 0, false},
    {"mp3d_default", MAX3, {2, 2, 2}, {0}, {0}, true, {0}, 0, false},
    {"mp3d_default", MAX3, {2, 2, 2}, {0, 0, 0}, {0, 0, 0}, false, {0}, 0, false}, /* stride 0 = kernel */
    {"mp2d", MAX2, {3, 3}, {2, 2}, {1, 1}, false, {0}, 0, false},
    {"mp2d_ties", MAX2, {3, 3}, {1, 1}, {1, 1}, false, {0}, 0, false},
    {"ap3d", AVG3, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, false, {0}, 0, false},
    {"ap2d", AVG2, {2, 3}, {1, 2}, {1, 1}, false, {0}, 0, false},
    {"gap3d", GAP, {0}, {0}, {0}, false, {0}, 0, false},
    {"gap2d", GAP, {0}, {0}, {0}, false, {0}, 0, false},
    {"near3d", UP, {0}, {0}, {0}, false, {5, 7, 9}, IE_UPSAMPLE_NEAREST, false},
    {"near3d_2x", UP, {0}, {0}, {0}, false, {6, 8, 10}, IE_UPSAMPLE_NEAREST, false},
    {"near2d_down", UP, {0}, {0}, {0}, false, {4, 5}, IE_UPSAMPLE_NEAREST, false},
    {"tri_f", UP, {0}, {0}, {0}, false, {5, 7, 3}, IE_UPSAMPLE_LINEAR, false},
    {"tri_t", UP, {0}, {0}, {0}, false, {5, 7, 3}, IE_UPSAMPLE_LINEAR, true},
    {"tri_keep_d", UP, {0}, {0}, {0}, false, {3, 8, 10}, IE_UPSAMPLE_LINEAR, false},
    {"bi_f", UP, {0}, {0}, {0}, false, {7, 10}, IE_UPSAMPLE_LINEAR, false},
    {"bi_t", UP, {0}, {0}, {0}, false, {7, 10}, IE_UPSAMPLE_LINEAR, true},
    {"bi_down", UP, {0}, {0}, {0}, false, {3, 4}, IE_UPSAMPLE_LINEAR, false},
    {"bi_to1", UP, {0}, {0}, {0}, false, {1, 3}, IE_UPSAMPLE_LINEAR, true},
};

static char key_buf[128];
static const char *key(const char *name, const char *field) {
    snprintf(key_buf, sizeof key_buf, "%s.%s", name, field);
    return key_buf;
}

static void backward_with(ie_tensor *y, ie_tensor *gy) {
    ie_tensor *prod = NULL, *loss = NULL;
    CHECK_OK(ie_mul(y, gy, &prod));
    CHECK_OK(ie_sum(prod, &loss));
    CHECK_OK(ie_backward(loss));
    ie_tensor_release(prod);
    ie_tensor_release(loss);
}

static void fixture_case(ie_params *fx, const op_case *c) {
    ie_tensor *x = fixture_leaf(fx, key(c->name, "x"), true), *gy = fixture_leaf(fx, key(c->name, "gy"), false);
    ie_tensor *y = NULL, *want = fixture_get(fx, key(c->name, "y"));
    CHECK_OK(run_case(c, x, &y));
    char what[128];
    snprintf(what, sizeof what, "%s forward", c->name);
    CHECK(y->ndim == want->ndim && memcmp(y->shape, want->shape, (size_t)y->ndim * sizeof y->shape[0]) == 0,
          "%s: output shape differs from torch's", c->name);
    check_close(what, y, want, 1e-5, 1e-6);
    backward_with(y, gy);
    snprintf(what, sizeof what, "%s grad", c->name);
    check_close(what, ie_tensor_grad(x), fixture_get(fx, key(c->name, "gx")), 1e-5, 1e-6);
    ie_tensor_release(x);
    ie_tensor_release(gy);
    ie_tensor_release(y);
}

/* ---- finite differences ---- */

static ie_status f_case(ie_tensor **in, void *ctx, ie_tensor **out) { return run_case(ctx, in[0], out); }

/* Distinct values at least 0.01 apart, so a +-eps step never reorders a
 * window and max pooling stays differentiable. */
static ie_tensor *distinct(int ndim, const int64_t *shape) {
    ie_tensor *t = test_random(ndim, shape, 1, 0, 1, true);
    int64_t n = t->numel;
    for (int64_t i = 0; i < n; i++) ie_f32(t)[i] = (float)((i * 37) % n) * 0.01f - 0.5f;
    return t;
}

static void gradchecks(void) {
    const int64_t s5[5] = {1, 2, 4, 5, 4}, s4[4] = {2, 2, 5, 6};
    ie_tensor *x5 = distinct(5, s5), *x4 = distinct(4, s4);
    const op_case cases5[] = {
        {"max_pool3d", MAX3, {2, 2, 2}, {2, 2, 1}, {1, 0, 1}, false, {0}, 0, false},
        {"avg_pool3d", AVG3, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, false, {0}, 0, false},
        {"global_avg_pool 3d", GAP, {0}, {0}, {0}, false, {0}, 0, false},
        {"upsample nearest 3d", UP, {0}, {0}, {0}, false, {7, 3, 8}, IE_UPSAMPLE_NEAREST, false},
        {"upsample trilinear", UP, {0}, {0}, {0}, false, {7, 3, 8}, IE_UPSAMPLE_LINEAR, false},
        {"upsample trilinear align", UP, {0}, {0}, {0}, false, {7, 3, 8}, IE_UPSAMPLE_LINEAR, true},
    };
    const op_case cases4[] = {
        {"max_pool2d", MAX2, {3, 3}, {2, 2}, {1, 1}, false, {0}, 0, false},
        {"avg_pool2d", AVG2, {2, 3}, {1, 2}, {1, 1}, false, {0}, 0, false},
        {"upsample bilinear", UP, {0}, {0}, {0}, false, {9, 4}, IE_UPSAMPLE_LINEAR, false},
    };
    for (size_t i = 0; i < sizeof cases5 / sizeof cases5[0]; i++)
        gradcheck(cases5[i].name, f_case, &x5, 1, (void *)&cases5[i], 1e-3, 2e-3, 2e-2);
    for (size_t i = 0; i < sizeof cases4 / sizeof cases4[0]; i++)
        gradcheck(cases4[i].name, f_case, &x4, 1, (void *)&cases4[i], 1e-3, 2e-3, 2e-2);
    ie_tensor_release(x5);
    ie_tensor_release(x4);
}

/* ---- the same bytes on 1 and 4 threads ---- */

static void thread_determinism(void) {
    const int64_t shape[5] = {2, 3, 12, 40, 36};
    ie_tensor *x0 = test_random(5, shape, 7, -1, 1, false);
    const op_case cases[] = {
        {"max_pool3d", MAX3, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, false, {0}, 0, false},
        {"avg_pool3d", AVG3, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, false, {0}, 0, false},
        {"upsample trilinear", UP, {0}, {0}, {0}, false, {17, 50, 71}, IE_UPSAMPLE_LINEAR, false},
    };
    int threads = ie_threads_get();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ie_tensor *ys[2] = {NULL, NULL}, *gs[2] = {NULL, NULL};
        for (int t = 0; t < 2; t++) {
            ie_threads_set(t ? 4 : 1);
            ie_tensor *x = NULL, *gy = NULL;
            CHECK_OK(ie_tensor_clone(x0, &x));
            ie_tensor_set_requires_grad(x, true);
            CHECK_OK(run_case(&cases[i], x, &ys[t]));
            gy = test_random(ys[t]->ndim, ys[t]->shape, 8, -1, 1, false);
            backward_with(ys[t], gy);
            CHECK_OK(ie_tensor_clone(ie_tensor_grad(x), &gs[t]));
            ie_tensor_release(x);
            ie_tensor_release(gy);
        }
        CHECK(memcmp(ie_f32(ys[0]), ie_f32(ys[1]), (size_t)ys[0]->numel * 4) == 0 &&
                  memcmp(ie_f32(gs[0]), ie_f32(gs[1]), (size_t)gs[0]->numel * 4) == 0,
              "%s: results differ between 1 and 4 threads", cases[i].name);
        for (int t = 0; t < 2; t++) {
            ie_tensor_release(ys[t]);
            ie_tensor_release(gs[t]);
        }
    }
    ie_threads_set(threads);
    ie_tensor_release(x0);
}

/* ---- max pooling whose windows tile the input (its own fast kernels) ----
 * Odd sizes (inputs past the last window), ties and NaNs, 2x2x2 and 1x2x2,
 * row widths that the four-wide kernel takes whole or with single outputs,
 * against a naive restatement of PyTorch's rule: the first maximum of the
 * window in (d, h, w) order wins, a NaN takes over, the gradient goes to the
 * winner. */

static void naive_max_pool(const float *x, const int64_t *in, const int *k, float *y, int64_t *arg,
                           const int64_t *out, int64_t planes) {
    for (int64_t p = 0; p < planes; p++)
        for (int64_t o0 = 0; o0 < out[0]; o0++)
            for (int64_t o1 = 0; o1 < out[1]; o1++)
                for (int64_t o2 = 0; o2 < out[2]; o2++) {
                    float best = -INFINITY;
                    int64_t at = ((p * in[0] + o0 * k[0]) * in[1] + o1 * k[1]) * in[2] + o2 * k[2];
                    for (int a = 0; a < k[0]; a++)
                        for (int b = 0; b < k[1]; b++)
                            for (int c = 0; c < k[2]; c++) {
                                int64_t i = ((p * in[0] + o0 * k[0] + a) * in[1] + o1 * k[1] + b) * in[2] + o2 * k[2] + c;
                                if (x[i] > best || isnan(x[i])) {
                                    best = x[i];
                                    at = i;
                                }
                            }
                    int64_t o = ((p * out[0] + o0) * out[1] + o1) * out[2] + o2;
                    y[o] = best;
                    arg[o] = at;
                }
}

static void tiled_max_pool(void) {
    /* output widths 4 (one four-wide step) and 7 (a step and three single
     * outputs, the NaN among them) */
    const int64_t shapes[3][5] = {{2, 3, 5, 7, 9}, {3, 2, 1, 9, 8}, {2, 3, 1, 7, 15}};
    const int kernels[3][3] = {{2, 2, 2}, {1, 2, 2}, {1, 2, 2}};
    for (int c = 0; c < 3; c++) {
        const int64_t *sh = shapes[c];
        ie_tensor *x = test_random(5, sh, 21 + c, -1, 1, true);
        float *xv = ie_f32(x);
        for (int64_t i = 0; i < x->numel; i++) xv[i] = roundf(xv[i] * 2) / 2; /* many ties */
        ie_tensor *y = NULL, *gy = NULL, *xn = NULL, *yn = NULL;
        const int *k = kernels[c];
        const int64_t in[3] = {sh[2], sh[3], sh[4]}, out[3] = {sh[2] / k[0], sh[3] / k[1], sh[4] / k[2]};
        const int64_t planes = sh[0] * sh[1], n_out = planes * out[0] * out[1] * out[2];
        float *want = malloc((size_t)n_out * sizeof(float));
        int64_t *arg = malloc((size_t)n_out * sizeof(int64_t));
        /* a NaN takes over its window (forward only: the loss would not be finite) */
        CHECK_OK(ie_tensor_clone(x, &xn));
        ie_f32(xn)[11] = NAN;
        bool was = ie_grad_set_enabled(false);
        CHECK_OK(ie_max_pool3d(xn, k, NULL, NULL, &yn));
        ie_grad_set_enabled(was);
        naive_max_pool(ie_f32(xn), in, k, want, arg, out, planes);
        CHECK(yn->numel == n_out && memcmp(ie_f32(yn), want, (size_t)n_out * sizeof(float)) == 0,
              "tiled max pool %d: forward with a NaN differs from the naive rule", c);
        CHECK_OK(ie_max_pool3d(x, k, NULL, NULL, &y));
        naive_max_pool(xv, in, k, want, arg, out, planes);
        CHECK(y->numel == n_out && memcmp(ie_f32(y), want, (size_t)n_out * sizeof(float)) == 0,
              "tiled max pool %d: forward differs from the naive rule", c);
        gy = test_random(y->ndim, y->shape, 31 + c, -1, 1, false);
        backward_with(y, gy);
        float *gwant = calloc((size_t)x->numel, sizeof(float));
        for (int64_t o = 0; o < n_out; o++) gwant[arg[o]] = 0.0f + ie_f32(gy)[o];
        CHECK(memcmp(ie_f32(ie_tensor_grad(x)), gwant, (size_t)x->numel * sizeof(float)) == 0,
              "tiled max pool %d: the gradient does not go to the window's winner alone", c);
        free(want);
        free(arg);
        free(gwant);
        ie_tensor_release(x);
        ie_tensor_release(y);
        ie_tensor_release(gy);
        ie_tensor_release(xn);
        ie_tensor_release(yn);
    }
}

/* ---- bad arguments ---- */

static void bad_inputs(void) {
    const int64_t s4[4] = {2, 3, 4, 5}, s5[5] = {1, 1, 2, 8, 8}, s2[2] = {2, 3}, s3[3] = {2, 3, 4};
    ie_tensor *x4 = test_random(4, s4, 3, -1, 1, false), *x5 = test_random(5, s5, 4, -1, 1, false),
              *x2 = test_random(2, s2, 5, -1, 1, false), *x3 = test_random(3, s3, 6, -1, 1, false), *out = NULL;
    const int k3[3] = {3, 3, 3}, k2[2] = {2, 2}, k0[2] = {0, 2}, pbig[2] = {2, 0}, k2b[3] = {2, 2, 2};
    const int64_t size2[2] = {8, 10}, size_bad[2] = {0, 10};
    CHECK_FAILS(ie_max_pool3d(x4, k3, NULL, NULL, &out), IE_ERR_SHAPE,
                "max_pool3d: input must be [N, C, D, H, W], got [2, 3, 4, 5] f32");
    CHECK_FAILS(ie_max_pool3d(x5, k3, NULL, NULL, &out), IE_ERR_SHAPE,
                "max_pool3d: kernel [3, 3, 3] is larger than input [1, 1, 2, 8, 8] f32 padded by [0, 0, 0]");
    CHECK_FAILS(ie_avg_pool3d(x5, k3, NULL, NULL, &out), IE_ERR_SHAPE, "avg_pool3d: kernel [3, 3, 3] is larger");
    CHECK_FAILS(ie_max_pool3d(x5, NULL, NULL, NULL, &out), IE_ERR_INVALID_ARG, "max_pool3d: kernel is NULL");
    CHECK_FAILS(ie_max_pool2d(x4, k0, NULL, NULL, &out), IE_ERR_INVALID_ARG, "max_pool2d: kernel [0, 2] must be >= 1");
    CHECK_FAILS(ie_avg_pool2d(x4, k2, NULL, pbig, &out), IE_ERR_INVALID_ARG,
                "avg_pool2d: padding [2, 0] must be at most half of kernel [2, 2]");
    CHECK_FAILS(ie_avg_pool2d(NULL, k2, NULL, NULL, &out), IE_ERR_INVALID_ARG, "avg_pool2d: input is NULL");
    CHECK_FAILS(ie_max_pool2d(x4, k2, NULL, NULL, NULL), IE_ERR_INVALID_ARG, "max_pool2d: out is NULL");
    CHECK_FAILS(ie_max_pool2d(x5, k2b, NULL, NULL, &out), IE_ERR_SHAPE,
                "max_pool2d: input must be [N, C, H, W], got [1, 1, 2, 8, 8] f32");
    CHECK_FAILS(ie_global_avg_pool(x2, &out), IE_ERR_SHAPE, "global_avg_pool: input must be [N, C, ...]");
    CHECK_FAILS(ie_global_avg_pool(NULL, &out), IE_ERR_INVALID_ARG, "global_avg_pool: input is NULL");
    CHECK_FAILS(ie_upsample(x3, size2, IE_UPSAMPLE_LINEAR, false, &out), IE_ERR_SHAPE,
                "upsample: input must be [N, C, H, W] or [N, C, D, H, W], got [2, 3, 4] f32");
    CHECK_FAILS(ie_upsample(x4, NULL, IE_UPSAMPLE_LINEAR, false, &out), IE_ERR_INVALID_ARG, "upsample: size is NULL");
    CHECK_FAILS(ie_upsample(x4, size_bad, IE_UPSAMPLE_LINEAR, false, &out), IE_ERR_INVALID_ARG,
                "output size 0 along spatial dimension 0 of input [2, 3, 4, 5] f32");
    CHECK_FAILS(ie_upsample(x4, size2, IE_UPSAMPLE_NEAREST, true, &out), IE_ERR_INVALID_ARG,
                "align_corners applies to linear mode only");
    CHECK_FAILS(ie_upsample(x4, size2, (ie_upsample_mode)7, false, &out), IE_ERR_INVALID_ARG, "unknown mode 7");
    CHECK(out == NULL, "a failed op must leave *out NULL");
    ie_tensor *ts[] = {x4, x5, x2, x3};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) ie_tensor_release(ts[i]);
}

int main(void) {
    ie_params *fx = fixture_load("pool.safetensors");
    for (size_t i = 0; i < sizeof fixture_cases / sizeof fixture_cases[0]; i++) fixture_case(fx, &fixture_cases[i]);
    gradchecks();
    thread_determinism();
    tiled_max_pool();
    bad_inputs();
    ie_params_free(fx);
    return test_summary();
}
