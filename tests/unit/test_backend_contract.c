/* The backend contract (core/backend/backend.h): every kernel has a name and
 * a supports() answer, the CPU backend runs them all, and a backend missing a
 * kernel (an entry left NULL, or supports() saying no) makes the op fail with
 * IE_ERR_UNSUPPORTED naming the op, the kernel and the device. */
#include "core/backend/backend.h"
#include "core/backend/conv_kernels.h"
#include "core/backend/pointwise_kernels.h"
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

static void missing_device_is_named(void) {
    ie_device_ctx *ctx = (ie_device_ctx *)1;
    CHECK_FAILS(ie_device_ctx_get("relu", IE_CUDA, &ctx), IE_ERR_DEVICE, "relu: no cuda backend in this build");
    CHECK(ctx == NULL, "no context on failure");
}

int main(void) {
    kernel_names();
    cpu_runs_everything();
    partial_backends_refuse();
    missing_device_is_named();
    return test_summary();
}
