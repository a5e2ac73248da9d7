/* core/io - image geometry: defaults, validation, comparison and text. */
#include "core/io/image_geometry.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const double identity3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};

ie_status ie_image_geometry_from_shape(int ndim, const int64_t *shape, ie_image_geometry *g) {
    if (!g || !shape) return ie_error_set(IE_ERR_INVALID_ARG, "image geometry: NULL argument");
    if (ndim != 2 && ndim != 3)
        return ie_error_set(IE_ERR_INVALID_ARG,
                            "image geometry: images are 2-D [H, W] or 3-D [D, H, W], got %d dimensions",
                            ndim);
    memset(g, 0, sizeof *g);
    g->ndim = ndim;
    for (int i = 0; i < 3; i++) {
        /* shape is [.., H, W]: x is the last dimension. */
        g->size[i] = i < ndim ? shape[ndim - 1 - i] : 1;
        if (g->size[i] < 1)
            return ie_error_set(IE_ERR_INVALID_ARG, "image geometry: dimension of size %lld",
                                (long long)g->size[i]);
        g->spacing[i] = 1.0;
    }
    memcpy(g->direction, identity3, sizeof identity3);
    return IE_OK;
}

int ie_image_geometry_shape(const ie_image_geometry *g, int64_t shape[3]) {
    for (int i = 0; i < g->ndim; i++) shape[i] = g->size[g->ndim - 1 - i];
    return g->ndim;
}

static double det3(const double *m) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

ie_status ie_image_geometry_check(const char *context, const ie_image_geometry *g) {
    if (!g) return ie_error_set(IE_ERR_INVALID_ARG, "%s: geometry is NULL", context);
    if (g->ndim != 2 && g->ndim != 3)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: geometry has ndim %d; images are 2-D or 3-D",
                            context, g->ndim);
    for (int i = 0; i < 3; i++) {
        if (g->size[i] < 1 || (i >= g->ndim && g->size[i] != 1))
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: geometry size %lld along axis %d of a %d-D image",
                                context, (long long)g->size[i], i, g->ndim);
        if (!(g->spacing[i] > 0) || !isfinite(g->spacing[i]))
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "%s: geometry spacing %g along axis %d; spacing must be positive and finite",
                                context, g->spacing[i], i);
        if (!isfinite(g->origin[i]))
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: geometry origin is not finite", context);
    }
    for (int i = 0; i < 9; i++)
        if (!isfinite(g->direction[i]))
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: geometry direction is not finite", context);
    if (fabs(det3(g->direction)) < 1e-6)
        return ie_error_set(IE_ERR_INVALID_ARG,
                            "%s: geometry direction [%g %g %g; %g %g %g; %g %g %g] is singular", context,
                            g->direction[0], g->direction[1], g->direction[2], g->direction[3],
                            g->direction[4], g->direction[5], g->direction[6], g->direction[7],
                            g->direction[8]);
    return IE_OK;
}

/* "what (a0 a1 a2) unit vs (b0 b1 b2) unit"; 9 values print as a 3x3 matrix. */
static void write_why(char *why, size_t size, const char *what, const char *unit, const double *a,
                      const double *b, int n) {
    if (!why || size == 0) return;
    char text[2][200];
    for (int k = 0; k < 2; k++) {
        const double *v = k ? b : a;
        int at = 0;
        for (int i = 0; i < n && at < (int)sizeof text[k]; i++)
            at += snprintf(text[k] + at, sizeof text[k] - (size_t)at, "%s%.9g",
                           i == 0 ? "" : (n == 9 && i % 3 == 0) ? "; " : " ", v[i]);
    }
    snprintf(why, size, "%s (%s)%s vs (%s)%s", what, text[0], unit, text[1], unit);
}

bool ie_image_geometry_equal(const ie_image_geometry *a, const ie_image_geometry *b, double tol,
                             char *why, size_t why_size) {
    if (why && why_size) why[0] = '\0';
    if (!a || !b) {
        if (why && why_size) snprintf(why, why_size, "geometry missing");
        return false;
    }
    if (a->ndim != b->ndim || a->size[0] != b->size[0] || a->size[1] != b->size[1] ||
        a->size[2] != b->size[2]) {
        if (why && why_size)
            snprintf(why, why_size, "size %lldx%lldx%lld (x, y, z; %d-D) vs %lldx%lldx%lld (%d-D)",
                     (long long)a->size[0], (long long)a->size[1], (long long)a->size[2], a->ndim,
                     (long long)b->size[0], (long long)b->size[1], (long long)b->size[2], b->ndim);
        return false;
    }
    double min_spacing = INFINITY;
    for (int i = 0; i < 3; i++) {
        double s = fabs(a->spacing[i]);
        if (s < min_spacing) min_spacing = s;
        /* Written as !(x <= tol) so a NaN anywhere compares unequal. */
        if (!(fabs(a->spacing[i] - b->spacing[i]) <= tol * fmax(s, fabs(b->spacing[i])))) {
            write_why(why, why_size, "spacing", " mm", a->spacing, b->spacing, 3);
            return false;
        }
    }
    for (int i = 0; i < 3; i++)
        if (!(fabs(a->origin[i] - b->origin[i]) <= tol * min_spacing)) {
            write_why(why, why_size, "origin", " mm", a->origin, b->origin, 3);
            return false;
        }
    for (int i = 0; i < 9; i++)
        if (!(fabs(a->direction[i] - b->direction[i]) <= tol)) {
            write_why(why, why_size, "direction", "", a->direction, b->direction, 9);
            return false;
        }
    return true;
}

const char *ie_image_geometry_describe(const ie_image_geometry *g, char *buf, size_t size) {
    if (!buf || size == 0) return buf;
    if (!g) {
        snprintf(buf, size, "(no geometry)");
        return buf;
    }
    const double *d = g->direction;
    if (g->ndim == 2)
        snprintf(buf, size, "%lldx%lld pixels (x, y), spacing %gx%g mm, origin (%g, %g) mm, direction [%g %g; %g %g]",
                 (long long)g->size[0], (long long)g->size[1], g->spacing[0], g->spacing[1], g->origin[0],
                 g->origin[1], d[0], d[1], d[3], d[4]);
    else
        snprintf(buf, size,
                 "%lldx%lldx%lld voxels (x, y, z), spacing %gx%gx%g mm, origin (%g, %g, %g) mm, "
                 "direction [%g %g %g; %g %g %g; %g %g %g]",
                 (long long)g->size[0], (long long)g->size[1], (long long)g->size[2], g->spacing[0],
                 g->spacing[1], g->spacing[2], g->origin[0], g->origin[1], g->origin[2], d[0], d[1], d[2],
                 d[3], d[4], d[5], d[6], d[7], d[8]);
    return buf;
}
