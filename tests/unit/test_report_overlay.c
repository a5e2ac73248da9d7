/* tests - the report's overlay thumbnails (core/report/overlay.c) on a
 * volume with anisotropic voxels (1 x 1 x 4 mm, 10 slices of 40 x 60): the
 * slices go through the centre of the structure's ground truth, the coronal
 * and sagittal views keep physical proportions (a 4 mm slice is drawn four
 * times as tall as a 1 mm voxel), and each thumbnail is a PNG whose header
 * gives the size the page states. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/report/report_impl.h"
#include "innereye/image_io.h"
#include "test_util.h"

enum { D = 10, H = 40, W = 60 };

static char dir[64];

static void write_volume(const char *name, ie_dtype dtype, int (*value)(int z, int y, int x)) {
    int64_t shape[3] = {D, H, W};
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_zeros(dtype, 3, shape, IE_CPU, &t));
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                size_t i = ((size_t)z * H + y) * W + x;
                if (dtype == IE_F32) ie_tensor_data_f32(t)[i] = (float)value(z, y, x);
                else ((int32_t *)ie_tensor_data(t))[i] = value(z, y, x);
            }
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &g));
    g.spacing[2] = 4.0; /* z: thick slices */
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_OK(ie_image_write(path, t, &g));
    ie_tensor_release(t);
}

static int image(int z, int y, int x) { return (x * 7 + y * 3 + z * 11) % 50; }
/* The truth: a box of z 2..6, y 10..19, x 30..49; centre (4, 14.5 -> 15, 39.5 -> 40). */
static int truth(int z, int y, int x) { return z >= 2 && z <= 6 && y >= 10 && y <= 19 && x >= 30 && x <= 49; }
/* The prediction: everything, so the crop is the whole volume. */
static int everything(int z, int y, int x) { return (void)z, (void)y, (void)x, 1; }

/* The <img width height> after data-view="name", and its PNG's own size. */
static void thumb_size(const char *html, const char *name, int *w, int *h, int *png_w, int *png_h) {
    char key[64];
    snprintf(key, sizeof key, "data-view=\"%s\"", name);
    const char *p = strstr(html, key);
    *w = *h = *png_w = *png_h = -1;
    if (!p || !(p = strstr(p, "<img "))) return;
    sscanf(p, "<img width=\"%d\" height=\"%d\"", w, h);
    p = strstr(p, "base64,");
    if (!p) return;
    /* The IHDR's width and height are bytes 16..23 of the PNG: base64
     * characters 0..31 decode bytes 0..23. */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t bytes[24];
    for (int i = 0; i < 8; i++) {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) v = v << 6 | (uint32_t)(strchr(b64, p[7 + 4 * i + k]) - b64);
        bytes[3 * i] = (uint8_t)(v >> 16), bytes[3 * i + 1] = (uint8_t)(v >> 8), bytes[3 * i + 2] = (uint8_t)v;
    }
    CHECK(!memcmp(bytes + 1, "PNG", 3), "%s: the thumbnail is a PNG", name);
    *png_w = bytes[16] << 24 | bytes[17] << 16 | bytes[18] << 8 | bytes[19];
    *png_h = bytes[20] << 24 | bytes[21] << 16 | bytes[22] << 8 | bytes[23];
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ie_test_overlay_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    write_volume("image.nii.gz", IE_F32, image);
    write_volume("truth.nii.gz", IE_I32, truth);
    write_volume("pred.nii.gz", IE_I32, everything);
    char image_path[128], truth_path[128], pred_path[128];
    snprintf(image_path, sizeof image_path, "%s/image.nii.gz", dir);
    snprintf(truth_path, sizeof truth_path, "%s/truth.nii.gz", dir);
    snprintf(pred_path, sizeof pred_path, "%s/pred.nii.gz", dir);

    ie_html h;
    CHECK_OK(ie_html_begin(&h, "overlay"));
    CHECK_OK(ie_report_overlay(&h, image_path, truth_path, false, pred_path, 1, "s1"));
    fflush(h.f);
    const char *html = h.buf;
    CHECK(strstr(html, "data-centre=\"4 15 40\"") != NULL, "the slices go through the truth's centre: %.200s",
          strstr(html, "data-centre") ? strstr(html, "data-centre") : "(none)");
    /* Whole volume: axial 40 x 60 mm, coronal and sagittal 40 mm (10 x 4) high
     * by 60 and 40 mm; the longer side is 150 pixels. */
    const struct {
        const char *name;
        int w, h;
    } want[3] = {{"axial", 150, 100}, {"coronal", 150, 100}, {"sagittal", 150, 150}};
    for (int k = 0; k < 3; k++) {
        int w, hh, pw, ph;
        thumb_size(html, want[k].name, &w, &hh, &pw, &ph);
        CHECK(w == want[k].w && hh == want[k].h, "%s: %dx%d pixels, physical proportions give %dx%d", want[k].name,
              w, hh, want[k].w, want[k].h);
        CHECK(pw == w && ph == hh, "%s: the PNG is %dx%d, the page says %dx%d", want[k].name, pw, ph, w, hh);
    }
    CHECK(strstr(html, "data-slice=\"4\"") && strstr(html, "data-slice=\"15\"") && strstr(html, "data-slice=\"40\""),
          "axial slice 4, coronal 15, sagittal 40");
    /* A prediction on another grid is refused, naming the file. */
    int64_t small[3] = {D, H, W / 2};
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_zeros(IE_I32, 3, small, IE_CPU, &t));
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(3, small, &g));
    CHECK_OK(ie_image_write(pred_path, t, &g));
    ie_tensor_release(t);
    CHECK_FAILS(ie_report_overlay(&h, image_path, truth_path, false, pred_path, 1, "s1"), IE_ERR_SHAPE,
                "pred.nii.gz");
    ie_html_discard(&h);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
