/* The Classifier network against the same module in PyTorch
 * (tests/reference/gen_classifier.py): 2-D plain blocks with non-image
 * features, 3-D residual blocks, and the MLP alone.  With the fixture's
 * weights: the training-mode output, the loss, every parameter gradient, the
 * updated BatchNorm statistics and the eval-mode output afterwards. */
#include "core/checkpoint/checkpoint.h"
#include "innereye/loss.h"
#include "models/classifier/classifier_net.h"
#include "test_util.h"

typedef enum { LOSS_CE, LOSS_BCE, LOSS_MSE } loss_kind;

static void run_case(const char *file, const ie_classifier_config *c, loss_kind kind) {
    ie_params *fx = fixture_load(file);
    ie_classifier *net = NULL;
    CHECK_OK(ie_classifier_create(c, 1, &net));
    ie_params *p = ie_classifier_params(net);
    CHECK_OK(ie_params_copy_from(p, fx, file, 1));
    ie_tensor *image = c->in_channels ? ie_params_find(fx, "input") : NULL;
    ie_tensor *features = c->features ? ie_params_find(fx, "features") : NULL;
    ie_tensor *out = NULL, *loss = NULL;
    ie_rng rng = ie_rng_make(1, IE_STREAM_DROPOUT, 0, 0);
    CHECK_OK(ie_classifier_forward(net, image, features, true, &rng, &out));
    char what[400];
    snprintf(what, sizeof what, "%s output", file);
    check_close(what, out, fixture_get(fx, "output"), 1e-4, 1e-5);
    ie_tensor *target = fixture_get(fx, "target");
    if (kind == LOSS_CE) CHECK_OK(ie_cross_entropy(out, target, NULL, 0.0f, &loss));
    else if (kind == LOSS_BCE) CHECK_OK(ie_bce_with_logits(out, target, NULL, &loss));
    else CHECK_OK(ie_mse_loss(out, target, &loss));
    snprintf(what, sizeof what, "%s loss", file);
    check_close(what, loss, fixture_get(fx, "loss"), 1e-4, 1e-6);
    CHECK_OK(ie_backward(loss));
    int grads = 0, buffers = 0;
    for (int i = 0; i < ie_params_count(p); i++) {
        char key[200];
        const char *name = ie_params_name(p, i);
        ie_tensor *t = ie_params_tensor(p, i);
        if (ie_params_kind(p, i) == IE_PARAM) {
            snprintf(key, sizeof key, "grad.%s", name);
            snprintf(what, sizeof what, "%s %s", file, key);
            check_close(what, ie_tensor_grad(t), fixture_get(fx, key), 1e-3, 1e-5);
            grads++;
        } else if (ie_tensor_dtype(t) == IE_F32) {
            snprintf(key, sizeof key, "after.%s", name);
            snprintf(what, sizeof what, "%s %s", file, key);
            check_close(what, t, fixture_get(fx, key), 1e-4, 1e-6);
            buffers++;
        }
    }
    CHECK(grads > 0 && (c->in_channels == 0 || buffers > 0), "%s: %d gradients, %d buffers compared", file, grads,
          buffers);
    ie_tensor *eval = NULL;
    bool was = ie_grad_set_enabled(false);
    CHECK_OK(ie_classifier_forward(net, image, features, false, NULL, &eval));
    ie_grad_set_enabled(was);
    snprintf(what, sizeof what, "%s eval output", file);
    check_close(what, eval, fixture_get(fx, "output_eval"), 1e-4, 1e-5);
    ie_tensor_release(eval);
    ie_tensor_release(out);
    ie_tensor_release(loss);
    ie_classifier_free(net);
    ie_params_free(fx);
}

int main(void) {
    ie_threads_set(2);
    ie_classifier_config plain2d = {.dims = 2, .in_channels = 1, .n_blocks = 2, .widths = {4, 6},
                                    .convs_per_block = 2, .kernel = 3, .features = 2, .n_hidden = 1,
                                    .hidden = {5}, .outputs = 3};
    run_case("classifier_2d.safetensors", &plain2d, LOSS_CE);
    ie_classifier_config residual3d = {.dims = 3, .in_channels = 2, .n_blocks = 2, .widths = {4, 8},
                                       .convs_per_block = 1, .residual = true, .kernel = 3, .outputs = 2};
    run_case("classifier_3d.safetensors", &residual3d, LOSS_BCE);
    ie_classifier_config mlp = {.dims = 2, .features = 5, .n_hidden = 2, .hidden = {7, 4}, .outputs = 1};
    run_case("classifier_mlp.safetensors", &mlp, LOSS_MSE);
    /* Refusals name the model and what is wrong. */
    ie_classifier *net = NULL;
    CHECK_OK(ie_classifier_create(&plain2d, 1, &net));
    int64_t shape[5] = {2, 1, 3, 8, 8};
    ie_tensor *x = NULL, *out = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 5, shape, IE_CPU, &x));
    CHECK_FAILS(ie_classifier_forward(net, x, NULL, false, NULL, &out), IE_ERR_SHAPE,
                "the model takes 2 non-image features, the batch has none");
    ie_tensor_release(x);
    ie_classifier_free(net);
    return test_summary();
}
