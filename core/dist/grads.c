/* core/dist - flattening gradients and buffers (grads.h). */
#include "core/dist/grads.h"

#include <string.h>

#include "core/tensor/tensor_impl.h"

bool ie_grads_trained(const ie_params *p, int i) {
    return ie_params_kind(p, i) == IE_PARAM && ie_tensor_requires_grad(ie_params_tensor(p, i));
}

static ie_status check_cpu(const ie_tensor *t, const char *name) {
    if (ie_tensor_device(t) != IE_CPU || (t->grad && ie_tensor_device(t->grad) != IE_CPU))
        return ie_error_set(IE_ERR_UNSUPPORTED, "micro-batches and several processes need the model's parameters on "
                            "the CPU as float32 ('%s' is not); set train.micro_batch_size to the batch size and run "
                            "one process", name);
    return IE_OK;
}

ie_status ie_grad_layout_of(const ie_params *p, ie_grad_layout *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < ie_params_count(p); i++) {
        IE_TRY(check_cpu(ie_params_tensor(p, i), ie_params_name(p, i))); /* buffers are copied as bytes too */
        if (!ie_grads_trained(p, i)) continue;
        out->n_trained++;
        out->n_values += (size_t)ie_tensor_numel(ie_params_tensor(p, i));
    }
    out->len = out->n_values + (size_t)out->n_trained + 2;
    return IE_OK;
}

void ie_grads_pack_values(const ie_tensor *t, float weight, float *values) {
    size_t n = (size_t)ie_tensor_numel(t);
    if (!t->grad) {
        memset(values, 0, n * sizeof *values);
        return;
    }
    const float *g = ie_f32(t->grad);
    for (size_t e = 0; e < n; e++) values[e] = weight * g[e];
}

void ie_grads_pack_tail(const ie_params *p, const ie_grad_layout *layout, float weight, float loss, bool failed,
                        float *leaf) {
    float *flags = leaf + layout->n_values;
    for (int i = 0, k = 0; i < ie_params_count(p); i++) {
        if (!ie_grads_trained(p, i)) continue;
        flags[k++] = !failed && ie_params_tensor(p, i)->grad ? 1.0f : 0.0f;
    }
    leaf[layout->len - 2] = failed ? 0.0f : weight * loss;
    leaf[layout->len - 1] = failed ? 1.0f : 0.0f;
}

ie_status ie_grads_pack(const ie_params *p, const ie_grad_layout *layout, float weight, float loss, bool failed,
                        float *leaf) {
    memset(leaf, 0, layout->len * sizeof *leaf);
    if (!failed) {
        size_t at = 0;
        for (int i = 0; i < ie_params_count(p); i++) {
            if (!ie_grads_trained(p, i)) continue;
            const ie_tensor *t = ie_params_tensor(p, i);
            IE_TRY(check_cpu(t, ie_params_name(p, i)));
            ie_grads_pack_values(t, weight, leaf + at);
            at += (size_t)ie_tensor_numel(t);
        }
    }
    ie_grads_pack_tail(p, layout, weight, loss, failed, leaf);
    return IE_OK;
}

ie_status ie_grads_unpack(ie_params *p, const ie_grad_layout *layout, const float *sum, float *loss, float *failed) {
    const float *flags = sum + layout->n_values;
    size_t at = 0;
    for (int i = 0, k = 0; i < ie_params_count(p); i++) {
        if (!ie_grads_trained(p, i)) continue;
        ie_tensor *t = ie_params_tensor(p, i);
        size_t n = (size_t)ie_tensor_numel(t);
        if (flags[k] == 0.0f) {
            ie_tensor_zero_grad(t);
        } else {
            if (!t->grad) IE_TRY(ie_tensor_empty_like(t, &t->grad));
            memcpy(ie_f32(t->grad), sum + at, n * sizeof(float));
        }
        at += n;
        k++;
    }
    *loss = sum[layout->len - 2];
    *failed = sum[layout->len - 1];
    return IE_OK;
}

static size_t tensor_bytes(const ie_tensor *t) { return (size_t)ie_tensor_numel(t) * ie_dtype_size(ie_tensor_dtype(t)); }

size_t ie_buffers_size(const ie_params *p) {
    size_t n = 0;
    for (int i = 0; i < ie_params_count(p); i++)
        if (ie_params_kind(p, i) == IE_BUFFER) n += tensor_bytes(ie_params_tensor(p, i));
    return n;
}

void ie_buffers_save(const ie_params *p, void *bytes) {
    char *at = bytes;
    for (int i = 0; i < ie_params_count(p); i++) {
        if (ie_params_kind(p, i) != IE_BUFFER) continue;
        const ie_tensor *t = ie_params_tensor(p, i);
        memcpy(at, ie_tensor_ptr(t), tensor_bytes(t));
        at += tensor_bytes(t);
    }
}

void ie_buffers_load(ie_params *p, const void *bytes) {
    const char *at = bytes;
    for (int i = 0; i < ie_params_count(p); i++) {
        if (ie_params_kind(p, i) != IE_BUFFER) continue;
        ie_tensor *t = ie_params_tensor(p, i);
        memcpy(ie_tensor_ptr(t), at, tensor_bytes(t));
        at += tensor_bytes(t);
    }
}
