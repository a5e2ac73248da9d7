/* The reproducibility promise at engine level: the same training steps on 1,
 * 2 and 3 threads give byte-identical weights, buffers and optimiser state,
 * and after the first step a training step allocates no new memory. */
#include "test_util.h"
#include "innereye/loss.h"
#include "innereye/optim.h"
#include "models/unet3d/unet3d_net.h"

#define STEPS 3

typedef struct run_result {
    ie_params *params;  /* borrowed from net */
    ie_params *state;   /* optimiser state */
    float losses[STEPS];
    uint64_t step_allocations; /* malloc calls during the last step */
} run_result;

static ie_unet3d *train(int threads, run_result *r) {
    ie_threads_set(threads);
    ie_unet3d_config config = {.in_channels = 2, .classes = 3, .features = 8, .depth = 2};
    ie_unet3d *net;
    CHECK_OK(ie_unet3d_create(&config, 99, &net));
    const int64_t xs[5] = {2, 2, 16, 24, 16}, ys[4] = {2, 16, 24, 16};
    ie_tensor *x = test_random(5, xs, 5, -2, 2, false), *y = NULL;
    CHECK_OK(ie_tensor_empty(IE_I64, 4, ys, IE_CPU, &y));
    int64_t *labels = ie_tensor_data(y);
    for (int64_t i = 0; i < ie_tensor_numel(y); i++) labels[i] = (ie_f32(x)[i] > 0.5f) + (ie_f32(x)[i] > 1.2f);
    ie_optimizer_opts opts = ie_optimizer_defaults(IE_OPTIM_ADAM);
    opts.lr = 1e-2;
    ie_optimizer *opt;
    CHECK_OK(ie_optimizer_new(&opts, ie_unet3d_params(net), &opt));
    for (int step = 0; step < STEPS; step++) {
        ie_memory_stats before, after;
        ie_memory_get_stats(&before);
        ie_tensor *logits = NULL, *loss = NULL;
        ie_optimizer_zero_grad(opt);
        CHECK_OK(ie_unet3d_forward(net, x, true, &logits));
        CHECK_OK(ie_soft_dice_loss(logits, y, NULL, &loss));
        r->losses[step] = ie_tensor_item(loss);
        CHECK_OK(ie_backward(loss));
        CHECK_OK(ie_optimizer_step(opt));
        ie_tensor_release(logits);
        ie_tensor_release(loss);
        ie_memory_get_stats(&after);
        r->step_allocations = after.system_allocations - before.system_allocations;
    }
    r->params = ie_unet3d_params(net);
    CHECK_OK(ie_optimizer_state_save(opt, &r->state));
    ie_optimizer_free(opt);
    ie_tensor_release(x);
    ie_tensor_release(y);
    return net;
}

static int same_bytes(const ie_params *a, const ie_params *b, const char *what, int threads) {
    int ok = ie_params_count(a) == ie_params_count(b);
    for (int i = 0; ok && i < ie_params_count(a); i++) {
        ie_tensor *ta = ie_params_tensor(a, i), *tb = ie_params_tensor(b, i);
        size_t n = (size_t)ie_tensor_numel(ta) * ie_dtype_size(ie_tensor_dtype(ta));
        if (ie_tensor_numel(ta) != ie_tensor_numel(tb) || memcmp(ie_tensor_data(ta), ie_tensor_data(tb), n) != 0) {
            fprintf(stderr, "%s '%s' differs between 1 and %d threads\n", what, ie_params_name(a, i), threads);
            ok = 0;
        }
    }
    return ok;
}

int main(void) {
    run_result base = {0};
    ie_unet3d *base_net = train(1, &base);
    CHECK(base.losses[STEPS - 1] < base.losses[0], "training lowers the loss (%g -> %g)", base.losses[0],
          base.losses[STEPS - 1]);
    CHECK(base.step_allocations == 0, "the last training step called malloc %llu times; memory should be reused",
          (unsigned long long)base.step_allocations);
    for (int threads = 2; threads <= 3; threads++) {
        run_result other = {0};
        ie_unet3d *net = train(threads, &other);
        CHECK(memcmp(base.losses, other.losses, sizeof base.losses) == 0, "losses differ with %d threads", threads);
        CHECK(same_bytes(base.params, other.params, "weight", threads), "weights identical with %d threads", threads);
        CHECK(same_bytes(base.state, other.state, "optimiser state", threads), "optimiser state identical with %d threads",
              threads);
        ie_params_free(other.state);
        ie_unet3d_free(net);
    }
    ie_params_free(base.state);
    ie_unet3d_free(base_net);
    return test_summary();
}
