/* core/backend - the per-device kernel table and the device context.
 *
 * Owns: the kernels behind every op, and the devices: each backend's table
 * carries its device memory (ie_device_memory, core/tensor/device_memory.h,
 * the half below the tensors), and this folder registers how storage
 * reaches it (backend.c).  Op front ends in
 * core/ops validate arguments, allocate outputs and record autograd; the
 * arithmetic itself is reached only through a device context,
 * ctx->backend->family->kernel(ctx, ...), so a CUDA backend is one more table
 * and no caller changes.  Each kernel family is declared in its own header in
 * this folder; kernels receive validated, contiguous tensors on the context's
 * device and preallocated outputs, and return a status.
 *
 * The contract a GPU backend lives by:
 *   - Every kernel is enqueued on the context's one stream, in call order, and
 *     may return before it has run: a later kernel on the same stream sees its
 *     results, the host does not.  Nothing a kernel computes is handed back to
 *     the host; values that later kernels need stay in device tensors (for
 *     example the class-loss weight sum, core/backend/loss_kernels.h).
 *   - The host sees device memory only through backend->memory.copy; a copy to the
 *     host waits for the kernels enqueued before it, so it is the one place a
 *     step synchronises.  ie_tensor_to and ie_tensor_item are built on it.
 *   - Memory freed to the caching allocator (core/tensor/storage.c) may be
 *     handed out again at once: on one stream, the next user's kernels run
 *     after the previous user's.
 *   - A backend may leave entries NULL or answer false in supports(): the op
 *     then fails with IE_ERR_UNSUPPORTED naming the op, the kernel and the
 *     device (ie_kernel_ctx), never with a call through NULL. */
#ifndef IE_CORE_BACKEND_H
#define IE_CORE_BACKEND_H

#include "core/tensor/device_memory.h"
#include "core/tensor/tensor_impl.h"

struct ie_backend;
struct ie_conv_kernels;
struct ie_norm_kernels;
struct ie_pool_kernels;
struct ie_pointwise_kernels;
struct ie_reduce_kernels;
struct ie_loss_kernels;
struct ie_optim_kernels;

/* The arithmetic a device's library calls may use (train.precision):
 *   FP32  strict: convolutions are sums of fp32 products, engines using
 *         tensor cores (TF32), down-converted inputs, FFT or Winograd are
 *         excluded; the only precision the CPU has;
 *   TF32  cuDNN may pick tensor-core (TF32), FFT and Winograd engines;
 *   BF16  autocast: not implemented yet, refused by ie_device_set_precision. */
typedef enum ie_precision { IE_PRECISION_FP32 = 0, IE_PRECISION_TF32 = 1, IE_PRECISION_BF16 = 2 } ie_precision;

/* "fp32", "tf32", "bf16"; NULL out of range. */
const char *ie_precision_name(ie_precision p);
/* Parses a name of ie_precision_name; false when unknown. */
bool ie_precision_parse(const char *name, ie_precision *out);

/* Where kernels run: one device, one stream, one workspace.  The CPU's is
 * trivial (no stream: its kernels have finished when they return; no
 * workspace: its kernels keep per-thread scratch, conv_cpu_internal.h).  A
 * CUDA context holds the compute stream that cuDNN, cuBLASLt and the
 * backend's own kernels all share, so their order is the call order. */
struct ie_device_ctx { /* typedef'd in core/tensor/device_memory.h */
    const struct ie_backend *backend;
    ie_device device;
    /* Which device of its kind.  One process drives one device (data-parallel
     * training runs a process per device), so this is 0 until a process is
     * told otherwise; tensors therefore carry no index. */
    int index;
    void *stream;           /* cudaStream_t on CUDA; NULL on the CPU */
    void *workspace;        /* device scratch kernels share (cuDNN, cuBLASLt); see backend->workspace */
    size_t workspace_bytes;
    void *impl;             /* the backend's own state (library handles, plan caches) */
    ie_precision precision; /* what library calls may use; FP32 unless ie_device_set_precision said otherwise */
};

/* Every kernel of every family: (id, family, entry).  supports() answers per
 * kernel, error messages name kernels "family.entry", and the conformance
 * test (tests/unit/test_backend_ops.c) checks that it covers each one. */
#define IE_KERNEL_LIST(X)                                   \
    X(CONV_FORWARD, conv, forward)                          \
    X(CONV_BACKWARD_DATA, conv, backward_data)              \
    X(CONV_BACKWARD_WEIGHT, conv, backward_weight)          \
    X(CONV_BIAS_GRAD, conv, bias_grad)                      \
    X(NORM_BATCH_FORWARD, norm, batch_forward)              \
    X(NORM_BATCH_APPLY, norm, batch_apply)                  \
    X(NORM_BATCH_BACKWARD, norm, batch_backward)            \
    X(NORM_GROUP_FORWARD, norm, group_forward)              \
    X(NORM_GROUP_BACKWARD, norm, group_backward)            \
    X(POOL_MAX_FORWARD, pool, max_forward)                  \
    X(POOL_MAX_BACKWARD, pool, max_backward)                \
    X(POOL_AVG_FORWARD, pool, avg_forward)                  \
    X(POOL_AVG_BACKWARD, pool, avg_backward)                \
    X(POOL_GLOBAL_AVG_FORWARD, pool, global_avg_forward)    \
    X(POOL_GLOBAL_AVG_BACKWARD, pool, global_avg_backward)  \
    X(POOL_UPSAMPLE_FORWARD, pool, upsample_forward)        \
    X(POOL_UPSAMPLE_BACKWARD, pool, upsample_backward)      \
    X(POINTWISE_BINARY, pointwise, binary)                  \
    X(POINTWISE_UNARY, pointwise, unary)                    \
    X(POINTWISE_UNARY_BACKWARD, pointwise, unary_backward)  \
    X(POINTWISE_CHANNEL_SUM, pointwise, channel_sum)        \
    X(REDUCE_SUM, reduce, sum)                              \
    X(REDUCE_FILL_FROM_SCALAR, reduce, fill_from_scalar)    \
    X(REDUCE_SOFTMAX, reduce, softmax)                      \
    X(REDUCE_SOFTMAX_BACKWARD, reduce, softmax_backward)    \
    X(REDUCE_COPY_ROWS, reduce, copy_rows)                  \
    X(REDUCE_DROPOUT, reduce, dropout)                      \
    X(REDUCE_LINEAR, reduce, linear)                        \
    X(REDUCE_LINEAR_GRAD_INPUT, reduce, linear_grad_input)  \
    X(REDUCE_LINEAR_GRAD_WEIGHT, reduce, linear_grad_weight) \
    X(REDUCE_LINEAR_GRAD_BIAS, reduce, linear_grad_bias)    \
    X(REDUCE_MATMUL, reduce, matmul)                        \
    X(REDUCE_PERMUTE, reduce, permute)                      \
    X(REDUCE_EMBEDDING, reduce, embedding)                  \
    X(REDUCE_EMBEDDING_BACKWARD, reduce, embedding_backward) \
    X(REDUCE_ATTENTION_FORWARD, reduce, attention_forward)  \
    X(REDUCE_ATTENTION_BACKWARD, reduce, attention_backward) \
    X(LOSS_CLASS, loss, class_loss)                         \
    X(LOSS_CLASS_BACKWARD, loss, class_loss_backward)       \
    X(LOSS_DICE, loss, dice)                                \
    X(LOSS_DICE_BACKWARD, loss, dice_backward)              \
    X(LOSS_PAIR, loss, pair_loss)                           \
    X(LOSS_PAIR_BACKWARD, loss, pair_loss_backward)         \
    X(OPTIM_SGD, optim, sgd)                                \
    X(OPTIM_ADAM, optim, adam)                              \
    X(OPTIM_RMSPROP, optim, rmsprop)

typedef enum ie_kernel_op {
#define IE_KERNEL_ENUM_(id, family, entry) IE_KERNEL_##id,
    IE_KERNEL_LIST(IE_KERNEL_ENUM_)
#undef IE_KERNEL_ENUM_
    IE_KERNEL_COUNT
} ie_kernel_op;

/* "conv.backward_weight"; "unknown" out of range. */
const char *ie_kernel_op_name(ie_kernel_op k);

typedef struct ie_backend {
    const char *name;
    ie_device device;
    /* The context of device `index`, created on first use and kept for the
     * life of the process.  Fails with IE_ERR_DEVICE saying why (no driver,
     * no such device). */
    ie_status (*context)(int index, ie_device_ctx **out);
    /* Whether the backend runs kernel k (ggml's supports_op).  NULL: every
     * kernel whose table entry is set.  A kernel that runs some variants only
     * (a mode, a dtype) answers true and refuses the others itself with
     * IE_ERR_UNSUPPORTED naming the variant. */
    bool (*supports)(const ie_device_ctx *ctx, ie_kernel_op k);
    /* alloc, free, copy, zero and fill_f32: what storage and tensors use
     * (core/tensor/device_memory.h); every backend sets all five. */
    ie_device_memory memory;
    /* Points *out at ctx->workspace grown to at least nbytes; valid until the
     * next call on this context.  NULL on the CPU. */
    ie_status (*workspace)(ie_device_ctx *ctx, size_t nbytes, void **out);
    /* Waits for everything enqueued on ctx and reports a kernel's deferred
     * failure.  NULL on the CPU (nothing is ever pending). */
    ie_status (*synchronize)(ie_device_ctx *ctx);
    /* A JSON object (malloc'd text, the caller frees it) describing the
     * device and the libraries for run.json: GPU name, SM count, driver,
     * runtime and library versions, precision, and the convolution engines
     * chosen so far.  NULL on the CPU. */
    ie_status (*describe)(ie_device_ctx *ctx, char **json);
    const struct ie_conv_kernels *conv;
    const struct ie_norm_kernels *norm;
    const struct ie_pool_kernels *pool;
    const struct ie_pointwise_kernels *pointwise;
    const struct ie_reduce_kernels *reduce;
    const struct ie_loss_kernels *loss;
    const struct ie_optim_kernels *optim;
} ie_backend;

/* ---- backend modules ----
 * The CPU backend is part of libinnereye.  Any other lives in its own shared
 * object, so that libinnereye loads on machines without CUDA: the CUDA
 * backend is libinnereye_cuda.so beside libinnereye (or the file named by
 * INNEREYE_CUDA_MODULE), opened with dlopen on the first use of the device.
 * It links cudart statically and cuDNN / cuBLASLt dynamically, so a missing
 * library is reported by dlopen when the device is first used, never when a
 * CPU-only program starts.  It exports one symbol, ie_backend_module_entry,
 * returning its table below.  A module is built from the same source tree as
 * libinnereye (it shares these internal structs), so its abi and library
 * version must equal the host's. */
#define IE_BACKEND_MODULE_ENTRY "ie_backend_module_entry"
#define IE_BACKEND_MODULE_ABI 1

typedef struct ie_backend_module {
    uint32_t struct_size;         /* sizeof(ie_backend_module) as built */
    uint32_t abi;                 /* IE_BACKEND_MODULE_ABI */
    const char *library_version;  /* IE_VERSION_STRING of the libinnereye it was built with */
    ie_device device;             /* the device it serves */
    /* Runs once after loading, before anything else: finds the driver and a
     * device, or fails with IE_ERR_DEVICE saying which is missing. */
    ie_status (*init)(void);
    const ie_backend *backend;
} ie_backend_module;

typedef const ie_backend_module *(*ie_backend_module_entry_fn)(void);

/* The backend of `device`, loading its module on first use; NULL when there
 * is none (ie_device_ctx_get says why). */
const ie_backend *ie_backend_get(ie_device device);
/* The backend of `device` if it is already loaded (never loads; for code
 * such as ie_memory_trim that must not start a device). */
const ie_backend *ie_backend_loaded(ie_device device);

/* The context that runs kernels on `device`, or an IE_ERR_DEVICE status
 * naming `op` (no backend for the device in this build, or the device is
 * unusable). */
ie_status ie_device_ctx_get(const char *op, ie_device device, ie_device_ctx **out);
/* The context of t's device (ie_device_ctx_get for t->device). */
ie_status ie_device_ctx_for(const char *op, const ie_tensor *t, ie_device_ctx **out);

/* Whether ctx's backend runs kernel k: its table entry is set and
 * supports() (when given) says yes. */
bool ie_kernel_supported(const ie_device_ctx *ctx, ie_kernel_op k);
/* IE_OK when ctx runs kernel k; otherwise IE_ERR_UNSUPPORTED naming `op`, the
 * kernel and the device.  Front ends call it before a kernel, backward
 * functions before each kernel they use. */
ie_status ie_kernel_require(const ie_device_ctx *ctx, ie_kernel_op k, const char *op);
/* ie_device_ctx_for, then ie_kernel_require. */
ie_status ie_kernel_ctx(const char *op, const ie_tensor *t, ie_kernel_op k, ie_device_ctx **out);

/* Sets the precision kernels on `device` may use (ie_precision).  The CPU
 * runs fp32 only; bf16 is not implemented on any device yet: both are
 * refused with IE_ERR_UNSUPPORTED saying so.  Fails like ie_device_ctx_get
 * when the device is unusable. */
ie_status ie_device_set_precision(ie_device device, ie_precision p);

/* Waits for the kernels enqueued on ctx (a no-op on the CPU). */
ie_status ie_device_ctx_sync(ie_device_ctx *ctx);

#endif
