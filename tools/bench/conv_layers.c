/* tools/bench - per-layer convolution benchmark: every distinct conv layer of
 * InnerEye's UNet3D (batch 2, crop 32x48x32), or with -f the three 2-D convs
 * of configs/fashion_mnist.json's Classifier (batch 64, 28x28 images),
 * forward and backward, timed through the CPU kernel table (min over
 * repeats).  Given the output of conv_layers_torch.py (UNet3D only) it prints
 * our time / PyTorch's time per layer.
 *
 *   conv_layers [-r repeats] [-t threads] [-g] [-c] [-f] [-l layer] [torch_output.txt]
 *     -g  force the canonical kernels of the CPU path (no direct AVX-512 kernels)
 *     -f  the Fashion-MNIST Classifier's convs instead of UNet3D's
 *     -l  time only the named layer (for profiling)
 *     -c  CPU time of the process instead of wall time (a busy machine; use -t 1)
 *
 * The machine is shared and timings are noisy: run the pair a few times,
 * alternating, and compare the minimum per layer, e.g.
 *   /usr/bin/python3 tools/bench/conv_layers_torch.py 5 > torch.txt
 *   build/bin/conv_layers -r 5 torch.txt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/backend/backend.h"
#include "core/backend/cpu/cpu_conv.h"
#include "innereye/rng.h"
#include "innereye/threads.h"

typedef struct layer {
    const char *name;
    int count;
    bool transposed;
    int cin, cout, k, stride, pad;
    int size[3];
    bool bias, input_grad;
    bool two_d; /* a 2-D conv: kernel 1 and no padding along the depth (size[0] = 1) */
} layer;

/* Same table as conv_layers_torch.py. */
static const layer LAYERS[] = {
    {"enc0_1to16", 1, false, 1, 16, 3, 1, 1, {32, 48, 32}, false, false, false},
    {"enc0_16to16", 2, false, 16, 16, 3, 1, 1, {32, 48, 32}, false, true, false},
    {"enc1_16to32_s2", 1, false, 16, 32, 3, 2, 1, {32, 48, 32}, false, true, false},
    {"enc1_32to32", 2, false, 32, 32, 3, 1, 1, {16, 24, 16}, false, true, false},
    {"enc2_32to64_s2", 1, false, 32, 64, 3, 2, 1, {16, 24, 16}, false, true, false},
    {"enc2_64to64", 2, false, 64, 64, 3, 1, 1, {8, 12, 8}, false, true, false},
    {"enc3_64to128_s2", 1, false, 64, 128, 3, 2, 1, {8, 12, 8}, false, true, false},
    {"enc3_128to128", 2, false, 128, 128, 3, 1, 1, {4, 6, 4}, false, true, false},
    {"enc4_128to256_s2", 1, false, 128, 256, 3, 2, 1, {4, 6, 4}, false, true, false},
    {"enc4_256to256", 1, false, 256, 256, 3, 1, 1, {2, 3, 2}, false, true, false},
    {"up3_256to128", 1, true, 256, 128, 4, 2, 1, {2, 3, 2}, true, true, false},
    {"dec3_256to128", 1, false, 256, 128, 3, 1, 1, {4, 6, 4}, false, true, false},
    {"up2_128to64", 1, true, 128, 64, 4, 2, 1, {4, 6, 4}, true, true, false},
    {"dec2_128to64", 1, false, 128, 64, 3, 1, 1, {8, 12, 8}, false, true, false},
    {"up1_64to32", 1, true, 64, 32, 4, 2, 1, {8, 12, 8}, true, true, false},
    {"dec1_64to32", 1, false, 64, 32, 3, 1, 1, {16, 24, 16}, false, true, false},
    {"up0_32to16", 1, true, 32, 16, 4, 2, 1, {16, 24, 16}, true, true, false},
    {"dec0_32to16", 1, false, 32, 16, 3, 1, 1, {32, 48, 32}, false, true, false},
    {"out_16to3_k1", 1, false, 16, 3, 1, 1, 0, {32, 48, 32}, true, true, false},
};
#define N_LAYERS (sizeof LAYERS / sizeof LAYERS[0])

/* configs/fashion_mnist.json: widths 32, 64, 128, one conv per block, 2x2 max
 * pooling between blocks; the first conv's input needs no gradient. */
static const layer FMNIST_LAYERS[] = {
    {"fm_1to32_28x28", 1, false, 1, 32, 3, 1, 1, {1, 28, 28}, true, false, true},
    {"fm_32to64_14x14", 1, false, 32, 64, 3, 1, 1, {1, 14, 14}, true, true, true},
    {"fm_64to128_7x7", 1, false, 64, 128, 3, 1, 1, {1, 7, 7}, true, true, true},
};
#define N_FMNIST_LAYERS (sizeof FMNIST_LAYERS / sizeof FMNIST_LAYERS[0])

static int bench_batch = 2; /* 64 with -f */

/* -c: process CPU time instead of wall time, for a machine busy with other
 * work (with -t 1 it is the single thread's time). */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec t;
    clock_gettime(clock_id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static ie_tensor *random_tensor(int ndim, const int64_t *shape, uint32_t seed) {
    ie_tensor *t = NULL;
    if (ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, &t) != IE_OK) {
        fprintf(stderr, "conv_layers: %s\n", ie_error_message());
        exit(1);
    }
    ie_rng rng = ie_rng_make(seed, IE_STREAM_USER, 0, 0);
    ie_rng_fill_uniform(&rng, 0, ie_f32(t), t->numel, -1.0f, 1.0f);
    return t;
}

static void must(ie_status st) {
    if (st != IE_OK) {
        fprintf(stderr, "conv_layers: %s\n", ie_error_message());
        exit(1);
    }
}

typedef struct timing {
    double fwd, bwd, bdata, bweight, flops;
} timing;

static timing time_layer(const layer *l, int repeats) {
    ie_device_ctx *ctx;
    must(ie_device_ctx_get("conv_layers", IE_CPU, &ctx));
    const struct ie_conv_kernels *k = ctx->backend->conv;
    /* The regular conv whose forward is this layer (or whose backward_data
     * is, for a transposed layer). */
    ie_conv_geom g = {.batch = bench_batch};
    int64_t osz[3];
    for (int d = 0; d < 3; d++) {
        int64_t in = l->size[d];
        const int k = l->two_d && d == 0 ? 1 : l->k, s = l->two_d && d == 0 ? 1 : l->stride,
                  p = l->two_d && d == 0 ? 0 : l->pad;
        int64_t out = l->transposed ? (in - 1) * s - 2 * p + k : (in + 2 * p - k) / s + 1;
        osz[d] = out;
        g.in[d] = l->transposed ? out : in;
        g.out[d] = l->transposed ? in : out;
        g.kernel[d] = l->two_d && d == 0 ? 1 : l->k;
        g.stride[d] = l->two_d && d == 0 ? 1 : l->stride;
        g.pad[d] = l->two_d && d == 0 ? 0 : l->pad;
        g.dil[d] = 1;
    }
    g.cin = l->transposed ? l->cout : l->cin;
    g.cout = l->transposed ? l->cin : l->cout;
    const int64_t xs[5] = {bench_batch, l->cin, l->size[0], l->size[1], l->size[2]};
    const int64_t ys[5] = {bench_batch, l->cout, osz[0], osz[1], osz[2]};
    const int64_t ws[5] = {l->transposed ? l->cin : l->cout, l->transposed ? l->cout : l->cin, g.kernel[0],
                           g.kernel[1], g.kernel[2]};
    const int64_t bs[1] = {l->cout};
    ie_tensor *x = random_tensor(5, xs, 1), *y = random_tensor(5, ys, 2), *gy = random_tensor(5, ys, 3);
    ie_tensor *w = random_tensor(5, ws, 4), *gw = random_tensor(5, ws, 5), *gx = random_tensor(5, xs, 6);
    ie_tensor *b = random_tensor(1, bs, 7), *gb = random_tensor(1, bs, 8);
    timing t = {1e30, 1e30, 1e30, 1e30, 0};
    for (int r = 0; r <= repeats; r++) { /* the first run warms caches and allocators */
        double t0 = now();
        if (l->transposed)
            must(k->backward_data(ctx, &g, x, w, l->bias ? b : NULL, y));
        else
            must(k->forward(ctx, &g, x, w, l->bias ? b : NULL, y));
        double t1 = now();
        if (l->transposed) {
            if (l->input_grad) must(k->forward(ctx, &g, gy, w, NULL, gx));
        } else {
            if (l->input_grad) must(k->backward_data(ctx, &g, gy, w, NULL, gx));
        }
        double tm = now();
        if (l->transposed)
            must(k->backward_weight(ctx, &g, gy, x, gw));
        else
            must(k->backward_weight(ctx, &g, x, gy, gw));
        if (l->bias) must(k->bias_grad(ctx, gy, bench_batch, l->cout, ys[2] * ys[3] * ys[4], gb));
        double t2 = now();
        if (r > 0) {
            if (t1 - t0 < t.fwd) t.fwd = t1 - t0;
            if (t2 - t1 < t.bwd) t.bwd = t2 - t1;
            if (tm - t1 < t.bdata) t.bdata = tm - t1;
            if (t2 - tm < t.bweight) t.bweight = t2 - tm;
        }
    }
    int64_t ovol = g.out[0] * g.out[1] * g.out[2];
    t.flops = 2.0 * bench_batch * (double)g.cin * (double)g.cout * (double)g.kernel[0] * g.kernel[1] * g.kernel[2] *
              (double)ovol;
    ie_tensor *all[] = {x, y, gy, w, gw, gx, b, gb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
    return t;
}

/* Reads "name count fwd_ms bwd_ms" lines written by conv_layers_torch.py. */
static bool torch_times(const char *path, const char *name, double *fwd, double *bwd) {
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return false;
    char line[256], n[128];
    int count;
    bool found = false;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%127s %d %lf %lf", n, &count, fwd, bwd) == 4 && !strcmp(n, name)) {
            found = true;
            break;
        }
    fclose(f);
    return found;
}

int main(int argc, char **argv) {
    int repeats = 5, threads = 2;
    const char *torch_path = NULL, *only = NULL;
    bool fmnist = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-l") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "-c"))
            clock_id = CLOCK_PROCESS_CPUTIME_ID;
        else if (!strcmp(argv[i], "-f"))
            fmnist = true;
        else if (!strcmp(argv[i], "-g"))
            ie_cpu_conv_set_mode(IE_CPU_CONV_CANON);
        else
            torch_path = argv[i];
    }
    ie_threads_set(threads);
    const layer *layers = fmnist ? FMNIST_LAYERS : LAYERS;
    const size_t n_layers = fmnist ? N_FMNIST_LAYERS : N_LAYERS;
    if (fmnist) bench_batch = 64;
    printf("# layer count fwd_ms bwd_ms (data + weight) fwd_GFLOP/s | torch fwd_ms bwd_ms | ours/torch fwd bwd "
           "(%d threads)\n",
           threads);
    double sum_f = 0, sum_b = 0, tsum_f = 0, tsum_b = 0;
    bool have_torch = true;
    for (size_t i = 0; i < n_layers; i++) {
        const layer *l = &layers[i];
        if (only && strcmp(only, l->name)) continue;
        timing t = time_layer(l, repeats);
        sum_f += l->count * t.fwd * 1e3;
        sum_b += l->count * t.bwd * 1e3;
        printf("%-18s %d %8.3f %8.3f (%7.3f + %7.3f) %6.1f", l->name, l->count, t.fwd * 1e3, t.bwd * 1e3,
               t.bdata * 1e3, t.bweight * 1e3, t.flops / t.fwd * 1e-9);
        double tf, tb;
        if (torch_times(torch_path, l->name, &tf, &tb)) {
            tsum_f += l->count * tf;
            tsum_b += l->count * tb;
            printf(" | %8.3f %8.3f | %5.2f %5.2f", tf, tb, t.fwd * 1e3 / tf, t.bwd * 1e3 / tb);
        } else {
            have_torch = false;
        }
        printf("\n");
        fflush(stdout);
    }
    printf("# total (weighted by count) fwd_ms %.2f bwd_ms %.2f", sum_f, sum_b);
    if (have_torch && torch_path)
        printf(" | torch %.2f %.2f | ours/torch fwd %.2f bwd %.2f all %.2f", tsum_f, tsum_b, sum_f / tsum_f,
               sum_b / tsum_b, (sum_f + sum_b) / (tsum_f + tsum_b));
    printf("\n");
    return 0;
}
