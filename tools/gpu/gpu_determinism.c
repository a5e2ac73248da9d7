/* tools/gpu - the determinism check of tools/gpu/check.sh: trains a UNet3D
 * (cross-entropy + Adam) on one device for --steps steps from a fixed seed and
 * a fixed synthetic batch, then prints "sha256 <hex>" of the parameters and
 * the optimiser state (names, shapes and bytes, in list order).
 *
 *   gpu_determinism --device cuda --steps 20
 *   gpu_determinism --device cuda --steps 10 --save state.bin
 *   gpu_determinism --device cuda --steps 10 --resume state.bin
 *
 * Two processes with the same arguments must print the same hash, and 10
 * steps, a save, a new process resuming and 10 more steps must print the hash
 * of 20 straight steps (docs/gpu.md, "Determinism contract").  The state file
 * is this tool's own: each entry is name, dtype, shape and raw bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/backend/backend.h"
#include "core/util/sha256.h"
#include "innereye/autograd.h"
#include "innereye/loss.h"
#include "innereye/optim.h"
#include "innereye/rng.h"
#include "models/unet3d/unet3d_net.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int fail(const char *what) {
    fprintf(stderr, "gpu_determinism: %s: %s\n", what, ie_error_message());
    return 1;
}

/* Feeds one list to the hash (and, when f is set, to the state file). */
static ie_status emit(const ie_params *list, ie_sha256 *h, FILE *f) {
    int count = ie_params_count(list);
    if (f) fwrite(&count, sizeof count, 1, f);
    for (int i = 0; i < count; i++) {
        ie_tensor *cpu = NULL;
        IE_TRY(ie_tensor_to(ie_params_tensor(list, i), IE_CPU, &cpu));
        const char *name = ie_params_name(list, i);
        int32_t len = (int32_t)strlen(name), dtype = (int32_t)ie_tensor_dtype(cpu), ndim = ie_tensor_ndim(cpu);
        size_t nbytes = (size_t)ie_tensor_numel(cpu) * ie_dtype_size(ie_tensor_dtype(cpu));
        ie_sha256_update(h, name, (size_t)len);
        ie_sha256_update(h, ie_tensor_shape(cpu), (size_t)ndim * sizeof(int64_t));
        ie_sha256_update(h, ie_tensor_data(cpu), nbytes);
        if (f) {
            fwrite(&len, sizeof len, 1, f), fwrite(name, 1, (size_t)len, f);
            fwrite(&dtype, sizeof dtype, 1, f), fwrite(&ndim, sizeof ndim, 1, f);
            fwrite(ie_tensor_shape(cpu), sizeof(int64_t), (size_t)ndim, f);
            fwrite(ie_tensor_data(cpu), 1, nbytes, f);
        }
        ie_tensor_release(cpu);
    }
    return IE_OK;
}

/* Reads one list written by emit (CPU tensors, kind buffer). */
static ie_status read_list(FILE *f, ie_params **out) {
    IE_TRY(ie_params_new(out));
    int count = 0;
    if (fread(&count, sizeof count, 1, f) != 1) return ie_error_set(IE_ERR_IO, "truncated state file");
    for (int i = 0; i < count; i++) {
        int32_t len, dtype, ndim;
        char name[512];
        int64_t shape[8];
        if (fread(&len, sizeof len, 1, f) != 1 || len < 0 || len >= (int32_t)sizeof name ||
            fread(name, 1, (size_t)len, f) != (size_t)len || fread(&dtype, sizeof dtype, 1, f) != 1 ||
            fread(&ndim, sizeof ndim, 1, f) != 1 || ndim < 0 || ndim > 8 ||
            fread(shape, sizeof(int64_t), (size_t)ndim, f) != (size_t)ndim)
            return ie_error_set(IE_ERR_IO, "truncated or damaged state file");
        name[len] = '\0';
        size_t numel = 1;
        for (int d = 0; d < ndim; d++) numel *= (size_t)shape[d];
        size_t nbytes = numel * ie_dtype_size((ie_dtype)dtype);
        void *buf = malloc(nbytes ? nbytes : 1);
        if (!buf) return ie_error_set(IE_ERR_NOMEM, "state file entry of %zu bytes", nbytes);
        ie_tensor *t = NULL;
        ie_status st = fread(buf, 1, nbytes, f) == nbytes ? ie_tensor_from_data((ie_dtype)dtype, ndim, shape, buf, &t)
                                                          : ie_error_set(IE_ERR_IO, "truncated state file");
        free(buf);
        if (st == IE_OK) st = ie_params_add(*out, name, t, IE_BUFFER);
        ie_tensor_release(t);
        IE_TRY(st);
    }
    return IE_OK;
}

int main(int argc, char **argv) {
    ie_device device = IE_CUDA;
    int steps = 20, features = 8, depth = 2, classes = 3;
    int64_t crop[3] = {16, 32, 32};
    const char *save = NULL, *resume = NULL;
    ie_precision precision = IE_PRECISION_FP32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) device = strcmp(argv[++i], "cpu") ? IE_CUDA : IE_CPU;
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--features") && i + 1 < argc) features = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--depth") && i + 1 < argc) depth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--classes") && i + 1 < argc) classes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--crop") && i + 3 < argc)
            for (int k = 0; k < 3; k++) crop[k] = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc && ie_precision_parse(argv[i + 1], &precision)) i++;
        else if (!strcmp(argv[i], "--save") && i + 1 < argc) save = argv[++i];
        else if (!strcmp(argv[i], "--resume") && i + 1 < argc) resume = argv[++i];
        else {
            fprintf(stderr, "usage: gpu_determinism [--device cuda|cpu] [--steps N] [--features F] [--depth L] [--classes C] "
                            "[--crop D H W] "
                            "[--precision fp32|tf32] [--save FILE | --resume FILE]\n");
            return 2;
        }
    }
    ie_unet3d_config config = {.in_channels = 1, .classes = classes, .features = features, .depth = depth};
    ie_unet3d *net = NULL;
    if (ie_unet3d_create(&config, 7, &net) != IE_OK) return fail("create the UNet3D");
    ie_params *params = ie_unet3d_params(net);
    FILE *in = NULL;
    ie_params *saved_params = NULL, *saved_state = NULL;
    if (resume) {
        in = fopen(resume, "rb");
        if (!in) return fprintf(stderr, "gpu_determinism: cannot open %s\n", resume), 1;
        if (read_list(in, &saved_params) != IE_OK || read_list(in, &saved_state) != IE_OK) return fail(resume);
        fclose(in);
        for (int i = 0; i < ie_params_count(params); i++)
            if (ie_tensor_copy_data(ie_params_tensor(params, i), ie_params_tensor(saved_params, i)) != IE_OK)
                return fail("restore a parameter");
    }
    if (ie_device_set_precision(device, precision) != IE_OK) return fail("set the precision");
    if (ie_params_to(params, device) != IE_OK) return fail("move the parameters");

    /* A fixed batch of 2, labels from thresholds of the image. */
    const int64_t xs[5] = {2, 1, crop[0], crop[1], crop[2]}, ys[4] = {2, crop[0], crop[1], crop[2]};
    ie_tensor *x = NULL, *y = NULL, *dx = NULL, *dy = NULL;
    if (ie_tensor_empty(IE_F32, 5, xs, IE_CPU, &x) != IE_OK || ie_tensor_empty(IE_I64, 4, ys, IE_CPU, &y) != IE_OK)
        return fail("make the batch");
    ie_rng rng = ie_rng_make(11, IE_STREAM_USER, 0, 0);
    float *xv = ie_tensor_data(x);
    int64_t *yv = ie_tensor_data(y);
    ie_rng_fill_uniform(&rng, 0, xv, ie_tensor_numel(x), -2.0f, 2.0f);
    for (int64_t i = 0; i < ie_tensor_numel(y); i++) yv[i] = ((xv[i] > 0.3f) + (xv[i] > 1.1f)) % classes;
    if (ie_tensor_to(x, device, &dx) != IE_OK || ie_tensor_to(y, device, &dy) != IE_OK) return fail("upload the batch");

    ie_optimizer_opts opts = ie_optimizer_defaults(IE_OPTIM_ADAM);
    opts.lr = 1e-3;
    ie_optimizer *opt = NULL;
    if (ie_optimizer_new(&opts, params, &opt) != IE_OK) return fail("make the optimiser");
    if (saved_state) {
        if (ie_params_to(saved_state, device) != IE_OK || ie_optimizer_state_load(opt, saved_state) != IE_OK)
            return fail("restore the optimiser state");
    }
    float loss_value = 0.0f;
    double *ms = calloc((size_t)(steps > 0 ? steps : 1), sizeof *ms);
    if (!ms) return fprintf(stderr, "gpu_determinism: out of memory\n"), 1;
    for (int step = 0; step < steps; step++) {
        double t0 = now_ms();
        ie_tensor *logits = NULL, *loss = NULL;
        ie_optimizer_zero_grad(opt);
        if (ie_unet3d_forward(net, dx, true, &logits) != IE_OK) return fail("forward");
        if (ie_cross_entropy(logits, dy, NULL, 0.0f, &loss) != IE_OK) return fail("cross-entropy");
        if (ie_backward(loss) != IE_OK) return fail("backward");
        if (ie_optimizer_step(opt) != IE_OK) return fail("optimiser step");
        if (ie_tensor_read_item(loss, &loss_value) != IE_OK) return fail("read the loss");
        ms[step] = now_ms() - t0;
        ie_tensor_release(logits);
        ie_tensor_release(loss);
    }
    ie_params *state = NULL;
    if (ie_optimizer_state_save(opt, &state) != IE_OK) return fail("save the optimiser state");
    FILE *out = save ? fopen(save, "wb") : NULL;
    if (save && !out) return fprintf(stderr, "gpu_determinism: cannot write %s\n", save), 1;
    ie_sha256 h;
    ie_sha256_init(&h);
    if (emit(params, &h, out) != IE_OK || emit(state, &h, out) != IE_OK) return fail("hash the state");
    if (out && fclose(out) != 0) return fprintf(stderr, "gpu_determinism: cannot write %s\n", save), 1;
    uint8_t digest[IE_SHA256_DIGEST_SIZE];
    char hex[IE_SHA256_HEX_SIZE];
    ie_sha256_final(&h, digest);
    ie_sha256_hex(digest, hex);
    if (steps > 1) qsort(ms + 1, (size_t)(steps - 1), sizeof *ms, cmp_double);
    printf("loss %.9g\nstep_ms %.3f\nsha256 %s\n", (double)loss_value, steps > 1 ? ms[1 + (steps - 1) / 2] : ms[0],
           hex);
    free(ms);
    /* What run.json would record: GPU, versions, the convolution engines. */
    const ie_backend *be = ie_backend_loaded(device);
    ie_device_ctx *ctx = NULL;
    char *json = NULL;
    if (be && be->describe && ie_device_ctx_get("describe", device, &ctx) == IE_OK && be->describe(ctx, &json) == IE_OK)
        printf("backend %s\n", json);
    free(json);
    ie_params_free(state);
    ie_params_free(saved_params);
    ie_params_free(saved_state);
    ie_optimizer_free(opt);
    ie_tensor_release(x), ie_tensor_release(y), ie_tensor_release(dx), ie_tensor_release(dy);
    ie_unet3d_free(net);
    return 0;
}
