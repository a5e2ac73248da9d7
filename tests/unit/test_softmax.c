/* Softmax and log-softmax: values and gradients against PyTorch over several
 * dims, finite differences, stability for large logits, thread-count
 * determinism and error messages. */
#include "innereye/threads.h"
#include "test_util.h"

typedef ie_status (*softmax_fn)(ie_tensor *x, int dim, ie_tensor **out);

/* atol scaled to the reference's magnitude, so small gradients are judged too. */
static void close_rel(const char *what, const ie_tensor *got, const ie_tensor *want) {
    double m = 0;
    for (int64_t i = 0; i < want->numel; i++) m = fmax(m, fabs(ie_f32(want)[i]));
    check_close(what, got, want, 1e-5, 1e-6 * m + 1e-30);
}

/* y = f(x, dim) against the fixture, and d sum(y * r)/dx against torch's. */
static void against_torch(ie_params *fx, const char *input, const char *key, softmax_fn f, int dim) {
    char k[128];
    ie_tensor *x = fixture_leaf(fx, input, true), *y = NULL, *yr = NULL, *loss = NULL;
    CHECK_OK(f(x, dim, &y));
    snprintf(k, sizeof k, "%s", key);
    check_close(k, y, fixture_get(fx, k), 1e-5, 1e-7);
    snprintf(k, sizeof k, "%s_r", key);
    CHECK_OK(ie_mul(y, fixture_get(fx, k), &yr));
    CHECK_OK(ie_sum(yr, &loss));
    CHECK_OK(ie_backward(loss));
    snprintf(k, sizeof k, "%s_grad", key);
    close_rel(k, ie_tensor_grad(x), fixture_get(fx, k));
    ie_tensor_release(x);
    ie_tensor_release(y);
    ie_tensor_release(yr);
    ie_tensor_release(loss);
}

static ie_status f_softmax(ie_tensor **in, void *ctx, ie_tensor **out) { return ie_softmax(in[0], *(int *)ctx, out); }
static ie_status f_log_softmax(ie_tensor **in, void *ctx, ie_tensor **out) {
    return ie_log_softmax(in[0], *(int *)ctx, out);
}

static void test_fixtures(void) {
    ie_params *fx = fixture_load("softmax.safetensors");
    const int dims[] = {0, 1, 2, -1};
    char key[64];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "x_softmax_dim%d", dims[i]);
        against_torch(fx, "x", key, ie_softmax, dims[i]);
        snprintf(key, sizeof key, "x_log_softmax_dim%d", dims[i]);
        against_torch(fx, "x", key, ie_log_softmax, dims[i]);
    }
    against_torch(fx, "v", "v_softmax_dim1", ie_softmax, 1);
    against_torch(fx, "v", "v_log_softmax_dim1", ie_log_softmax, 1);
    against_torch(fx, "h", "h_softmax_dim1", ie_softmax, 1);
    against_torch(fx, "h", "h_log_softmax_dim1", ie_log_softmax, 1);
    ie_params_free(fx);
}

static void test_gradcheck(void) {
    const int64_t shape[4] = {2, 3, 2, 3};
    ie_tensor *x = test_random(4, shape, 7, -2, 2, true);
    int dims[] = {1, -1, 0};
    for (int i = 0; i < 3; i++) {
        gradcheck("softmax", f_softmax, &x, 1, &dims[i], 1e-3, 1e-3, 1e-2);
        gradcheck("log_softmax", f_log_softmax, &x, 1, &dims[i], 1e-3, 1e-3, 1e-2);
    }
    ie_tensor_release(x);
}

/* exp(1000) overflows a float: subtracting the maximum must keep it finite. */
static void test_stability(void) {
    const float v[6] = {1000, 1001, 1002, -1000, -1001, -1002};
    const int64_t shape[2] = {2, 3};
    ie_tensor *x = NULL, *y = NULL, *ly = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 2, shape, v, &x));
    CHECK_OK(ie_softmax(x, 1, &y));
    CHECK_OK(ie_log_softmax(x, 1, &ly));
    double z = 1 + exp(-1.0) + exp(-2.0);
    const double want[6] = {exp(-2.0) / z, exp(-1.0) / z, 1 / z, 1 / z, exp(-1.0) / z, exp(-2.0) / z};
    for (int i = 0; i < 6; i++) {
        CHECK(fabs(ie_f32(y)[i] - want[i]) < 1e-6, "softmax[%d] = %g, want %g", i, ie_f32(y)[i], want[i]);
        CHECK(fabs(ie_f32(ly)[i] - log(want[i])) < 1e-5, "log_softmax[%d] = %g, want %g", i, ie_f32(ly)[i],
              log(want[i]));
    }
    ie_tensor_release(x);
    ie_tensor_release(y);
    ie_tensor_release(ly);
}

/* Forward and backward give the same bytes on 1 and 3 threads. */
static void run_once(ie_tensor *x, int dim, ie_tensor **y, ie_tensor **grad) {
    ie_tensor *leaf = NULL, *w = NULL, *loss = NULL;
    CHECK_OK(ie_tensor_clone(x, &leaf));
    ie_tensor_set_requires_grad(leaf, true);
    CHECK_OK(ie_softmax(leaf, dim, y));
    CHECK_OK(ie_mul(*y, x, &w));
    CHECK_OK(ie_sum(w, &loss));
    CHECK_OK(ie_backward(loss));
    *grad = ie_tensor_retain(ie_tensor_grad(leaf));
    ie_tensor_release(leaf);
    ie_tensor_release(w);
    ie_tensor_release(loss);
}

static void test_determinism(void) {
    const int64_t shape[5] = {2, 6, 8, 16, 16};
    ie_tensor *x = test_random(5, shape, 9, -5, 5, false);
    int dims[2] = {1, -1};
    for (int d = 0; d < 2; d++) {
        ie_tensor *y1, *g1, *y3, *g3;
        ie_threads_set(1);
        run_once(x, dims[d], &y1, &g1);
        ie_threads_set(3);
        run_once(x, dims[d], &y3, &g3);
        CHECK(memcmp(ie_f32(y1), ie_f32(y3), (size_t)x->numel * 4) == 0, "softmax dim %d differs by threads", dims[d]);
        CHECK(memcmp(ie_f32(g1), ie_f32(g3), (size_t)x->numel * 4) == 0, "softmax grad dim %d differs by threads",
              dims[d]);
        ie_tensor *all[] = {y1, g1, y3, g3};
        for (int i = 0; i < 4; i++) ie_tensor_release(all[i]);
    }
    ie_threads_set(0);
    ie_tensor_release(x);
}

static void test_errors(void) {
    const int64_t shape[4] = {2, 3, 4, 5};
    ie_tensor *x = test_random(4, shape, 1, 0, 1, false), *out = NULL, *labels = NULL;
    CHECK_FAILS(ie_softmax(x, 4, &out), IE_ERR_INVALID_ARG, "softmax: dim 4 is out of range for input [2, 3, 4, 5] f32");
    CHECK_FAILS(ie_log_softmax(x, -5, &out), IE_ERR_INVALID_ARG, "log_softmax: dim -5");
    CHECK_FAILS(ie_softmax(NULL, 1, &out), IE_ERR_INVALID_ARG, "softmax: input is NULL");
    CHECK_OK(ie_tensor_zeros(IE_I64, 4, shape, IE_CPU, &labels));
    CHECK_FAILS(ie_softmax(labels, 1, &out), IE_ERR_DTYPE, "softmax: input must be f32, got [2, 3, 4, 5] i64");
    CHECK_FAILS(ie_softmax(x, 1, NULL), IE_ERR_INVALID_ARG, "softmax: out is NULL");
    CHECK(out == NULL, "a failed op must leave *out NULL");
    ie_tensor_release(x);
    ie_tensor_release(labels);
}

int main(void) {
    test_fixtures();
    test_gradcheck();
    test_stability();
    test_determinism();
    test_errors();
    return test_summary();
}
