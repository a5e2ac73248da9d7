/* core/report - overlay thumbnails: an image slice with the contours of the
 * truth (green) and the prediction (red; yellow where both) of one
 * structure, through the structure's centre in three orientations.
 * Pixels are square in millimetres, so anisotropic voxels (a 3 mm slice
 * thickness, say) keep the anatomy's true proportions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/png_write.h"
#include "core/report/report_impl.h"
#include "innereye/image_io.h"

#define THUMB_PX 150 /* the longer side of a thumbnail */

typedef struct volume {
    int64_t d, h, w;
    const float *image;
    const int32_t *truth, *pred;
    bool truth_is_mask;
    int label;
    double sp[3]; /* mm along D, H, W */
} volume;

static bool in_truth(const volume *v, int64_t i) {
    return v->truth_is_mask ? v->truth[i] != 0 : v->truth[i] == v->label;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* One view: `axis` is the fixed tensor axis (0 axial, 1 coronal, 2 sagittal)
 * at index `at`; lo/hi the crop box on every axis. */
static ie_status view(ie_html *h, const volume *v, int axis, int64_t at, const int64_t lo[3], const int64_t hi[3],
                      const char *name) {
    int row_axis = axis == 0 ? 1 : 0, col_axis = axis == 2 ? 1 : 2;
    int64_t rows = hi[row_axis] - lo[row_axis] + 1, cols = hi[col_axis] - lo[col_axis] + 1;
    double rows_mm = (double)rows * v->sp[row_axis], cols_mm = (double)cols * v->sp[col_axis];
    double scale = THUMB_PX / fmax(rows_mm, cols_mm); /* pixels per mm */
    int ph = (int)fmax(1, lround(rows_mm * scale)), pw = (int)fmax(1, lround(cols_mm * scale));
    const int64_t stride[3] = {v->h * v->w, v->w, 1};
    /* The voxel under each thumbnail pixel (nearest); D runs upwards in the
     * coronal and sagittal views, as the head is shown. */
    int64_t *vox = malloc(sizeof *vox * (size_t)ph * (size_t)pw);
    float *sample = malloc(sizeof *sample * (size_t)(rows * cols));
    uint8_t *rgb = malloc((size_t)ph * (size_t)pw * 3);
    if (!vox || !sample || !rgb) {
        free(vox), free(sample), free(rgb);
        return ie_error_set(IE_ERR_NOMEM, "report: out of memory");
    }
    for (int y = 0; y < ph; y++) {
        int64_t r = (int64_t)((y + 0.5) / scale / v->sp[row_axis]);
        if (r >= rows) r = rows - 1;
        int64_t ri = row_axis == 0 ? hi[0] - r : lo[row_axis] + r;
        for (int x = 0; x < pw; x++) {
            int64_t c = (int64_t)((x + 0.5) / scale / v->sp[col_axis]);
            if (c >= cols) c = cols - 1;
            vox[(size_t)y * pw + x] = at * stride[axis] + ri * stride[row_axis] + (lo[col_axis] + c) * stride[col_axis];
        }
    }
    /* Grey levels: the crop's 1st to 99th percentile. */
    int64_t n = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            sample[n++] = v->image[at * stride[axis] + (lo[row_axis] + r) * stride[row_axis] +
                                   (lo[col_axis] + c) * stride[col_axis]];
    qsort(sample, (size_t)n, sizeof *sample, cmp_float);
    float g0 = sample[(size_t)(0.01 * (double)(n - 1))], g1 = sample[(size_t)(0.99 * (double)(n - 1))];
    if (!(g1 > g0)) g1 = g0 + 1;
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            size_t p = (size_t)y * pw + x;
            int64_t i = vox[p];
            double g = (v->image[i] - g0) / (g1 - g0) * 255.0;
            uint8_t grey = (uint8_t)(g < 0 ? 0 : g > 255 ? 255 : g);
            /* A contour pixel: inside the mask with a 4-neighbour outside it. */
            bool edge[2] = {false, false};
            for (int m = 0; m < 2; m++) {
                bool inside = m == 0 ? in_truth(v, i) : v->pred[i] == v->label;
                if (!inside) continue;
                const int dy[4] = {-1, 1, 0, 0}, dx[4] = {0, 0, -1, 1};
                for (int k = 0; k < 4 && !edge[m]; k++) {
                    int yy = y + dy[k], xx = x + dx[k];
                    if (yy < 0 || yy >= ph || xx < 0 || xx >= pw) continue;
                    int64_t j = vox[(size_t)yy * pw + xx];
                    edge[m] = m == 0 ? !in_truth(v, j) : v->pred[j] != v->label;
                }
            }
            uint8_t *o = rgb + 3 * p;
            if (edge[0] && edge[1]) o[0] = 255, o[1] = 230, o[2] = 0;
            else if (edge[0]) o[0] = 0, o[1] = 220, o[2] = 0;
            else if (edge[1]) o[0] = 255, o[1] = 40, o[2] = 40;
            else o[0] = o[1] = o[2] = grey;
        }
    uint8_t *png = NULL;
    size_t size = 0;
    ie_status st = ie_png_encode(rgb, pw, ph, 3, &png, &size);
    if (st == IE_OK) {
        ie_html_printf(h, "<figure data-view=\"%s\" data-slice=\"%lld\">", name, (long long)at);
        ie_html_png(h, png, size, pw, ph, name);
        ie_html_printf(h, "<figcaption>%s %lld</figcaption></figure>", name, (long long)at);
    }
    free(png), free(vox), free(sample), free(rgb);
    return st;
}

static ie_status read_labels(const char *path, ie_tensor **t, const ie_tensor *like, const char *what) {
    IE_TRY(ie_image_read(path, IE_I32, t, NULL));
    for (int k = 0; k < 3; k++)
        if (ie_tensor_ndim(*t) != ie_tensor_ndim(like) || ie_tensor_dim(*t, -1 - k) != ie_tensor_dim(like, -1 - k))
            return ie_error_set(IE_ERR_SHAPE, "%s: the %s is not on the image's voxel grid", path, what);
    return IE_OK;
}

ie_status ie_report_overlay(ie_html *h, const char *image, const char *truth, bool truth_is_mask, const char *pred,
                            int label, const char *caption) {
    ie_tensor *img = NULL, *tt = NULL, *pt = NULL;
    ie_image_geometry g;
    ie_status st = ie_image_read(image, IE_F32, &img, &g);
    if (st == IE_OK) st = read_labels(truth, &tt, img, "truth");
    if (st == IE_OK) st = read_labels(pred, &pt, img, "prediction");
    if (st != IE_OK) {
        ie_tensor_release(img), ie_tensor_release(tt), ie_tensor_release(pt);
        return st;
    }
    int nd = ie_tensor_ndim(img);
    volume v = {.d = nd == 3 ? ie_tensor_dim(img, 0) : 1, .h = ie_tensor_dim(img, -2), .w = ie_tensor_dim(img, -1),
                .image = ie_tensor_data_f32(img), .truth = ie_tensor_data(tt), .pred = ie_tensor_data(pt),
                .truth_is_mask = truth_is_mask, .label = label, .sp = {g.spacing[2], g.spacing[1], g.spacing[0]}};
    /* The structure's centre (the truth's; the prediction's when the truth is
     * empty) and the box around both, with a margin. */
    double sum[3] = {0};
    int64_t count = 0, lo[3] = {v.d, v.h, v.w}, hi[3] = {-1, -1, -1};
    for (int pass = 0; pass < 2 && count == 0; pass++)
        for (int64_t z = 0; z < v.d; z++)
            for (int64_t y = 0; y < v.h; y++)
                for (int64_t x = 0; x < v.w; x++) {
                    int64_t i = (z * v.h + y) * v.w + x, idx[3] = {z, y, x};
                    bool t = in_truth(&v, i), p = v.pred[i] == label;
                    if (pass == 0 && (t || p))
                        for (int k = 0; k < 3; k++) lo[k] = idx[k] < lo[k] ? idx[k] : lo[k], hi[k] = idx[k] > hi[k] ? idx[k] : hi[k];
                    if (pass == 0 ? t : p) {
                        sum[0] += (double)z, sum[1] += (double)y, sum[2] += (double)x;
                        count++;
                    }
                }
    int64_t size[3] = {v.d, v.h, v.w}, centre[3];
    for (int k = 0; k < 3; k++) {
        centre[k] = count ? (int64_t)llround(sum[k] / (double)count) : size[k] / 2;
        if (hi[k] < 0) lo[k] = 0, hi[k] = size[k] - 1;
        int64_t margin = (int64_t)fmax(6, 0.4 * (double)(hi[k] - lo[k] + 1));
        lo[k] = lo[k] - margin < 0 ? 0 : lo[k] - margin;
        hi[k] = hi[k] + margin >= size[k] ? size[k] - 1 : hi[k] + margin;
    }
    ie_html_printf(h, "<p>");
    ie_html_text(h, caption);
    ie_html_printf(h, "%s</p>\n<div class=\"thumbs\" data-centre=\"%lld %lld %lld\">",
                   count ? "" : " (the structure is in neither map)", (long long)centre[0], (long long)centre[1],
                   (long long)centre[2]);
    static const char *const names[3] = {"axial", "coronal", "sagittal"};
    for (int axis = 0; st == IE_OK && axis < (v.d > 1 ? 3 : 1); axis++)
        st = view(h, &v, axis, centre[axis], lo, hi, names[axis]);
    ie_html_printf(h, "</div>\n");
    ie_tensor_release(img), ie_tensor_release(tt), ie_tensor_release(pt);
    return st;
}
