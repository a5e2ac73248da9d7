/* core/dicom - the 2-D geometry of contours on one slice, in voxel index
 * coordinates (i along W, j along H; voxel (i, j) is the unit square centred
 * on (i, j)).
 *
 * Tracing follows the edges between inside and outside voxels, so each
 * polygon runs along voxel borders (vertices at half-integers) and the
 * voxels whose centres a polygon set encloses by the even-odd rule are
 * exactly the traced ones: mask -> contours -> mask is exact.  Outer
 * boundaries run counter-clockwise (i right, j up), holes clockwise. */
#ifndef IE_CORE_DICOM_CONTOUR_H
#define IE_CORE_DICOM_CONTOUR_H

#include <stdint.h>

#include "innereye/status.h"

typedef struct ie_polygon {
    int n;       /* vertices */
    double *xy;  /* [2 * n]: (i, j) pairs, closed implicitly */
} ie_polygon;

/* Traces the boundaries of the voxels of `mask` ([h][w], non-zero =
 * inside).  *out is malloc'd; free it with ie_polygons_free.  Collinear
 * vertices are dropped.  Diagonal neighbours are kept apart (each polygon
 * encloses a 4-connected region). */
ie_status ie_contour_trace(const uint8_t *mask, int w, int h, ie_polygon **out, int *n_out);
void ie_polygons_free(ie_polygon *p, int n);

/* Toggles (XOR with `value`) every voxel of `mask` ([h][w]) whose centre
 * lies inside the polygon, so filling each polygon of a slice in turn gives
 * the even-odd rule over all of them: a hole's polygon inside an outer one
 * empties it again.  Vertices may lie anywhere (outside the slice too). */
ie_status ie_polygon_fill_xor(uint8_t *mask, int w, int h, const double *xy, int n, uint8_t value);

#endif
