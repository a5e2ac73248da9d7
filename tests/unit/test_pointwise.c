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

static bool same_bytes(const ie_tensor *a, const ie_tensor *b) {
    return a && b && a->numel == b->numel && memcmp(ie_f32(a), ie_f32(b), (size_t)a->numel * 4) == 0;
}

/* ie_add_consume: the bytes of ie_add, written over b exactly when nothing
 * else can see b (and autograd keeps no copy of it), the same gradients. */
static void add_consume_cases(void) {
    const int64_t shape[4] = {2, 3, 4, 5}, ch[1] = {3};
    ie_tensor *x = test_random(4, shape, 11, -1, 1, false), *y = test_random(4, shape, 12, -1, 1, false);
    ie_tensor *ref = NULL, *out = NULL, *mine = NULL;
    CHECK_OK(ie_add(x, y, &ref));

    /* nothing else holds it: in place */
    CHECK_OK(ie_tensor_clone(y, &mine));
    const void *mem = ie_tensor_data(mine);
    CHECK_OK(ie_add_consume(x, mine, &out));
    CHECK(ie_tensor_data(out) == mem, "add_consume: the result is not the consumed operand's memory");
    CHECK(same_bytes(out, ref), "add_consume in place: bytes differ from ie_add's");
    ie_tensor_release(out);

    /* a second reference, a view, a per-channel b, b = a: a new tensor, the operands untouched */
    ie_tensor *c = test_random(1, ch, 13, -1, 1, false), *ref_c = NULL;
    CHECK_OK(ie_add(x, c, &ref_c));
    for (int k = 0; k < 4; k++) {
        ie_tensor *arg = NULL, *first = x, *want = ref;
        if (k == 0) arg = ie_tensor_retain(y);
        if (k == 1) CHECK_OK(ie_reshape(y, y->ndim, y->shape, &arg));
        if (k == 2) arg = ie_tensor_retain(c), want = ref_c;
        if (k == 3) { /* a + a, with a's one reference given up: not written over */
            CHECK_OK(ie_tensor_clone(x, &first));
            CHECK_OK(ie_add(first, first, &want));
            arg = ie_tensor_retain(first);
        }
        ie_tensor *kept = k == 2 ? c : k == 3 ? first : y;
        CHECK_OK(ie_add_consume(first, arg, &out));
        CHECK(ie_tensor_data(out) != ie_tensor_data(kept), "add_consume case %d: written over a held operand", k);
        CHECK(same_bytes(out, want), "add_consume case %d: bytes differ from ie_add's", k);
        ie_tensor_release(out);
        if (k == 3) {
            ie_tensor_release(first);
            ie_tensor_release(want);
        }
    }
    ie_tensor *y_again = test_random(4, shape, 12, -1, 1, false);
    CHECK(same_bytes(y, y_again), "add_consume: a held operand changed");

    /* gradients: b an op's output (its memory is taken), then a leaf (kept) */
    ie_tensor *gx[2][2] = {{0}}, *res[2][2] = {{0}}, *gb_first[2] = {0};
    for (int leaf = 0; leaf < 2; leaf++)
        for (int consume = 0; consume < 2; consume++) {
            ie_tensor *la = NULL, *lb = NULL, *b = NULL, *sum = NULL, *loss = NULL;
            CHECK_OK(ie_tensor_clone(x, &la));
            CHECK_OK(ie_tensor_clone(y, &lb));
            ie_tensor_set_requires_grad(la, true);
            ie_tensor_set_requires_grad(lb, true);
            if (leaf) b = ie_tensor_retain(lb);
            else CHECK_OK(ie_mul_scalar(lb, 3.0f, &b));
            const void *bmem = ie_tensor_data(b);
            if (consume) CHECK_OK(ie_add_consume(la, b, &sum));
            else {
                CHECK_OK(ie_add(la, b, &sum));
                ie_tensor_release(b);
            }
            if (consume)
                CHECK((ie_tensor_data(sum) == bmem) == !leaf, "add_consume with gradients: %s",
                      leaf ? "written over a leaf" : "an op output's memory not taken");
            CHECK_OK(ie_mul(sum, sum, &loss));
            ie_tensor *total = NULL;
            CHECK_OK(ie_sum(loss, &total));
            CHECK_OK(ie_backward(total));
            CHECK(same_bytes(lb, y), "add_consume with gradients: the leaf b changed");
            res[leaf][consume] = sum;
            gx[leaf][consume] = la;
            ie_tensor *gb = ie_tensor_grad(lb);
            CHECK(gb != NULL, "add_consume: no gradient reached b");
            if (!consume) gb_first[leaf] = ie_tensor_retain(gb);
            else {
                CHECK(same_bytes(gb, gb_first[leaf]), "add_consume (%s): b's gradient differs from ie_add's",
                      leaf ? "leaf" : "op output");
                ie_tensor_release(gb_first[leaf]);
            }
            ie_tensor_release(lb);
            ie_tensor_release(loss);
            ie_tensor_release(total);
        }
    for (int leaf = 0; leaf < 2; leaf++) {
        CHECK(same_bytes(res[leaf][1], res[leaf][0]), "add_consume with gradients: result differs from ie_add's");
        CHECK(same_bytes(ie_tensor_grad(gx[leaf][1]), ie_tensor_grad(gx[leaf][0])),
              "add_consume with gradients: a's gradient differs from ie_add's");
        for (int k = 0; k < 2; k++) {
            ie_tensor_release(res[leaf][k]);
            ie_tensor_release(gx[leaf][k]);
        }
    }

    /* misuse: an error naming the op, b still released (the sanitizer build would see a leak) */
    const int64_t other[2] = {7, 2};
    CHECK_FAILS(ie_add_consume(x, test_random(2, other, 14, 0, 1, false), &out), IE_ERR_SHAPE, "add: cannot combine [");
    CHECK(out == NULL, "a failed add_consume must leave *out NULL");
    CHECK_FAILS(ie_add_consume(x, NULL, &out), IE_ERR_INVALID_ARG, "add");
    ie_tensor *all[] = {x, y, ref, c, ref_c, y_again};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
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

    add_consume_cases();

    ie_tensor *tensors[] = {a, b, c, s, x, y, w, bad, loss, nan_in};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) ie_tensor_release(tensors[i]);
    ie_params_free(fx);
    return test_summary();
}
