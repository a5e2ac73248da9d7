/* core/report - SVG charts. */
#include "core/report/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MARGIN_L 62
#define MARGIN_R 14
#define MARGIN_T 26
#define MARGIN_B 44

const char *ie_plot_color(int i) {
    /* Colour-blind safe (Okabe and Ito). */
    static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                          "#E69F00", "#56B4E9", "#000000", "#F0E442"};
    return palette[i % 8];
}

double ie_plot_percentile(const double *sorted, int n, double q) {
    if (n <= 0) return NAN;
    double rank = q / 100.0 * (n - 1);
    int lo = (int)floor(rank);
    if (lo >= n - 1) return sorted[n - 1];
    return sorted[lo] + (rank - lo) * (sorted[lo + 1] - sorted[lo]);
}

/* Tick positions at 1, 2 or 5 times a power of ten, about `want` of them. */
static double tick_step(double lo, double hi, int want) {
    double span = hi - lo;
    if (!(span > 0)) return 1;
    double raw = span / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void pad_range(double *lo, double *hi) {
    if (!isfinite(*lo) || !isfinite(*hi)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12 * (fabs(*lo) + fabs(*hi)) || *hi == *lo) {
        double d = *lo != 0 ? fabs(*lo) * 0.1 : 1;
        *lo -= d, *hi += d;
    } else {
        double d = (*hi - *lo) * 0.05;
        *lo -= d, *hi += d;
    }
}

typedef struct frame {
    double x0, x1, y0, y1; /* data range */
    int w, h;              /* svg size */
} frame;

static double px(const frame *f, double x) {
    return MARGIN_L + (x - f->x0) / (f->x1 - f->x0) * (f->w - MARGIN_L - MARGIN_R);
}
static double py(const frame *f, double y) {
    return f->h - MARGIN_B - (y - f->y0) / (f->y1 - f->y0) * (f->h - MARGIN_T - MARGIN_B);
}

static void tick_label(char *out, size_t size, double v, double step) {
    if (fabs(v) < step * 1e-9) v = 0;
    if (fabs(v) >= 1e5 || (fabs(v) < 1e-3 && v != 0)) snprintf(out, size, "%.2g", v);
    else snprintf(out, size, "%.*f", step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9), v);
}

static void axes(ie_html *h, const frame *f, const char *title, const char *x_label, const char *y_label,
                 const char *const *categories, int n_categories) {
    int right = f->w - MARGIN_R, bottom = f->h - MARGIN_B;
    ie_html_printf(h, "<text x=\"%d\" y=\"16\" font-size=\"13\" font-weight=\"bold\">", MARGIN_L);
    ie_html_text(h, title);
    ie_html_printf(h, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
                   MARGIN_L, MARGIN_T, right - MARGIN_L, bottom - MARGIN_T);
    char label[64];
    double ys = tick_step(f->y0, f->y1, 5);
    for (double v = ceil(f->y0 / ys) * ys; v <= f->y1 + ys * 1e-9; v += ys) {
        tick_label(label, sizeof label, v, ys);
        ie_html_printf(h, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                          "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>\n",
                       MARGIN_L, right, py(f, v), py(f, v), MARGIN_L - 4, py(f, v) + 3, label);
    }
    if (categories) {
        for (int i = 0; i < n_categories; i++) {
            ie_html_printf(h, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">", px(f, i),
                           bottom + 13);
            ie_html_text(h, categories[i]);
            ie_html_printf(h, "</text>\n");
        }
    } else {
        double xs = tick_step(f->x0, f->x1, 6);
        for (double v = ceil(f->x0 / xs) * xs; v <= f->x1 + xs * 1e-9; v += xs) {
            tick_label(label, sizeof label, v, xs);
            ie_html_printf(h, "<line y1=\"%d\" y2=\"%d\" x1=\"%.1f\" x2=\"%.1f\" stroke=\"#eee\"/>"
                              "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
                           MARGIN_T, bottom, px(f, v), px(f, v), px(f, v), bottom + 13, label);
        }
    }
    ie_html_printf(h, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">", (MARGIN_L + right) / 2,
                   f->h - 8);
    ie_html_text(h, x_label);
    ie_html_printf(h, "</text>\n<text transform=\"translate(13,%d) rotate(-90)\" font-size=\"11\" "
                      "text-anchor=\"middle\">", (MARGIN_T + bottom) / 2);
    ie_html_text(h, y_label);
    ie_html_printf(h, "</text>\n");
}

static void numbers(ie_html *h, const char *attr, const double *v, int n) {
    ie_html_printf(h, " %s=\"", attr);
    for (int i = 0; i < n; i++) ie_html_printf(h, "%s%.9g", i ? " " : "", v[i]);
    ie_html_printf(h, "\"");
}

/* The legend of a chart with several series, in rows below the chart: each
 * entry a colour line and the name, entries placed left to right and wrapped
 * at the chart's width.  Text width is estimated at 6.2 px per character of
 * the 10 px sans-serif font (its widest common glyphs are narrower, so
 * entries do not run into each other). */
#define LEGEND_MAX 24
#define LEGEND_ROW 14

typedef struct legend_item {
    int x, y;
} legend_item;

static int legend_layout(const frame *f, const ie_plot_series *s, int n_series, legend_item *items) {
    if (n_series <= 1) return 0;
    int shown = n_series > LEGEND_MAX ? LEGEND_MAX : n_series, x = MARGIN_L, row = 0;
    for (int k = 0; k < shown; k++) {
        int w = 18 + (int)(6.2 * (double)strlen(s[k].name ? s[k].name : "")) + 14;
        if (x > MARGIN_L && x + w > f->w - MARGIN_R) x = MARGIN_L, row++;
        items[k] = (legend_item){.x = x, .y = f->h + 10 + LEGEND_ROW * row};
        x += w;
    }
    return 8 + LEGEND_ROW * (row + 1) + (n_series > LEGEND_MAX ? LEGEND_ROW : 0);
}

void ie_plot_xy(ie_html *h, const ie_plot *p, const ie_plot_series *s, int n_series) {
    frame f = {.w = p->width ? p->width : 400, .h = p->height ? p->height : 280};
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < n_series; k++)
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
            x0 = fmin(x0, s[k].x[i]), x1 = fmax(x1, s[k].x[i]);
            y0 = fmin(y0, s[k].y[i]), y1 = fmax(y1, s[k].y[i]);
        }
    if (p->identity && isfinite(x0)) { /* the same range on both axes: y = x is the diagonal */
        x0 = y0 = fmin(x0, y0);
        x1 = y1 = fmax(x1, y1);
    }
    if (p->zero_line) y0 = fmin(y0, 0), y1 = fmax(y1, 0);
    if (p->x_categories) x0 = -0.5, x1 = p->n_categories - 0.5;
    else pad_range(&x0, &x1);
    pad_range(&y0, &y1);
    if (p->fixed_x) x0 = p->x_min, x1 = p->x_max;
    if (p->fixed_y) y0 = p->y_min, y1 = p->y_max;
    f.x0 = x0, f.x1 = x1, f.y0 = y0, f.y1 = y1;
    legend_item items[LEGEND_MAX];
    int legend_h = legend_layout(&f, s, n_series, items);
    ie_html_printf(h, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                      "data-plot=\"", f.w, f.h + legend_h, f.w, f.h + legend_h);
    ie_html_text(h, p->id ? p->id : "");
    ie_html_printf(h, "\" font-family=\"sans-serif\">\n");
    axes(h, &f, p->title, p->x_label, p->y_label, p->x_categories, p->n_categories);
    ie_html_printf(h, "<svg x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" viewBox=\"%d %d %d %d\">\n", MARGIN_L,
                   MARGIN_T, f.w - MARGIN_L - MARGIN_R, f.h - MARGIN_T - MARGIN_B, MARGIN_L, MARGIN_T,
                   f.w - MARGIN_L - MARGIN_R, f.h - MARGIN_T - MARGIN_B); /* clips to the plot area */
    if (p->identity)
        ie_html_printf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                          "stroke-dasharray=\"4 3\" data-line=\"identity\"/>\n",
                       px(&f, x0), py(&f, x0), px(&f, x1), py(&f, x1));
    if (p->zero_line)
        ie_html_printf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                          "stroke-dasharray=\"4 3\" data-line=\"zero\"/>\n",
                       px(&f, x0), py(&f, 0), px(&f, x1), py(&f, 0));
    for (int k = 0; k < n_series; k++) {
        const char *color = s[k].color ? s[k].color : ie_plot_color(k);
        ie_html_printf(h, "<g class=\"series\" data-name=\"");
        ie_html_text(h, s[k].name);
        ie_html_printf(h, "\"");
        numbers(h, "data-x", s[k].x, s[k].n);
        numbers(h, "data-y", s[k].y, s[k].n);
        ie_html_printf(h, ">");
        if (s[k].style != IE_PLOT_POINTS && s[k].style != IE_PLOT_MARK) {
            ie_html_printf(h, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s points=\"", color,
                           s[k].dashed ? " stroke-dasharray=\"5 3\"" : "");
            for (int i = 0; i < s[k].n; i++)
                if (isfinite(s[k].x[i]) && isfinite(s[k].y[i]))
                    ie_html_printf(h, "%.1f,%.1f ", px(&f, s[k].x[i]), py(&f, s[k].y[i]));
            ie_html_printf(h, "\"/>");
        }
        if (s[k].style != IE_PLOT_LINE) {
            double r = s[k].style == IE_PLOT_MARK ? 5.5 : 2.6;
            for (int i = 0; i < s[k].n; i++)
                if (isfinite(s[k].x[i]) && isfinite(s[k].y[i]))
                    ie_html_printf(h, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"%s/>", px(&f, s[k].x[i]),
                                   py(&f, s[k].y[i]), r, color,
                                   s[k].style == IE_PLOT_MARK ? " stroke=\"#000\" fill-opacity=\"0.8\"" : " fill-opacity=\"0.7\"");
        }
        ie_html_printf(h, "</g>\n");
    }
    ie_html_printf(h, "</svg>\n");
    /* Legend: below the x axis label, outside the plot, so it never hides a
     * curve or a label (legend_layout). */
    int shown = n_series > LEGEND_MAX ? LEGEND_MAX : n_series;
    for (int k = 0; k < shown && n_series > 1; k++) {
        const char *color = s[k].color ? s[k].color : ie_plot_color(k);
        int x = items[k].x, y = items[k].y;
        ie_html_printf(h, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
                          "<text x=\"%d\" y=\"%d\" font-size=\"10\" data-legend=\"\">",
                       x, x + 14, y - 3, y - 3, color, x + 18, y);
        ie_html_text(h, s[k].name);
        ie_html_printf(h, "</text>\n");
    }
    if (n_series > LEGEND_MAX)
        ie_html_printf(h, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#666\">and %d more (data-name of "
                          "each series in the SVG)</text>\n",
                       MARGIN_L, f.h + legend_h - 4, n_series - LEGEND_MAX);
    ie_html_printf(h, "</svg>\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void ie_plot_boxes(ie_html *h, const char *id, const char *title, const char *y_label, const ie_plot_box *b,
                   int n_boxes) {
    frame f = {.w = 110 + 70 * n_boxes, .h = 280};
    if (f.w < 300) f.w = 300;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n_boxes; k++)
        for (int i = 0; i < b[k].n; i++)
            if (isfinite(b[k].values[i])) lo = fmin(lo, b[k].values[i]), hi = fmax(hi, b[k].values[i]);
    pad_range(&lo, &hi);
    f.x0 = -0.5, f.x1 = n_boxes - 0.5, f.y0 = lo, f.y1 = hi;
    ie_html_printf(h, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                      "data-plot=\"", f.w, f.h, f.w, f.h);
    ie_html_text(h, id);
    ie_html_printf(h, "\" font-family=\"sans-serif\">\n");
    const char **labels = calloc((size_t)n_boxes + 1, sizeof *labels);
    for (int k = 0; labels && k < n_boxes; k++) labels[k] = b[k].label;
    axes(h, &f, title, "", y_label, labels, labels ? n_boxes : 0);
    free(labels);
    for (int k = 0; k < n_boxes; k++) {
        double *v = malloc(sizeof *v * (size_t)(b[k].n + 1));
        int n = 0, n_inf = 0;
        for (int i = 0; v && i < b[k].n; i++)
            if (isfinite(b[k].values[i])) v[n++] = b[k].values[i];
            else if (isinf(b[k].values[i])) n_inf++;
        if (!v) continue;
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        double q1 = ie_plot_percentile(v, n, 25), med = ie_plot_percentile(v, n, 50), q3 = ie_plot_percentile(v, n, 75);
        double iqr = q3 - q1, wlo = q1, whi = q3;
        for (int i = 0; i < n; i++) {
            if (v[i] >= q1 - 1.5 * iqr && v[i] < wlo) wlo = v[i];
            if (v[i] <= q3 + 1.5 * iqr && v[i] > whi) whi = v[i];
        }
        double cx = px(&f, k), half = 18;
        const char *color = ie_plot_color(b[k].color);
        ie_html_printf(h, "<g class=\"box\" data-label=\"");
        ie_html_text(h, b[k].label);
        if (b[k].file) {
            ie_html_printf(h, "\" data-file=\"");
            ie_html_text(h, b[k].file);
        }
        if (b[k].key) {
            ie_html_printf(h, "\" data-key=\"");
            ie_html_text(h, b[k].key);
        }
        ie_html_printf(h, "\" data-n=\"%d\" data-inf=\"%d\" data-q1=\"%.9g\" data-median=\"%.9g\" data-q3=\"%.9g\" "
                          "data-whisker-low=\"%.9g\" data-whisker-high=\"%.9g\">",
                       n, n_inf, q1, med, q3, wlo, whi);
        if (n > 0) {
            ie_html_printf(h, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>", cx, cx,
                           py(&f, wlo), py(&f, whi));
            ie_html_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                              "fill-opacity=\"0.35\" stroke=\"%s\"/>",
                           cx - half, py(&f, q3), 2 * half, fmax(py(&f, q1) - py(&f, q3), 0.5), color, color);
            ie_html_printf(h, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                              "stroke-width=\"2\"/>", cx - half, cx + half, py(&f, med), py(&f, med));
            for (int i = 0; i < n; i++)
                if (v[i] < wlo || v[i] > whi)
                    ie_html_printf(h, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"none\" stroke=\"%s\"/>", cx,
                                   py(&f, v[i]), color);
        }
        if (n_inf)
            ie_html_printf(h, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" text-anchor=\"middle\">+%d inf</text>", cx,
                           MARGIN_T + 10, n_inf);
        ie_html_printf(h, "</g>\n");
        free(v);
    }
    ie_html_printf(h, "</svg>\n");
}
