/* Resampling through ITK (ie_image_resample): the output grid, trilinear and
 * nearest values against SciPy's map_coordinates
 * (tests/reference/gen_resample.py), exact values where the old and new
 * grids share points, a linear function reproduced exactly, a constant image
 * staying constant (no zero border), label values staying in the label set,
 * 2-D images, and the refusals. */
#include <math.h>

#include <limits.h>
#include <stdlib.h>

#include "core/data/segmentation_hooks.h"
#include "innereye/image_io.h"
#include "test_util.h"

static ie_image_geometry grid(int ndim, const int64_t size[3], const double spacing[3], bool oblique) {
    ie_image_geometry g = {.ndim = ndim};
    for (int j = 0; j < 3; j++) {
        g.size[j] = j < ndim ? size[j] : 1;
        g.spacing[j] = j < ndim ? spacing[j] : 1;
        g.direction[j * 3 + j] = 1;
    }
    if (oblique) { /* 30 degrees about z, and an origin off zero */
        double c = cos(M_PI / 6), s = sin(M_PI / 6);
        double d[9] = {c, -s, 0, s, c, 0, 0, 0, 1};
        memcpy(g.direction, d, sizeof d);
        g.origin[0] = -12.5;
        g.origin[1] = 40.25;
        g.origin[2] = ndim == 3 ? 7 : 0;
    }
    return g;
}

static void test_against_scipy(void) {
    ie_params *fx = fixture_load("resample.safetensors");
    const int64_t size[3] = {12, 10, 8};
    const double old_sp[3] = {1.0, 1.5, 2.5}, new_sp[3] = {0.6, 2.4, 1.5};
    for (int oblique = 0; oblique < 2; oblique++) {
        ie_image_geometry g = grid(3, size, old_sp, oblique), ng;
        ie_tensor *lin = NULL, *near = NULL;
        CHECK_OK(ie_image_resample(fixture_get(fx, "image"), &g, new_sp, IE_INTERP_LINEAR, &lin, &ng));
        CHECK(ng.size[0] == 20 && ng.size[1] == 6 && ng.size[2] == 13, "new size %lldx%lldx%lld, want 20x6x13",
              (long long)ng.size[0], (long long)ng.size[1], (long long)ng.size[2]);
        CHECK(ng.spacing[0] == 0.6 && ng.spacing[1] == 2.4 && ng.spacing[2] == 1.5, "new spacing");
        CHECK(memcmp(ng.origin, g.origin, sizeof g.origin) == 0 && memcmp(ng.direction, g.direction,
                                                                           sizeof g.direction) == 0,
              "origin and direction are kept");
        check_close(oblique ? "linear (oblique grid) vs scipy" : "linear vs scipy", lin, fixture_get(fx, "linear"),
                    1e-6, 1e-5);
        CHECK_OK(ie_image_resample(fixture_get(fx, "labels"), &g, new_sp, IE_INTERP_NEAREST, &near, NULL));
        const ie_tensor *want = fixture_get(fx, "nearest");
        CHECK(ie_tensor_dtype(near) == IE_I64 && ie_tensor_numel(near) == ie_tensor_numel(want), "nearest: shape");
        int64_t wrong = 0;
        for (int64_t i = 0; i < ie_tensor_numel(want); i++)
            wrong += ((const int64_t *)ie_tensor_data(near))[i] != ((const int64_t *)ie_tensor_data(want))[i];
        CHECK(wrong == 0, "nearest: %lld labels differ from scipy's order-0 map_coordinates", (long long)wrong);
        ie_tensor_release(lin);
        ie_tensor_release(near);
    }
    ie_params_free(fx);
}

/* [D, H, W] f32 with value f(x, y, z). */
static ie_tensor *volume(const int64_t size[3], double (*f)(double, double, double)) {
    ie_tensor *t = NULL;
    const int64_t shape[3] = {size[2], size[1], size[0]};
    CHECK_OK(ie_tensor_empty(IE_F32, 3, shape, IE_CPU, &t));
    float *p = ie_f32(t);
    for (int64_t z = 0, i = 0; z < size[2]; z++)
        for (int64_t y = 0; y < size[1]; y++)
            for (int64_t x = 0; x < size[0]; x++, i++) p[i] = (float)f((double)x, (double)y, (double)z);
    return t;
}

static double f_hash(double x, double y, double z) { return fmod(x * 7.3 + y * 13.1 + z * 29.7, 17.0) - 3.0; }
static double f_linear(double x, double y, double z) { return 2.0 * x - 0.5 * y + 3.0 * z + 10.0; }
static double f_const(double x, double y, double z) { (void)x, (void)y, (void)z; return 42.5; }

static void test_exact_cases(void) {
    const int64_t size[3] = {9, 7, 6};
    const double one[3] = {1, 1, 1}, half[3] = {0.5, 0.5, 0.5};
    ie_image_geometry g = grid(3, size, one, true), ng;
    /* 1 mm -> 0.5 mm: every old voxel centre is a new one (index 2i): exact
     * on an axis-aligned grid; an oblique direction's rounding (index
     * 1.9999999...) may move a value by an ulp */
    ie_tensor *x = volume(size, f_hash), *y = NULL;
    for (int oblique = 0; oblique < 2; oblique++) {
        ie_image_geometry go = grid(3, size, one, oblique);
        CHECK_OK(ie_image_resample(x, &go, half, IE_INTERP_LINEAR, &y, &ng));
        CHECK(ng.size[0] == 18 && ng.size[1] == 14 && ng.size[2] == 12, "1 mm -> 0.5 mm doubles the size");
        int64_t wrong = 0;
        double worst = 0;
        for (int64_t k = 0; k < 6; k++)
            for (int64_t j = 0; j < 7; j++)
                for (int64_t i = 0; i < 9; i++) {
                    float a = ie_f32(y)[(2 * k * 14 + 2 * j) * 18 + 2 * i], b = ie_f32(x)[(k * 7 + j) * 9 + i];
                    wrong += a != b;
                    if (fabsf(a - b) > worst) worst = fabsf(a - b);
                }
        if (!oblique) CHECK(wrong == 0, "values at shared grid points are exact (%lld differ)", (long long)wrong);
        else CHECK(worst <= 4e-6, "oblique grid: shared grid points within %g", worst);
        ie_tensor_release(y);
    }
    ie_tensor_release(x);

    /* trilinear reproduces a linear function exactly inside the image */
    const double odd[3] = {0.7, 1.3, 0.45};
    x = volume(size, f_linear);
    CHECK_OK(ie_image_resample(x, &g, odd, IE_INTERP_LINEAR, &y, &ng));
    double worst = 0;
    for (int64_t k = 0; k < ng.size[2]; k++)
        for (int64_t j = 0; j < ng.size[1]; j++)
            for (int64_t i = 0; i < ng.size[0]; i++) {
                double px = i * 0.7, py = j * 1.3, pz = k * 0.45;
                if (px > 8 || py > 6 || pz > 5) continue; /* beyond the last voxel centre: edge values */
                double e = fabs(ie_f32(y)[(k * ng.size[1] + j) * ng.size[0] + i] - f_linear(px, py, pz));
                if (e > worst) worst = e;
            }
    CHECK(worst < 2e-5, "linear function: worst error %g", worst);
    ie_tensor_release(x);
    ie_tensor_release(y);

    /* a constant stays constant, also beyond the last voxel centres */
    const double fine[3] = {0.4, 0.35, 0.3}, coarse[3] = {2.5, 3.1, 1.7};
    x = volume(size, f_const);
    for (int c = 0; c < 2; c++) {
        CHECK_OK(ie_image_resample(x, &g, c ? coarse : fine, IE_INTERP_LINEAR, &y, &ng));
        int64_t off = 0;
        for (int64_t i = 0; i < ie_tensor_numel(y); i++) off += ie_f32(y)[i] != 42.5f;
        CHECK(off == 0, "constant image: %lld of %lld voxels changed (%s)", (long long)off,
              (long long)ie_tensor_numel(y), c ? "coarser" : "finer");
        ie_tensor_release(y);
    }
    ie_tensor_release(x);
}

static void test_labels_and_2d(void) {
    const int64_t size[3] = {11, 9, 5};
    const double sp[3] = {0.8, 0.8, 3.0}, iso[3] = {1.1, 1.1, 1.1};
    ie_image_geometry g = grid(3, size, sp, false), ng;
    const int64_t shape[3] = {5, 9, 11};
    ie_tensor *lab = NULL, *out = NULL;
    CHECK_OK(ie_tensor_empty(IE_U8, 3, shape, IE_CPU, &lab));
    uint8_t *p = ie_tensor_data(lab);
    for (int64_t i = 0; i < ie_tensor_numel(lab); i++) p[i] = (uint8_t)(i % 4 == 3 ? 7 : i % 3);
    CHECK_OK(ie_image_resample(lab, &g, iso, IE_INTERP_NEAREST, &out, &ng));
    CHECK(ie_tensor_dtype(out) == IE_U8, "nearest keeps the dtype");
    int64_t stray = 0;
    const uint8_t *q = ie_tensor_data(out);
    for (int64_t i = 0; i < ie_tensor_numel(out); i++) stray += q[i] != 0 && q[i] != 1 && q[i] != 2 && q[i] != 7;
    CHECK(stray == 0, "nearest-neighbour labels stay in {0, 1, 2, 7} (%lld strays)", (long long)stray);
    ie_tensor_release(out);
    CHECK_FAILS(ie_image_resample(lab, &g, iso, IE_INTERP_LINEAR, &out, NULL), IE_ERR_DTYPE,
                "resample label maps with nearest neighbour");
    ie_tensor_release(lab);

    /* 2-D: [H, W]; the z spacing is ignored */
    const int64_t size2[3] = {6, 4, 1};
    const double one[3] = {1, 1, 1}, half[3] = {0.5, 0.5, 99};
    ie_image_geometry g2 = grid(2, size2, one, true);
    const int64_t shape2[2] = {4, 6};
    ie_tensor *img = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, 2, shape2, IE_CPU, &img));
    for (int i = 0; i < 24; i++) ie_f32(img)[i] = (float)(i * i);
    CHECK_OK(ie_image_resample(img, &g2, half, IE_INTERP_LINEAR, &out, &ng));
    char buf[64];
    CHECK(strcmp(ie_tensor_describe(out, buf, sizeof buf), "[8, 12] f32") == 0, "2-D result %s", buf);
    CHECK(ie_f32(out)[2 * 12 + 4] == ie_f32(img)[1 * 6 + 2], "2-D shared grid point exact");
    CHECK(fabsf(ie_f32(out)[1] - 0.5f * (ie_f32(img)[0] + ie_f32(img)[1])) < 1e-5f, "2-D midpoint is the mean");
    CHECK(ng.spacing[2] == 1 && ng.size[2] == 1, "2-D keeps z");
    ie_tensor_release(out);

    /* refusals */
    const double bad[3] = {0.5, 0, 1};
    CHECK_FAILS(ie_image_resample(img, &g2, bad, IE_INTERP_LINEAR, &out, NULL), IE_ERR_INVALID_ARG,
                "target spacing 0 along axis 1");
    CHECK(out == NULL, "no output on failure");
    ie_image_geometry wrong = g2;
    wrong.size[0] = 7;
    CHECK_FAILS(ie_image_resample(img, &wrong, half, IE_INTERP_LINEAR, &out, NULL), IE_ERR_SHAPE,
                "does not match its 2-D geometry");
    ie_tensor_release(img);
}

static ie_status read_image(const ie_host *host, const char *path, ie_dtype dtype, ie_tensor **out) {
    (void)host;
    return ie_image_read(path, dtype, out, NULL);
}

/* data.target_spacing in the segmentation loader, and predictions moved
 * back onto the file's grid. */
static void test_in_loader(void) {
    char dir[] = "/tmp/ie_test_resample_XXXXXX", path[PATH_MAX];
    if (!mkdtemp(dir)) return;
    const int64_t size[3] = {10, 8, 6};
    const double sp[3] = {0.8, 1.0, 2.0};
    ie_image_geometry g = grid(3, size, sp, true);
    ie_tensor *img = volume(size, f_hash), *lab = NULL;
    const int64_t shape[3] = {6, 8, 10};
    CHECK_OK(ie_tensor_empty(IE_I64, 3, shape, IE_CPU, &lab));
    for (int64_t i = 0; i < 480; i++) ((int64_t *)ie_tensor_data(lab))[i] = i % 7 == 0 ? 2 : i % 3 == 0;
    snprintf(path, sizeof path, "%s/img.nii.gz", dir);
    CHECK_OK(ie_image_write(path, img, &g));
    snprintf(path, sizeof path, "%s/lab.nii.gz", dir);
    CHECK_OK(ie_image_write(path, lab, &g));
    const char *csv = "subject,filePath,channel\ns,img.nii.gz,image\ns,lab.nii.gz,label\n";
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_parse(csv, strlen(csv), "dataset.csv", dir, NULL, &ds));
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    const char *const channels[] = {"image"};
    cfg.n_image_channels = 1;
    cfg.image_channels = channels;
    cfg.truth = IE_SEG_TRUTH_LABEL_MAP;
    cfg.label_channel = "label";
    cfg.n_classes = 3;
    cfg.target_spacing[0] = 0.5, cfg.target_spacing[1] = 0.5, cfg.target_spacing[2] = 1.0;
    ie_host host = {.struct_size = sizeof host, .read_image = read_image};
    ie_sample s = {.struct_size = sizeof s};
    CHECK_OK(ie_seg_load(&cfg, ie_dataset_item_at(ds, 0), &host, &s));
    char buf[64];
    /* x: 10 * 0.8 / 0.5 = 16, y: 8 / 0.5 = 16, z: 6 * 2 / 1 = 12 */
    CHECK(strcmp(ie_tensor_describe(s.image, buf, sizeof buf), "[1, 12, 16, 16] f32") == 0, "resampled image %s", buf);
    CHECK(strcmp(ie_tensor_describe(s.labels, buf, sizeof buf), "[12, 16, 16] i64") == 0, "resampled labels %s", buf);
    int stray = 0;
    for (int64_t i = 0; i < ie_tensor_numel(s.labels); i++) stray += ((int64_t *)ie_tensor_data(s.labels))[i] > 2;
    CHECK(stray == 0, "resampled labels keep their classes");
    ie_tensor *pred = s.labels;
    ie_tensor_retain(pred);
    CHECK_OK(ie_seg_to_original_grid(&cfg, &g, &pred));
    CHECK(strcmp(ie_tensor_describe(pred, buf, sizeof buf), "[6, 8, 10] i64") == 0, "back on the file's grid: %s", buf);
    int64_t agree = 0;
    for (int64_t i = 0; i < 480; i++) agree += ((int64_t *)ie_tensor_data(pred))[i] == ((int64_t *)ie_tensor_data(lab))[i];
    CHECK(agree > 400, "labels there and back agree on %lld of 480 voxels", (long long)agree);
    ie_tensor_release(pred);
    ie_sample_clear(&s);
    ie_dataset_free(ds);
    ie_tensor_release(img);
    ie_tensor_release(lab);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    test_in_loader();
    test_against_scipy();
    test_exact_cases();
    test_labels_and_2d();
    return test_summary();
}
