/* tests - a small assertion harness, golden-fixture comparison and finite
 * difference gradient checks.  Header-only: every test is one executable.
 *
 *   CHECK(cond, "fmt", ...)      records a failure and continues
 *   CHECK_OK(status_expr)        the call must succeed (prints the message)
 *   return test_summary();       exits non-zero when anything failed */
#ifndef IE_TESTS_TEST_UTIL_H
#define IE_TESTS_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint/safetensors.h"
#include "core/tensor/tensor_impl.h"
#include "innereye/autograd.h"
#include "innereye/ops.h"
#include "innereye/params.h"
#include "innereye/threads.h"

static int test_failures;
static int test_checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        ie_status check_ok_st_ = (expr);                                                           \
        CHECK(check_ok_st_ == IE_OK, "%s -> %s: %s", #expr, ie_status_name(check_ok_st_),          \
              ie_error_message());                                                                 \
        if (check_ok_st_ != IE_OK) exit(test_summary());                                           \
    } while (0)

/* The call must fail with `code` and a message containing `needle`. */
#define CHECK_FAILS(expr, code, needle)                                                            \
    do {                                                                                           \
        ie_error_clear();                                                                          \
        ie_status check_fails_st_ = (expr);                                                        \
        CHECK(check_fails_st_ == (code), "%s returned %s, expected %s (message: %s)", #expr,       \
              ie_status_name(check_fails_st_), ie_status_name(code), ie_error_message());          \
        CHECK(strstr(ie_error_message(), (needle)) != NULL,                                        \
              "%s: message \"%s\" does not mention \"%s\"", #expr, ie_error_message(), (needle));  \
    } while (0)

static inline int test_summary(void) {
    printf("%d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

/* ---- golden fixtures ---- */

static inline ie_params *fixture_load(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", IE_FIXTURE_DIR, name);
    ie_params *p = NULL;
    ie_status st = ie_safetensors_read(path, &p);
    if (st != IE_OK) {
        fprintf(stderr, "FAIL: cannot load fixture %s: %s\n", path, ie_error_message());
        exit(1);
    }
    return p;
}

static inline ie_tensor *fixture_get(ie_params *fx, const char *key) {
    ie_tensor *t = ie_params_find(fx, key);
    if (!t) {
        fprintf(stderr, "FAIL: fixture has no tensor '%s'\n", key);
        exit(1);
    }
    return t;
}

/* A float copy of fixture entry `key` with requires_grad as given (a fresh
 * leaf, so gradients from different cases do not mix). */
static inline ie_tensor *fixture_leaf(ie_params *fx, const char *key, bool requires_grad) {
    ie_tensor *t = NULL;
    if (ie_tensor_clone(fixture_get(fx, key), &t) != IE_OK) exit(1);
    ie_tensor_set_requires_grad(t, requires_grad);
    return t;
}

/* max |a-b| / (atol + rtol*|b|) <= 1, reported with the worst element. */
static inline int check_close(const char *what, const ie_tensor *got, const ie_tensor *want, double rtol,
                              double atol) {
    test_checks++;
    if (!got || !want || got->numel != want->numel) {
        test_failures++;
        fprintf(stderr, "FAIL %s: %s (got %lld elements, want %lld)\n", what, !got ? "missing" : "size mismatch",
                got ? (long long)got->numel : -1LL, want ? (long long)want->numel : -1LL);
        return 0;
    }
    const float *g = ie_f32(got), *w = ie_f32(want);
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < got->numel; i++) {
        double r = fabs((double)g[i] - w[i]) / (atol + rtol * fabs((double)w[i]));
        if (!(r <= worst)) { /* NaN counts as worst */
            worst = isnan(r) ? INFINITY : r;
            at = i;
        }
    }
    if (worst > 1.0) {
        test_failures++;
        fprintf(stderr, "FAIL %s: element %lld is %.9g, want %.9g (rtol %g, atol %g)\n", what, (long long)at,
                g[at], w[at], rtol, atol);
        return 0;
    }
    return 1;
}

/* ---- finite-difference gradient check ----
 * f maps inputs to any tensor y; the check differentiates L = sum(y * r) for a
 * fixed pseudo-random r, comparing ie_backward's gradient of every input that
 * requires grad with central differences evaluated in double precision. */
typedef ie_status (*gradcheck_fn)(ie_tensor **inputs, void *ctx, ie_tensor **out);

static inline double gradcheck_weight(int64_t i) {
    uint32_t x = (uint32_t)i * 2654435761u + 12345u;
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    return ((double)(x & 0xffff) / 65535.0) - 0.5;
}

static inline double gradcheck_objective(gradcheck_fn f, ie_tensor **inputs, void *ctx) {
    bool was = ie_grad_set_enabled(false);
    ie_tensor *y = NULL;
    ie_status st = f(inputs, ctx, &y);
    ie_grad_set_enabled(was);
    if (st != IE_OK) {
        fprintf(stderr, "gradcheck: forward failed: %s\n", ie_error_message());
        exit(1);
    }
    double s = 0;
    const float *p = ie_f32(y);
    for (int64_t i = 0; i < y->numel; i++) s += (double)p[i] * gradcheck_weight(i);
    ie_tensor_release(y);
    return s;
}

static inline int gradcheck(const char *name, gradcheck_fn f, ie_tensor **inputs, int n, void *ctx, double eps,
                            double atol, double rtol) {
    int ok = 1;
    for (int k = 0; k < n; k++)
        if (inputs[k]) ie_tensor_zero_grad(inputs[k]);
    ie_tensor *y = NULL, *r = NULL, *weighted = NULL, *loss = NULL;
    CHECK_OK(f(inputs, ctx, &y));
    CHECK_OK(ie_tensor_empty(IE_F32, y->ndim, y->shape, IE_CPU, &r));
    for (int64_t i = 0; i < r->numel; i++) ie_f32(r)[i] = (float)gradcheck_weight(i);
    CHECK_OK(ie_mul(y, r, &weighted));
    CHECK_OK(ie_sum(weighted, &loss));
    CHECK_OK(ie_backward(loss));
    for (int k = 0; k < n; k++) {
        ie_tensor *x = inputs[k];
        if (!x || !x->requires_grad) continue;
        ie_tensor *g = ie_tensor_grad(x);
        test_checks++;
        if (!g) {
            test_failures++;
            fprintf(stderr, "FAIL gradcheck %s: input %d got no gradient\n", name, k);
            ok = 0;
            continue;
        }
        float *xd = ie_f32(x);
        double worst = 0;
        int64_t at = 0;
        double at_num = 0, at_ana = 0;
        for (int64_t i = 0; i < x->numel; i++) {
            float saved = xd[i];
            xd[i] = saved + (float)eps;
            double up = gradcheck_objective(f, inputs, ctx);
            xd[i] = saved - (float)eps;
            double down = gradcheck_objective(f, inputs, ctx);
            xd[i] = saved;
            double numeric = (up - down) / (2 * eps);
            double analytic = ie_f32(g)[i];
            double r2 = fabs(numeric - analytic) / (atol + rtol * fabs(numeric));
            if (!(r2 <= worst)) {
                worst = isnan(r2) ? INFINITY : r2;
                at = i;
                at_num = numeric;
                at_ana = analytic;
            }
        }
        if (worst > 1.0) {
            test_failures++;
            ok = 0;
            fprintf(stderr, "FAIL gradcheck %s: input %d element %lld analytic %.7g numeric %.7g\n", name, k,
                    (long long)at, at_ana, at_num);
        }
    }
    ie_tensor_release(y);
    ie_tensor_release(r);
    ie_tensor_release(weighted);
    ie_tensor_release(loss);
    return ok;
}

/* A float tensor of the given shape filled with values in [lo, hi) from a
 * fixed seed (for tests that need data but no fixture). */
static inline ie_tensor *test_random(int ndim, const int64_t *shape, uint32_t seed, float lo, float hi,
                                     bool requires_grad) {
    ie_tensor *t = NULL;
    if (ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, &t) != IE_OK) exit(1);
    ie_rng rng = ie_rng_make(seed, IE_STREAM_USER, 0, 0);
    ie_rng_fill_uniform(&rng, 0, ie_f32(t), t->numel, lo, hi);
    ie_tensor_set_requires_grad(t, requires_grad);
    return t;
}

#endif
