/* core/metrics - Dice and argmax. */
#include <math.h>

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
