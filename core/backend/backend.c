/* core/backend - device lookup. */
#include "core/backend/backend.h"

extern const ie_backend ie_cpu_backend;

const ie_backend *ie_backend_get(ie_device device) {
    switch (device) {
    case IE_CPU: return &ie_cpu_backend;
    case IE_CUDA: return NULL; /* the CUDA backend arrives with the GPU issue */
    }
    return NULL;
}

ie_status ie_backend_for(const char *op, const ie_tensor *t, const ie_backend **out) {
    *out = ie_backend_get(t->device);
    if (!*out)
        return ie_error_set(IE_ERR_DEVICE,
                            "%s: no %s backend in this build; move the tensor to the CPU "
                            "or build with CUDA",
                            op, ie_device_name(t->device));
    return IE_OK;
}
