/* core/train - deep supervision's loss (rules in deep_supervision.h). */
#include "core/train/deep_supervision.h"

#include <math.h>

#include "innereye/ops.h"

double ie_deep_supervision_weight(int i, int n) {
    double sum = 0;
    for (int j = 0; j < n; j++) sum += ldexp(1.0, -j);
    return ldexp(1.0, -i) / sum;
}

ie_status ie_deep_supervision_labels(const ie_tensor *labels, const int64_t size[3], ie_tensor **out) {
    *out = NULL;
    char a[64];
    if (!labels || ie_tensor_ndim(labels) != 4 || ie_tensor_dtype(labels) != IE_I64)
        return ie_error_set(IE_ERR_SHAPE, "deep supervision: labels must be [N, D, H, W] i64, got %s",
                            labels ? ie_tensor_describe(labels, a, sizeof a) : "none");
    int64_t f[3];
    for (int k = 0; k < 3; k++) {
        const int64_t in = ie_tensor_dim(labels, k + 1);
        f[k] = size[k] > 0 && in % size[k] == 0 ? in / size[k] : 0;
        if (f[k] < 1 || (f[k] & (f[k] - 1)) != 0)
            return ie_error_set(IE_ERR_SHAPE,
                                "deep supervision: an auxiliary output of %lld voxels along axis %d does not divide "
                                "the labels' %lld by a power of two; the plugin's forward_deep must return outputs "
                                "at the labels' size halved per pooling",
                                (long long)size[k], k, (long long)in);
    }
    const int64_t N = ie_tensor_dim(labels, 0), H = ie_tensor_dim(labels, 2), W = ie_tensor_dim(labels, 3);
    const int64_t D = ie_tensor_dim(labels, 1), shape[4] = {N, size[0], size[1], size[2]};
    IE_TRY(ie_tensor_empty(IE_I64, 4, shape, IE_CPU, out));
    const int64_t *src = ie_tensor_data((ie_tensor *)labels);
    int64_t *dst = ie_tensor_data(*out);
    for (int64_t n = 0; n < N; n++)
        for (int64_t z = 0; z < size[0]; z++)
            for (int64_t y = 0; y < size[1]; y++)
                for (int64_t x = 0; x < size[2]; x++)
                    *dst++ = src[((n * D + z * f[0] + f[0] / 2) * H + y * f[1] + f[1] / 2) * W + x * f[2] + f[2] / 2];
    return IE_OK;
}

/* The loss of one auxiliary output against the labels at its size. */
static ie_status aux_loss(ie_output_loss_fn loss, void *ctx, ie_tensor *aux, const ie_tensor *cpu_labels,
                          const ie_batch *batch, ie_tensor **out) {
    char a[64];
    if (!aux || ie_tensor_ndim(aux) != 5 || ie_tensor_dim(aux, 0) != ie_tensor_dim(cpu_labels, 0))
        return ie_error_set(IE_ERR_SHAPE, "deep supervision: an auxiliary output is %s, expected [N, classes, D, H, W] "
                            "with N = %lld", aux ? ie_tensor_describe(aux, a, sizeof a) : "NULL",
                            (long long)ie_tensor_dim(cpu_labels, 0));
    const int64_t size[3] = {ie_tensor_dim(aux, 2), ie_tensor_dim(aux, 3), ie_tensor_dim(aux, 4)};
    ie_tensor *small = NULL, *moved = NULL;
    IE_TRY(ie_deep_supervision_labels(cpu_labels, size, &small));
    ie_status st = ie_tensor_to(small, ie_tensor_device(batch->labels), &moved);
    ie_tensor_release(small);
    if (st != IE_OK) return st;
    ie_batch scaled = *batch;
    scaled.labels = moved;
    st = loss(ctx, aux, &scaled, out);
    ie_tensor_release(moved);
    return st;
}

ie_status ie_deep_supervision_loss(ie_output_loss_fn loss, void *ctx, ie_tensor *output, ie_tensor *const *aux,
                                   int n_aux, const ie_batch *batch, ie_tensor **out) {
    *out = NULL;
    if (!loss || !output || !batch || !batch->labels || (n_aux > 0 && !aux))
        return ie_error_set(IE_ERR_INVALID_ARG, "deep supervision: NULL argument (labels are required)");
    ie_tensor *cpu_labels = NULL, *total = NULL, *part = NULL;
    IE_TRY(ie_tensor_to(batch->labels, IE_CPU, &cpu_labels));
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i <= n_aux; i++) {
        ie_tensor *l = NULL, *weighted = NULL;
        st = i == 0 ? loss(ctx, output, batch, &l) : aux_loss(loss, ctx, aux[i - 1], cpu_labels, batch, &l);
        if (st == IE_OK) st = ie_mul_scalar(l, (float)ie_deep_supervision_weight(i, n_aux + 1), &weighted);
        ie_tensor_release(l);
        if (st == IE_OK && total) {
            st = ie_add(total, weighted, &part);
            ie_tensor_release(total);
            ie_tensor_release(weighted);
            total = part;
            part = NULL;
        } else if (st == IE_OK) {
            total = weighted;
        }
    }
    ie_tensor_release(cpu_labels);
    if (st != IE_OK) {
        ie_tensor_release(total);
        return st;
    }
    *out = total;
    return IE_OK;
}
