/* Elementwise ops: forward against PyTorch fixtures, gradients by finite
 * differences, broadcasting rules and error messages. */
#include "test_util.h"

static ie_status f_add(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_add(in[0], in[1], out); }
static ie_status f_sub(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_sub(in[0], in[1], out); }
static ie_status f_mul(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_mul(in[0], in[1], out); }
static ie_status f_relu(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_relu(in[0], out); }
static ie_status f_leaky(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_leaky_relu(in[0], 0.1f, out); }
static ie_status f_sigmoid(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_sigmoid(in[0], out); }
static ie_status f_tanh(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_tanh(in[0], out); }
static ie_status f_affine(ie_tensor **in, void *ctx, ie_tensor **out) {
    (void)ctx;
    ie_tensor *t = NULL;
    IE_TRY(ie_mul_scalar(in[0], 2.5f, &t));
    ie_status st = ie_add_scalar(t, -1.0f, out);
    ie_tensor_release(t);
    return st;
}
static ie_status f_mean(ie_tensor **in, void *ctx, ie_tensor **out) { (void)ctx; return ie_mean(in[0], out); }

/* Values away from 0 so that ReLU's kink is not straddled by the difference. */
static ie_tensor *away_from_zero(const int64_t *shape, uint32_t seed) {
    ie_tensor *t = test_random(4, shape, seed, -1.0f, 1.0f, true);
    float *p = ie_f32(t);
    for (int64_t i = 0; i < t->numel; i++) p[i] += p[i] >= 0 ? 0.05f : -0.05f;
    return t;
}

int main(void) {
    const int64_t shape[4] = {2, 3, 4, 5}, ch[1] = {3}, one[1] = {1};
    ie_tensor *a = away_from_zero(shape, 1), *b = test_random(4, shape, 2, -1, 1, true);
    ie_tensor *c = test_random(1, ch, 3, -1, 1, true), *s = test_random(1, one, 4, -1, 1, true);
    const double eps = 1e-3, atol = 2e-3, rtol = 2e-2;

    gradcheck("add", f_add, (ie_tensor *[]){a, b}, 2, NULL, eps, atol, rtol);
    gradcheck("sub", f_sub, (ie_tensor *[]){a, b}, 2, NULL, eps, atol, rtol);
    gradcheck("mul", f_mul, (ie_tensor *[]){a, b}, 2, NULL, eps, atol, rtol);
    gradcheck("add per-channel", f_add, (ie_tensor *[]){a, c}, 2, NULL, eps, atol, rtol);
    gradcheck("mul per-channel", f_mul, (ie_tensor *[]){a, c}, 2, NULL, eps, atol, rtol);
    gradcheck("sub scalar-tensor", f_sub, (ie_tensor *[]){a, s}, 2, NULL, eps, atol, rtol);
    gradcheck("relu", f_relu, &a, 1, NULL, eps, atol, rtol);
    gradcheck("leaky_relu", f_leaky, &a, 1, NULL, eps, atol, rtol);
    gradcheck("sigmoid", f_sigmoid, &a, 1, NULL, eps, atol, rtol);
    gradcheck("tanh", f_tanh, &a, 1, NULL, eps, atol, rtol);
    gradcheck("affine", f_affine, &a, 1, NULL, eps, atol, rtol);
    gradcheck("mean", f_mean, &a, 1, NULL, eps, atol, rtol);

    /* Forward values against PyTorch. */
    ie_params *fx = fixture_load("pointwise.safetensors");
    ie_tensor *x = fixture_leaf(fx, "x", false), *y = fixture_leaf(fx, "y", false),
              *w = fixture_leaf(fx, "channel", false), *out = NULL;
    CHECK_OK(ie_relu(x, &out)); check_close("relu", out, fixture_get(fx, "relu"), 1e-6, 1e-7); ie_tensor_release(out);
    CHECK_OK(ie_leaky_relu(x, 0.01f, &out)); check_close("leaky_relu", out, fixture_get(fx, "leaky_relu"), 1e-6, 1e-7); ie_tensor_release(out);
    CHECK_OK(ie_sigmoid(x, &out)); check_close("sigmoid", out, fixture_get(fx, "sigmoid"), 1e-5, 1e-7); ie_tensor_release(out);
    CHECK_OK(ie_tanh(x, &out)); check_close("tanh", out, fixture_get(fx, "tanh"), 1e-5, 1e-7); ie_tensor_release(out);
    CHECK_OK(ie_mul(x, y, &out)); check_close("mul", out, fixture_get(fx, "mul"), 1e-6, 1e-7); ie_tensor_release(out);
    CHECK_OK(ie_add(x, w, &out)); check_close("add per-channel", out, fixture_get(fx, "add_channel"), 1e-6, 1e-7); ie_tensor_release(out);
    CHECK_OK(ie_mean(x, &out)); check_close("mean", out, fixture_get(fx, "mean"), 1e-6, 1e-7); ie_tensor_release(out);

    /* Misuse is reported with the op and the shapes. */
    const int64_t other[2] = {7, 2};
    ie_tensor *bad = test_random(2, other, 5, 0, 1, false);
    CHECK_FAILS(ie_add(x, bad, &out), IE_ERR_SHAPE, "add: cannot combine [");
    CHECK_FAILS(ie_add(x, bad, &out), IE_ERR_SHAPE, "[7, 2]");
    CHECK_FAILS(ie_relu(NULL, &out), IE_ERR_INVALID_ARG, "relu: input is NULL");
    CHECK(out == NULL, "a failed op must leave *out NULL");
    ie_tensor *loss = NULL, *nan_in = NULL;
    CHECK_OK(ie_tensor_scalar(NAN, &nan_in));
    ie_tensor_set_requires_grad(nan_in, true);
    CHECK_OK(ie_mul_scalar(nan_in, 2.0f, &loss));
    CHECK_FAILS(ie_backward(loss), IE_ERR_NUMERIC, "not finite");

    ie_tensor *tensors[] = {a, b, c, s, x, y, w, bad, loss, nan_in};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) ie_tensor_release(tensors[i]);
    ie_params_free(fx);
    return test_summary();
}
