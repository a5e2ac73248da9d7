/* Deep supervision's loss (core/train/deep_supervision.h) against PyTorch
 * (tests/reference/gen_deep_supervision.py: nnU-Net's DeepSupervisionWrapper
 * around cross-entropy + soft Dice, labels downsampled by interpolate's
 * nearest-exact): the downsampled labels exactly, the weights 4/7, 2/7,
 * 1/7, the combined loss and its gradient with respect to every output, the
 * gradient by finite differences, and refusals of outputs whose size is not
 * the labels' halved per pooling.
 *
 * Tolerances: each output's loss is the mixture that test_loss.c checks
 * against the same formulas at rtol 1e-5 (float32 softmax, logs and sums
 * over 3 x 256 voxels against float64); deep supervision adds one float32
 * rounding per weight, per product and per sum (2^-24 relative each, six in
 * all, below 4e-7), so the loss keeps rtol 1e-5 (atol 1e-7 for values near
 * 0) and each gradient, w_i times that output's, keeps test_loss.c's rtol
 * 1e-5 with atol 1e-6 of the largest gradient. */
#include "core/train/deep_supervision.h"
#include "core/train/default_loss.h"
#include "innereye/ops.h"
#include "test_util.h"

static ie_loss_spec dc_and_ce(void) {
    ie_loss_spec s = {.kind = IE_LOSS_MIXTURE, .parts = {IE_LOSS_CROSS_ENTROPY, IE_LOSS_SOFT_DICE},
                      .weights = {1, 1}};
    return s;
}

static ie_status config_loss(void *ctx, ie_tensor *output, const ie_batch *batch, ie_tensor **out) {
    return ie_loss_compute(ctx, output, batch, out);
}

static void close_rel(const char *what, const ie_tensor *got, const ie_tensor *want) {
    double m = 0;
    for (int64_t i = 0; i < want->numel; i++) m = fmax(m, fabs(ie_f32(want)[i]));
    check_close(what, got, want, 1e-5, 1e-6 * m + 1e-30);
}

static void test_labels_and_weights(ie_params *fx) {
    const ie_tensor *labels = fixture_get(fx, "labels");
    for (int i = 1; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "labels_%d", i);
        const ie_tensor *want = fixture_get(fx, key);
        const int64_t size[3] = {ie_tensor_dim(want, 1), ie_tensor_dim(want, 2), ie_tensor_dim(want, 3)};
        ie_tensor *got = NULL;
        CHECK_OK(ie_deep_supervision_labels(labels, size, &got));
        int64_t wrong = 0;
        for (int64_t k = 0; k < ie_tensor_numel(want); k++)
            wrong += ((int64_t *)ie_tensor_data(got))[k] != ((int64_t *)ie_tensor_data((ie_tensor *)want))[k];
        CHECK(ie_tensor_numel(got) == ie_tensor_numel(want) && wrong == 0,
              "%s: %lld labels differ from interpolate(nearest-exact)", key, (long long)wrong);
        ie_tensor_release(got);
    }
    CHECK(fabs(ie_deep_supervision_weight(0, 3) - 4.0 / 7) < 1e-15 &&
              fabs(ie_deep_supervision_weight(1, 3) - 2.0 / 7) < 1e-15 &&
              fabs(ie_deep_supervision_weight(2, 3) - 1.0 / 7) < 1e-15 && ie_deep_supervision_weight(0, 1) == 1,
          "weights 1, 1/2, 1/4 normalised: 4/7, 2/7, 1/7 (one output alone: 1)");
    const int64_t odd[3] = {3, 8, 4}, bigger[3] = {16, 8, 4};
    ie_tensor *none = NULL;
    CHECK(ie_deep_supervision_labels(labels, odd, &none) == IE_ERR_SHAPE && !none,
          "8 voxels to 3 is refused (not a power-of-two factor)");
    CHECK(ie_deep_supervision_labels(labels, bigger, &none) == IE_ERR_SHAPE && !none,
          "an output larger than the labels is refused");
}

static void test_against_torch(ie_params *fx) {
    ie_loss_spec spec = dc_and_ce();
    ie_tensor *out[3], *loss = NULL;
    for (int i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "out_%d", i);
        out[i] = fixture_leaf(fx, key, true);
    }
    ie_batch batch = {.struct_size = sizeof batch, .count = 2, .labels = fixture_get(fx, "labels")};
    CHECK_OK(ie_deep_supervision_loss(config_loss, &spec, out[0], out + 1, 2, &batch, &loss));
    check_close("deep supervision loss vs PyTorch", loss, fixture_get(fx, "loss"), 1e-5, 1e-7);
    CHECK_OK(ie_backward(loss));
    for (int i = 0; i < 3; i++) {
        char key[32], what[64];
        snprintf(key, sizeof key, "grad_%d", i);
        snprintf(what, sizeof what, "gradient of output %d vs PyTorch", i);
        close_rel(what, ie_tensor_grad(out[i]), fixture_get(fx, key));
        ie_tensor_release(out[i]);
    }
    ie_tensor_release(loss);
}

typedef struct fd_ctx {
    ie_loss_spec spec;
    ie_batch batch;
} fd_ctx;

static ie_status f_deep(ie_tensor **in, void *ctx, ie_tensor **out) {
    fd_ctx *c = ctx;
    return ie_deep_supervision_loss(config_loss, &c->spec, in[0], in + 1, 2, &c->batch, out);
}

static void test_finite_differences(ie_params *fx) {
    fd_ctx ctx = {.spec = dc_and_ce(), .batch = {.struct_size = sizeof(ie_batch), .count = 2,
                                                 .labels = fixture_get(fx, "labels")}};
    ie_tensor *in[3];
    for (int i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "out_%d", i);
        in[i] = fixture_leaf(fx, key, true);
    }
    /* as test_loss.c's losses: float32 central differences with step 1e-2 */
    gradcheck("deep supervision loss", f_deep, in, 3, &ctx, 1e-2, 1e-4, 2e-2);
    for (int i = 0; i < 3; i++) ie_tensor_release(in[i]);
}

int main(void) {
    ie_params *fx = fixture_load("deep_supervision.safetensors");
    test_labels_and_weights(fx);
    test_against_torch(fx);
    test_finite_differences(fx);
    ie_params_free(fx);
    return test_summary();
}
