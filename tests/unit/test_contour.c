/* tests - contour tracing and filling (core/dicom/contour.c) and label maps
 * to patient-coordinate contours and back (structure_set.c), without DCMTK:
 *   - hand-made shapes: a square gives 4 vertices counter-clockwise with the
 *     voxels' area; a ring gives an outer and a clockwise hole polygon; two
 *     voxels touching at a corner give two polygons;
 *   - random masks (holes, corners, slice borders): trace then fill by the
 *     even-odd rule returns exactly the mask;
 *   - on an oblique, anisotropic grid, every contour point lies in its
 *     slice's plane and labels -> contours -> labels is exact; a contour
 *     between slices or off the image is refused naming the ROI. */
#include "core/dicom/contour.h"
#include "core/dicom/structure_set.h"
#include "test_util.h"

static double signed_area(const ie_polygon *p) {
    double a = 0;
    for (int v = 0; v < p->n; v++) {
        int w = (v + 1) % p->n;
        a += p->xy[2 * v] * p->xy[2 * w + 1] - p->xy[2 * w] * p->xy[2 * v + 1];
    }
    return a / 2;
}

static void roundtrip_ok(const uint8_t *mask, int w, int h, const char *what) {
    ie_polygon *poly = NULL;
    int n = 0;
    CHECK_OK(ie_contour_trace(mask, w, h, &poly, &n));
    uint8_t *back = calloc((size_t)w * h, 1);
    for (int p = 0; p < n; p++) CHECK_OK(ie_polygon_fill_xor(back, w, h, poly[p].xy, poly[p].n, 1));
    int diff = 0;
    for (int i = 0; i < w * h; i++) diff += (mask[i] != 0) != (back[i] != 0);
    CHECK(diff == 0, "%s: %d voxels differ after trace + fill", what, diff);
    free(back);
    ie_polygons_free(poly, n);
}

static void shapes(void) {
    uint8_t square[5 * 5] = {0};
    for (int j = 1; j < 4; j++)
        for (int i = 1; i < 4; i++) square[j * 5 + i] = 1;
    ie_polygon *poly = NULL;
    int n = 0;
    CHECK_OK(ie_contour_trace(square, 5, 5, &poly, &n));
    CHECK(n == 1 && poly[0].n == 4, "a 3x3 square: %d polygons, %d vertices (want 1, 4)", n, n ? poly[0].n : 0);
    CHECK(n == 1 && fabs(signed_area(&poly[0]) - 9) < 1e-12, "the square's polygon encloses 9 voxels, counter-clockwise");
    CHECK(n == 1 && poly[0].xy[0] == 0.5 && poly[0].xy[1] == 0.5, "vertices lie on voxel borders (0.5, 0.5)");
    ie_polygons_free(poly, n);

    square[2 * 5 + 2] = 0; /* a ring: the hole is a clockwise polygon of its own */
    CHECK_OK(ie_contour_trace(square, 5, 5, &poly, &n));
    CHECK(n == 2, "a ring gives 2 polygons, got %d", n);
    if (n == 2) {
        double a0 = signed_area(&poly[0]), a1 = signed_area(&poly[1]);
        CHECK(fabs(a0 + a1 - 8) < 1e-12 && (a0 < 0 || a1 < 0), "outer 9 counter-clockwise, hole -1 clockwise (%g, %g)",
              a0, a1);
    }
    ie_polygons_free(poly, n);
    roundtrip_ok(square, 5, 5, "a ring");

    uint8_t corner[3 * 3] = {1, 0, 0, 0, 1, 0, 0, 0, 0}; /* two voxels touching at a corner */
    CHECK_OK(ie_contour_trace(corner, 3, 3, &poly, &n));
    CHECK(n == 2, "voxels touching at a corner stay apart: %d polygons", n);
    ie_polygons_free(poly, n);
    roundtrip_ok(corner, 3, 3, "a corner");

    uint8_t full[4 * 3];
    memset(full, 1, sizeof full);
    roundtrip_ok(full, 4, 3, "a slice filled to its borders");
}

static uint32_t next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void random_masks(void) {
    uint32_t seed = 12345;
    for (int t = 0; t < 300; t++) {
        int w = 1 + (int)(next(&seed) % 23), h = 1 + (int)(next(&seed) % 19);
        unsigned density = 20 + next(&seed) % 60;
        uint8_t *m = malloc((size_t)w * h);
        for (int i = 0; i < w * h; i++) m[i] = next(&seed) % 100 < density;
        char what[64];
        snprintf(what, sizeof what, "random mask %d (%dx%d)", t, w, h);
        roundtrip_ok(m, w, h, what);
        free(m);
    }
}

static void oblique_grid(void) {
    /* Rows along (0.6, 0.8, 0), columns along (-0.48, 0.36, 0.8), slices along their cross product. */
    ie_image_geometry g = {.ndim = 3, .size = {9, 7, 5}, .spacing = {0.7, 0.9, 2.5}, .origin = {-12.5, 30.25, 100}};
    const double d[9] = {0.6, -0.48, 0.64, 0.8, 0.36, -0.48, 0, 0.8, 0.6};
    memcpy(g.direction, d, sizeof d);
    uint8_t labels[5 * 7 * 9];
    uint32_t seed = 99;
    for (int i = 0; i < 5 * 7 * 9; i++) labels[i] = (uint8_t)(next(&seed) % 3);
    const char *names[] = {"background", "a", "b"};
    const uint8_t colours[3][3] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}};
    ie_dicom_structure_set set;
    CHECK_OK(ie_structure_set_from_labels(&g, labels, 3, names, colours, &set));
    CHECK(set.n_rois == 2 && !strcmp(set.rois[1].name, "b") && set.rois[1].colour[1] == 255, "ROIs named and coloured");
    double worst = 0;
    for (int r = 0; r < set.n_rois; r++)
        for (int c = 0; c < set.rois[r].n_contours; c++) {
            const ie_dicom_contour *con = &set.rois[r].contours[c];
            for (int v = 0; v < con->n_points; v++) {
                double along = 0; /* distance from the slice plane through origin + k * spacing * normal */
                for (int a = 0; a < 3; a++) along += (con->points[3 * v + a] - g.origin[a]) * g.direction[a * 3 + 2];
                worst = fmax(worst, fabs(along - con->slice * g.spacing[2]));
            }
        }
    CHECK(worst < 1e-9, "contour points lie in their slice's plane (%.2e mm off)", worst);
    uint8_t back[5 * 7 * 9] = {0};
    const ie_dicom_roi *rois[2] = {&set.rois[0], &set.rois[1]};
    CHECK_OK(ie_structure_set_to_labels(&g, rois, 2, "test", back));
    CHECK(!memcmp(back, labels, sizeof back), "labels -> contours -> labels is exact on an oblique grid");

    /* A contour moved half a slice along the normal lies between slices. */
    ie_dicom_contour *con = &set.rois[0].contours[0];
    for (int v = 0; v < con->n_points; v++)
        for (int a = 0; a < 3; a++) con->points[3 * v + a] += 0.5 * g.spacing[2] * g.direction[a * 3 + 2];
    ie_status st = ie_structure_set_to_labels(&g, rois, 2, "test.dcm", back);
    CHECK(st == IE_ERR_IO && strstr(ie_error_message(), "ROI \"a\", contour 1") &&
              strstr(ie_error_message(), "between two of the image's slice planes"),
          "a contour between slices is refused: %s", ie_error_message());
    for (int v = 0; v < con->n_points; v++)
        for (int a = 0; a < 3; a++) con->points[3 * v + a] += 19.5 * g.spacing[2] * g.direction[a * 3 + 2];
    st = ie_structure_set_to_labels(&g, rois, 2, "test.dcm", back);
    CHECK(st == IE_ERR_IO && strstr(ie_error_message(), "outside the image"), "a contour beyond the last slice is "
          "refused: %s", ie_error_message());
    ie_dicom_structure_set_free(&set);
}

int main(void) {
    shapes();
    random_masks();
    oblique_grid();
    return test_summary();
}
