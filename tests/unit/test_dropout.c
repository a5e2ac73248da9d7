/* Dropout: the mask is the documented function of the rng and element index,
 * kept values are scaled by 1/(1-p), backward reuses the mask, evaluation mode
 * is the identity, and bad p is refused. */
#include "innereye/threads.h"
#include "test_util.h"

static void test_mask(void) {
    const int64_t shape[2] = {64, 1000};
    const float p = 0.3f;
    ie_tensor *x = test_random(2, shape, 1, 0.5f, 1.5f, true), *y = NULL, *loss = NULL;
    ie_rng rng = ie_rng_make(42, IE_STREAM_DROPOUT, 3, 7);
    CHECK_OK(ie_dropout(x, p, true, &rng, &y));
    int64_t dropped = 0, wrong = 0;
    const float scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < x->numel; i++) {
        bool drop = ie_rng_uniform_at(&rng, (uint64_t)i) < p;
        dropped += drop;
        float want = drop ? 0.0f : ie_f32(x)[i] * scale;
        wrong += ie_f32(y)[i] != want;
    }
    CHECK(wrong == 0, "dropout: %lld elements differ from the rng mask", (long long)wrong);
    double frac = (double)dropped / (double)x->numel;
    CHECK(fabs(frac - p) < 0.01, "dropped fraction %.4f, want about %.2f", frac, p);

    /* d sum(y) / dx = mask * scale. */
    CHECK_OK(ie_sum(y, &loss));
    CHECK_OK(ie_backward(loss));
    const ie_tensor *g = ie_tensor_grad(x);
    wrong = 0;
    for (int64_t i = 0; i < x->numel; i++)
        wrong += ie_f32(g)[i] != (ie_rng_uniform_at(&rng, (uint64_t)i) < p ? 0.0f : scale);
    CHECK(wrong == 0, "dropout backward: %lld gradient elements differ from mask / (1 - p)", (long long)wrong);

    /* Another epoch draws another mask; the same key and 1 thread the same one. */
    ie_tensor *y2 = NULL, *y3 = NULL;
    ie_rng other = ie_rng_make(42, IE_STREAM_DROPOUT, 4, 7);
    CHECK_OK(ie_dropout(x, p, true, &other, &y2));
    CHECK(memcmp(ie_f32(y), ie_f32(y2), (size_t)x->numel * 4) != 0, "a different epoch gives a different mask");
    ie_threads_set(1);
    CHECK_OK(ie_dropout(x, p, true, &rng, &y3));
    ie_threads_set(0);
    CHECK(memcmp(ie_f32(y), ie_f32(y3), (size_t)x->numel * 4) == 0, "the mask does not depend on the thread count");
    ie_tensor *all[] = {x, y, loss, y2, y3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

typedef struct drop_ctx {
    ie_rng rng;
} drop_ctx;

static ie_status f_dropout(ie_tensor **in, void *ctx, ie_tensor **out) {
    return ie_dropout(in[0], 0.4f, true, &((drop_ctx *)ctx)->rng, out);
}

static void test_identity_and_errors(void) {
    const int64_t shape[3] = {2, 3, 4};
    ie_tensor *x = test_random(3, shape, 2, -1, 1, true), *y = NULL;
    ie_rng rng = ie_rng_make(1, IE_STREAM_DROPOUT, 0, 0);
    drop_ctx ctx = {rng};
    gradcheck("dropout", f_dropout, &x, 1, &ctx, 1e-2, 1e-3, 1e-2);

    CHECK_OK(ie_dropout(x, 0.5f, false, &rng, &y));
    CHECK(y == x, "evaluation mode returns the input itself");
    ie_tensor_release(y);
    CHECK_OK(ie_dropout(x, 0.0f, true, NULL, &y));
    CHECK(y == x, "p = 0 returns the input itself");
    ie_tensor_release(y);

    CHECK_FAILS(ie_dropout(x, 1.0f, true, &rng, &y), IE_ERR_INVALID_ARG, "dropout: p = 1 must be in [0, 1)");
    CHECK_FAILS(ie_dropout(x, -0.1f, true, &rng, &y), IE_ERR_INVALID_ARG, "dropout: p = -0.1");
    CHECK_FAILS(ie_dropout(x, NAN, false, &rng, &y), IE_ERR_INVALID_ARG, "must be in [0, 1)");
    CHECK_FAILS(ie_dropout(x, 0.5f, true, NULL, &y), IE_ERR_INVALID_ARG, "dropout: rng is NULL");
    CHECK_FAILS(ie_dropout(NULL, 0.5f, true, &rng, &y), IE_ERR_INVALID_ARG, "dropout: input is NULL");
    CHECK(y == NULL, "a failed op must leave *out NULL");
    ie_tensor_release(x);
}

int main(void) {
    test_mask();
    test_identity_and_errors();
    return test_summary();
}
