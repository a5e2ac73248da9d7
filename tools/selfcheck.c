/* tools - `innereye selfcheck`: trains a small InnerEye UNet3D on synthetic
 * volumes (a bright ball with a shell around it in noise: class 1 is the ball,
 * class 2 the shell) and prints the loss of every step.  Passes when the loss
 * of the last steps is well below that of the first ones: the engine's ops,
 * autograd and optimiser work together on this machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "innereye/autograd.h"
#include "innereye/loss.h"
#include "innereye/optim.h"
#include "innereye/threads.h"
#include "models/unet3d/unet3d_net.h"
#include "tools/selfcheck.h"

#define SIZE 16
#define BATCH 2

/* Sample `item` of step `step`: a pure function of (seed, step, item). */
static void synth_volume(uint64_t seed, int step, int item, float *image, int64_t *labels) {
    ie_rng rng = ie_rng_make(seed, IE_STREAM_SAMPLING, (uint32_t)step, (uint32_t)item);
    float cz = 5 + 6 * ie_rng_uniform(&rng), cy = 5 + 6 * ie_rng_uniform(&rng), cx = 5 + 6 * ie_rng_uniform(&rng);
    float r = 2.5f + 2 * ie_rng_uniform(&rng);
    for (int z = 0, i = 0; z < SIZE; z++)
        for (int y = 0; y < SIZE; y++)
            for (int x = 0; x < SIZE; x++, i++) {
                float d = sqrtf((z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx));
                int cls = d < r ? 1 : d < r + 1.5f ? 2 : 0;
                labels[i] = cls;
                image[i] = (cls == 1 ? 1.0f : cls == 2 ? 0.5f : 0.0f) + 0.3f * ie_rng_normal(&rng);
            }
}

int ie_selfcheck(int steps, int threads) {
    ie_threads_set(threads);
    printf("innereye selfcheck: training a UNet3D (f=8, depth 2) on synthetic %dx%dx%d volumes, "
           "batch %d, %d threads\n", SIZE, SIZE, SIZE, BATCH, ie_threads_get());
    ie_unet3d_config config = {.in_channels = 1, .classes = 3, .features = 8, .depth = 2};
    ie_unet3d *net = NULL;
    ie_optimizer *opt = NULL;
    ie_tensor *x = NULL, *y = NULL;
    const int64_t xs[5] = {BATCH, 1, SIZE, SIZE, SIZE}, ys[4] = {BATCH, SIZE, SIZE, SIZE};
    ie_optimizer_opts opts = ie_optimizer_defaults(IE_OPTIM_ADAM);
    opts.lr = 1e-2;
    ie_status st = ie_unet3d_create(&config, 42, &net);
    if (st == IE_OK) st = ie_optimizer_new(&opts, ie_unet3d_params(net), &opt);
    if (st == IE_OK) st = ie_tensor_empty(IE_F32, 5, xs, IE_CPU, &x);
    if (st == IE_OK) st = ie_tensor_empty(IE_I64, 4, ys, IE_CPU, &y);
    double first = 0, last = 0;
    int window = steps < 6 ? 1 : 3;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int step = 0; st == IE_OK && step < steps; step++) {
        for (int b = 0; b < BATCH; b++)
            synth_volume(42, step, b, ie_tensor_data_f32(x) + b * SIZE * SIZE * SIZE,
                         (int64_t *)ie_tensor_data(y) + b * SIZE * SIZE * SIZE);
        ie_tensor *logits = NULL, *ce = NULL, *dice = NULL, *loss = NULL;
        ie_optimizer_zero_grad(opt);
        st = ie_unet3d_forward(net, x, true, &logits);
        if (st == IE_OK) st = ie_cross_entropy(logits, y, NULL, 0.0f, &ce);
        if (st == IE_OK) st = ie_soft_dice_loss(logits, y, NULL, &dice);
        if (st == IE_OK) st = ie_add(ce, dice, &loss);
        if (st == IE_OK) st = ie_backward(loss);
        if (st == IE_OK) st = ie_optimizer_step(opt);
        if (st == IE_OK) {
            double v = ie_tensor_item(loss);
            printf("step %3d  loss %.4f  (cross-entropy %.4f + soft Dice %.4f)\n", step + 1, v, ie_tensor_item(ce),
                   ie_tensor_item(dice));
            if (step < window) first += v / window;
            if (step >= steps - window) last += v / window;
        }
        ie_tensor_release(logits);
        ie_tensor_release(ce);
        ie_tensor_release(dice);
        ie_tensor_release(loss);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ie_tensor_release(x);
    ie_tensor_release(y);
    ie_optimizer_free(opt);
    ie_unet3d_free(net);
    if (st != IE_OK) {
        fprintf(stderr, "innereye selfcheck: FAILED: %s\n", ie_error_message());
        return 1;
    }
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    bool ok = last < 0.6 * first;
    printf("loss %.4f -> %.4f over %d steps in %.1f s: %s\n", first, last, steps, seconds,
           ok ? "PASS (the loss fell)" : "FAIL (the loss did not fall by 40%)");
    return ok ? 0 : 1;
}
