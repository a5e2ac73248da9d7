/* core/metrics - Dice, argmax, and the metrics of every structure of two
 * label maps (the per-mask work is in surface_distance.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/io/image_geometry.h"
#include "core/metrics/segmentation_metrics.h"
#include "core/tensor/tensor_impl.h"

static int64_t label_at(const ie_tensor *t, int64_t i) {
    switch (t->dtype) {
    case IE_I64: return ((const int64_t *)ie_tensor_ptr(t))[i];
    case IE_I32: return ((const int32_t *)ie_tensor_ptr(t))[i];
    case IE_U8: return ((const uint8_t *)ie_tensor_ptr(t))[i];
    default: return (int64_t)ie_f32(t)[i];
    }
}

int64_t ie_label_count(const ie_tensor *t, int64_t cls) {
    int64_t n = 0;
    for (int64_t i = 0; i < t->numel; i++) n += label_at(t, i) == cls;
    return n;
}

double ie_dice(const ie_tensor *p, const ie_tensor *t, int64_t cls) {
    int64_t inter = 0, np = 0, nt = 0;
    for (int64_t i = 0; i < p->numel && i < t->numel; i++) {
        bool a = label_at(p, i) == cls, b = label_at(t, i) == cls;
        inter += a && b;
        np += a;
        nt += b;
    }
    if (np + nt == 0) return NAN;
    return 2.0 * (double)inter / (double)(np + nt);
}

ie_status ie_argmax_channels(const ie_tensor *logits, ie_tensor **out) {
    char d[96];
    if (!logits || logits->dtype != IE_F32 || logits->ndim < 2)
        return ie_error_set(IE_ERR_SHAPE, "argmax: needs f32 [N, C, ...], got %s",
                            logits ? ie_tensor_describe(logits, d, sizeof d) : "NULL");
    int64_t shape[IE_MAX_DIMS], n = logits->shape[0], c = logits->shape[1], inner = logits->numel / (n * c);
    shape[0] = n;
    for (int i = 2; i < logits->ndim; i++) shape[i - 1] = logits->shape[i];
    IE_TRY(ie_tensor_empty(IE_I64, logits->ndim - 1, shape, IE_CPU, out));
    const float *x = ie_f32(logits);
    int64_t *o = ie_tensor_ptr(*out);
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t best = 0;
            float v = x[(b * c) * inner + i];
            for (int64_t k = 1; k < c; k++) {
                float w = x[(b * c + k) * inner + i];
                if (w > v) { /* first maximum wins, as torch.argmax */
                    v = w;
                    best = k;
                }
            }
            o[b * inner + i] = best;
        }
    return IE_OK;
}

/* The map must be [..., D, H, W] (or [..., H, W]) of the image, leading
 * dimensions 1. */
static ie_status check_map(const char *role, const ie_tensor *t, int ndim, const int64_t *shape) {
    char d[96];
    if (!t) return ie_error_set(IE_ERR_INVALID_ARG, "segmentation metrics: the %s label map is NULL", role);
    if (t->device != IE_CPU)
        return ie_error_set(IE_ERR_DEVICE, "segmentation metrics: the %s label map %s is not on the CPU", role,
                            ie_tensor_describe(t, d, sizeof d));
    bool fits = t->ndim >= ndim;
    for (int i = 0; fits && i < t->ndim; i++) {
        int from_end = t->ndim - i; /* 1 = last dimension */
        fits = from_end <= ndim ? t->shape[i] == shape[ndim - from_end] : t->shape[i] == 1;
    }
    if (!fits) {
        char want[64];
        if (ndim == 3)
            snprintf(want, sizeof want, "[%lld, %lld, %lld]", (long long)shape[0], (long long)shape[1],
                     (long long)shape[2]);
        else
            snprintf(want, sizeof want, "[%lld, %lld]", (long long)shape[0], (long long)shape[1]);
        return ie_error_set(IE_ERR_SHAPE,
                            "segmentation metrics: the %s label map %s does not fit the image's voxels %s "
                            "(leading dimensions of size 1 are allowed)",
                            role, ie_tensor_describe(t, d, sizeof d), want);
    }
    return IE_OK;
}

ie_status ie_seg_metrics_labels(const ie_tensor *pred, const ie_tensor *truth, const ie_image_geometry *geometry,
                                int n_classes, ie_seg_metrics *out) {
    if (!out || n_classes < 1)
        return ie_error_set(IE_ERR_INVALID_ARG, "segmentation metrics: needs n_classes >= 1 (got %d) and an output",
                            n_classes);
    IE_TRY(ie_image_geometry_check("segmentation metrics", geometry));
    int64_t shape[3];
    int ndim = ie_image_geometry_shape(geometry, shape);
    IE_TRY(check_map("predicted", pred, ndim, shape));
    IE_TRY(check_map("true", truth, ndim, shape));
    /* spacing per tensor axis: geometry's is x, y, z */
    double spacing[3];
    for (int a = 0; a < ndim; a++) spacing[a] = geometry->spacing[ndim - 1 - a];
    int64_t numel = pred->numel;
    uint8_t *masks = malloc((size_t)numel * 2);
    if (!masks) return ie_error_set(IE_ERR_NOMEM, "segmentation metrics: out of memory for %lld voxels",
                                    (long long)numel);
    ie_status st = IE_OK;
    for (int c = 1; st == IE_OK && c < n_classes; c++) {
        for (int64_t i = 0; i < numel; i++) {
            masks[i] = label_at(pred, i) == c;
            masks[numel + i] = label_at(truth, i) == c;
        }
        st = ie_seg_metrics_masks(masks, masks + numel, ndim, shape, spacing, &out[c - 1]);
    }
    free(masks);
    return st;
}
