/* The device contracts, on the stand-in device (tests/backend/testdev.c,
 * loaded through INNEREYE_CUDA_MODULE exactly as the CUDA module would be):
 *   - tensors move with ie_tensor_to / ie_tensor_copy_data / ie_params_to /
 *     the batch upload, each copy of the kind its direction needs;
 *   - a UNet3D training step on the device gives the CPU's bytes, copies
 *     nothing back to the host before its loss read and exactly one value
 *     then, and allocates nothing after the first step;
 *   - a kernel the backend refuses fails the op (and its backward, before
 *     any gradient is accumulated) with a message naming it.
 * Skipped (77) when no device is present (a failure when INNEREYE_CUDA_MODULE
 * names one that does not load), or when the device is a real one: copy
 * counting and refusals are the stand-in's. */
#define _GNU_SOURCE /* RTLD_NOLOAD */
#include <dlfcn.h>

#include "core/backend/backend.h"
#include "core/data/sample_util.h"
#include "innereye/loss.h"
#include "innereye/optim.h"
#include "models/unet3d/unet3d_net.h"
#include "test_util.h"

/* The third step is the first that finds every block it needs in the cache
 * (the second still holds the first's gradients while it allocates its own). */
#define STEPS 3

static void (*testdev_counts)(unsigned long long out[4]);
static void (*testdev_refuse)(int kernel, bool refuse);

typedef struct counts {
    unsigned long long h2d, d2h, d2d, syncs;
} counts;

static counts now(void) {
    unsigned long long c[4];
    testdev_counts(c);
    return (counts){c[0], c[1], c[2], c[3]};
}

static ie_tensor *on_device(ie_tensor *cpu) {
    ie_tensor *d = NULL;
    CHECK_OK(ie_tensor_to(cpu, IE_CUDA, &d));
    return d;
}

/* The bytes of any tensor, read back through the backend. */
static void *host_bytes(ie_tensor *t) {
    ie_tensor *h = NULL;
    CHECK_OK(ie_tensor_to(t, IE_CPU, &h));
    size_t n = (size_t)ie_tensor_numel(h) * ie_dtype_size(ie_tensor_dtype(h));
    void *p = malloc(n ? n : 1);
    memcpy(p, ie_tensor_data(h), n);
    ie_tensor_release(h);
    return p;
}

static bool same_bytes(ie_tensor *a, ie_tensor *b) {
    size_t n = (size_t)ie_tensor_numel(a) * ie_dtype_size(ie_tensor_dtype(a));
    if (ie_tensor_numel(a) != ie_tensor_numel(b) || ie_tensor_dtype(a) != ie_tensor_dtype(b)) return false;
    void *pa = host_bytes(a), *pb = host_bytes(b);
    bool same = memcmp(pa, pb, n) == 0;
    free(pa);
    free(pb);
    return same;
}

static void copies(void) {
    const int64_t shape[2] = {3, 4}, ls[1] = {5};
    const int64_t lv[5] = {0, 1, 2, 1, 0};
    ie_tensor *x = test_random(2, shape, 11, -1, 1, false), *y = NULL;
    CHECK_OK(ie_tensor_from_data(IE_I64, 1, ls, lv, &y));
    counts c0 = now();
    ie_tensor *dx = on_device(x), *dy = on_device(y);
    counts c1 = now();
    CHECK(c1.h2d - c0.h2d == 2 && c1.d2h == c0.d2h, "two uploads: %llu host-to-device, %llu device-to-host",
          c1.h2d - c0.h2d, c1.d2h - c0.d2h);
    CHECK(ie_tensor_device(dx) == IE_CUDA && ie_tensor_data(dx) == NULL, "a device tensor has no host pointer");
    ie_tensor *back = NULL, *clone = NULL, *same = NULL;
    CHECK_OK(ie_tensor_to(dx, IE_CPU, &back));
    CHECK(memcmp(ie_tensor_data(back), ie_tensor_data(x), 12 * sizeof(float)) == 0, "f32 round trip");
    CHECK(same_bytes(dy, y), "i64 round trip");
    CHECK_OK(ie_tensor_to(dx, IE_CUDA, &same));
    CHECK(same == dx, "to its own device is the same tensor");
    counts c2 = now();
    CHECK_OK(ie_tensor_clone(dx, &clone));
    counts c3 = now();
    CHECK(ie_tensor_device(clone) == IE_CUDA && c3.d2d - c2.d2d == 1 && c3.d2h == c2.d2h,
          "a clone stays on the device (one device-to-device copy)");
    ie_tensor *scalar = NULL, *dscalar = NULL;
    CHECK_OK(ie_tensor_scalar(-3.25f, &scalar));
    dscalar = on_device(scalar);
    counts c4 = now();
    CHECK(ie_tensor_item(dscalar) == -3.25f, "item of a device scalar");
    CHECK(now().d2h - c4.d2h == 1, "item copies one value back");
    CHECK_OK(ie_tensor_fill(dx, 2.0f));
    float *filled = host_bytes(dx);
    CHECK(filled[0] == 2.0f && filled[11] == 2.0f, "fill on the device");
    free(filled);
    ie_tensor *zeros = NULL;
    CHECK_OK(ie_tensor_zeros(IE_I64, 1, ls, IE_CUDA, &zeros));
    int64_t *z = host_bytes(zeros);
    CHECK(z[0] == 0 && z[4] == 0, "zeros of an i64 device tensor");
    free(z);
    ie_tensor *sum = NULL;
    CHECK_FAILS(ie_add(x, dx, &sum), IE_ERR_DEVICE, "add: tensors on different devices (cpu and cuda)");
    ie_tensor *list[9] = {x, y, dx, dy, back, clone, same, scalar, dscalar};
    for (int i = 0; i < 9; i++) ie_tensor_release(list[i]);
    ie_tensor_release(zeros);
}

static void params_move(void) {
    const int64_t shape[1] = {6};
    ie_tensor *w = test_random(1, shape, 3, -1, 1, true), *tied = NULL, *b = test_random(1, shape, 4, -1, 1, true);
    CHECK_OK(ie_tensor_detach(w, &tied)); /* a second handle on w's storage, as tied weights are */
    ie_tensor *loss = NULL;
    CHECK_OK(ie_sum(w, &loss));
    CHECK_OK(ie_backward(loss)); /* w gets a gradient of ones */
    ie_params *params = NULL;
    CHECK_OK(ie_params_new(&params));
    CHECK_OK(ie_params_add(params, "w", w, IE_PARAM));
    CHECK_OK(ie_params_add(params, "w_tied", tied, IE_BUFFER));
    CHECK_OK(ie_params_add(params, "b", b, IE_BUFFER));
    float before[6];
    memcpy(before, ie_tensor_data(w), sizeof before);
    CHECK_OK(ie_params_to(params, IE_CUDA));
    CHECK(ie_params_tensor(params, 0) == w && ie_tensor_device(w) == IE_CUDA && ie_tensor_device(b) == IE_CUDA,
          "the same handles, now on the device");
    CHECK(ie_tensor_grad(w) && ie_tensor_device(ie_tensor_grad(w)) == IE_CUDA, "the gradient moved too");
    CHECK(w->storage == tied->storage, "tied weights still share their storage");
    float *after = host_bytes(w);
    CHECK(memcmp(before, after, sizeof before) == 0, "values kept");
    free(after);
    CHECK_OK(ie_params_to(params, IE_CPU));
    CHECK(ie_tensor_device(w) == IE_CPU && memcmp(before, ie_tensor_data(w), sizeof before) == 0, "and back");
    ie_params_free(params);
    ie_tensor_release(loss);
    ie_tensor_release(w);
    ie_tensor_release(tied);
    ie_tensor_release(b);
}

static void batch_upload(void) {
    const int64_t is[5] = {2, 1, 2, 2, 2}, ls[4] = {2, 2, 2, 2};
    ie_tensor *image = test_random(5, is, 8, 0, 1, false), *labels = NULL;
    CHECK_OK(ie_tensor_zeros(IE_I64, 4, ls, IE_CPU, &labels));
    const char *subjects[2] = {"s1", "s2"};
    ie_batch batch = {.struct_size = sizeof batch, .count = 2, .subjects = subjects,
                      .image = ie_tensor_retain(image), .labels = ie_tensor_retain(labels)};
    ((int64_t *)ie_tensor_data(labels))[12] = 4; /* subject s2 */
    counts c0 = now();
    CHECK_FAILS(ie_data_batch_to(&batch, IE_CUDA, 3), IE_ERR_INVALID_ARG,
                "batch upload: label value 4 at index 12 of labels [2, 2, 2, 2] i64 (subject s2) is outside [0, 3)");
    CHECK(batch.image == image && now().h2d == c0.h2d, "a refused batch is not uploaded");
    ((int64_t *)ie_tensor_data(labels))[12] = 2;
    CHECK_OK(ie_data_batch_to(&batch, IE_CUDA, 3));
    CHECK(ie_tensor_device(batch.image) == IE_CUDA && ie_tensor_device(batch.labels) == IE_CUDA &&
              now().h2d - c0.h2d == 2,
          "image and labels uploaded");
    CHECK(same_bytes(batch.image, image), "the image arrives intact");
    ie_data_batch_release(&batch);
    ie_tensor_release(image);
    ie_tensor_release(labels);
}

/* STEPS of UNet3D + weighted cross-entropy + soft Dice + Adam on `device`. */
typedef struct step_result {
    ie_unet3d *net;
    ie_params *state;
    float losses[STEPS];
    unsigned long long d2h_in_step[STEPS], d2h_at_read[STEPS];
    uint64_t allocations_last_step;
} step_result;

static void train(ie_device device, step_result *r) {
    ie_unet3d_config config = {.in_channels = 1, .classes = 3, .features = 4, .depth = 1};
    CHECK_OK(ie_unet3d_create(&config, 5, &r->net));
    ie_params *params = ie_unet3d_params(r->net);
    CHECK_OK(ie_params_to(params, device));
    const int64_t xs[5] = {2, 1, 4, 8, 6}, ys[4] = {2, 4, 8, 6}, ws[1] = {3};
    const float wv[3] = {0.5f, 1.25f, 2.0f};
    ie_tensor *x = test_random(5, xs, 21, -2, 2, false), *y = NULL, *w = NULL;
    CHECK_OK(ie_tensor_empty(IE_I64, 4, ys, IE_CPU, &y));
    for (int64_t i = 0; i < ie_tensor_numel(y); i++)
        ((int64_t *)ie_tensor_data(y))[i] = (ie_f32(x)[i] > 0.3f) + (ie_f32(x)[i] > 1.1f);
    CHECK_OK(ie_tensor_from_data(IE_F32, 1, ws, wv, &w));
    ie_batch batch = {.struct_size = sizeof batch, .count = 2, .image = x, .labels = y};
    CHECK_OK(ie_data_batch_to(&batch, device, 3));
    ie_tensor *dw = NULL;
    CHECK_OK(ie_tensor_to(w, device, &dw));
    ie_optimizer_opts opts = ie_optimizer_defaults(IE_OPTIM_ADAM);
    opts.lr = 1e-2;
    ie_optimizer *opt = NULL;
    CHECK_OK(ie_optimizer_new(&opts, params, &opt));
    for (int step = 0; step < STEPS; step++) {
        ie_memory_stats m0, m1;
        ie_memory_get_stats(&m0);
        counts c0 = device == IE_CUDA ? now() : (counts){0};
        ie_tensor *logits = NULL, *ce = NULL, *dice = NULL, *loss = NULL;
        ie_optimizer_zero_grad(opt);
        CHECK_OK(ie_unet3d_forward(r->net, batch.image, true, &logits));
        CHECK_OK(ie_cross_entropy(logits, batch.labels, dw, 0.1f, &ce));
        CHECK_OK(ie_soft_dice_loss(logits, batch.labels, NULL, &dice));
        CHECK_OK(ie_add(ce, dice, &loss));
        CHECK_OK(ie_backward(loss));
        CHECK_OK(ie_optimizer_step(opt));
        counts c1 = device == IE_CUDA ? now() : (counts){0};
        CHECK_OK(ie_tensor_read_item(loss, &r->losses[step]));
        counts c2 = device == IE_CUDA ? now() : (counts){0};
        r->d2h_in_step[step] = c1.d2h - c0.d2h;
        r->d2h_at_read[step] = c2.d2h - c1.d2h;
        ie_tensor_release(logits);
        ie_tensor_release(ce);
        ie_tensor_release(dice);
        ie_tensor_release(loss);
        ie_memory_get_stats(&m1);
        r->allocations_last_step = m1.system_allocations - m0.system_allocations;
    }
    CHECK_OK(ie_optimizer_state_save(opt, &r->state));
    ie_optimizer_free(opt);
    ie_data_batch_release(&batch);
    ie_tensor_release(w);
    ie_tensor_release(dw);
}

static void training_step_matches_cpu(void) {
    step_result cpu = {0}, dev = {0};
    train(IE_CPU, &cpu);
    train(IE_CUDA, &dev);
    for (int s = 0; s < STEPS; s++)
        CHECK(memcmp(&cpu.losses[s], &dev.losses[s], sizeof(float)) == 0, "step %d loss: cpu %.9g, device %.9g", s + 1,
              (double)cpu.losses[s], (double)dev.losses[s]);
    for (int s = 0; s < STEPS; s++) {
        CHECK(dev.d2h_in_step[s] == 0, "step %d copied %llu values to the host before its loss read", s + 1,
              dev.d2h_in_step[s]);
        CHECK(dev.d2h_at_read[s] == 1, "step %d: the loss read is one copy, got %llu", s + 1, dev.d2h_at_read[s]);
    }
    CHECK(dev.allocations_last_step == 0, "the last device step allocated %llu times; memory should be reused",
          (unsigned long long)dev.allocations_last_step);
    ie_params *pc = ie_unet3d_params(cpu.net), *pd = ie_unet3d_params(dev.net);
    for (int i = 0; i < ie_params_count(pc); i++) {
        ie_tensor *a = ie_params_tensor(pc, i), *b = ie_params_tensor(pd, i);
        CHECK(ie_tensor_device(b) == IE_CUDA, "'%s' trained on the device", ie_params_name(pd, i));
        CHECK(same_bytes(a, b), "'%s' differs between the CPU and the device", ie_params_name(pc, i));
    }
    CHECK(ie_params_count(cpu.state) == ie_params_count(dev.state), "optimiser state entries");
    for (int i = 0; i < ie_params_count(cpu.state); i++)
        CHECK(same_bytes(ie_params_tensor(cpu.state, i), ie_params_tensor(dev.state, i)),
              "optimiser state '%s' differs between the CPU and the device", ie_params_name(cpu.state, i));
    ie_params_free(cpu.state);
    ie_params_free(dev.state);
    ie_unet3d_free(cpu.net);
    ie_unet3d_free(dev.net);
}

static void refusals(void) {
    const int64_t xs[5] = {1, 2, 3, 3, 3}, ws[5] = {2, 2, 3, 3, 3};
    ie_tensor *xc = test_random(5, xs, 31, -1, 1, false), *wc = test_random(5, ws, 32, -1, 1, false);
    ie_tensor *x = on_device(xc), *w = on_device(wc), *y = NULL, *loss = NULL, *sum = NULL;
    ie_tensor_set_requires_grad(x, true);
    ie_tensor_set_requires_grad(w, true);
    ie_conv_opts o = {.padding = {1, 1, 1}};
    testdev_refuse(IE_KERNEL_CONV_BACKWARD_WEIGHT, true);
    CHECK_OK(ie_conv3d(x, w, NULL, o, &y)); /* forward needs conv.forward only */
    CHECK_OK(ie_sum(y, &loss));
    CHECK_FAILS(ie_backward(loss), IE_ERR_UNSUPPORTED,
                "backward of conv3d: conv3d: the testdev backend has no kernel conv.backward_weight");
    CHECK(ie_tensor_grad(x) == NULL, "no gradient reached x: the refusal came before any was accumulated");
    testdev_refuse(IE_KERNEL_CONV_BACKWARD_WEIGHT, false);

    testdev_refuse(IE_KERNEL_POINTWISE_BINARY, true);
    CHECK_FAILS(ie_add(x, x, &sum), IE_ERR_UNSUPPORTED, "add: the testdev backend has no kernel pointwise.binary");
    CHECK(sum == NULL, "no output");
    testdev_refuse(IE_KERNEL_POINTWISE_BINARY, false);

    ie_params *params = NULL;
    CHECK_OK(ie_params_new(&params));
    CHECK_OK(ie_params_add(params, "w", w, IE_PARAM));
    ie_optimizer_opts opts = ie_optimizer_defaults(IE_OPTIM_ADAM);
    ie_optimizer *opt = NULL;
    CHECK_OK(ie_optimizer_new(&opts, params, &opt));
    ie_tensor *l2 = NULL, *y2 = NULL;
    CHECK_OK(ie_conv3d(x, w, NULL, o, &y2));
    CHECK_OK(ie_sum(y2, &l2));
    CHECK_OK(ie_backward(l2));
    float *before = host_bytes(w);
    testdev_refuse(IE_KERNEL_OPTIM_ADAM, true);
    CHECK_FAILS(ie_optimizer_step(opt), IE_ERR_UNSUPPORTED, "optimizer_step: the testdev backend has no kernel optim.adam");
    float *after = host_bytes(w);
    CHECK(memcmp(before, after, (size_t)ie_tensor_numel(w) * sizeof(float)) == 0, "a refused step moves nothing");
    testdev_refuse(IE_KERNEL_OPTIM_ADAM, false);
    free(before);
    free(after);
    ie_optimizer_free(opt);
    ie_params_free(params);
    ie_tensor *list[9] = {xc, wc, x, w, y, loss, sum, l2, y2};
    for (int i = 0; i < 9; i++) ie_tensor_release(list[i]);
}

int main(void) {
    if (!ie_device_available(IE_CUDA)) {
        (void)ie_device_check(IE_CUDA); /* sets the message that says why */
        const char *module = getenv("INNEREYE_CUDA_MODULE");
        if (module && *module) { /* asked for a module that does not load: a failure, not a skip */
            fprintf(stderr, "FAIL: INNEREYE_CUDA_MODULE=%s does not load: %s\n", module, ie_error_message());
            return 1;
        }
        printf("skipped: no cuda device (%s)\n", ie_error_message());
        return 77;
    }
    ie_device_ctx *ctx = NULL;
    CHECK_OK(ie_device_ctx_get("test", IE_CUDA, &ctx));
    const char *module = getenv("INNEREYE_CUDA_MODULE");
    void *handle = module ? dlopen(module, RTLD_NOW | RTLD_NOLOAD) : NULL;
    testdev_counts = handle ? (void (*)(unsigned long long *))dlsym(handle, "ie_testdev_counts") : NULL;
    testdev_refuse = handle ? (void (*)(int, bool))dlsym(handle, "ie_testdev_refuse") : NULL;
    if (strcmp(ctx->backend->name, "testdev") != 0 || !testdev_counts || !testdev_refuse) {
        printf("skipped: the cuda device is the %s backend; these checks drive the stand-in (tests/backend/testdev.c)\n",
               ctx->backend->name);
        return 77;
    }
    CHECK(ctx->stream != NULL && ctx->device == IE_CUDA, "a device context has a stream");
    ie_threads_set(2);
    copies();
    params_move();
    batch_upload();
    training_step_matches_cpu();
    refusals();
    if (handle) dlclose(handle);
    return test_summary();
}
