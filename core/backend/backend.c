/* core/backend - device lookup, backend modules and contexts. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/backend/backend.h"
#include "core/util/library_dir.h"
#include "core/backend/conv_kernels.h"
#include "core/backend/loss_kernels.h"
#include "core/backend/norm_kernels.h"
#include "core/backend/optim_kernels.h"
#include "core/backend/pointwise_kernels.h"
#include "core/backend/pool_kernels.h"
#include "core/backend/reduce_kernels.h"

#ifndef IE_VERSION_STRING
#define IE_VERSION_STRING "dev"
#endif

extern const ie_backend ie_cpu_backend;

/* ---------------- modules ---------------- */

/* One slot per device other than the CPU: loaded once, on first use. */
typedef struct module_slot {
    pthread_once_t once;
    _Atomic(const ie_backend *) backend;
    char why[PATH_MAX + 4096]; /* why there is no backend, when there is none */
} module_slot;

static module_slot modules[IE_DEVICE_COUNT] = {
    [IE_CUDA] = {.once = PTHREAD_ONCE_INIT},
};

/* The file the CUDA backend is loaded from: INNEREYE_CUDA_MODULE, else
 * libinnereye_cuda.so in libinnereye's own folder. */
static bool module_path(char *buf, size_t size, char *why, size_t why_size) {
    const char *env = getenv("INNEREYE_CUDA_MODULE");
    if (env && *env) return (size_t)snprintf(buf, size, "%s", env) < size;
    char lib[PATH_MAX];
    if (ie_library_dir(lib, sizeof lib) != IE_OK) {
        snprintf(why, why_size, "%s; set INNEREYE_CUDA_MODULE", ie_error_message());
        ie_error_clear();
        return false;
    }
    return (size_t)snprintf(buf, size, "%s/libinnereye_cuda.so", lib) < size;
}

/* dlopen + checks; on failure slot->why says what is missing and what to do.
 * The handle is kept open for the life of the process (its kernels may be
 * referenced by contexts until exit). */
static void load_cuda_module(void) {
    module_slot *slot = &modules[IE_CUDA];
    char path[PATH_MAX + 64];
    struct stat sb;
    if (!module_path(path, sizeof path, slot->why, sizeof slot->why)) {
        if (!slot->why[0]) snprintf(slot->why, sizeof slot->why, "the CUDA module path is too long");
        return;
    }
    if (stat(path, &sb) != 0) {
        snprintf(slot->why, sizeof slot->why,
                 "this InnerEye has no CUDA backend (%s does not exist; it is built where nvcc and cuDNN are found); "
                 "use the CPU",
                 path);
        return;
    }
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(slot->why, sizeof slot->why,
                 "cannot load the CUDA backend %s: %s (is the CUDA or cuDNN runtime library missing?)", path,
                 dlerror());
        return;
    }
    ie_backend_module_entry_fn entry = (ie_backend_module_entry_fn)dlsym(handle, IE_BACKEND_MODULE_ENTRY);
    const ie_backend_module *m = entry ? entry() : NULL;
    const char *bad = NULL;
    char detail[256] = "";
    if (!entry || !m)
        bad = "it exports no backend table (" IE_BACKEND_MODULE_ENTRY ")";
    else if (m->struct_size < sizeof *m || m->abi != IE_BACKEND_MODULE_ABI || !m->library_version ||
             strcmp(m->library_version, IE_VERSION_STRING) != 0) {
        snprintf(detail, sizeof detail,
                 "it was built for backend ABI %u with InnerEye %s, this libinnereye is ABI %d, InnerEye %s; "
                 "rebuild it with this InnerEye",
                 m->abi, m->library_version ? m->library_version : "?", IE_BACKEND_MODULE_ABI, IE_VERSION_STRING);
        bad = detail;
    } else if (m->device != IE_CUDA || !m->backend) {
        bad = "its table is not a cuda backend";
    }
    if (bad) {
        snprintf(slot->why, sizeof slot->why, "the CUDA backend %s is unusable: %s", path, bad);
        dlclose(handle);
        return;
    }
    /* From here the handle stays open: init may start library threads. */
    ie_status st = m->init ? m->init() : IE_OK;
    if (st != IE_OK) {
        snprintf(slot->why, sizeof slot->why, "%s", ie_error_message());
        ie_error_clear();
        return;
    }
    const ie_backend *be = m->backend;
    const ie_device_memory *mem = &be->memory;
    if (be->device != IE_CUDA || !be->context || !mem->alloc || !mem->free || !mem->copy || !mem->zero ||
        !mem->fill_f32) {
        snprintf(slot->why, sizeof slot->why,
                 "the CUDA backend %s is unusable: its table lacks a device primitive (context, alloc, free, copy, "
                 "zero or fill_f32)",
                 path);
        return;
    }
    atomic_store(&slot->backend, be);
}

static void (*const loaders[IE_DEVICE_COUNT])(void) = {[IE_CUDA] = load_cuda_module};

const ie_backend *ie_backend_loaded(ie_device device) {
    if (device == IE_CPU) return &ie_cpu_backend;
    if ((int)device < 0 || device >= IE_DEVICE_COUNT) return NULL;
    return atomic_load(&modules[device].backend);
}

const ie_backend *ie_backend_get(ie_device device) {
    if (device == IE_CPU) return &ie_cpu_backend;
    if ((int)device < 0 || device >= IE_DEVICE_COUNT || !loaders[device]) return NULL;
    pthread_once(&modules[device].once, loaders[device]);
    return atomic_load(&modules[device].backend);
}

/* ---------------- contexts ---------------- */

ie_status ie_device_ctx_get(const char *op, ie_device device, ie_device_ctx **out) {
    *out = NULL;
    const ie_backend *be = ie_backend_get(device);
    if (!be) {
        const char *why = (int)device >= 0 && device < IE_DEVICE_COUNT && modules[device].why[0]
                              ? modules[device].why
                              : "not in this build";
        return ie_error_set(IE_ERR_DEVICE, "%s: no backend for device %s: %s", op, ie_device_name(device), why);
    }
    ie_status st = be->context(0, out);
    if (st != IE_OK) return ie_error_wrap(st, "%s", op);
    return IE_OK;
}

/* ---------------- the devices, for storage ---------------- */

static ie_status open_device(const char *op, ie_device device, ie_device_ctx **ctx,
                             const ie_device_memory **memory) {
    IE_TRY(ie_device_ctx_get(op, device, ctx));
    *memory = &(*ctx)->backend->memory;
    return IE_OK;
}

static bool device_loaded(ie_device device) { return ie_backend_loaded(device) != NULL; }

static const ie_device_access device_access = {.open = open_device, .loaded = device_loaded};

/* Storage sits below this layer and reaches the devices only through what
 * is registered here (core/tensor/device_memory.h).  A constructor runs as
 * libinnereye (or a host executable carrying its objects) is loaded, so
 * the access is there before the first tensor is made. */
__attribute__((constructor)) static void register_device_access(void) { ie_device_memory_register(&device_access); }

static const char *const PRECISION_NAMES[] = {"fp32", "tf32", "bf16"};

const char *ie_precision_name(ie_precision p) {
    return (int)p >= 0 && p <= IE_PRECISION_BF16 ? PRECISION_NAMES[p] : NULL;
}

bool ie_precision_parse(const char *name, ie_precision *out) {
    for (int p = 0; p <= IE_PRECISION_BF16; p++)
        if (name && !strcmp(name, PRECISION_NAMES[p])) {
            *out = (ie_precision)p;
            return true;
        }
    return false;
}

ie_status ie_device_set_precision(ie_device device, ie_precision p) {
    if (!ie_precision_name(p)) return ie_error_set(IE_ERR_INVALID_ARG, "precision: unknown value %d", (int)p);
    if (p == IE_PRECISION_BF16)
        return ie_error_set(IE_ERR_UNSUPPORTED, "precision bf16 is not implemented yet (on any device); use fp32 "
                                                "or, on a GPU, tf32");
    if (device == IE_CPU && p != IE_PRECISION_FP32)
        return ie_error_set(IE_ERR_UNSUPPORTED, "precision %s needs a GPU; the CPU computes in fp32 only (use "
                                                "precision fp32 or device cuda)",
                            ie_precision_name(p));
    ie_device_ctx *ctx;
    IE_TRY(ie_device_ctx_get("precision", device, &ctx));
    ctx->precision = p;
    return IE_OK;
}

ie_status ie_device_ctx_for(const char *op, const ie_tensor *t, ie_device_ctx **out) {
    return ie_device_ctx_get(op, t->device, out);
}

ie_status ie_device_ctx_sync(ie_device_ctx *ctx) {
    return ctx->backend->synchronize ? ctx->backend->synchronize(ctx) : IE_OK;
}

static const char *const KERNEL_NAMES[IE_KERNEL_COUNT] = {
#define IE_KERNEL_NAME_(id, family, entry) #family "." #entry,
    IE_KERNEL_LIST(IE_KERNEL_NAME_)
#undef IE_KERNEL_NAME_
};

const char *ie_kernel_op_name(ie_kernel_op k) {
    return (int)k >= 0 && k < IE_KERNEL_COUNT ? KERNEL_NAMES[k] : "unknown";
}

/* Whether the backend's table has an entry for k. */
static bool entry_set(const ie_backend *be, ie_kernel_op k) {
    switch (k) {
#define IE_KERNEL_CASE_(id, family, entry)                                                                     \
    case IE_KERNEL_##id: return be->family && be->family->entry;
        IE_KERNEL_LIST(IE_KERNEL_CASE_)
#undef IE_KERNEL_CASE_
    case IE_KERNEL_COUNT: break;
    }
    return false;
}

bool ie_kernel_supported(const ie_device_ctx *ctx, ie_kernel_op k) {
    const ie_backend *be = ctx->backend;
    return entry_set(be, k) && (!be->supports || be->supports(ctx, k));
}

ie_status ie_kernel_require(const ie_device_ctx *ctx, ie_kernel_op k, const char *op) {
    if (ie_kernel_supported(ctx, k)) return IE_OK;
    return ie_error_set(IE_ERR_UNSUPPORTED,
                        "%s: the %s backend has no kernel %s; run this op on another device (move its tensors "
                        "with ie_tensor_to) or use a build whose %s backend has it",
                        op, ctx->backend->name, ie_kernel_op_name(k), ctx->backend->name);
}

ie_status ie_kernel_ctx(const char *op, const ie_tensor *t, ie_kernel_op k, ie_device_ctx **out) {
    IE_TRY(ie_device_ctx_for(op, t, out));
    ie_status st = ie_kernel_require(*out, k, op);
    if (st != IE_OK) *out = NULL;
    return st;
}
