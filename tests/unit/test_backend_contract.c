/* The backend contract (core/backend/backend.h): every kernel has a name and
 * a supports() answer, the CPU backend runs them all, and a backend missing a
 * kernel (an entry left NULL, or supports() saying no) makes the op fail with
 * IE_ERR_UNSUPPORTED naming the op, the kernel and the device. */
#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/backend/conv_kernels.h"
#include "core/backend/loss_kernels.h"
#include "core/backend/pointwise_kernels.h"
#include "core/data/sample_util.h"
#include "core/ops/op_util.h"
#include "innereye/loss.h"
#include "test_util.h"

static bool refuse_conv_weight_grad(const ie_device_ctx *ctx, ie_kernel_op k) {
    (void)ctx;
    return k != IE_KERNEL_CONV_BACKWARD_WEIGHT;
}

static void kernel_names(void) {
    for (int k = 0; k < IE_KERNEL_COUNT; k++) {
        const char *name = ie_kernel_op_name((ie_kernel_op)k);
        CHECK(strchr(name, '.') && strcmp(name, "unknown") != 0, "kernel %d has no family.entry name: %s", k, name);
        for (int j = 0; j < k; j++)
            CHECK(strcmp(name, ie_kernel_op_name((ie_kernel_op)j)) != 0, "kernels %d and %d share the name %s", j, k,
                  name);
    }
    CHECK(strcmp(ie_kernel_op_name(IE_KERNEL_CONV_BACKWARD_WEIGHT), "conv.backward_weight") == 0, "%s",
          ie_kernel_op_name(IE_KERNEL_CONV_BACKWARD_WEIGHT));
    CHECK(strcmp(ie_kernel_op_name(IE_KERNEL_COUNT), "unknown") == 0, "out of range is unknown");
}

static void cpu_runs_everything(void) {
    ie_device_ctx *ctx = NULL;
    CHECK_OK(ie_device_ctx_get("test", IE_CPU, &ctx));
    CHECK(ctx->device == IE_CPU && ctx->index == 0 && ctx->stream == NULL, "the CPU context is trivial");
    for (int k = 0; k < IE_KERNEL_COUNT; k++)
        CHECK(ie_kernel_supported(ctx, (ie_kernel_op)k), "the CPU backend lacks %s", ie_kernel_op_name((ie_kernel_op)k));
    CHECK_OK(ie_device_ctx_sync(ctx));
}

static void partial_backends_refuse(void) {
    ie_device_ctx *cpu = NULL;
    CHECK_OK(ie_device_ctx_get("test", IE_CPU, &cpu));
    /* A backend whose conv table lacks backward_data, and one whose
     * supports() refuses the weight gradient. */
    struct ie_conv_kernels conv = *cpu->backend->conv;
    conv.backward_data = NULL;
    ie_backend partial = *cpu->backend;
    partial.name = "partial";
    partial.conv = &conv;
    ie_device_ctx ctx = {.backend = &partial, .device = IE_CUDA};
    CHECK(!ie_kernel_supported(&ctx, IE_KERNEL_CONV_BACKWARD_DATA), "a NULL entry is not supported");
    CHECK(ie_kernel_supported(&ctx, IE_KERNEL_CONV_FORWARD), "the other entries are");
    CHECK_FAILS(ie_kernel_require(&ctx, IE_KERNEL_CONV_BACKWARD_DATA, "conv_transpose3d"), IE_ERR_UNSUPPORTED,
                "conv_transpose3d: the partial backend has no kernel conv.backward_data");
    partial.supports = refuse_conv_weight_grad;
    CHECK(!ie_kernel_supported(&ctx, IE_KERNEL_CONV_BACKWARD_WEIGHT), "supports() can refuse a set entry");
    CHECK_FAILS(ie_kernel_require(&ctx, IE_KERNEL_CONV_BACKWARD_WEIGHT, "conv3d"), IE_ERR_UNSUPPORTED,
                "conv.backward_weight");
    partial.pointwise = NULL; /* a whole family missing */
    CHECK(!ie_kernel_supported(&ctx, IE_KERNEL_POINTWISE_BINARY), "a missing family is not supported");
}

/* Without a CUDA module every way to reach the device says why, and nothing
 * changes. */
static void missing_device_is_named(void) {
    ie_device_ctx *ctx = (ie_device_ctx *)1;
    CHECK_FAILS(ie_device_ctx_get("relu", IE_CUDA, &ctx), IE_ERR_DEVICE,
                "relu: no backend for device cuda: this InnerEye has no CUDA backend (");
    CHECK(ctx == NULL, "no context on failure");
    CHECK(ie_backend_loaded(IE_CUDA) == NULL, "nothing was loaded");
    ie_error_set(IE_ERR_IO, "an earlier message");
    CHECK(!ie_device_available(IE_CUDA), "no CUDA in this build");
    CHECK(strcmp(ie_error_message(), "an earlier message") == 0, "the question keeps the last message: %s",
          ie_error_message());
    CHECK_FAILS(ie_device_check(IE_CUDA), IE_ERR_DEVICE, "device check: no backend for device cuda");
    const int64_t shape[1] = {3};
    const float v[3] = {1, 2, 3};
    ie_tensor *t = NULL, *moved = (ie_tensor *)1;
    CHECK_OK(ie_tensor_from_data(IE_F32, 1, shape, v, &t));
    CHECK_FAILS(ie_tensor_to(t, IE_CUDA, &moved), IE_ERR_DEVICE, "no backend for device cuda");
    CHECK(moved == NULL, "no tensor on failure");
    ie_params *params = NULL;
    CHECK_OK(ie_params_new(&params));
    CHECK_OK(ie_params_add(params, "w", t, IE_PARAM));
    CHECK_FAILS(ie_params_to(params, IE_CUDA), IE_ERR_DEVICE, "no backend for device cuda");
    CHECK(ie_tensor_device(t) == IE_CPU && memcmp(ie_tensor_data(t), v, sizeof v) == 0, "nothing moved on failure");
    ie_params_free(params);
    ie_tensor_release(t);
}

/* The class losses keep their weight sum on the logits' device, saved on the
 * node (never handed to the host mid-forward), as the exact float64 sum. */
static void weight_sum_stays_on_device(void) {
    const int64_t ls[2] = {2, 3}, ys[1] = {2}, ws[1] = {3};
    const float lv[6] = {0.1f, -0.3f, 0.7f, 1.5f, 0.2f, -1.0f}, wv[3] = {0.3f, 1.7f, 0.25f};
    const int64_t yv[2] = {2, 1};
    ie_tensor *logits = NULL, *labels = NULL, *w = NULL, *loss = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 2, ls, lv, &logits));
    CHECK_OK(ie_tensor_from_data(IE_I64, 1, ys, yv, &labels));
    CHECK_OK(ie_tensor_from_data(IE_F32, 1, ws, wv, &w));
    ie_tensor_set_requires_grad(logits, true);
    CHECK_OK(ie_cross_entropy(logits, labels, w, 0.0f, &loss));
    ie_node *node = loss->node;
    ie_tensor *sum = node ? node->saved[2] : NULL;
    CHECK(sum && sum->dtype == IE_WEIGHT_SUM_DTYPE && sum->numel == 1 && sum->device == logits->device,
          "the weight sum is a one-element tensor on the logits' device");
    if (sum) {
        double v;
        memcpy(&v, ie_tensor_ptr(sum), sizeof v);
        CHECK(v == (double)wv[2] + (double)wv[1], "weight sum %.17g, expected w[2] + w[1]", v);
    }
    CHECK_OK(ie_backward(loss));
    CHECK(ie_tensor_grad(logits) != NULL, "backward reads the saved sum");
    ie_tensor_release(loss);
    ie_tensor_release(logits);
    ie_tensor_release(labels);
    ie_tensor_release(w);
}

/* The host label check: first bad label across chunk boundaries, both label
 * types, and a refusal for labels that are not on the CPU. */
static void label_check_on_host(void) {
    const int64_t n = 40000;
    ie_tensor *y64 = NULL, *y32 = NULL;
    CHECK_OK(ie_tensor_zeros(IE_I64, 1, &n, IE_CPU, &y64));
    CHECK_OK(ie_tensor_zeros(IE_I32, 1, &n, IE_CPU, &y32));
    int64_t *a = ie_tensor_data(y64);
    int32_t *b = ie_tensor_data(y32);
    int64_t index = 0, value = 0;
    CHECK_OK(ie_labels_find_bad(y64, 3, &index, &value));
    CHECK(index == -1, "all valid: index %lld", (long long)index);
    a[35000] = 3, a[20000] = -1, b[39999] = 7, b[16383] = 5;
    CHECK_OK(ie_labels_find_bad(y64, 3, &index, &value));
    CHECK(index == 20000 && value == -1, "i64: index %lld value %lld", (long long)index, (long long)value);
    CHECK_OK(ie_labels_find_bad(y32, 6, &index, &value));
    CHECK(index == 39999 && value == 7, "i32: index %lld value %lld", (long long)index, (long long)value);
    ie_tensor fake = *y64; /* the same header claiming another device */
    fake.device = IE_CUDA;
    CHECK_FAILS(ie_labels_find_bad(&fake, 3, &index, &value), IE_ERR_DEVICE, "must be on the CPU");
    ie_tensor_release(y64);
    ie_tensor_release(y32);
}

/* The device SDK calls on the CPU: ie_tensor_to to the same device is the same
 * tensor (as torch's .to), copies and item reads work, ie_params_to keeps the
 * handles, the batch upload does nothing, and the device queries answer. */
static void device_calls_on_cpu(void) {
    const int64_t shape[2] = {2, 3};
    const float v[6] = {1, 2, 3, 4, 5, 6};
    ie_tensor *t = NULL, *same = NULL, *copy = NULL, *scalar = NULL;
    CHECK_OK(ie_tensor_from_data(IE_F32, 2, shape, v, &t));
    CHECK_OK(ie_tensor_to(t, IE_CPU, &same));
    CHECK(same == t, "to the same device hands back the same tensor");
    ie_tensor_release(same);
    CHECK_OK(ie_tensor_empty(IE_F32, 2, shape, IE_CPU, &copy));
    CHECK_OK(ie_tensor_copy_data(copy, t));
    CHECK(memcmp(ie_tensor_data(copy), v, sizeof v) == 0, "copy_data copies");
    float item = 0;
    CHECK_OK(ie_tensor_scalar(2.5f, &scalar));
    CHECK_OK(ie_tensor_read_item(scalar, &item));
    CHECK(item == 2.5f && ie_tensor_item(scalar) == 2.5f, "item %g", (double)item);
    ie_tensor *labels = NULL;
    const int64_t ls[1] = {2};
    const int64_t lv[2] = {0, 1};
    CHECK_OK(ie_tensor_from_data(IE_I64, 1, ls, lv, &labels));
    CHECK_FAILS(ie_tensor_read_item(labels, &item), IE_ERR_SHAPE, "needs an f32 tensor");
    CHECK(isnan(ie_tensor_item(labels)), "item of an i64 tensor is NaN");

    ie_params *params = NULL;
    CHECK_OK(ie_params_new(&params));
    CHECK_OK(ie_params_add(params, "w", t, IE_PARAM));
    CHECK_OK(ie_params_to(params, IE_CPU));
    CHECK(ie_params_tensor(params, 0) == t && ie_tensor_device(t) == IE_CPU, "the handle stays");
    ie_params_free(params);

    /* On the CPU the upload leaves even bad labels to the loss front end. */
    const int64_t bad[2] = {0, 9};
    ie_tensor *bad_labels = NULL;
    CHECK_OK(ie_tensor_from_data(IE_I64, 1, ls, bad, &bad_labels));
    ie_batch batch = {.struct_size = sizeof batch, .count = 2, .image = ie_tensor_retain(copy),
                      .labels = ie_tensor_retain(bad_labels)};
    CHECK_OK(ie_data_batch_to(&batch, IE_CPU, 3));
    CHECK(batch.image == copy && batch.labels == bad_labels, "a CPU batch stays as it is");
    CHECK_FAILS(ie_data_batch_to(&batch, IE_CUDA, 3), IE_ERR_INVALID_ARG,
                "batch upload: label value 9 at index 1 of labels [2] i64 (subject ?) is outside [0, 3)");
    CHECK(batch.labels == bad_labels, "a refused batch is unchanged");
    ie_data_batch_release(&batch);

    CHECK(ie_device_available(IE_CPU), "the CPU is available");
    CHECK_OK(ie_device_check(IE_CPU));
    ie_tensor_release(t);
    ie_tensor_release(copy);
    ie_tensor_release(scalar);
    ie_tensor_release(labels);
    ie_tensor_release(bad_labels);
}

int main(void) {
    kernel_names();
    cpu_runs_everything();
    partial_backends_refuse();
    /* Where a CUDA module is present (INNEREYE_CUDA_MODULE or a CUDA build),
     * test_device_moves covers the device instead. */
    if (ie_backend_get(IE_CUDA) == NULL)
        missing_device_is_named();
    else
        printf("a cuda backend is present: the missing-device checks do not apply\n");
    weight_sum_stays_on_device();
    label_check_on_host();
    device_calls_on_cpu();
    return test_summary();
}
