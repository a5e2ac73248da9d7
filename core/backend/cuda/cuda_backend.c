/* core/backend/cuda - the CUDA backend module (libinnereye_cuda.so): module
 * entry, driver and device checks, the context (one stream, a workspace),
 * device memory and the table of kernel families.
 *
 * Loaded by core/backend/backend.c with dlopen on the first use of the CUDA
 * device; cudart is linked statically, so this file's only runtime needs are
 * the NVIDIA driver (found by cudart at init) and, for the families that use
 * them, cuDNN and cuBLASLt.  Kernel families this module does not have are
 * left out of the table (NULL): the op front ends then refuse them with
 * IE_ERR_UNSUPPORTED naming the kernel, never run a stand-in. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "core/backend/cuda/cuda_internal.h"

#ifndef IE_VERSION_STRING
#define IE_VERSION_STRING "dev"
#endif

#define CUDA_EXPORT __attribute__((visibility("default")))

ie_status ie_cuda_status(int err, const char *what) {
    if (err == cudaSuccess) return IE_OK;
    cudaError_t e = (cudaError_t)err;
    ie_status code = e == cudaErrorMemoryAllocation ? IE_ERR_NOMEM : IE_ERR_DEVICE;
    return ie_error_set(code, "cuda: %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

/* ---------------- init: driver and device ---------------- */

static ie_status cuda_init(void) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorInsufficientDriver)
        return ie_error_set(IE_ERR_DEVICE,
                            "cuda: no NVIDIA driver (or one too old for the CUDA %d.%d runtime this backend was "
                            "built with); install the NVIDIA driver or use the CPU",
                            CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0))
        return ie_error_set(IE_ERR_DEVICE, "cuda: the NVIDIA driver is present but sees no CUDA device; use the CPU");
    if (e != cudaSuccess) return ie_cuda_status(e, "cannot query the CUDA devices");
    return IE_OK;
}

/* ---------------- the context ---------------- */

static ie_device_ctx ctx0;
static pthread_once_t ctx0_once = PTHREAD_ONCE_INIT;
static ie_status ctx0_status = IE_OK;
static char ctx0_why[512];

static void make_context(void) {
    cudaStream_t stream = NULL;
    cudaError_t e = cudaSetDevice(0);
    /* A non-blocking stream: nothing implicit on the legacy default stream
     * orders itself against our kernels. */
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        ctx0_status = IE_ERR_DEVICE;
        snprintf(ctx0_why, sizeof ctx0_why, "cuda: cannot set up device 0: %s", cudaGetErrorString(e));
        return;
    }
    ctx0 = (ie_device_ctx){.backend = &ie_cuda_backend, .device = IE_CUDA, .index = 0, .stream = stream};
}

static ie_status cuda_context(int index, ie_device_ctx **out) {
    *out = NULL;
    if (index != 0)
        return ie_error_set(IE_ERR_DEVICE, "cuda: one device per process (index 0), not %d; select the GPU with "
                                           "CUDA_VISIBLE_DEVICES",
                            index);
    pthread_once(&ctx0_once, make_context);
    if (ctx0_status != IE_OK) return ie_error_set(ctx0_status, "%s", ctx0_why);
    *out = &ctx0;
    return IE_OK;
}

/* ---------------- memory ---------------- */

static ie_status cuda_alloc(ie_device_ctx *ctx, size_t nbytes, void **out) {
    (void)ctx;
    *out = NULL;
    cudaError_t e = cudaMalloc(out, nbytes ? nbytes : 1);
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); /* an OOM is not sticky; clear it for the caller's retry */
        *out = NULL;
        return ie_error_set(e == cudaErrorMemoryAllocation ? IE_ERR_NOMEM : IE_ERR_DEVICE,
                            "cuda: could not allocate %zu bytes of device memory: %s", nbytes, cudaGetErrorString(e));
    }
    return IE_OK;
}

/* cudaFree waits for the device, so a block is never reused under a running
 * kernel; the caching allocator (core/tensor/storage.c) keeps this rare. */
static void cuda_free(ie_device_ctx *ctx, void *data) {
    (void)ctx;
    if (data) cudaFree(data);
}

ie_status ie_cuda_scratch(ie_device_ctx *ctx, size_t nbytes, void **out) {
    *out = NULL;
    cudaError_t e = cudaMallocAsync(out, nbytes ? nbytes : 8, ie_cuda_stream(ctx));
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        *out = NULL;
        return ie_error_set(IE_ERR_NOMEM, "cuda: no %zu bytes of scratch for partial sums: %s", nbytes,
                            cudaGetErrorString(e));
    }
    return IE_OK;
}

void ie_cuda_scratch_free(ie_device_ctx *ctx, void *p) {
    if (p) cudaFreeAsync(p, ie_cuda_stream(ctx));
}

/* Host to device and device to host both wait for the stream: the first so
 * the caller may reuse its (pageable) buffer at once, the second because the
 * host reads dst next.  Within the device the copy is enqueued. */
static ie_status cuda_copy(ie_device_ctx *ctx, void *dst, const void *src, size_t nbytes, ie_copy_kind kind) {
    static const enum cudaMemcpyKind kinds[3] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                                                  cudaMemcpyDeviceToDevice};
    if ((int)kind < 0 || kind > IE_COPY_DEVICE_TO_DEVICE)
        return ie_error_set(IE_ERR_INTERNAL, "cuda: unknown copy kind %d", (int)kind);
    if (nbytes == 0) return IE_OK;
    cudaStream_t s = ie_cuda_stream(ctx);
    cudaError_t e = cudaMemcpyAsync(dst, src, nbytes, kinds[kind], s);
    if (e == cudaSuccess && kind != IE_COPY_DEVICE_TO_DEVICE) e = cudaStreamSynchronize(s);
    return ie_cuda_status(e, kind == IE_COPY_DEVICE_TO_HOST ? "copy to the host" : "copy to the device");
}

static ie_status cuda_zero(ie_device_ctx *ctx, void *data, size_t nbytes) {
    if (nbytes == 0) return IE_OK;
    return ie_cuda_status(cudaMemsetAsync(data, 0, nbytes, ie_cuda_stream(ctx)), "zero");
}

static ie_status cuda_fill_f32(ie_device_ctx *ctx, ie_tensor *t, float value) {
    return ie_cuda_status(ie_cu_fill_f32(ctx->stream, ie_f32(t), t->numel, value), "fill");
}

/* The workspace grows in stream order: the old block is freed after the
 * kernels enqueued before the call, the new one is ready for those after. */
ie_status ie_cuda_workspace(ie_device_ctx *ctx, size_t nbytes, void **out) {
    *out = NULL;
    if (nbytes > ctx->workspace_bytes || !ctx->workspace) {
        void *grown = NULL;
        IE_TRY(ie_cuda_scratch(ctx, nbytes, &grown));
        ie_cuda_scratch_free(ctx, ctx->workspace);
        ctx->workspace = grown;
        ctx->workspace_bytes = nbytes;
    }
    *out = ctx->workspace;
    return IE_OK;
}

static ie_status cuda_synchronize(ie_device_ctx *ctx) {
    cudaError_t e = cudaStreamSynchronize(ie_cuda_stream(ctx));
    if (e == cudaSuccess) e = cudaGetLastError();
    return ie_cuda_status(e, "a kernel failed (reported at synchronisation)");
}

/* run.json's "cuda" object (backend.h, describe). */
static ie_status cuda_describe(ie_device_ctx *ctx, char **json) {
    *json = NULL;
    struct cudaDeviceProp prop;
    int driver = 0, runtime = 0;
    cudaError_t e = cudaGetDeviceProperties(&prop, ctx->index);
    if (e == cudaSuccess) e = cudaDriverGetVersion(&driver);
    if (e == cudaSuccess) e = cudaRuntimeGetVersion(&runtime);
    IE_TRY(ie_cuda_status(e, "cannot read the device properties"));
    size_t dnn = ie_cuda_cudnn_version();
    size_t engines = ie_cuda_conv_engines_json(NULL, 0);
    size_t size = engines + 1024 + sizeof prop.name;
    char *buf = malloc(size);
    if (!buf) return ie_error_set(IE_ERR_NOMEM, "cuda: out of memory describing the device");
    /* The device name is the driver's ASCII product name; quotes and
     * backslashes are replaced so the text stays valid JSON. */
    for (char *c = prop.name; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 32) *c = '_';
    size_t used = (size_t)snprintf(
        buf, size,
        "{\"gpu\": \"%s\", \"compute_capability\": \"%d.%d\", \"sm_count\": %d, \"memory_bytes\": %zu, "
        "\"driver\": \"%d.%d\", \"cuda_runtime\": \"%d.%d\", \"cudnn\": \"%zu.%zu.%zu\", "
        "\"cublas\": \"not used (linear layers run our own kernels)\", \"precision\": \"%s\", "
        "\"conv_engines\": ",
        prop.name, prop.major, prop.minor, prop.multiProcessorCount, prop.totalGlobalMem, driver / 1000,
        driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10, dnn / 10000, dnn % 10000 / 100, dnn % 100,
        ie_precision_name(ctx->precision));
    if (used < size) used += ie_cuda_conv_engines_json(buf + used, size - used);
    if (used + 2 > size) {
        free(buf);
        return ie_error_set(IE_ERR_INTERNAL, "cuda: the device description outgrew its buffer");
    }
    memcpy(buf + used, "}", 2);
    *json = buf;
    return IE_OK;
}

const ie_backend ie_cuda_backend = {
    .name = "cuda",
    .device = IE_CUDA,
    .context = cuda_context,
    .supports = NULL, /* every kernel whose table entry is set; the others are refused */
    .memory = {.alloc = cuda_alloc, .free = cuda_free, .copy = cuda_copy, .zero = cuda_zero,
               .fill_f32 = cuda_fill_f32},
    .workspace = ie_cuda_workspace,
    .synchronize = cuda_synchronize,
    .describe = cuda_describe,
    .conv = &ie_cuda_conv_kernels,
    .norm = &ie_cuda_norm_kernels,
    .pool = &ie_cuda_pool_kernels,
    .pointwise = &ie_cuda_pointwise_kernels,
    .reduce = &ie_cuda_reduce_kernels,
    .loss = &ie_cuda_loss_kernels,
    .optim = &ie_cuda_optim_kernels,
};

static const ie_backend_module module = {
    .struct_size = sizeof(ie_backend_module),
    .abi = IE_BACKEND_MODULE_ABI,
    .library_version = IE_VERSION_STRING,
    .device = IE_CUDA,
    .init = cuda_init,
    .backend = &ie_cuda_backend,
};

CUDA_EXPORT const ie_backend_module *ie_backend_module_entry(void) { return &module; }
