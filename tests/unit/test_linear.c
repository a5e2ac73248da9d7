/* Linear layer: values and gradients against PyTorch (including shapes that
 * span several GEMM blocks), finite differences, thread-count determinism and
 * error messages. */
#include "innereye/threads.h"
#include "test_util.h"

static void close_rel(const char *what, const ie_tensor *got, const ie_tensor *want) {
    double m = 0;
    for (int64_t i = 0; i < want->numel; i++) m = fmax(m, fabs(ie_f32(want)[i]));
    check_close(what, got, want, 1e-5, 1e-6 * m + 1e-30);
}

static void against_torch(ie_params *fx, const char *prefix, bool bias) {
    char k[64];
#define KEY(s) (snprintf(k, sizeof k, "%s_%s", prefix, s), k)
    ie_tensor *x = fixture_leaf(fx, KEY("x"), true), *w = fixture_leaf(fx, KEY("w"), true);
    ie_tensor *b = bias ? fixture_leaf(fx, KEY("b"), true) : NULL, *y = NULL, *yr = NULL, *loss = NULL;
    CHECK_OK(ie_linear(x, w, b, &y));
    close_rel(KEY("y"), y, fixture_get(fx, KEY("y")));
    CHECK_OK(ie_mul(y, fixture_get(fx, KEY("r")), &yr));
    CHECK_OK(ie_sum(yr, &loss));
    CHECK_OK(ie_backward(loss));
    close_rel(KEY("gx"), ie_tensor_grad(x), fixture_get(fx, KEY("gx")));
    close_rel(KEY("gw"), ie_tensor_grad(w), fixture_get(fx, KEY("gw")));
    if (bias) close_rel(KEY("gb"), ie_tensor_grad(b), fixture_get(fx, KEY("gb")));
#undef KEY
    ie_tensor *all[] = {x, w, b, y, yr, loss};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

static ie_status f_linear(ie_tensor **in, void *ctx, ie_tensor **out) {
    (void)ctx;
    return ie_linear(in[0], in[1], in[2], out);
}

static void test_gradcheck(void) {
    const int64_t sx[2] = {3, 4}, sw[2] = {5, 4}, sb[1] = {5};
    ie_tensor *x = test_random(2, sx, 1, -1, 1, true), *w = test_random(2, sw, 2, -1, 1, true),
              *b = test_random(1, sb, 3, -1, 1, true);
    gradcheck("linear", f_linear, (ie_tensor *[]){x, w, b}, 3, NULL, 1e-2, 1e-3, 1e-2);
    gradcheck("linear without bias", f_linear, (ie_tensor *[]){x, w, NULL}, 3, NULL, 1e-2, 1e-3, 1e-2);
    /* Only the weight requires grad (a frozen feature extractor upstream). */
    ie_tensor *xf = test_random(2, sx, 4, -1, 1, false);
    gradcheck("linear weight only", f_linear, (ie_tensor *[]){xf, w, b}, 3, NULL, 1e-2, 1e-3, 1e-2);
    ie_tensor *all[] = {x, w, b, xf};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

/* Bytes of y, gx, gw, gb for one thread count. */
static void run_once(ie_tensor *x0, ie_tensor *w0, ie_tensor *b0, ie_tensor *out[4]) {
    ie_tensor *x, *w, *b, *y, *sq, *loss;
    CHECK_OK(ie_tensor_clone(x0, &x));
    CHECK_OK(ie_tensor_clone(w0, &w));
    CHECK_OK(ie_tensor_clone(b0, &b));
    ie_tensor_set_requires_grad(x, true);
    ie_tensor_set_requires_grad(w, true);
    ie_tensor_set_requires_grad(b, true);
    CHECK_OK(ie_linear(x, w, b, &y));
    CHECK_OK(ie_mul(y, y, &sq));
    CHECK_OK(ie_sum(sq, &loss));
    CHECK_OK(ie_backward(loss));
    out[0] = ie_tensor_retain(y);
    out[1] = ie_tensor_retain(ie_tensor_grad(x));
    out[2] = ie_tensor_retain(ie_tensor_grad(w));
    out[3] = ie_tensor_retain(ie_tensor_grad(b));
    ie_tensor *all[] = {x, w, b, y, sq, loss};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

static void test_determinism(void) {
    const int64_t sx[2] = {150, 300}, sw[2] = {260, 300}, sb[1] = {260};
    ie_tensor *x = test_random(2, sx, 5, -1, 1, false), *w = test_random(2, sw, 6, -0.1f, 0.1f, false),
              *b = test_random(1, sb, 7, -1, 1, false), *r1[4], *r3[4];
    ie_threads_set(1);
    run_once(x, w, b, r1);
    ie_threads_set(3);
    run_once(x, w, b, r3);
    ie_threads_set(0);
    const char *names[4] = {"output", "input grad", "weight grad", "bias grad"};
    for (int i = 0; i < 4; i++) {
        CHECK(memcmp(ie_f32(r1[i]), ie_f32(r3[i]), (size_t)r1[i]->numel * 4) == 0,
              "linear %s differs between 1 and 3 threads", names[i]);
        ie_tensor_release(r1[i]);
        ie_tensor_release(r3[i]);
    }
    ie_tensor_release(x);
    ie_tensor_release(w);
    ie_tensor_release(b);
}

static void test_errors(void) {
    const int64_t sx[2] = {2, 4}, sw[2] = {8, 5}, sw_ok[2] = {8, 4}, sb[1] = {7}, s3[3] = {2, 4, 1};
    ie_tensor *x = test_random(2, sx, 1, 0, 1, false), *w = test_random(2, sw, 2, 0, 1, false),
              *w_ok = test_random(2, sw_ok, 3, 0, 1, false), *b = test_random(1, sb, 4, 0, 1, false),
              *x3 = test_random(3, s3, 5, 0, 1, false), *out = NULL;
    CHECK_FAILS(ie_linear(x, w, NULL, &out), IE_ERR_SHAPE,
                "linear: weight [8, 5] f32 expects 5 input features, input is [2, 4] f32");
    CHECK_FAILS(ie_linear(x, w_ok, b, &out), IE_ERR_SHAPE, "linear: bias must be [8] for weight [8, 4] f32, got [7] f32");
    CHECK_FAILS(ie_linear(x3, w_ok, NULL, &out), IE_ERR_SHAPE, "linear: input must be [N, in_features], got [2, 4, 1] f32");
    CHECK_FAILS(ie_linear(x, NULL, NULL, &out), IE_ERR_INVALID_ARG, "linear: weight is NULL");
    CHECK(out == NULL, "a failed op must leave *out NULL");
    ie_tensor *all[] = {x, w, w_ok, b, x3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

int main(void) {
    ie_params *fx = fixture_load("linear.safetensors");
    against_torch(fx, "small", true);
    against_torch(fx, "nobias", false);
    against_torch(fx, "large", true);
    ie_params_free(fx);
    test_gradcheck();
    test_determinism();
    test_errors();
    return test_summary();
}
