/* core/data - the elastic deformation's displacement field (rules in
 * augment.h): batchgenerators' elastic_deform_coordinates, uniform noise in
 * [-1, 1] smoothed by a Gaussian with zero outside the crop, times alpha. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/augment.h"
#include "innereye/threads.h"

/* Uniform draw 2^37 + 2^34 a + i: above the noise's 2^36 + i, one block of
 * 2^34 voxels per axis. */
#define ELASTIC_INDEX (UINT64_C(1) << 37)
#define ELASTIC_AXIS_STRIDE (UINT64_C(1) << 34)
#define FILL_CHUNK 4096

typedef struct smooth_job {
    double *v;
    int64_t stride, n, outer_stride, inner_count, inner_stride;
    const double *kernel;
    int radius;
    atomic_bool failed;
} smooth_job;

/* Lines along the axis, grouped by their index along the outer of the two
 * other axes: each task owns its lines, so no result depends on the thread
 * count. Zero outside the grid (scipy's mode "constant", cval 0). */
static void smooth_task(void *ctx, int64_t outer) {
    smooth_job *j = ctx;
    double *line = malloc((size_t)j->n * sizeof *line);
    if (!line) {
        atomic_store(&j->failed, true);
        return;
    }
    for (int64_t inner = 0; inner < j->inner_count; inner++) {
        double *v = j->v + outer * j->outer_stride + inner * j->inner_stride;
        for (int64_t i = 0; i < j->n; i++) {
            double acc = 0;
            for (int k = -j->radius; k <= j->radius; k++) {
                int64_t at = i + k;
                if (at >= 0 && at < j->n) acc += j->kernel[k + j->radius] * v[at * j->stride];
            }
            line[i] = acc;
        }
        for (int64_t i = 0; i < j->n; i++) v[i * j->stride] = line[i];
    }
    free(line);
}

ie_status ie_augment_smooth_displacement(double *v, const int64_t grid[3], const bool axes[3], double sigma,
                                         double alpha) {
    if (!v || !grid || !axes || !(sigma > 0))
        return ie_error_set(IE_ERR_INVALID_ARG, "augment elastic: NULL argument or sigma %g not positive", sigma);
    const int radius = (int)(4.0 * sigma + 0.5); /* scipy: int(truncate * sd + 0.5) */
    double *kernel = malloc((size_t)(2 * radius + 1) * sizeof *kernel);
    if (!kernel) return ie_error_set(IE_ERR_NOMEM, "augment elastic: out of memory");
    double sum = 0;
    for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] = exp(-0.5 * k * k / (sigma * sigma));
    for (int k = 0; k <= 2 * radius; k++) kernel[k] /= sum;
    const int64_t strides[3] = {grid[1] * grid[2], grid[2], 1};
    ie_status st = IE_OK;
    for (int axis = 0; axis < 3 && st == IE_OK; axis++) {
        if (!axes[axis]) continue;
        const int a = axis == 0 ? 1 : 0, b = axis == 2 ? 1 : 2; /* the other two, outer first */
        smooth_job j = {.v = v, .stride = strides[axis], .n = grid[axis], .outer_stride = strides[a],
                        .inner_count = grid[b], .inner_stride = strides[b], .kernel = kernel, .radius = radius};
        ie_parallel_for(grid[a], smooth_task, &j);
        if (atomic_load(&j.failed)) st = ie_error_set(IE_ERR_NOMEM, "augment elastic: out of memory");
    }
    free(kernel);
    if (st != IE_OK) return st;
    const int64_t n = grid[0] * grid[1] * grid[2];
    for (int64_t i = 0; i < n; i++) v[i] *= alpha;
    return IE_OK;
}

typedef struct fill_job {
    double *v;
    int64_t n;
    uint64_t base;
    const ie_rng *rng;
} fill_job;

static void fill_task(void *ctx, int64_t chunk) {
    const fill_job *j = ctx;
    int64_t end = (chunk + 1) * FILL_CHUNK < j->n ? (chunk + 1) * FILL_CHUNK : j->n;
    for (int64_t i = chunk * FILL_CHUNK; i < end; i++)
        j->v[i] = 2.0 * (double)ie_rng_uniform_at(j->rng, j->base + (uint64_t)i) - 1.0;
}

ie_status ie_augment_elastic_field(const ie_augment_config *cfg, const ie_augment_draw *draw, const ie_rng *rng,
                                   const int64_t size[3], double **field_out) {
    if (!cfg || !draw || !rng || !size || !field_out)
        return ie_error_set(IE_ERR_INVALID_ARG, "augment elastic: NULL argument");
    *field_out = NULL;
    if (!draw->elastic) return IE_OK;
    int64_t grid[3], n = size[0] * size[1] * size[2], g = 1;
    for (int a = 0; a < 3; a++) g *= grid[a] = cfg->elastic_axes[a] ? size[a] : 1;
    double *field = calloc((size_t)(3 * n), sizeof *field), *v = malloc((size_t)g * sizeof *v);
    if (!field || !v) {
        free(field), free(v);
        return ie_error_set(IE_ERR_NOMEM, "augment elastic: out of memory for a %lld x %lld x %lld field",
                            (long long)size[0], (long long)size[1], (long long)size[2]);
    }
    for (int axis = 0; axis < 3; axis++) {
        if (!cfg->elastic_axes[axis]) continue;
        fill_job fj = {.v = v, .n = g, .base = ELASTIC_INDEX + ELASTIC_AXIS_STRIDE * (uint64_t)axis, .rng = rng};
        ie_parallel_for((g + FILL_CHUNK - 1) / FILL_CHUNK, fill_task, &fj);
        ie_status st = ie_augment_smooth_displacement(v, grid, cfg->elastic_axes, draw->elastic_sigma,
                                                      draw->elastic_alpha);
        if (st != IE_OK) {
            free(field), free(v);
            return st;
        }
        /* broadcast along the axes left out, where the grid has size 1 */
        double *out = field + axis * n;
        for (int64_t z = 0, i = 0; z < size[0]; z++)
            for (int64_t y = 0; y < size[1]; y++)
                for (int64_t x = 0; x < size[2]; x++, i++) {
                    int64_t gz = grid[0] > 1 ? z : 0, gy = grid[1] > 1 ? y : 0, gx = grid[2] > 1 ? x : 0;
                    out[i] = v[(gz * grid[1] + gy) * grid[2] + gx];
                }
    }
    free(v);
    *field_out = field;
    return IE_OK;
}
