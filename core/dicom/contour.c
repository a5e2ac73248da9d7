/* core/dicom - tracing voxel boundaries into polygons and filling polygons
 * back into voxels (see contour.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dicom/contour.h"

/* Edges run between corners of the voxel lattice: corner (x, y), x in 0..w,
 * y in 0..h, is the point (x - 0.5, y - 0.5) in index coordinates.  Each
 * inside voxel contributes its sides that face an outside voxel (or the
 * slice border), directed counter-clockwise around the voxel, so the inside
 * is always on the left.  A corner has at most two outgoing edges (two
 * voxels touching diagonally); then the left turn is taken, which keeps
 * hugging the voxel the trace came along. */
enum { DIR_E, DIR_N, DIR_W, DIR_S };
static const int step_x[4] = {1, 0, -1, 0}, step_y[4] = {0, 1, 0, -1};

static int inside(const uint8_t *m, int w, int h, int i, int j) {
    return i >= 0 && j >= 0 && i < w && j < h && m[(size_t)j * w + i] != 0;
}

/* Bit d of out[corner] set: an unused edge leaves the corner in direction d. */
static void boundary_edges(const uint8_t *m, int w, int h, uint8_t *out) {
    const int cw = w + 1;
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            if (!inside(m, w, h, i, j)) continue;
            if (!inside(m, w, h, i, j - 1)) out[(size_t)j * cw + i] |= 1 << DIR_E;           /* bottom */
            if (!inside(m, w, h, i + 1, j)) out[(size_t)j * cw + i + 1] |= 1 << DIR_N;       /* right */
            if (!inside(m, w, h, i, j + 1)) out[(size_t)(j + 1) * cw + i + 1] |= 1 << DIR_W; /* top */
            if (!inside(m, w, h, i - 1, j)) out[(size_t)(j + 1) * cw + i] |= 1 << DIR_S;     /* left */
        }
}

typedef struct growing {
    double *xy;
    int n, cap;
} growing;

static int push(growing *g, double x, double y) {
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 64;
        double *p = realloc(g->xy, (size_t)cap * 2 * sizeof *p);
        if (!p) return -1;
        g->xy = p;
        g->cap = cap;
    }
    g->xy[2 * g->n] = x - 0.5;
    g->xy[2 * g->n + 1] = y - 0.5;
    g->n++;
    return 0;
}

/* Follows edges from corner (x, y) leaving in direction d until back at the
 * start; a vertex is kept only where the direction changes. */
static int trace_loop(uint8_t *edges, int cw, int x, int y, int d, growing *g) {
    const int x0 = x, y0 = y, d0 = d;
    for (;;) {
        edges[(size_t)y * cw + x] &= (uint8_t)~(1 << d);
        x += step_x[d];
        y += step_y[d];
        const int at_start = x == x0 && y == y0;
        /* At the start its (used) first edge still counts, so a loop closes
         * there exactly when the turn rule would follow that edge. */
        const uint8_t out = edges[(size_t)y * cw + x] | (uint8_t)(at_start ? 1 << d0 : 0);
        int next;
        if (out & (1 << ((d + 1) & 3))) next = (d + 1) & 3;      /* left */
        else if (out & (1 << d)) next = d;                       /* straight */
        else if (out & (1 << ((d + 3) & 3))) next = (d + 3) & 3; /* right */
        else return -2;                                          /* cannot happen: boundaries close */
        if (next != d && push(g, x, y) != 0) return -1;
        if (at_start && next == d0) return 0;
        d = next;
    }
}

ie_status ie_contour_trace(const uint8_t *mask, int w, int h, ie_polygon **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    const int cw = w + 1;
    uint8_t *edges = calloc((size_t)(w + 1) * (size_t)(h + 1), 1);
    if (!edges) return ie_error_set(IE_ERR_NOMEM, "contour tracing: out of memory");
    ie_polygon *list = NULL;
    int n = 0, cap = 0;
    ie_status st = IE_OK;
    boundary_edges(mask, w, h, edges);
    for (int y = 0; y <= h && st == IE_OK; y++)
        for (int x = 0; x <= w && st == IE_OK; x++)
            while (edges[(size_t)y * cw + x] && st == IE_OK) {
                int d = 0;
                while (!(edges[(size_t)y * cw + x] & (1 << d))) d++;
                /* Start on a straight stretch's first corner so the start
                 * corner is a vertex: the edge arriving here turns. */
                growing g = {0};
                if (push(&g, x, y) != 0) st = ie_error_set(IE_ERR_NOMEM, "contour tracing: out of memory");
                int r = st == IE_OK ? trace_loop(edges, cw, x, y, d, &g) : 0;
                if (r == -1) st = ie_error_set(IE_ERR_NOMEM, "contour tracing: out of memory");
                if (r == -2) st = ie_error_set(IE_ERR_INTERNAL, "contour tracing: an open boundary at (%d, %d)", x, y);
                /* The loop ends back at the start; drop the repeated vertex. */
                if (st == IE_OK && g.n > 1 && g.xy[2 * (g.n - 1)] == g.xy[0] && g.xy[2 * (g.n - 1) + 1] == g.xy[1])
                    g.n--;
                if (st == IE_OK && n == cap) {
                    cap = cap ? 2 * cap : 16;
                    ie_polygon *p = realloc(list, (size_t)cap * sizeof *p);
                    if (!p) st = ie_error_set(IE_ERR_NOMEM, "contour tracing: out of memory");
                    else list = p;
                }
                if (st != IE_OK) {
                    free(g.xy);
                    break;
                }
                list[n++] = (ie_polygon){.n = g.n, .xy = g.xy};
            }
    free(edges);
    if (st != IE_OK) {
        ie_polygons_free(list, n);
        return st;
    }
    *out = list;
    *n_out = n;
    return IE_OK;
}

void ie_polygons_free(ie_polygon *p, int n) {
    for (int i = 0; p && i < n; i++) free(p[i].xy);
    free(p);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Scanline fill: for each row j, the polygon's crossings of the line y = j
 * (half-open rule on edge end points, so a vertex on the line counts once),
 * sorted; voxel centres between crossing pairs are inside. */
ie_status ie_polygon_fill_xor(uint8_t *mask, int w, int h, const double *xy, int n, uint8_t value) {
    if (n < 3) return IE_OK;
    double *cross = malloc((size_t)n * sizeof *cross);
    if (!cross) return ie_error_set(IE_ERR_NOMEM, "filling a contour: out of memory");
    for (int j = 0; j < h; j++) {
        const double y = j;
        int m = 0;
        for (int a = 0; a < n; a++) {
            const int b = (a + 1) % n;
            const double ya = xy[2 * a + 1], yb = xy[2 * b + 1];
            if ((ya <= y) == (yb <= y)) continue;
            const double t = (y - ya) / (yb - ya);
            cross[m++] = xy[2 * a] + t * (xy[2 * b] - xy[2 * a]);
        }
        qsort(cross, (size_t)m, sizeof *cross, cmp_double);
        for (int c = 0; c + 1 < m; c += 2) {
            /* Centres i with cross[c] < i < cross[c + 1]; a centre on the
             * contour counts as outside. Clamped in double: vertices may lie
             * far outside the slice. */
            double lo = fmax(floor(cross[c]) + 1, 0), hi = fmin(ceil(cross[c + 1]) - 1, (double)w - 1);
            for (int i = (int)lo; i <= (int)hi && lo <= hi; i++) mask[(size_t)j * w + i] ^= value;
        }
    }
    free(cross);
    return IE_OK;
}
