/* core/dicom - label maps to contours in patient coordinates and back (see
 * structure_set.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dicom/contour.h"
#include "core/dicom/structure_set.h"

void ie_dicom_structure_set_free(ie_dicom_structure_set *s) {
    if (!s) return;
    for (int r = 0; r < s->n_rois; r++) {
        for (int c = 0; c < s->rois[r].n_contours; c++) free(s->rois[r].contours[c].points);
        free(s->rois[r].contours);
    }
    free(s->rois);
    memset(s, 0, sizeof *s);
}

/* Index (i, j, k) -> LPS mm: origin + direction * diag(spacing) * index. */
static void to_patient(const ie_image_geometry *g, double i, double j, double k, double *p) {
    const double idx[3] = {i * g->spacing[0], j * g->spacing[1], k * g->spacing[2]};
    for (int r = 0; r < 3; r++)
        p[r] = g->origin[r] + g->direction[r * 3] * idx[0] + g->direction[r * 3 + 1] * idx[1] +
               g->direction[r * 3 + 2] * idx[2];
}

static ie_status add_contours(ie_dicom_roi *roi, const ie_image_geometry *g, int k, ie_polygon *poly, int n) {
    ie_dicom_contour *c = realloc(roi->contours, (size_t)(roi->n_contours + n) * sizeof *c);
    if (!c) return ie_error_set(IE_ERR_NOMEM, "structure set: out of memory");
    roi->contours = c;
    for (int p = 0; p < n; p++) {
        ie_dicom_contour *out = &roi->contours[roi->n_contours];
        memset(out, 0, sizeof *out);
        out->slice = k;
        out->n_points = poly[p].n;
        out->points = malloc((size_t)poly[p].n * 3 * sizeof *out->points);
        if (!out->points) return ie_error_set(IE_ERR_NOMEM, "structure set: out of memory");
        roi->n_contours++;
        for (int v = 0; v < poly[p].n; v++) to_patient(g, poly[p].xy[2 * v], poly[p].xy[2 * v + 1], k, out->points + 3 * v);
    }
    return IE_OK;
}

ie_status ie_structure_set_from_labels(const ie_image_geometry *g, const uint8_t *labels, int n_classes,
                                       const char *const *names, const uint8_t (*colours)[3],
                                       ie_dicom_structure_set *out) {
    memset(out, 0, sizeof *out);
    const int w = (int)g->size[0], h = (int)g->size[1], d = (int)g->size[2];
    const size_t plane = (size_t)w * h;
    if (n_classes < 2) return IE_OK;
    out->rois = calloc((size_t)n_classes - 1, sizeof *out->rois);
    uint8_t *slice = malloc(plane);
    if (!out->rois || !slice) {
        free(slice);
        return ie_error_set(IE_ERR_NOMEM, "structure set: out of memory");
    }
    ie_status st = IE_OK;
    for (int c = 1; c < n_classes && st == IE_OK; c++) {
        ie_dicom_roi *roi = &out->rois[out->n_rois++];
        snprintf(roi->name, sizeof roi->name, "%s", names[c]);
        memcpy(roi->colour, colours[c], 3);
        roi->number = c;
        for (int k = 0; k < d && st == IE_OK; k++) {
            const uint8_t *src = labels + plane * (size_t)k;
            int any = 0;
            for (size_t v = 0; v < plane; v++) any |= (slice[v] = src[v] == c);
            if (!any) continue;
            ie_polygon *poly = NULL;
            int n = 0;
            st = ie_contour_trace(slice, w, h, &poly, &n);
            if (st == IE_OK) st = add_contours(roi, g, k, poly, n);
            ie_polygons_free(poly, n);
        }
    }
    free(slice);
    if (st != IE_OK) ie_dicom_structure_set_free(out);
    return st;
}

/* The inverse of direction * diag(spacing), by cofactors: direction cosines
 * from a file need not be exactly orthonormal. */
static int inverse_map(const ie_image_geometry *g, double inv[9]) {
    double m[9];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) m[r * 3 + c] = g->direction[r * 3 + c] * g->spacing[c];
    const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                       m[2] * (m[3] * m[7] - m[4] * m[6]);
    if (!(fabs(det) > 1e-12)) return -1;
    inv[0] = (m[4] * m[8] - m[5] * m[7]) / det;
    inv[1] = (m[2] * m[7] - m[1] * m[8]) / det;
    inv[2] = (m[1] * m[5] - m[2] * m[4]) / det;
    inv[3] = (m[5] * m[6] - m[3] * m[8]) / det;
    inv[4] = (m[0] * m[8] - m[2] * m[6]) / det;
    inv[5] = (m[2] * m[3] - m[0] * m[5]) / det;
    inv[6] = (m[3] * m[7] - m[4] * m[6]) / det;
    inv[7] = (m[1] * m[6] - m[0] * m[7]) / det;
    inv[8] = (m[0] * m[4] - m[1] * m[3]) / det;
    return 0;
}

/* Continuous grid index of contour point v. */
static void to_index(const ie_image_geometry *g, const double inv[9], const double *point, double idx[3]) {
    double q[3];
    for (int a = 0; a < 3; a++) q[a] = point[a] - g->origin[a];
    for (int a = 0; a < 3; a++) idx[a] = inv[a * 3] * q[0] + inv[a * 3 + 1] * q[1] + inv[a * 3 + 2] * q[2];
}

/* The slice a contour lies on; every point must be on that slice plane. */
static ie_status contour_slice(const ie_image_geometry *g, const double inv[9], const ie_dicom_roi *roi, int c,
                               const char *source, int *slice) {
    const ie_dicom_contour *con = &roi->contours[c];
    long first = 0;
    for (int v = 0; v < con->n_points; v++) {
        double idx[3];
        to_index(g, inv, con->points + 3 * v, idx);
        const long k = lround(idx[2]);
        const char *problem = fabs(idx[2] - (double)k) > 0.05 ? "between two of the image's slice planes"
                              : v > 0 && k != first       ? "on another slice than the contour's first point"
                              : k < 0 || k >= g->size[2]  ? "outside the image (beyond its first or last slice)"
                                                          : NULL;
        if (problem)
            return ie_error_set(IE_ERR_IO, "%s: ROI \"%s\", contour %d: point %d (%g, %g, %g) mm lies %s (slice "
                                "coordinate %.3f of 0..%lld); contours must lie in the image's slice planes: is the "
                                "structure set drawn on another series or orientation?", source, roi->name, c + 1,
                                v + 1, con->points[3 * v], con->points[3 * v + 1], con->points[3 * v + 2], problem,
                                idx[2], (long long)g->size[2] - 1);
        first = k;
    }
    *slice = (int)first;
    return IE_OK;
}

ie_status ie_structure_set_to_labels(const ie_image_geometry *g, const ie_dicom_roi *const *rois, int n_rois,
                                     const char *source, uint8_t *labels) {
    const int w = (int)g->size[0], h = (int)g->size[1], d = (int)g->size[2];
    const size_t plane = (size_t)w * h;
    double inv[9];
    if (inverse_map(g, inv) != 0)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: the image grid has a singular direction matrix", source);
    uint8_t *slice = malloc(plane);
    ie_status st = slice ? IE_OK : ie_error_set(IE_ERR_NOMEM, "rasterising %s: out of memory", source);
    for (int r = 0; r < n_rois && st == IE_OK; r++) {
        const ie_dicom_roi *roi = rois[r];
        int *where = calloc((size_t)roi->n_contours + 1, sizeof *where);
        if (!where) st = ie_error_set(IE_ERR_NOMEM, "rasterising %s: out of memory", source);
        for (int c = 0; c < roi->n_contours && st == IE_OK; c++) st = contour_slice(g, inv, roi, c, source, &where[c]);
        /* Slice by slice: every contour of the ROI on a slice takes part in
         * the even-odd rule together (a hole is a contour of its own). */
        for (int k = 0; k < d && st == IE_OK; k++) {
            int used = 0;
            for (int c = 0; c < roi->n_contours && st == IE_OK; c++) {
                const ie_dicom_contour *con = &roi->contours[c];
                if (where[c] != k || con->n_points < 3) continue;
                double *xy = malloc((size_t)con->n_points * 2 * sizeof *xy);
                if (!xy) {
                    st = ie_error_set(IE_ERR_NOMEM, "rasterising %s: out of memory", source);
                    break;
                }
                for (int v = 0; v < con->n_points; v++) {
                    double idx[3];
                    to_index(g, inv, con->points + 3 * v, idx);
                    xy[2 * v] = idx[0];
                    xy[2 * v + 1] = idx[1];
                }
                if (!used) memset(slice, 0, plane);
                used = 1;
                st = ie_polygon_fill_xor(slice, w, h, xy, con->n_points, 1);
                free(xy);
            }
            if (!used || st != IE_OK) continue;
            uint8_t *dst = labels + plane * (size_t)k;
            for (size_t v = 0; v < plane; v++)
                if (slice[v]) dst[v] = (uint8_t)(r + 1);
        }
        free(where);
    }
    free(slice);
    return st;
}
