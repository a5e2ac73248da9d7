/* tests/backend - a stand-in device for the tests: a backend module
 * (core/backend/backend.h) that serves the CUDA device slot from host memory
 * with the CPU kernels.
 *
 * It lets every test of the device contracts run where no GPU is: the module
 * is found through INNEREYE_CUDA_MODULE and loaded by dlopen like the real
 * one, tensors on it carry the device tag IE_CUDA, and the host can reach its
 * memory only through copy().  copy() checks that each pointer lies on the
 * side its kind says (a host pointer handed as device memory is the bug a
 * real GPU would crash on) and counts copies by kind, so a test can prove
 * that a training step copies nothing back to the host before its loss read.
 * A test may make supports() refuse kernels, to see the refusals a partial
 * backend gives.  Its results are the CPU's bit for bit; it checks plumbing,
 * not arithmetic. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/backend.h"

#ifndef IE_VERSION_STRING
#define IE_VERSION_STRING "dev"
#endif

#define TESTDEV_EXPORT __attribute__((visibility("default")))

/* The CPU backend module ABI export (core/backend/cpu/cpu_backend.c). */
const ie_backend *ie_cpu_backend_table(void);

static ie_backend testdev;
static ie_device_ctx ctx0;
static int stream_token; /* a non-NULL stream, as a real device has */

/* ---- which pointers are device memory ---- */

typedef struct block {
    char *data;
    size_t nbytes;
} block;

static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;
static block *blocks;
static size_t n_blocks, cap_blocks;

static bool on_device(const void *p) {
    const char *c = p;
    bool found = false;
    pthread_mutex_lock(&blocks_lock);
    for (size_t i = 0; i < n_blocks && !found; i++) found = c >= blocks[i].data && c < blocks[i].data + blocks[i].nbytes;
    pthread_mutex_unlock(&blocks_lock);
    return found;
}

/* ---- counters and refusals the tests read and set ---- */

static atomic_ullong copies[3], syncs;
static _Atomic bool refused[IE_KERNEL_COUNT];

/* copies by ie_copy_kind (host to device, device to host, within). */
TESTDEV_EXPORT void ie_testdev_counts(unsigned long long out[4]) {
    for (int k = 0; k < 3; k++) out[k] = atomic_load(&copies[k]);
    out[3] = atomic_load(&syncs);
}

/* supports() answers no for kernel k while refuse is true. */
TESTDEV_EXPORT void ie_testdev_refuse(int k, bool refuse) {
    if (k >= 0 && k < IE_KERNEL_COUNT) atomic_store(&refused[k], refuse);
}

/* ---- the backend ---- */

static ie_status td_context(int index, ie_device_ctx **out) {
    *out = NULL;
    if (index != 0) return ie_error_set(IE_ERR_DEVICE, "testdev: one device (index 0), not %d", index);
    *out = &ctx0;
    return IE_OK;
}

static bool td_supports(const ie_device_ctx *ctx, ie_kernel_op k) {
    (void)ctx;
    return !atomic_load(&refused[k]);
}

static ie_status td_alloc(ie_device_ctx *ctx, size_t nbytes, void **out) {
    (void)ctx;
    size_t n = (nbytes + 63) & ~(size_t)63;
    *out = aligned_alloc(64, n ? n : 64);
    if (!*out) return ie_error_set(IE_ERR_NOMEM, "testdev: out of memory for %zu bytes", nbytes);
    pthread_mutex_lock(&blocks_lock);
    if (n_blocks == cap_blocks) {
        size_t cap = cap_blocks ? 2 * cap_blocks : 256;
        block *grown = realloc(blocks, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&blocks_lock);
            free(*out);
            return ie_error_set(IE_ERR_NOMEM, "testdev: out of memory for its block list");
        }
        blocks = grown, cap_blocks = cap;
    }
    blocks[n_blocks++] = (block){*out, nbytes ? nbytes : 1};
    pthread_mutex_unlock(&blocks_lock);
    return IE_OK;
}

static void td_free(ie_device_ctx *ctx, void *data) {
    (void)ctx;
    pthread_mutex_lock(&blocks_lock);
    for (size_t i = 0; i < n_blocks; i++)
        if (blocks[i].data == data) {
            blocks[i] = blocks[--n_blocks];
            break;
        }
    pthread_mutex_unlock(&blocks_lock);
    free(data);
}

static ie_status td_copy(ie_device_ctx *ctx, void *dst, const void *src, size_t nbytes, ie_copy_kind kind) {
    static const char *const names[3] = {"host-to-device", "device-to-host", "device-to-device"};
    bool dst_dev = on_device(dst), src_dev = on_device(src);
    bool fits = kind == IE_COPY_HOST_TO_DEVICE   ? dst_dev && !src_dev
                : kind == IE_COPY_DEVICE_TO_HOST ? src_dev && !dst_dev
                                                 : dst_dev && src_dev;
    if ((int)kind < 0 || kind > IE_COPY_DEVICE_TO_DEVICE || !fits)
        return ie_error_set(IE_ERR_INTERNAL, "testdev: a %s copy of %zu bytes from %s memory to %s memory",
                            (int)kind >= 0 && kind <= 2 ? names[kind] : "unknown", nbytes, src_dev ? "device" : "host",
                            dst_dev ? "device" : "host");
    atomic_fetch_add(&copies[kind], 1);
    return ie_cpu_backend_table()->memory.copy(ctx, dst, src, nbytes, kind);
}

static ie_status td_sync(ie_device_ctx *ctx) {
    (void)ctx;
    atomic_fetch_add(&syncs, 1);
    return IE_OK;
}

/* TESTDEV_VARIANT builds broken modules for the loader's refusals:
 * 1 declares another module ABI, 2 finds no device. */
#ifndef TESTDEV_VARIANT
#define TESTDEV_VARIANT 0
#endif

static ie_status td_init(void) {
    if (TESTDEV_VARIANT == 2)
        return ie_error_set(IE_ERR_DEVICE, "testdev: no device answers (a driver or device is missing)");
    testdev = *ie_cpu_backend_table(); /* the CPU's kernel families and zero/fill */
    testdev.name = "testdev";
    testdev.device = IE_CUDA;
    testdev.context = td_context;
    testdev.supports = td_supports;
    testdev.memory.alloc = td_alloc;
    testdev.memory.free = td_free;
    testdev.memory.copy = td_copy;
    testdev.synchronize = td_sync;
    ctx0 = (ie_device_ctx){.backend = &testdev, .device = IE_CUDA, .index = 0, .stream = &stream_token};
    return IE_OK;
}

static const ie_backend_module module = {
    .struct_size = sizeof(ie_backend_module),
    .abi = TESTDEV_VARIANT == 1 ? IE_BACKEND_MODULE_ABI + 1 : IE_BACKEND_MODULE_ABI,
    .library_version = IE_VERSION_STRING,
    .device = IE_CUDA,
    .init = td_init,
    .backend = &testdev,
};

TESTDEV_EXPORT const ie_backend_module *ie_backend_module_entry(void) { return &module; }
