/* core/metrics - separable exact Euclidean distance transform.
 *
 * The squared distance to the nearest feature separates over axes:
 *   D(z, y, x) = min_z' [ sz^2 (z - z')^2 + min_y' [ sy^2 (y - y')^2
 *                + min_x' [ sx^2 (x - x')^2 + F(z', y', x') ] ] ]
 * with F = 0 at features and +inf elsewhere.  Each bracket is a 1-D transform
 * d(p) = min_q s^2 (p - q)^2 + f(q), the lower envelope of parabolas rooted
 * at the finite samples q, which Felzenszwalb and Huttenlocher compute in one
 * left-to-right sweep.  The passes run last axis first (contiguous lines). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics/distance_transform.h"
#include "innereye/threads.h"

/* Lines per task: fixed, so the partition never depends on the thread count;
 * large enough that a task's scratch allocation is amortised. */
#define LINES_PER_TASK 64

/* d[p] = min_q s2 (p - q)^2 + f[q] over the finite f[q], for p in [0, n).
 * v: roots of the envelope's parabolas; z: where parabola k starts to win
 * (z[k] .. z[k+1]).  A line without finite samples stays +inf. */
static void envelope_1d(const double *f, int64_t n, double s2, int64_t *v, double *z, double *d) {
    int64_t k = -1;
    for (int64_t q = 0; q < n; q++) {
        if (isinf(f[q])) continue;
        double fq = f[q] + s2 * (double)q * (double)q, s = -INFINITY;
        while (k >= 0) {
            int64_t r = v[k];
            /* abscissa where the parabolas rooted at r and q meet */
            s = (fq - (f[r] + s2 * (double)r * (double)r)) / (2.0 * s2 * (double)(q - r));
            if (s > z[k]) break;
            k--; /* parabola r is hidden under its neighbours */
        }
        k++;
        v[k] = q;
        z[k] = k == 0 ? -INFINITY : s;
        z[k + 1] = INFINITY;
    }
    if (k < 0) {
        for (int64_t p = 0; p < n; p++) d[p] = INFINITY;
        return;
    }
    int64_t j = 0;
    for (int64_t p = 0; p < n; p++) {
        while (z[j + 1] < (double)p) j++;
        double dp = (double)(p - v[j]);
        d[p] = s2 * dp * dp + f[v[j]];
    }
}

typedef struct pass_ctx {
    double *data;      /* transformed in place */
    int64_t n_lines;
    int64_t len;       /* voxels along the axis */
    int64_t stride;    /* elements between neighbours along the axis */
    double s2;         /* spacing^2 */
    unsigned char *failed; /* per task: scratch allocation failed */
} pass_ctx;

static void pass_task(void *arg, int64_t task) {
    pass_ctx *c = arg;
    int64_t n = c->len, first = task * LINES_PER_TASK;
    int64_t last = first + LINES_PER_TASK < c->n_lines ? first + LINES_PER_TASK : c->n_lines;
    /* scratch: f (n), d (n), z (n + 1) doubles and v (n) indices */
    double *f = malloc(sizeof(double) * (size_t)(3 * n + 1) + sizeof(int64_t) * (size_t)n);
    if (!f) {
        c->failed[task] = 1;
        return;
    }
    double *d = f + n, *z = d + n;
    int64_t *v = (int64_t *)(z + n + 1);
    for (int64_t line = first; line < last; line++) {
        /* line = outer * stride + inner, the first voxel at outer * n * stride + inner */
        int64_t outer = line / c->stride, inner = line % c->stride;
        double *base = c->data + outer * n * c->stride + inner;
        for (int64_t p = 0; p < n; p++) f[p] = base[p * c->stride];
        envelope_1d(f, n, c->s2, v, z, d);
        for (int64_t p = 0; p < n; p++) base[p * c->stride] = d[p];
    }
    free(f);
}

ie_status ie_edt_squared(const uint8_t *features, int ndim, const int64_t *shape, const double *spacing,
                         double *out) {
    if (!features || !shape || !spacing || !out || ndim < 1 || ndim > 3)
        return ie_error_set(IE_ERR_INVALID_ARG, "distance transform: needs features, a shape of 1 to 3 axes, "
                                                "spacing and an output (got ndim %d)",
                            ndim);
    int64_t numel = 1;
    for (int a = 0; a < ndim; a++) {
        if (shape[a] < 1 || !(spacing[a] > 0) || !isfinite(spacing[a]))
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "distance transform: axis %d has %lld voxels and spacing %g mm; both must be "
                                "positive",
                                a, (long long)shape[a], spacing[a]);
        numel *= shape[a];
    }
    for (int64_t i = 0; i < numel; i++) out[i] = features[i] ? 0.0 : INFINITY;
    int64_t stride = 1;
    for (int a = ndim - 1; a >= 0; a--) {
        pass_ctx c = {.data = out, .n_lines = numel / shape[a], .len = shape[a], .stride = stride,
                      .s2 = spacing[a] * spacing[a]};
        stride *= shape[a];
        if (c.len == 1) continue; /* nothing to propagate along a single voxel */
        int64_t n_tasks = (c.n_lines + LINES_PER_TASK - 1) / LINES_PER_TASK;
        c.failed = calloc((size_t)n_tasks, 1);
        if (!c.failed) return ie_error_set(IE_ERR_NOMEM, "distance transform: out of memory");
        ie_parallel_for(n_tasks, pass_task, &c);
        bool ok = memchr(c.failed, 1, (size_t)n_tasks) == NULL;
        free(c.failed);
        if (!ok) return ie_error_set(IE_ERR_NOMEM, "distance transform: out of memory for line buffers");
    }
    return IE_OK;
}
