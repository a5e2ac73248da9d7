/* Initialisation: torch's fan rules and bounds, the distribution of the
 * Philox draws (bounds, mean, variance, histogram), reproducibility per
 * (seed, item), independence from the thread count, and misuse. */
#include <stdint.h>

#include "innereye/init.h"
#include "innereye/threads.h"
#include "test_util.h"

static ie_tensor *empty_f32(int ndim, const int64_t *shape) {
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, &t));
    return t;
}

static bool same_bytes(const ie_tensor *a, const ie_tensor *b) {
    return a->numel == b->numel && memcmp(ie_f32(a), ie_f32(b), (size_t)a->numel * sizeof(float)) == 0;
}

/* Values torch.nn.init._calculate_fan_in_and_fan_out gives for these shapes. */
static void test_fans(void) {
    struct {
        int ndim;
        int64_t shape[5];
        int64_t fan_in, fan_out;
    } cases[] = {
        {5, {8, 4, 3, 3, 3}, 108, 216}, /* Conv3d(4, 8, 3) */
        {2, {16, 32}, 32, 16},          /* Linear(32, 16) */
        {5, {4, 4, 2, 2, 2}, 32, 32},   /* ConvTranspose3d(4, 8, 2, groups=2): [Cin, Cout/g, k] */
        {4, {9, 2, 3, 5}, 30, 135},     /* Conv2d(6, 9, (3, 5), groups=3) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t fi = 0, fo = 0;
        CHECK_OK(ie_init_fans(cases[i].ndim, cases[i].shape, &fi, &fo));
        CHECK(fi == cases[i].fan_in && fo == cases[i].fan_out, "case %zu: fans %lld/%lld, torch %lld/%lld", i,
              (long long)fi, (long long)fo, (long long)cases[i].fan_in, (long long)cases[i].fan_out);
    }
    int64_t fi, fo;
    const int64_t bias[1] = {8};
    CHECK_FAILS(ie_init_fans(1, bias, &fi, &fo), IE_ERR_SHAPE, "need a weight with 2 to 5 dimensions, got 1");
    CHECK(fabs(ie_init_leaky_relu_gain(0.0) - sqrt(2.0)) < 1e-15, "ReLU gain");
    CHECK(fabs(ie_init_leaky_relu_gain(sqrt(5.0)) - sqrt(1.0 / 3.0)) < 1e-15, "gain for a = sqrt(5)");
}

typedef struct stats {
    double mean, var, lo, hi;
} stats;

static stats describe(const ie_tensor *t) {
    stats s = {0, 0, INFINITY, -INFINITY};
    const float *p = ie_f32(t);
    for (int64_t i = 0; i < t->numel; i++) {
        s.mean += p[i];
        s.lo = p[i] < s.lo ? p[i] : s.lo;
        s.hi = p[i] > s.hi ? p[i] : s.hi;
    }
    s.mean /= (double)t->numel;
    for (int64_t i = 0; i < t->numel; i++) s.var += (p[i] - s.mean) * (p[i] - s.mean);
    s.var /= (double)(t->numel - 1);
    return s;
}

/* Uniform on [-b, b): bounds respected and nearly reached, mean and variance
 * within 5 standard errors, 20 equal bins each within 5 sigma of n/20. */
static void check_uniform(const char *what, const ie_tensor *t, double b) {
    stats s = describe(t);
    double n = (double)t->numel, var = b * b / 3.0;
    double fb = (float)b; /* the fill uses the bound rounded to float */
    CHECK(s.lo >= -fb && s.hi <= fb, "%s: values [%g, %g] outside +-%g", what, s.lo, s.hi, b);
    CHECK(s.lo < -0.999 * b && s.hi > 0.999 * b, "%s: values [%g, %g] do not fill +-%g", what, s.lo, s.hi, b);
    CHECK(fabs(s.mean) < 5 * sqrt(var / n), "%s: mean %g", what, s.mean);
    /* Var of the sample variance of a uniform: (mu4 - var^2) / n, mu4 = b^4 / 5. */
    CHECK(fabs(s.var - var) < 5 * sqrt((pow(b, 4) / 5 - var * var) / n), "%s: variance %g, want %g", what, s.var,
          var);
    int64_t bins[20] = {0};
    for (int64_t i = 0; i < t->numel; i++) {
        int k = (int)((ie_f32(t)[i] + b) / (2 * b) * 20);
        bins[k < 0 ? 0 : k > 19 ? 19 : k]++;
    }
    double expect = n / 20, sd = sqrt(n * 0.05 * 0.95);
    for (int k = 0; k < 20; k++)
        CHECK(fabs((double)bins[k] - expect) < 5 * sd, "%s: bin %d holds %lld, expected %.0f", what, k,
              (long long)bins[k], expect);
}

static void test_kaiming_uniform(void) {
    const int64_t shape[5] = {64, 32, 3, 3, 3};
    ie_tensor *w = empty_f32(5, shape);
    ie_rng rng = ie_rng_make(1234, IE_STREAM_INIT, 0, 7);
    CHECK_OK(ie_init_kaiming_uniform(w, 0.0, 32 * 27, &rng));
    CHECK(rng.next == (uint32_t)w->numel, "rng advanced to %u", rng.next);
    check_uniform("kaiming_uniform a=0", w, sqrt(2.0) * sqrt(3.0 / (32 * 27)));

    /* The same (seed, stream, item) reproduces; another item or seed does not. */
    ie_tensor *again = empty_f32(5, shape), *other = empty_f32(5, shape), *seed2 = empty_f32(5, shape);
    ie_rng r1 = ie_rng_make(1234, IE_STREAM_INIT, 0, 7), r2 = ie_rng_make(1234, IE_STREAM_INIT, 0, 8),
           r3 = ie_rng_make(1235, IE_STREAM_INIT, 0, 7);
    CHECK_OK(ie_init_kaiming_uniform(again, 0.0, 32 * 27, &r1));
    CHECK_OK(ie_init_kaiming_uniform(other, 0.0, 32 * 27, &r2));
    CHECK_OK(ie_init_kaiming_uniform(seed2, 0.0, 32 * 27, &r3));
    CHECK(same_bytes(w, again), "same seed and item must give the same values");
    int64_t equal = 0, equal_seed = 0;
    for (int64_t i = 0; i < w->numel; i++) {
        equal += ie_f32(w)[i] == ie_f32(other)[i];
        equal_seed += ie_f32(w)[i] == ie_f32(seed2)[i];
    }
    CHECK(equal < 10 && equal_seed < 10, "different items/seeds share %lld/%lld of %lld values", (long long)equal,
          (long long)equal_seed, (long long)w->numel);

    /* Thread count does not matter (the tensor spans many chunks). */
    ie_threads_set(1);
    ie_rng r4 = ie_rng_make(1234, IE_STREAM_INIT, 0, 7);
    CHECK_OK(ie_init_kaiming_uniform(again, 0.0, 32 * 27, &r4));
    ie_threads_set(3);
    CHECK(same_bytes(w, again), "1 thread and 3 threads differ");
    ie_rng r5 = ie_rng_make(1234, IE_STREAM_INIT, 0, 7);
    CHECK_OK(ie_init_normal(other, 0.0, 1.0, &r5));
    ie_threads_set(1);
    r5 = ie_rng_make(1234, IE_STREAM_INIT, 0, 7);
    CHECK_OK(ie_init_normal(seed2, 0.0, 1.0, &r5));
    CHECK(same_bytes(other, seed2), "normal: 1 thread and 3 threads differ");
    ie_threads_set(0);

    ie_tensor_release(w);
    ie_tensor_release(again);
    ie_tensor_release(other);
    ie_tensor_release(seed2);
}

static void test_normal(void) {
    const int64_t shape[2] = {300, 400};
    ie_tensor *t = empty_f32(2, shape);
    ie_rng rng = ie_rng_make(99, IE_STREAM_INIT, 0, 3);
    rng.next = 5; /* odd: the normals start at the next even index */
    CHECK_OK(ie_init_normal(t, 0.5, 2.0, &rng));
    CHECK(rng.next == 6 + 2 * (uint32_t)t->numel, "normal advanced rng to %u", rng.next);
    stats s = describe(t);
    double n = (double)t->numel;
    CHECK(fabs(s.mean - 0.5) < 5 * 2.0 / sqrt(n), "normal mean %g", s.mean);
    CHECK(fabs(s.var - 4.0) < 5 * 4.0 * sqrt(2.0 / n), "normal variance %g", s.var);
    /* About 68.3% within one std, 95.4% within two. */
    int64_t one = 0, two = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        double z = fabs((ie_f32(t)[i] - 0.5) / 2.0);
        one += z < 1.0;
        two += z < 2.0;
    }
    CHECK(fabs(one / n - 0.6827) < 0.006 && fabs(two / n - 0.9545) < 0.004, "normal tails: %.4f within 1 sd, %.4f within 2",
          one / n, two / n);

    const int64_t w_shape[5] = {32, 16, 3, 3, 3};
    ie_tensor *w = empty_f32(5, w_shape);
    ie_rng r = ie_rng_make(5, IE_STREAM_INIT, 0, 0);
    CHECK_OK(ie_init_kaiming_normal(w, 1e-2, 16 * 27, &r));
    s = describe(w);
    double want = 2.0 / (1.0 + 1e-4) / (16 * 27);
    CHECK(fabs(s.var - want) < 5 * want * sqrt(2.0 / (double)w->numel), "kaiming_normal variance %g, want %g", s.var,
          want);
    ie_tensor_release(t);
    ie_tensor_release(w);
}

/* torch's Conv/Linear reset_parameters: both in +-1/sqrt(fan_in). */
static void test_layer_default(void) {
    const int64_t w_shape[5] = {32, 16, 3, 3, 3}, b_shape[1] = {32};
    ie_tensor *w = empty_f32(5, w_shape), *b = empty_f32(1, b_shape);
    ie_rng rng = ie_rng_make(42, IE_STREAM_INIT, 0, 11);
    CHECK_OK(ie_init_layer_default(w, b, &rng));
    double bound = 1.0 / sqrt(16.0 * 27.0);
    check_uniform("default conv weight", w, bound);
    stats s = describe(b);
    CHECK(s.lo >= -(double)(float)bound && s.hi <= (double)(float)bound, "bias [%g, %g] outside +-%g", s.lo, s.hi, bound);
    CHECK(rng.next == (uint32_t)(w->numel + b->numel), "layer init advanced rng to %u", rng.next);
    /* The bias continues the weight's sequence rather than repeating it. */
    ie_rng fresh = ie_rng_make(42, IE_STREAM_INIT, 0, 11);
    float lo = (float)-bound, hi = (float)bound;
    float draw_n = lo + (hi - lo) * ie_rng_uniform_at(&fresh, (uint64_t)w->numel);
    float draw_0 = lo + (hi - lo) * ie_rng_uniform_at(&fresh, 0);
    CHECK(ie_f32(b)[0] == draw_n && ie_f32(b)[0] != draw_0, "bias[0] is %g, not draw %lld (%g) of the sequence",
          ie_f32(b)[0], (long long)w->numel, draw_n);

    /* Linear without bias. */
    const int64_t l_shape[2] = {10, 1000};
    ie_tensor *l = empty_f32(2, l_shape);
    ie_rng r2 = ie_rng_make(42, IE_STREAM_INIT, 0, 12);
    CHECK_OK(ie_init_layer_default(l, NULL, &r2));
    check_uniform("default linear weight", l, 1.0 / sqrt(1000.0));

    /* Xavier: +-gain * sqrt(6 / (fan_in + fan_out)). */
    ie_rng r3 = ie_rng_make(42, IE_STREAM_INIT, 0, 13);
    CHECK_OK(ie_init_xavier_uniform(l, 1.0, &r3));
    check_uniform("xavier_uniform", l, sqrt(6.0 / 1010.0));
    ie_tensor_release(w);
    ie_tensor_release(b);
    ie_tensor_release(l);
}

static void test_misuse(void) {
    const int64_t shape[2] = {4, 4};
    ie_tensor *t = empty_f32(2, shape), *labels = NULL;
    ie_rng rng = ie_rng_make(1, IE_STREAM_INIT, 0, 0);
    CHECK_OK(ie_init_constant(t, 0.25f));
    CHECK(ie_f32(t)[0] == 0.25f && ie_f32(t)[15] == 0.25f, "constant fill");
    CHECK_FAILS(ie_init_uniform(t, 1.0, -1.0, &rng), IE_ERR_INVALID_ARG, "needs finite lo <= hi, got [1, -1)");
    CHECK_FAILS(ie_init_normal(t, 0.0, -1.0, &rng), IE_ERR_INVALID_ARG, "std >= 0, got mean 0, std -1");
    CHECK_FAILS(ie_init_kaiming_uniform(t, 0.0, 0, &rng), IE_ERR_INVALID_ARG, "fan must be > 0, got 0");
    CHECK_FAILS(ie_init_uniform(NULL, 0, 1, &rng), IE_ERR_INVALID_ARG, "init_uniform: tensor is NULL");
    CHECK_FAILS(ie_init_uniform(t, 0, 1, NULL), IE_ERR_INVALID_ARG, "rng is NULL");
    CHECK_OK(ie_tensor_zeros(IE_I64, 2, shape, IE_CPU, &labels));
    CHECK_FAILS(ie_init_normal(labels, 0, 1, &rng), IE_ERR_DTYPE, "needs an f32 CPU tensor, got [4, 4] i64");
    CHECK_FAILS(ie_init_constant(labels, 1.0f), IE_ERR_DTYPE, "init_constant: needs an f32 tensor");
    const int64_t vec[1] = {4};
    ie_tensor *v = empty_f32(1, vec);
    CHECK_FAILS(ie_init_layer_default(v, NULL, &rng), IE_ERR_SHAPE, "2 to 5 dimensions, got 1");
    rng.next = UINT32_MAX - 3;
    CHECK_FAILS(ie_init_uniform(t, 0, 1, &rng), IE_ERR_INVALID_ARG, "overflow the rng's 32-bit sequence");
    CHECK(rng.next == UINT32_MAX - 3, "a failed fill must not advance the rng");
    ie_tensor_release(t);
    ie_tensor_release(labels);
    ie_tensor_release(v);
}

int main(void) {
    test_fans();
    test_kaiming_uniform();
    test_normal();
    test_layer_default();
    test_misuse();
    return test_summary();
}
