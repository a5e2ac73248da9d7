/* core/ops - shared argument checks. */
#include "core/ops/op_util.h"

#include <stdlib.h>

#include "innereye/threads.h"

ie_status ie_check_f32(const char *op, const char *what, const ie_tensor *t, int ndim) {
    char d[96];
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->dtype != IE_F32)
        return ie_error_set(IE_ERR_DTYPE, "%s: %s must be f32, got %s", op, what, IE_DESCRIBE(t, d));
    if (ndim >= 0 && t->ndim != ndim)
        return ie_error_set(IE_ERR_SHAPE, "%s: %s must have %d dimensions, got %s", op, what, ndim,
                            IE_DESCRIBE(t, d));
    return IE_OK;
}

ie_status ie_check_labels(const char *op, const char *what, const ie_tensor *t) {
    char d[96];
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->dtype != IE_I64 && t->dtype != IE_I32)
        return ie_error_set(IE_ERR_DTYPE, "%s: %s must hold integer class labels (i64 or i32), got %s",
                            op, what, IE_DESCRIBE(t, d));
    return IE_OK;
}

ie_status ie_check_same_device(const char *op, const ie_tensor *a, const ie_tensor *b) {
    if (b && a->device != b->device)
        return ie_error_set(IE_ERR_DEVICE, "%s: tensors on different devices (%s and %s); move them "
                                           "to one device first",
                            op, ie_device_name(a->device), ie_device_name(b->device));
    return IE_OK;
}

ie_status ie_check_out(const char *op, ie_tensor **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "%s: out is NULL", op);
    *out = NULL;
    return IE_OK;
}

/* Labels per parallel task.  The answer (the smallest bad index) does not
 * depend on how the labels are cut. */
#define LABEL_CHUNK ((int64_t)16384)

typedef struct label_job {
    const ie_tensor *labels;
    int64_t classes;
    int64_t *first_bad; /* per chunk, -1 when clean */
} label_job;

static inline int64_t label_at(const ie_tensor *labels, int64_t i) {
    return labels->dtype == IE_I64 ? ((const int64_t *)ie_tensor_ptr(labels))[i]
                                   : (int64_t)((const int32_t *)ie_tensor_ptr(labels))[i];
}

static void label_chunk(void *ctx, int64_t chunk) {
    const label_job *j = ctx;
    int64_t lo = chunk * LABEL_CHUNK, hi = lo + LABEL_CHUNK < j->labels->numel ? lo + LABEL_CHUNK : j->labels->numel;
    j->first_bad[chunk] = -1;
    for (int64_t i = lo; i < hi; i++) {
        int64_t y = label_at(j->labels, i);
        if (y < 0 || y >= j->classes) {
            j->first_bad[chunk] = i;
            return;
        }
    }
}

ie_status ie_labels_find_bad(const ie_tensor *labels, int64_t classes, int64_t *index, int64_t *value) {
    char d[96];
    *index = -1;
    IE_TRY(ie_check_labels("label check", "labels", labels));
    if (labels->device != IE_CPU)
        return ie_error_set(IE_ERR_DEVICE, "label check: labels %s must be on the CPU; check them before moving them",
                            IE_DESCRIBE(labels, d));
    int64_t chunks = (labels->numel + LABEL_CHUNK - 1) / LABEL_CHUNK;
    int64_t *first = malloc((size_t)(chunks ? chunks : 1) * sizeof *first);
    if (!first)
        return ie_error_set(IE_ERR_NOMEM, "label check: out of memory for %lld chunks of labels %s", (long long)chunks,
                            IE_DESCRIBE(labels, d));
    label_job j = {labels, classes, first};
    ie_parallel_for(chunks, label_chunk, &j);
    for (int64_t c = 0; c < chunks && *index < 0; c++) *index = first[c];
    free(first);
    if (*index >= 0) *value = label_at(labels, *index);
    return IE_OK;
}

ie_status ie_grad_like(const ie_tensor *like, ie_tensor **out) {
    return ie_tensor_zeros(IE_F32, like->ndim, like->shape, like->device, out);
}
