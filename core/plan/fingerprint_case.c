/* core/plan - one case of the fingerprint: read its channels and label map,
 * measure them (rules in fingerprint.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/inference/components.h"
#include "core/plan/fingerprint_impl.h"
#include "innereye/image_io.h"
#include "innereye/rng.h"
#include "innereye/tensor.h"

double ie_fp_percentile_sorted(const double *v, int64_t n, double q) {
    double pos = q / 100.0 * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos);
    if (lo >= n - 1) return v[n - 1];
    double frac = pos - (double)lo;
    return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ie_fp_stats_of(double *v, int64_t n, fp_stats *out) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++) sum += v[i];
    double mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++) sq += (v[i] - mean) * (v[i] - mean);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *out = (fp_stats){.p005 = ie_fp_percentile_sorted(v, n, 0.5), .p50 = ie_fp_percentile_sorted(v, n, 50),
                      .p995 = ie_fp_percentile_sorted(v, n, 99.5), .mean = mean, .std = sqrt(sq / (double)n),
                      .min = v[0], .max = v[n - 1]};
}

void ie_fp_orientation(const double d[9], char out[4]) {
    static const char pos[3] = {'L', 'P', 'S'}, neg[3] = {'R', 'A', 'I'};
    for (int j = 0; j < 3; j++) {
        int best = 0;
        for (int i = 1; i < 3; i++)
            if (fabs(d[i * 3 + j]) > fabs(d[best * 3 + j])) best = i;
        out[j] = d[best * 3 + j] >= 0 ? pos[best] : neg[best];
    }
    out[3] = '\0';
}

static void fail(fp_case *c, ie_status st, const char *msg) {
    c->status = st;
    free(c->error);
    c->error = strdup(msg);
}

/* Label statistics: voxels per value, the centroid of each value (sums in
 * double, raster order) and 6-connected components per value.  Components
 * are numbered in raster order of their first voxel, so a voxel holding the
 * next unseen number starts a component of its own value. */
static ie_status measure_labels(fp_case *c, const uint8_t *map, const int64_t dhw[3]) {
    int64_t n = dhw[0] * dhw[1] * dhw[2];
    int top = 0;
    for (int64_t z = 0, i = 0; z < dhw[0]; z++)
        for (int64_t y = 0; y < dhw[1]; y++)
            for (int64_t x = 0; x < dhw[2]; x++, i++) {
                double *sum = c->centroid[map[i]];
                c->class_voxels[map[i]]++;
                sum[0] += (double)x;
                sum[1] += (double)y;
                sum[2] += (double)z;
                if (map[i] > top) top = map[i];
            }
    c->n_labels = top + 1;
    for (int k = 0; k < c->n_labels; k++)
        for (int a = 0; c->class_voxels[k] && a < 3; a++) c->centroid[k][a] /= (double)c->class_voxels[k];
    c->n_foreground = n - c->class_voxels[0];
    int32_t *labels = malloc((size_t)n * sizeof *labels), count = 0, next = 1;
    if (!labels) return ie_error_set(IE_ERR_NOMEM, "out of memory for the components of %lld voxels", (long long)n);
    ie_status st = ie_components_label(map, dhw, 6, labels, &count);
    for (int64_t i = 0; st == IE_OK && i < n && next <= count; i++)
        if (labels[i] == next) {
            c->components[map[i]]++;
            next++;
        }
    free(labels);
    return st;
}

void ie_fp_measure_case(fp_case *c, int index, int n_channels, int64_t n_samples) {
    char msg[1200];
    ie_tensor *label = NULL;
    ie_image_geometry g;
    const char *label_path = c->paths[n_channels];
    ie_status st = ie_image_read(label_path, IE_U8, &label, &g);
    if (st != IE_OK) {
        snprintf(msg, sizeof msg, "subject '%s', label map %s: %s", c->subject, label_path, ie_error_message());
        fail(c, st, msg);
        return;
    }
    for (int a = 0; a < 3; a++) {
        c->size[a] = a < g.ndim ? g.size[a] : 1;
        c->spacing[a] = a < g.ndim ? g.spacing[a] : 1.0;
    }
    ie_fp_orientation(g.direction, c->orientation);
    const int64_t dhw[3] = {c->size[2], c->size[1], c->size[0]};
    const uint8_t *map = ie_tensor_data(label);
    st = measure_labels(c, map, dhw);
    int64_t n = dhw[0] * dhw[1] * dhw[2], n_fg = c->n_foreground;
    int64_t *fg = n_fg ? malloc((size_t)n_fg * sizeof *fg) : NULL;
    double *values = n_fg ? malloc((size_t)n_fg * sizeof *values) : NULL;
    if (n_fg) c->samples = malloc((size_t)(n_channels * n_samples) * sizeof *c->samples);
    if (st == IE_OK && n_fg && (!fg || !values || !c->samples))
        st = ie_error_set(IE_ERR_NOMEM, "out of memory for %lld foreground voxels", (long long)n_fg);
    if (st != IE_OK) {
        snprintf(msg, sizeof msg, "subject '%s', label map %s: %s", c->subject, label_path, ie_error_message());
        fail(c, st, msg);
    }
    for (int64_t i = 0, k = 0; st == IE_OK && i < n; i++)
        if (map[i]) fg[k++] = i;
    ie_rng rng = ie_rng_make(IE_FP_SEED, IE_STREAM_SAMPLING, 0, (uint32_t)index);
    for (int ch = 0; st == IE_OK && ch < n_channels; ch++) {
        ie_tensor *img = NULL;
        ie_image_geometry gi;
        st = ie_image_read(c->paths[ch], IE_F32, &img, &gi);
        if (st != IE_OK) {
            snprintf(msg, sizeof msg, "subject '%s', channel %d, %s: %s", c->subject, ch, c->paths[ch],
                     ie_error_message());
            fail(c, st, msg);
            break;
        }
        if (ie_tensor_numel(img) != n || gi.size[0] != g.size[0] || gi.size[1] != g.size[1] ||
            (g.ndim > 2 && gi.size[2] != g.size[2])) {
            snprintf(msg, sizeof msg,
                     "subject '%s': image %s has size %lldx%lldx%lld (x, y, z) but its label map %s has %lldx%lldx%lld; "
                     "every channel of a case must share the label map's grid (resample them first)",
                     c->subject, c->paths[ch], (long long)gi.size[0], (long long)gi.size[1],
                     (long long)(gi.ndim > 2 ? gi.size[2] : 1), label_path, (long long)c->size[0],
                     (long long)c->size[1], (long long)c->size[2]);
            st = IE_ERR_SHAPE;
            fail(c, st, msg);
        }
        const float *x = ie_tensor_data(img);
        for (int64_t k = 0; st == IE_OK && k < n_fg; k++) values[k] = x[fg[k]];
        for (int64_t j = 0; st == IE_OK && n_fg && j < n_samples; j++) {
            uint64_t pick = ((uint64_t)ie_rng_u32_at(&rng, (uint64_t)(ch * n_samples + j)) * (uint64_t)n_fg) >> 32;
            c->samples[ch * n_samples + j] = x[fg[pick]];
        }
        if (st == IE_OK && n_fg) ie_fp_stats_of(values, n_fg, &c->channel[ch]);
        ie_tensor_release(img);
    }
    free(fg);
    free(values);
    ie_tensor_release(label);
    if (st == IE_OK) c->status = IE_OK;
}
