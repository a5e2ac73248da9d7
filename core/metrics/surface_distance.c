/* core/metrics - Dice and surface distances between two binary masks
 * (definitions in segmentation_metrics.h and docs/metrics.md). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics/distance_transform.h"
#include "core/metrics/segmentation_metrics.h"

/* The masks seen as 3 axes; a 2-D grid gets a leading virtual axis of size 1
 * that has no neighbours (axes before `first` are virtual). */
typedef struct grid {
    int first;
    int64_t shape[3];
} grid;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(values, q) with its default linear interpolation: the
 * value at virtual rank q/100 (n - 1), interpolated as numpy's _lerp does.
 * Sorts `values`. */
static double percentile(double *values, int64_t n, double q) {
    qsort(values, (size_t)n, sizeof *values, cmp_double);
    double rank = q / 100.0 * (double)(n - 1);
    int64_t lo = (int64_t)floor(rank);
    if (lo >= n - 1) return values[n - 1];
    double t = rank - (double)lo, a = values[lo], b = values[lo + 1], diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

/* surf[i] = 1 where mask[i] is set and a face neighbour along a real axis is
 * outside the mask or outside the grid. */
static void find_surface(const uint8_t *mask, const grid *g, uint8_t *surf) {
    const int64_t D = g->shape[0], H = g->shape[1], W = g->shape[2];
    const int64_t step[3] = {H * W, W, 1};
    for (int64_t z = 0, i = 0; z < D; z++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++, i++) {
                surf[i] = 0;
                if (!mask[i]) continue;
                const int64_t at[3] = {z, y, x};
                for (int a = g->first; a < 3 && !surf[i]; a++)
                    surf[i] = at[a] == 0 || at[a] == g->shape[a] - 1 || !mask[i - step[a]] || !mask[i + step[a]];
            }
}

/* Appends sqrt(dist^2) at every `from` surface voxel to the `to` surface. */
static ie_status directed_distances(const uint8_t *from, const uint8_t *to, const grid *g, const double *spacing,
                                    double *dist2, double *values, int64_t *n_values) {
    int ndim = 3 - g->first;
    IE_TRY(ie_edt_squared(to, ndim, g->shape + g->first, spacing, dist2));
    int64_t numel = g->shape[0] * g->shape[1] * g->shape[2], k = *n_values;
    for (int64_t i = 0; i < numel; i++)
        if (from[i]) values[k++] = sqrt(dist2[i]);
    *n_values = k;
    return IE_OK;
}

ie_status ie_seg_metrics_masks(const uint8_t *pred, const uint8_t *truth, int ndim, const int64_t *shape,
                               const double *spacing, ie_seg_metrics *out) {
    if (!pred || !truth || !shape || !spacing || !out || (ndim != 2 && ndim != 3))
        return ie_error_set(IE_ERR_INVALID_ARG, "segmentation metrics: needs two masks, a 2-D or 3-D shape, "
                                                "spacing and an output (got ndim %d)",
                            ndim);
    grid full = {.first = 3 - ndim, .shape = {1, 1, 1}};
    for (int a = 0; a < ndim; a++) {
        if (shape[a] < 1 || !(spacing[a] > 0) || !isfinite(spacing[a]))
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "segmentation metrics: axis %d has %lld voxels and spacing %g mm; both must be "
                                "positive",
                                a, (long long)shape[a], spacing[a]);
        full.shape[full.first + a] = shape[a];
    }

    /* Counts, and the bounding box of the union: every surface voxel and every
     * nearest surface voxel lies in it, and a neighbour outside it is outside
     * both masks, so the metrics on the box equal those on the whole grid. */
    int64_t n_pred = 0, n_truth = 0, n_both = 0, lo[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, hi[3] = {-1, -1, -1};
    for (int64_t z = 0, i = 0; z < full.shape[0]; z++)
        for (int64_t y = 0; y < full.shape[1]; y++)
            for (int64_t x = 0; x < full.shape[2]; x++, i++) {
                bool p = pred[i] != 0, t = truth[i] != 0;
                n_pred += p;
                n_truth += t;
                n_both += p && t;
                if (p || t) {
                    const int64_t at[3] = {z, y, x};
                    for (int a = 0; a < 3; a++) {
                        if (at[a] < lo[a]) lo[a] = at[a];
                        if (at[a] > hi[a]) hi[a] = at[a];
                    }
                }
            }
    if (n_pred == 0 && n_truth == 0) {
        *out = (ie_seg_metrics){NAN, NAN, NAN, NAN};
        return IE_OK;
    }
    out->dice = 2.0 * (double)n_both / (double)(n_pred + n_truth);
    if (n_pred == 0 || n_truth == 0) {
        out->hausdorff_mm = out->hd95_mm = out->mean_distance_mm = INFINITY;
        return IE_OK;
    }

    grid box = {.first = full.first};
    for (int a = 0; a < 3; a++) box.shape[a] = hi[a] - lo[a] + 1;
    const int64_t m = box.shape[0] * box.shape[1] * box.shape[2];
    uint8_t *bytes = malloc((size_t)m * 4);
    double *dist2 = malloc(sizeof(double) * (size_t)m);
    double *values = NULL;
    ie_status st = IE_OK;
    if (!bytes || !dist2) {
        st = ie_error_set(IE_ERR_NOMEM, "segmentation metrics: out of memory for a %lldx%lldx%lld box (D, H, W)",
                          (long long)box.shape[0], (long long)box.shape[1], (long long)box.shape[2]);
        goto done;
    }
    uint8_t *bp = bytes, *bt = bytes + m, *sp = bytes + 2 * m, *stt = bytes + 3 * m;
    for (int64_t z = 0, j = 0; z < box.shape[0]; z++)
        for (int64_t y = 0; y < box.shape[1]; y++) {
            int64_t i = ((lo[0] + z) * full.shape[1] + lo[1] + y) * full.shape[2] + lo[2];
            for (int64_t x = 0; x < box.shape[2]; x++, j++) {
                bp[j] = pred[i + x] != 0;
                bt[j] = truth[i + x] != 0;
            }
        }
    find_surface(bp, &box, sp);
    find_surface(bt, &box, stt);
    int64_t n_sp = 0, n_st = 0, n = 0;
    for (int64_t j = 0; j < m; j++) {
        n_sp += sp[j];
        n_st += stt[j];
    }
    values = malloc(sizeof(double) * (size_t)(n_sp + n_st));
    if (!values) {
        st = ie_error_set(IE_ERR_NOMEM, "segmentation metrics: out of memory for %lld surface distances",
                          (long long)(n_sp + n_st));
        goto done;
    }
    st = directed_distances(sp, stt, &box, spacing, dist2, values, &n);
    if (st == IE_OK) st = directed_distances(stt, sp, &box, spacing, dist2, values, &n);
    if (st != IE_OK) goto done;
    double sum = 0, max = 0;
    for (int64_t k = 0; k < n; k++) {
        sum += values[k];
        if (values[k] > max) max = values[k];
    }
    out->hausdorff_mm = max;
    out->mean_distance_mm = sum / (double)n;
    out->hd95_mm = percentile(values, n, 95.0);
done:
    free(values);
    free(dist2);
    free(bytes);
    return st;
}
