/* nnU-Net's augmentations (core/data/augment.h) against an independent
 * restatement in numpy and scipy.ndimage (tests/reference/gen_augment.py):
 * Gaussian blur, brightness, contrast, simulated low resolution, inverted
 * and plain gamma, the affine resampler (rotation + zoom) and the elastic
 * deformation (field and warp, in 3-D and in plane), each applied
 * with the parameters a draw would carry (mirrored from the generator).
 *
 * Tolerances, from how the two sides compute:
 *   - blur, brightness, contrast, low resolution, affine: both sides start
 *     from the same float32 input, compute in double (errors of order
 *     1e-15 of the largest input magnitude M, from summation order) and
 *     round once to float32; two roundings of values that close differ by
 *     at most one float32 step, 2^-23 |value| <= 2^-23 M (|output| <= M for
 *     these maps, all averages or factors <= 1.2 of inputs).  Tolerance:
 *     atol = 2^-22 max(M, max |expected|), twice the bound.
 *   - gamma: the C side rounds the gamma-mapped channel y to float32 before
 *     restoring mean and std (nnU-Net does the same in float32), an error of
 *     2^-24 |y| <= 2^-24 M, which the rescaling by s = std(x) / std(y)
 *     (asserted <= 4 by the generator) multiplies by s, in the voxel and in
 *     the mean; then the final rounding, 2^-24 max |expected|.  Tolerance:
 *     atol = 2^-23 (2 * 4 M + max |expected|), twice the bound.
 *   - affine labels: nearest neighbour, exact (the generator checks that
 *     no sample lies within 1e-6 of a rounding tie).
 *   - elastic field (the smoothing of stored float32 noise): both sides
 *     filter in double (sums of at most 2 * 8 + 1 terms per pass, three
 *     passes: relative error below 1e-14), scipy's result is stored as
 *     float32, one rounding of 2^-24 |value|.  Tolerance: atol = 2^-23
 *     max |expected|, twice the bound.
 *   - elastic warp: both sides displace by the same stored float32 field,
 *     so the sample coordinates agree to double rounding (1e-14 voxels,
 *     moving an interpolated value by far less than 2^-24 M); the rest is
 *     the affine case's argument and tolerance, labels exact likewise. */
#include <math.h>

#include "core/data/augment.h"
#include "test_util.h"

static double max_abs(const ie_tensor *t) {
    double m = 0;
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) m = fmax(m, fabs((double)ie_tensor_data_f32((ie_tensor *)t)[i]));
    return m;
}

static ie_tensor *input_copy(ie_params *fx) { return fixture_leaf(fx, "image", false); }

/* Applies `draw` to a copy of the input and compares with fixture `key`. */
static void check_intensity(ie_params *fx, const char *key, const ie_augment_draw *draw, bool gamma_bound) {
    ie_augment_config cfg;
    ie_augment_config_init(&cfg);
    ie_rng rng = ie_rng_make(1, IE_STREAM_AUGMENT, 0, 0);
    ie_tensor *x = input_copy(fx);
    const ie_tensor *want = fixture_get(fx, key);
    const double m = max_abs(fixture_get(fx, "image")), e = max_abs(want);
    CHECK_OK(ie_augment_intensity(&cfg, draw, x, &rng));
    const double atol = gamma_bound ? ldexp(2 * 4 * m + e, -23) : ldexp(fmax(m, e), -22);
    char what[96];
    snprintf(what, sizeof what, "%s vs numpy/scipy (atol %.3g)", key, atol);
    check_close(what, x, want, 0, atol);
    ie_tensor_release(x);
}

static ie_augment_draw two_channels(void) {
    ie_augment_draw d = {.n_channels = 2, .scale = 1};
    for (int c = 0; c < IE_AUGMENT_MAX_CHANNELS; c++) d.brightness_factor[c] = d.contrast_factor[c] = d.lowres_zoom[c] = 1;
    return d;
}

static void test_intensity_transforms(ie_params *fx) {
    ie_augment_draw d = two_channels();
    d.blur = true, d.blur_sigma[0] = 0.7, d.blur_sigma[1] = 1.0;
    check_intensity(fx, "blur", &d, false);
    d = two_channels();
    d.brightness = true, d.brightness_factor[0] = 0.8, d.brightness_factor[1] = 1.2;
    check_intensity(fx, "brightness", &d, false);
    d = two_channels();
    d.contrast = true, d.contrast_factor[0] = 0.75, d.contrast_factor[1] = 1.2;
    check_intensity(fx, "contrast", &d, false);
    d = two_channels();
    d.lowres = true, d.lowres_zoom[0] = 0.5, d.lowres_zoom[1] = 0.77;
    check_intensity(fx, "lowres", &d, false);
    d = two_channels();
    d.gamma_invert = true, d.gammas_invert[0] = 0.8, d.gammas_invert[1] = 1.3;
    check_intensity(fx, "gamma_inv", &d, true);
    d = two_channels();
    d.gamma = true, d.gammas[0] = 1.4, d.gammas[1] = 0.75;
    check_intensity(fx, "gamma", &d, true);
}

static void test_affine(ie_params *fx) {
    double m[9];
    const ie_tensor *bits = fixture_get(fx, "affine_matrix");
    CHECK(ie_tensor_numel(bits) == 9, "affine matrix: 9 entries");
    memcpy(m, ie_tensor_data((ie_tensor *)bits), sizeof m);
    const int64_t offset[3] = {1, -2, 3}, size[3] = {7, 12, 9};
    ie_tensor *img = NULL, *lab = NULL;
    CHECK_OK(ie_augment_affine(fixture_get(fx, "image"), fixture_get(fx, "labels"), offset, size, m, &img, &lab));
    const ie_tensor *want = fixture_get(fx, "affine");
    const double atol = ldexp(fmax(max_abs(fixture_get(fx, "image")), max_abs(want)), -22);
    check_close("affine (rotation + zoom) vs scipy affine_transform", img, want, 0, atol);
    const ie_tensor *want_l = fixture_get(fx, "affine_labels");
    int64_t wrong = 0;
    CHECK(ie_tensor_numel(lab) == ie_tensor_numel(want_l), "affine labels: shape");
    for (int64_t i = 0; i < ie_tensor_numel(want_l) && i < ie_tensor_numel(lab); i++)
        wrong += ((const int64_t *)ie_tensor_data(lab))[i] != ((const int64_t *)ie_tensor_data((ie_tensor *)want_l))[i];
    CHECK(wrong == 0, "affine labels: %lld differ from scipy's order-0 affine_transform", (long long)wrong);
    ie_tensor_release(img);
    ie_tensor_release(lab);
}

static void check_labels(const char *what, const ie_tensor *got, const ie_tensor *want) {
    int64_t wrong = 0;
    CHECK(ie_tensor_numel(got) == ie_tensor_numel(want), "%s: shape", what);
    for (int64_t i = 0; i < ie_tensor_numel(want) && i < ie_tensor_numel(got); i++)
        wrong += ((const int64_t *)ie_tensor_data((ie_tensor *)got))[i] !=
                 ((const int64_t *)ie_tensor_data((ie_tensor *)want))[i];
    CHECK(wrong == 0, "%s: %lld differ from scipy's order-0 map_coordinates", what, (long long)wrong);
}

/* The smoothing of each axis's stored noise against scipy's gaussian_filter,
 * then the warp with scipy's field (so that the two checks stay apart). */
static void check_elastic(ie_params *fx, const char *name, const bool axes[3], double sigma, double alpha,
                          const double matrix[9]) {
    const int64_t size[3] = {7, 12, 9}, n = 7 * 12 * 9, offset[3] = {1, -2, 3};
    int64_t grid[3];
    for (int a = 0; a < 3; a++) grid[a] = axes[a] ? size[a] : 1;
    const int64_t g = grid[0] * grid[1] * grid[2];
    char key[64], what[128];
    snprintf(key, sizeof key, "%s_noise", name);
    const float *noise = ie_tensor_data_f32((ie_tensor *)fixture_get(fx, key));
    snprintf(key, sizeof key, "%s_field", name);
    const ie_tensor *want_field = fixture_get(fx, key);
    const float *want = ie_tensor_data_f32((ie_tensor *)want_field);
    const double atol_field = ldexp(max_abs(want_field), -23);
    double *v = malloc((size_t)g * sizeof *v), *field = calloc((size_t)(3 * n), sizeof *field);
    double worst = 0;
    for (int a = 0, k = 0; a < 3; a++) {
        if (!axes[a]) continue;
        for (int64_t i = 0; i < g; i++) v[i] = noise[k * g + i];
        CHECK_OK(ie_augment_smooth_displacement(v, grid, axes, sigma, alpha));
        for (int64_t i = 0; i < g; i++) worst = fmax(worst, fabs(v[i] - (double)want[k * g + i]));
        for (int64_t z = 0, i = 0; z < size[0]; z++) /* scipy's field, broadcast along the axes left out */
            for (int64_t y = 0; y < size[1]; y++)
                for (int64_t x = 0; x < size[2]; x++, i++)
                    field[a * n + i] = want[k * g + ((axes[0] ? z : 0) * grid[1] + (axes[1] ? y : 0)) * grid[2] +
                                            (axes[2] ? x : 0)];
        k++;
    }
    CHECK(worst <= atol_field, "%s field vs scipy gaussian_filter: max error %.3g > atol %.3g", name, worst, atol_field);
    ie_tensor *img = NULL, *lab = NULL;
    CHECK_OK(ie_augment_warp(fixture_get(fx, "image"), fixture_get(fx, "labels"), offset, size, matrix, field, &img,
                             &lab));
    const ie_tensor *want_img = fixture_get(fx, name);
    const double atol = ldexp(fmax(max_abs(fixture_get(fx, "image")), max_abs(want_img)), -22);
    snprintf(what, sizeof what, "%s warp vs scipy map_coordinates (atol %.3g)", name, atol);
    check_close(what, img, want_img, 0, atol);
    snprintf(key, sizeof key, "%s_labels", name);
    snprintf(what, sizeof what, "%s labels", name);
    check_labels(what, lab, fixture_get(fx, key));
    ie_tensor_release(img), ie_tensor_release(lab);
    free(v), free(field);
}

static void test_elastic(ie_params *fx) {
    double m[9];
    memcpy(m, ie_tensor_data((ie_tensor *)fixture_get(fx, "affine_matrix")), sizeof m);
    const bool all[3] = {true, true, true}, in_plane[3] = {false, true, true};
    const double eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    check_elastic(fx, "elastic", all, 2.0, 60.0, m);
    check_elastic(fx, "elastic2d", in_plane, 1.5, 20.0, eye);
}

/* A channel with no draw (sigma 0, zoom 1) is untouched, bit for bit. */
static void test_untouched_channel(ie_params *fx) {
    ie_augment_config cfg;
    ie_augment_config_init(&cfg);
    ie_rng rng = ie_rng_make(1, IE_STREAM_AUGMENT, 0, 0);
    ie_augment_draw d = two_channels();
    d.blur = true, d.blur_sigma[0] = 0.7;
    d.lowres = true, d.lowres_zoom[0] = 0.5;
    ie_tensor *x = input_copy(fx);
    CHECK_OK(ie_augment_intensity(&cfg, &d, x, &rng));
    const int64_t n = ie_tensor_numel(x) / 2;
    CHECK(memcmp(ie_tensor_data_f32(x) + n, ie_tensor_data_f32(fixture_get(fx, "image")) + n, (size_t)n * 4) == 0,
          "channel 1 without blur or low resolution drawn is unchanged");
    ie_tensor_release(x);
}

int main(void) {
    ie_params *fx = fixture_load("augment.safetensors");
    test_intensity_transforms(fx);
    test_affine(fx);
    test_elastic(fx);
    test_untouched_channel(fx);
    ie_params_free(fx);
    return test_summary();
}
