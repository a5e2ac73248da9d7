/* InnerEye's UNet2D and Basic networks against the same runs in PyTorch
 * (tests/reference/gen_segmodels.py): every parameter name, the first
 * forward's logits, the first step's gradients, the loss of three SGD steps,
 * every weight and buffer after them, and the eval-mode logits (running
 * statistics); for Basic also the plugin's evaluation path (edge padding,
 * then the network) against torch's replicate padding, and the host's loss
 * on logits smaller than the labels (the centre of the labels). */
#include "test_util.h"
#include "core/train/default_loss.h"
#include "innereye/loss.h"
#include "innereye/optim.h"
#include "models/basic/basic_net.h"
#include "models/unet3d/unet3d_net.h"

/* The reference is PyTorch in float64.  The forward matches to 1e-5 relative
 * (the engine's bar); weights after three SGD steps to 1e-5 relative.
 * Gradients: 1e-4 relative plus 2e-5 of the tensor's largest gradient, since
 * Basic's last BatchNorms see few values and their backward cancels, leaving
 * small gradients good to ~1e-3 relative in float32 (PyTorch's float32 run is
 * off by up to 6e-6 of the largest value); 1e-6 absolute covers the conv
 * biases that feed BatchNorm, whose true gradient is 0.
 *
 * On top of these, every tensor may be off by SPREAD_FACTOR times PyTorch's
 * own float32 spread ("spread.<key>": the largest distance from the float64
 * truth of eight float32 PyTorch runs with 1-4 threads and inputs moved by
 * half an ulp, gen_segmodels.py).  Three SGD steps with momentum through
 * BatchNorms over 12 voxels amplify float32 rounding: PyTorch's own float32
 * runs land up to 2% of a weight tensor's size away from the truth, more or
 * less depending only on the summation order.  Our run is one more float32
 * evaluation with another summation order, i.e. one more sample of the same
 * deviation; if its distribution is that of PyTorch's runs, it exceeds the
 * largest of eight samples with probability 1/9, and exceeds three times that
 * largest far more rarely (the deviations are roughly log-normal: eight
 * samples span a factor ~3000 here).  A real defect moves a tensor by a
 * sizeable fraction of its own size, far beyond this bound on the tensors
 * that do not cancel. */
#define FORWARD_RTOL 1e-5
#define GRAD_RTOL 1e-4
#define GRAD_SCALE_TOL 2e-5
#define WEIGHT_RTOL 1e-5
#define SPREAD_FACTOR 3.0

/* SPREAD_FACTOR times PyTorch's float32 spread of fixture entry `key`. */
static double spread(ie_params *fx, const char *key) {
    char name[512];
    snprintf(name, sizeof name, "spread.%s", key);
    ie_tensor *t = ie_params_find(fx, name);
    CHECK(t != NULL, "fixture has no %s; regenerate it (make fixtures)", name);
    return t ? SPREAD_FACTOR * ie_tensor_data_f32(t)[0] : 0.0;
}

static double max_abs(const ie_tensor *t) {
    double m = 0;
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) m = fmax(m, fabs(ie_tensor_data_f32(t)[i]));
    return m;
}

typedef ie_status (*forward_fn)(void *net, ie_tensor *x, bool training, ie_tensor **out);

static ie_status unet_forward(void *net, ie_tensor *x, bool training, ie_tensor **out) {
    return ie_unet3d_forward(net, x, training, out);
}

static ie_status basic_forward(void *net, ie_tensor *x, bool training, ie_tensor **out) {
    return ie_basic_forward(net, x, training, out);
}

/* Copies <prefix><name> (init. or final.) into every parameter, checking the
 * names match one to one. */
static void load_state(const char *model, const char *prefix, ie_params *fx, ie_params *params) {
    int inits = 0;
    for (int i = 0; i < ie_params_count(fx); i++)
        inits += strncmp(ie_params_name(fx, i), prefix, strlen(prefix)) == 0;
    CHECK(inits == ie_params_count(params), "%s: PyTorch has %d tensors, we have %d", model, inits,
          ie_params_count(params));
    char key[512];
    for (int i = 0; i < ie_params_count(params); i++) {
        snprintf(key, sizeof key, "%s%s", prefix, ie_params_name(params, i));
        ie_tensor *want = ie_params_find(fx, key);
        CHECK(want != NULL, "%s: PyTorch has no tensor named %s", model, ie_params_name(params, i));
        if (want) CHECK_OK(ie_tensor_copy_data(ie_params_tensor(params, i), want));
    }
}

static void check_training(const char *model, ie_params *fx, ie_params *params, forward_fn forward, void *net,
                           ie_tensor *x) {
    load_state(model, "init.", fx, params);
    const float *sgd = ie_tensor_data_f32(fixture_get(fx, "sgd"));
    ie_optimizer_opts opts = ie_optimizer_defaults(IE_OPTIM_SGD);
    opts.lr = sgd[0];
    opts.momentum = sgd[1];
    int steps = (int)sgd[2];
    ie_optimizer *opt;
    CHECK_OK(ie_optimizer_new(&opts, params, &opt));
    ie_tensor *y = fixture_get(fx, "y");
    const float *losses = ie_tensor_data_f32(fixture_get(fx, "losses"));
    char key[512];
    for (int step = 0; step < steps; step++) {
        ie_tensor *logits = NULL, *loss = NULL;
        ie_optimizer_zero_grad(opt);
        CHECK_OK(forward(net, x, true, &logits));
        if (step == 0) {
            snprintf(key, sizeof key, "%s: logits of the first forward", model);
            check_close(key, logits, fixture_get(fx, "logits0"), FORWARD_RTOL, 1e-6 + spread(fx, "logits0"));
        }
        CHECK_OK(ie_cross_entropy(logits, y, NULL, 0.0f, &loss));
        CHECK(fabs(ie_tensor_item(loss) - losses[step]) <= 1e-5 * fabs(losses[step]) + spread(fx, "losses"),
              "%s: step %d loss %.8f, PyTorch %.8f", model, step, ie_tensor_item(loss), losses[step]);
        CHECK_OK(ie_backward(loss));
        for (int i = 0; step == 0 && i < ie_params_count(params); i++) {
            if (ie_params_kind(params, i) != IE_PARAM) continue;
            snprintf(key, sizeof key, "grad0.%s", ie_params_name(params, i));
            ie_tensor *want = fixture_get(fx, key);
            check_close(key, ie_tensor_grad(ie_params_tensor(params, i)), want, GRAD_RTOL,
                        GRAD_SCALE_TOL * max_abs(want) + 1e-6 + spread(fx, key));
        }
        CHECK_OK(ie_optimizer_step(opt));
        ie_tensor_release(logits);
        ie_tensor_release(loss);
    }
    for (int i = 0; i < ie_params_count(params); i++) {
        snprintf(key, sizeof key, "final.%s", ie_params_name(params, i));
        ie_tensor *got = ie_params_tensor(params, i), *want = fixture_get(fx, key);
        if (ie_tensor_dtype(got) == IE_I64)
            CHECK(*(int64_t *)ie_tensor_data(got) == *(int64_t *)ie_tensor_data(want), "%s", key);
        else
            check_close(key, got, want, WEIGHT_RTOL, 1e-6 + spread(fx, key));
    }
    bool was = ie_grad_set_enabled(false);
    ie_tensor *eval = NULL;
    CHECK_OK(forward(net, x, false, &eval));
    snprintf(key, sizeof key, "%s: eval-mode logits after training", model);
    check_close(key, eval, fixture_get(fx, "eval_logits"), FORWARD_RTOL, 1e-6 + spread(fx, "eval_logits"));
    ie_tensor_release(eval);
    ie_grad_set_enabled(was);
    ie_optimizer_free(opt);
}

static void test_unet2d(void) {
    ie_params *fx = fixture_load("unet2d_train.safetensors");
    ie_unet3d_config config = {.in_channels = 1, .classes = 3, .features = 4, .depth = 2, .flat = true};
    ie_unet3d *net;
    CHECK_OK(ie_unet3d_create(&config, 0, &net));
    check_training("UNet2D", fx, ie_unet3d_params(net), unet_forward, net, fixture_get(fx, "x"));
    ie_unet3d_free(net);
    ie_params_free(fx);
}

/* x = (x_u8 - 128) / 32, as the generator stored it. */
static ie_tensor *bytes_to_input(ie_tensor *u8) {
    ie_tensor *x = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, ie_tensor_ndim(u8), ie_tensor_shape(u8), IE_CPU, &x));
    const uint8_t *src = ie_tensor_data(u8);
    for (int64_t i = 0; i < ie_tensor_numel(u8); i++) ie_tensor_data_f32(x)[i] = ((float)src[i] - 128.0f) / 32.0f;
    return x;
}

static void test_basic(void) {
    ie_params *fx = fixture_load("basic_train.safetensors");
    ie_basic_config config = {.in_channels = 2, .classes = 3, .features = {3, 4, 5, 4, 4, 6, 5, 5}};
    ie_basic_net *net;
    CHECK_OK(ie_basic_create(&config, 0, &net));
    /* InnerEye's initialisation, in distribution: conv weights N(0, 0.01),
     * BasicLayer biases 0. */
    ie_tensor *w = ie_params_find(ie_basic_params(net), "_layers.2.layers.0.conv1.weight");
    double sum2 = 0;
    for (int64_t i = 0; i < ie_tensor_numel(w); i++) sum2 += ie_tensor_data_f32(w)[i] * ie_tensor_data_f32(w)[i];
    double std = sqrt(sum2 / (double)ie_tensor_numel(w));
    CHECK(std > 0.008 && std < 0.012, "conv weights have std %g, InnerEye initialises them with 0.01", std);
    CHECK(ie_tensor_data_f32(ie_params_find(ie_basic_params(net), "_layers.1.conv1.bias"))[0] == 0.0f,
          "BasicLayer biases start at 0");

    ie_tensor *x = bytes_to_input(fixture_get(fx, "x_u8"));
    check_training("Basic", fx, ie_basic_params(net), basic_forward, net, x);

    /* The plugin's evaluation: pad the edges, then the network, with
     * PyTorch's trained float64 weights (ours took a float32 trajectory). */
    load_state("Basic", "final.", fx, ie_basic_params(net));
    ie_tensor *padded = NULL, *logits = NULL;
    bool was = ie_grad_set_enabled(false);
    CHECK_OK(ie_basic_pad_edges(fixture_get(fx, "x_eval"), &padded));
    CHECK_OK(ie_basic_forward(net, padded, false, &logits));
    check_close("Basic: eval logits of an edge-padded input", logits, fixture_get(fx, "eval_padded_logits"),
                FORWARD_RTOL, 1e-6);
    ie_grad_set_enabled(was);
    ie_tensor_release(logits); /* the refused call below sets logits to NULL */
    /* Too small an input is refused with the reason. */
    CHECK_FAILS(ie_basic_forward(net, fixture_get(fx, "x_eval"), false, &logits), IE_ERR_SHAPE,
                "needs at least 29");
    ie_tensor_release(padded);
    ie_tensor_release(x);
    ie_basic_free(net);
    ie_params_free(fx);
}

/* Logits [1, 3, 2, 2, 3] against labels [1, 5, 4, 6]: the loss is that of
 * the labels' centre, offsets (1, 1, 1) (floor of half the difference). */
static void test_loss_on_centre(void) {
    const int64_t lshape[5] = {1, 3, 2, 2, 3}, yshape[4] = {1, 5, 4, 6}, cshape[4] = {1, 2, 2, 3};
    ie_tensor *logits = test_random(5, lshape, 5, -2, 2, false), *y = NULL, *centre = NULL, *got = NULL, *want = NULL;
    CHECK_OK(ie_tensor_empty(IE_I64, 4, yshape, IE_CPU, &y));
    CHECK_OK(ie_tensor_empty(IE_I64, 4, cshape, IE_CPU, &centre));
    int64_t *yv = ie_tensor_data(y), *cv = ie_tensor_data(centre);
    for (int64_t i = 0; i < 5 * 4 * 6; i++) yv[i] = (i * 7 + i / 5) % 3;
    for (int64_t d = 0; d < 2; d++)
        for (int64_t h = 0; h < 2; h++)
            for (int64_t w = 0; w < 3; w++) *cv++ = yv[((d + 1) * 4 + h + 1) * 6 + w + 1];
    ie_loss_spec spec = {.kind = IE_LOSS_MIXTURE};
    ie_batch batch = {.struct_size = sizeof batch, .count = 1, .labels = y};
    CHECK_OK(ie_loss_compute(&spec, logits, &batch, &got));
    batch.labels = centre;
    CHECK_OK(ie_loss_compute(&spec, logits, &batch, &want));
    CHECK(ie_tensor_item(got) == ie_tensor_item(want), "loss on smaller logits %g, on the centre labels %g",
          ie_tensor_item(got), ie_tensor_item(want));
    ie_tensor *all[] = {logits, y, centre, got, want};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
}

int main(void) {
    ie_threads_set(2);
    test_unet2d();
    test_basic();
    test_loss_on_centre();
    return test_summary();
}
