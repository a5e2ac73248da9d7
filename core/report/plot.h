/* core/report - charts as inline SVG: lines and points on x/y axes, box
 * plots.  Every drawn series also carries its numbers as data- attributes
 * (data-x, data-y; a box's data-q1, data-median, ...), so a test can check
 * the picture against the run's files without reading pixels. */
#ifndef IE_CORE_REPORT_PLOT_H
#define IE_CORE_REPORT_PLOT_H

#include <stdbool.h>

#include "core/report/html.h"

typedef enum ie_plot_style {
    IE_PLOT_LINE = 0,  /* a polyline through the points in order */
    IE_PLOT_POINTS,    /* markers only */
    IE_PLOT_LINE_POINTS,
    IE_PLOT_MARK       /* large markers: a highlighted point (the Youden point) */
} ie_plot_style;

typedef struct ie_plot_series {
    const char *name;
    const double *x, *y; /* non-finite points are left out of the drawing */
    int n;
    ie_plot_style style;
    const char *color;   /* NULL: the palette's next colour */
    bool dashed;
} ie_plot_series;

typedef struct ie_plot {
    const char *id;      /* data-plot: what the chart shows, for tests */
    const char *title, *x_label, *y_label;
    int width, height;   /* pixels; 0: 400 x 280 */
    bool fixed_x, fixed_y; /* use the ranges below instead of the data's */
    double x_min, x_max, y_min, y_max;
    bool identity;       /* draws y = x (predicted against true) */
    bool zero_line;      /* draws y = 0 (residuals) */
    const char *const *x_categories; /* x values are indices into these names */
    int n_categories;
} ie_plot;

void ie_plot_xy(ie_html *h, const ie_plot *p, const ie_plot_series *series, int n_series);

typedef struct ie_plot_box {
    const char *label;
    const double *values; /* NaN left out; +-inf counted and left out */
    int n;
    const char *file, *key; /* optional, for tests: data-file (where the values are), data-key (their group) */
    int color;              /* palette index; boxes of one colour belong together (a split) */
} ie_plot_box;

/* One box per entry: median, quartiles (numpy's linear percentiles),
 * whiskers at the furthest values within 1.5 IQR, the values beyond as
 * points. */
void ie_plot_boxes(ie_html *h, const char *id, const char *title, const char *y_label, const ie_plot_box *boxes,
                   int n_boxes);

/* numpy.percentile(values, q) with linear interpolation; values sorted. */
double ie_plot_percentile(const double *sorted, int n, double q);

/* A palette colour for index i. */
const char *ie_plot_color(int i);

#endif
