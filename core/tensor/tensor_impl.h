/* core/tensor - tensor and storage internals shared by libinnereye's own code.
 *
 * Owns: the tensor and storage structs, reference counting, the caching
 * allocator that lets a training step reuse the previous step's memory.
 * Plugins never see these structs; they use the accessors in tensor.h. */
#ifndef IE_CORE_TENSOR_IMPL_H
#define IE_CORE_TENSOR_IMPL_H

#include <stdatomic.h>

#include "innereye/tensor.h"

struct ie_node;

typedef struct ie_storage {
    atomic_int refcount;
    ie_device device;
    size_t nbytes;
    void *data;
} ie_storage;

struct ie_tensor {
    atomic_int refcount;
    ie_dtype dtype;
    ie_device device;
    int ndim;
    int64_t shape[IE_MAX_DIMS];
    int64_t numel;
    ie_storage *storage;
    size_t offset_bytes;
    bool requires_grad;     /* leaf that wants a gradient, or op output in a graph */
    ie_tensor *grad;        /* accumulated gradient (leaves) */
    struct ie_node *node;   /* op that produced it (NULL for leaves) */
    char *name;
};

/* How a tensor gives back its reference to the node that made it (the
 * node's refcount is autograd's).  Autograd, above this layer, registers
 * ie_node_release as libinnereye loads (a constructor in autograd.c), before
 * any tensor can hold a node; the tensor layer names no function of it. */
typedef void (*ie_node_release_fn)(struct ie_node *node);
void ie_tensor_register_node_release(ie_node_release_fn release);

/* Raw pointer to element 0 (any device). */
static inline void *ie_tensor_ptr(const ie_tensor *t) {
    return (char *)t->storage->data + t->offset_bytes;
}
static inline float *ie_f32(const ie_tensor *t) { return (float *)ie_tensor_ptr(t); }

/* New tensor with the given shape on the device of `like` (float32). */
ie_status ie_tensor_empty_like(const ie_tensor *like, ie_tensor **out);
ie_status ie_tensor_zeros_like(const ie_tensor *like, ie_tensor **out);
ie_status ie_tensor_empty_f32(int ndim, const int64_t *shape, ie_device device,
                              ie_tensor **out);

/* Copies nbytes from src on src_dev to dst on dst_dev through the backends'
 * copy (backend.h): within a device, to or from the host, or between two
 * devices through a host buffer.  `op` names the caller in errors. */
ie_status ie_memory_copy(const char *op, void *dst, ie_device dst_dev, const void *src, ie_device src_dev,
                         size_t nbytes);

/* Storage allocation through the device's caching allocator. */
ie_status ie_storage_new(ie_device device, size_t nbytes, ie_storage **out);
void ie_storage_release(ie_storage *s);

typedef struct ie_memory_stats {
    size_t bytes_in_use;   /* held by live storages */
    size_t bytes_cached;   /* freed blocks kept for reuse */
    size_t cached_resident; /* of those, host blocks of 1 MiB or more whose pages the process still holds */
    size_t peak_in_use;
    uint64_t system_allocations; /* calls that reached malloc */
    uint64_t bytes_given_back;   /* idle blocks' pages given back to the system, all told */
} ie_memory_stats;
void ie_memory_get_stats(ie_memory_stats *out);
/* Returns all cached blocks to the system. */
void ie_memory_trim(void);

#endif
