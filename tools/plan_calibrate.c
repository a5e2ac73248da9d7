/* tools - `innereye plan --gflops measure`: the machine's training
 * throughput, measured on a fixed workload (see plan_calibrate.h). */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "innereye/autograd.h"
#include "innereye/loss.h"
#include "innereye/optim.h"
#include "innereye/threads.h"
#include "core/plan/plan_rules.h"
#include "core/tensor/tensor_impl.h"
#include "models/unet3d/unet3d_net.h"
#include "tools/plan_calibrate.h"

/* The workload: the UNet3D a CPU plan chooses for 1 mm data of about the
 * hippocampus's size (16 features, depth 3, 3 classes, batch 2), one crop of
 * 32 x 48 x 32 (a third smaller than that plan's 40 x 56 x 40, so the
 * calibration stays short), inputs and labels drawn from a fixed seed. */
#define CAL_FEATURES 16
#define CAL_DEPTH 3
#define CAL_BATCH 2
#define CAL_CLASSES 3
#define CAL_WARMUP 1
#define CAL_STEPS 3

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Rounds to two significant digits, down: repeated measurements on one
 * machine then mostly give the same figure, and so the same plan. */
static double two_digits(double x) {
    double scale = pow(10, floor(log10(x)) - 1);
    return floor(x / scale) * scale;
}

ie_status ie_plan_measure_gflops(int threads, double *gflops, double *step_seconds) {
    ie_threads_set(threads);
    const int crop[3] = {32, 48, 32};
    ie_unet3d_config config = {.in_channels = 1, .classes = CAL_CLASSES, .features = CAL_FEATURES, .depth = CAL_DEPTH};
    ie_unet3d *net = NULL;
    ie_tensor *x = NULL, *y = NULL;
    ie_optimizer *opt = NULL;
    ie_status st = ie_unet3d_create(&config, 0, &net);
    int64_t xs[5] = {CAL_BATCH, 1, crop[0], crop[1], crop[2]}, ys[4] = {CAL_BATCH, crop[0], crop[1], crop[2]};
    if (st == IE_OK) st = ie_tensor_empty(IE_F32, 5, xs, IE_CPU, &x);
    if (st == IE_OK) st = ie_tensor_empty(IE_I64, 4, ys, IE_CPU, &y);
    if (st == IE_OK) {
        ie_rng rng = ie_rng_make(1, IE_STREAM_USER, 0, 0);
        ie_rng_fill_uniform(&rng, 0, ie_tensor_data_f32(x), ie_tensor_numel(x), -1, 1);
        int64_t *labels = ie_tensor_data(y);
        for (int64_t i = 0; i < ie_tensor_numel(y); i++) labels[i] = ie_rng_below(&rng, CAL_CLASSES);
        ie_optimizer_opts opts = ie_optimizer_defaults(IE_OPTIM_ADAM);
        st = ie_optimizer_new(&opts, ie_unet3d_params(net), &opt);
    }
    double times[CAL_STEPS];
    bool grad_was = ie_grad_set_enabled(true);
    /* A training step as the trainer runs it: forward, cross-entropy,
     * backward, Adam. */
    for (int rep = 0; st == IE_OK && rep < CAL_WARMUP + CAL_STEPS; rep++) {
        double t0 = now();
        ie_tensor *logits = NULL, *loss = NULL;
        ie_optimizer_zero_grad(opt);
        st = ie_unet3d_forward(net, x, true, &logits);
        if (st == IE_OK) st = ie_cross_entropy(logits, y, NULL, 0.0f, &loss);
        if (st == IE_OK) st = ie_backward(loss);
        if (st == IE_OK) st = ie_optimizer_step(opt);
        ie_tensor_release(loss);
        ie_tensor_release(logits);
        if (rep >= CAL_WARMUP) times[rep - CAL_WARMUP] = now() - t0;
    }
    ie_grad_set_enabled(grad_was);
    ie_optimizer_free(opt);
    ie_tensor_release(x);
    ie_tensor_release(y);
    ie_unet3d_free(net);
    if (st != IE_OK) return st;
    qsort(times, CAL_STEPS, sizeof *times, cmp_double);
    ie_plan_net ref = {.features = CAL_FEATURES, .depth = CAL_DEPTH, .pool = {CAL_DEPTH, CAL_DEPTH, CAL_DEPTH},
                       .patch = {crop[0], crop[1], crop[2]}, .in_channels = 1, .classes = CAL_CLASSES};
    *step_seconds = times[CAL_STEPS / 2];
    *gflops = two_digits(ie_plan_train_flops(&ref, CAL_BATCH) / 1e9 / *step_seconds);
    return IE_OK;
}
