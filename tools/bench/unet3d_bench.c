/* tools/bench - our side of tools/bench/unet3d_cpu.sh: times one InnerEye
 * UNet3D training step (forward + cross-entropy + backward + Adam) or one
 * forward-only inference, printing "innereye train|infer <seconds>" per
 * repetition after one warm-up, then "innereye rss_kb <peak RSS>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "innereye/autograd.h"
#include "innereye/loss.h"
#include "innereye/optim.h"
#include "innereye/threads.h"
#include "core/backend/cpu/cpu_path.h"
#include "core/tensor/tensor_impl.h"
#include "models/unet3d/unet3d_net.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const char *what) {
    fprintf(stderr, "unet3d_bench: %s: %s\n", what, ie_error_message());
    return 1;
}

int main(int argc, char **argv) {
    const char *mode = "train";
    int reps = 5, threads = 2, features = 16, batch = 2, depth = 4, crop[3] = {32, 48, 32}, pool[3] = {0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--features") && i + 1 < argc) features = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--depth") && i + 1 < argc) depth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pool") && i + 3 < argc)
            for (int k = 0; k < 3; k++) pool[k] = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--crop") && i + 3 < argc)
            for (int k = 0; k < 3; k++) crop[k] = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: unet3d_bench [--mode train|infer] [--reps N] [--threads N] "
                            "[--features F] [--batch B] [--depth N] [--pool D H W] [--crop D H W]\n");
            return 2;
        }
    }
    bool train = strcmp(mode, "train") == 0;
    ie_threads_set(threads);
    ie_unet3d_config config = {.in_channels = 1, .classes = 3, .features = features, .depth = depth,
                               .pool = {pool[0], pool[1], pool[2]}};
    ie_unet3d *net;
    if (ie_unet3d_create(&config, 0, &net) != IE_OK) return fail("create");
    int64_t xs[5] = {batch, 1, crop[0], crop[1], crop[2]}, ys[4] = {batch, crop[0], crop[1], crop[2]};
    ie_tensor *x, *y;
    if (ie_tensor_empty(IE_F32, 5, xs, IE_CPU, &x) || ie_tensor_empty(IE_I64, 4, ys, IE_CPU, &y))
        return fail("inputs");
    ie_rng rng = ie_rng_make(1, IE_STREAM_USER, 0, 0);
    ie_rng_fill_uniform(&rng, 0, ie_tensor_data_f32(x), ie_tensor_numel(x), -1, 1);
    int64_t *labels = ie_tensor_data(y);
    for (int64_t i = 0; i < ie_tensor_numel(y); i++) labels[i] = ie_rng_below(&rng, 3);
    ie_optimizer_opts opts = ie_optimizer_defaults(IE_OPTIM_ADAM);
    opts.lr = 1e-3;
    ie_optimizer *opt;
    if (ie_optimizer_new(&opts, ie_unet3d_params(net), &opt) != IE_OK) return fail("optimizer");
    ie_grad_set_enabled(train);
    for (int rep = 0; rep <= reps; rep++) {
        double t0 = now();
        ie_tensor *logits = NULL, *loss = NULL;
        /* The previous step's gradients go before the forward pass, as the
         * trainer and unet3d_torch.py order it: else they are held through it. */
        if (train) ie_optimizer_zero_grad(opt);
        if (ie_unet3d_forward(net, x, train, &logits) != IE_OK) return fail("forward");
        if (train) {
            if (ie_cross_entropy(logits, y, NULL, 0.0f, &loss) != IE_OK) return fail("loss");
            if (ie_backward(loss) != IE_OK) return fail("backward");
            if (ie_optimizer_step(opt) != IE_OK) return fail("step");
        }
        ie_tensor_release(loss);
        ie_tensor_release(logits);
        double dt = now() - t0;
        if (rep) printf("innereye %s %.6f\n", mode, dt);
        fflush(stdout);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("innereye rss_kb %ld\n", ru.ru_maxrss);
    printf("innereye cpu_path %s\n", ie_cpu_path_name(ie_cpu_path_get()));
    /* Where the memory goes: tensors live at the peak, and blocks the caching
     * allocator holds for reuse (on stderr: unet3d_cpu.sh parses stdout). */
    ie_memory_stats ms;
    ie_memory_get_stats(&ms);
    fprintf(stderr,
            "innereye tensors: peak %.0f MB in use, %.0f MB cached now (%.0f MB holding pages), %llu system "
            "allocations, %.0f MB of idle blocks' pages given back\n",
            ms.peak_in_use / 1048576.0, ms.bytes_cached / 1048576.0, ms.cached_resident / 1048576.0,
            (unsigned long long)ms.system_allocations, ms.bytes_given_back / 1048576.0);
    ie_optimizer_free(opt);
    ie_tensor_release(x);
    ie_tensor_release(y);
    ie_unet3d_free(net);
    return 0;
}
