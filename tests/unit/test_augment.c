/* Augmentations (core/data/augment.h) and their place in the segmentation
 * augment: pure functions of the rng, drawn within their ranges with their
 * probabilities, the identity at zero magnitude, labels kept in their class
 * set, rotations and zooms against analytic expectations, gamma as
 * nnU-Net's formula, noise of the drawn std, and the same bytes on any
 * thread count. */
#include <math.h>

#include "core/data/augment.h"
#include "core/data/segmentation_hooks.h"
#include "test_util.h"

/* [C, D, H, W] image with value f(c, z, y, x) and labels (z + y + x) % 3. */
static ie_sample make_sample(int64_t c, int64_t d, int64_t h, int64_t w,
                             double (*f)(int64_t, double, double, double)) {
    ie_sample s = {.struct_size = sizeof s, .subject = "aug"};
    const int64_t shape[4] = {c, d, h, w};
    CHECK_OK(ie_tensor_empty(IE_F32, 4, shape, IE_CPU, &s.image));
    CHECK_OK(ie_tensor_empty(IE_I64, 3, shape + 1, IE_CPU, &s.labels));
    float *p = ie_tensor_data_f32(s.image);
    int64_t *l = ie_tensor_data(s.labels);
    for (int64_t ch = 0, i = 0; ch < c; ch++)
        for (int64_t z = 0; z < d; z++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++, i++) {
                    p[i] = (float)f(ch, (double)z, (double)y, (double)x);
                    if (ch == 0) l[i] = (z + y + x) % 3;
                }
    return s;
}

static double f_wave(int64_t c, double z, double y, double x) { return sin(0.3 * x + 0.2 * y) * 50 + z + 7.0 * c; }
static double f_linear(int64_t c, double z, double y, double x) { return 0.5 * z + 2.0 * y - 3.0 * x + 7 + c; }

static ie_sample copy_of(const ie_sample *s) {
    ie_sample t = *s;
    ie_tensor_retain(t.image);
    ie_tensor_retain(t.labels);
    return t;
}

static bool same_tensor(const ie_tensor *a, const ie_tensor *b) {
    return ie_tensor_same_shape(a, b) && ie_tensor_dtype(a) == ie_tensor_dtype(b) &&
           memcmp(ie_tensor_data(a), ie_tensor_data(b), (size_t)ie_tensor_numel(a) * ie_dtype_size(ie_tensor_dtype(a))) ==
               0;
}

static void everything_on(ie_seg_config *cfg) {
    ie_seg_config_init(cfg);
    cfg->crop[0] = 8, cfg->crop[1] = 12, cfg->crop[2] = 12;
    cfg->flip[2] = true;
    ie_augment_config *a = &cfg->augment;
    a->rotate_degrees[0] = 15, a->rotate_degrees[1] = 10, a->rotate_degrees[2] = 5;
    a->scale_range[0] = 0.8, a->scale_range[1] = 1.2;
    a->gamma_range[0] = 0.7, a->gamma_range[1] = 1.5;
    a->noise_std[0] = 0, a->noise_std[1] = 0.1;
    a->rotate_probability = a->scale_probability = a->gamma_probability = a->noise_probability = 1;
    a->blur_sigma[0] = 0.5, a->blur_sigma[1] = 1;
    a->brightness_range[0] = a->contrast_range[0] = 0.75, a->brightness_range[1] = a->contrast_range[1] = 1.25;
    a->lowres_zoom[0] = 0.5, a->lowres_zoom[1] = 1;
    a->blur_probability = a->brightness_probability = a->contrast_probability = a->lowres_probability = 1;
    a->blur_channel_probability = a->lowres_channel_probability = a->gamma_invert_probability = 1;
    a->elastic_alpha[0] = 20, a->elastic_alpha[1] = 60, a->elastic_sigma[0] = 2, a->elastic_sigma[1] = 3;
    a->elastic_probability = 1;
}

static void test_determinism(void) {
    ie_seg_config cfg;
    everything_on(&cfg);
    ie_sample base = make_sample(2, 12, 16, 18, f_wave);
    ie_sample a = copy_of(&base), b = copy_of(&base), c = copy_of(&base), e = copy_of(&base);
    ie_rng r = ie_rng_make(9, IE_STREAM_AUGMENT, 3, 17), r_item = ie_rng_make(9, IE_STREAM_AUGMENT, 3, 18),
           r_epoch = ie_rng_make(9, IE_STREAM_AUGMENT, 4, 17);
    ie_threads_set(1);
    CHECK_OK(ie_seg_augment(&cfg, &a, &r));
    ie_threads_set(3);
    CHECK_OK(ie_seg_augment(&cfg, &b, &r));
    CHECK_OK(ie_seg_augment(&cfg, &c, &r_item));
    CHECK_OK(ie_seg_augment(&cfg, &e, &r_epoch));
    ie_threads_set(0);
    CHECK(same_tensor(a.image, b.image) && same_tensor(a.labels, b.labels),
          "the same (seed, epoch, item) gives the same bytes on 1 and 3 threads");
    CHECK(!same_tensor(a.image, c.image), "another item gives another sample");
    CHECK(!same_tensor(a.image, e.image), "another epoch gives another sample");
    int stray = 0;
    const int64_t *l = ie_tensor_data(a.labels);
    for (int64_t i = 0; i < ie_tensor_numel(a.labels); i++) stray += l[i] < 0 || l[i] > 2;
    CHECK(stray == 0, "rotated and zoomed labels stay in the class set {0, 1, 2} (%d strays)", stray);
    ie_sample_clear(&a), ie_sample_clear(&b), ie_sample_clear(&c), ie_sample_clear(&e), ie_sample_clear(&base);
}

static void test_identity_at_zero(void) {
    ie_seg_config plain, zero;
    ie_seg_config_init(&plain);
    plain.crop[0] = 6, plain.crop[1] = 20, plain.crop[2] = 9; /* H padded: 16 -> 20 */
    plain.flip[1] = true;
    zero = plain;
    ie_augment_config *a = &zero.augment;
    a->rotate_probability = a->scale_probability = a->gamma_probability = a->noise_probability = 1;
    a->blur_probability = a->brightness_probability = a->contrast_probability = a->lowres_probability = 1;
    a->blur_channel_probability = a->lowres_channel_probability = a->gamma_invert_probability = 1;
    a->elastic_probability = 1;
    /* magnitudes zero: rotate [0 0 0], scale [1 1], gamma [1 1], noise [0 0], blur [0 0], brightness, contrast
     * and low resolution [1 1], elastic alpha [0 0] */
    ie_sample base = make_sample(2, 10, 16, 14, f_wave);
    int differ = 0;
    for (uint32_t item = 0; item < 20; item++) {
        ie_sample x = copy_of(&base), y = copy_of(&base);
        ie_rng r = ie_rng_make(1, IE_STREAM_AUGMENT, 0, item);
        CHECK_OK(ie_seg_augment(&plain, &x, &r));
        CHECK_OK(ie_seg_augment(&zero, &y, &r));
        differ += !same_tensor(x.image, y.image) || !same_tensor(x.labels, y.labels);
        ie_sample_clear(&x), ie_sample_clear(&y);
    }
    CHECK(differ == 0, "zero-magnitude augmentation equals the plain crop (%d of 20 differ)", differ);

    /* the resampler with the identity matrix is the crop, padding included */
    const double eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const int64_t off[3] = {-2, 3, 5}, size[3] = {7, 8, 12};
    ie_tensor *img = NULL, *lab = NULL;
    CHECK_OK(ie_augment_affine(base.image, base.labels, off, size, eye, &img, &lab));
    int wrong = 0;
    for (int64_t c = 0; c < 2; c++)
        for (int64_t z = 0; z < 7; z++)
            for (int64_t y = 0; y < 8; y++)
                for (int64_t x = 0; x < 12; x++) {
                    int64_t sz = z - 2, sy = y + 3, sx = x + 5;
                    bool in = sz >= 0 && sz < 10 && sx < 14;
                    float want = in ? ie_tensor_data_f32(base.image)[((c * 10 + sz) * 16 + sy) * 14 + sx] : 0;
                    int64_t want_l = in ? ((const int64_t *)ie_tensor_data(base.labels))[(sz * 16 + sy) * 14 + sx] : 0;
                    wrong += ie_tensor_data_f32(img)[((c * 7 + z) * 8 + y) * 12 + x] != want;
                    if (c == 0) wrong += ((const int64_t *)ie_tensor_data(lab))[(z * 8 + y) * 12 + x] != want_l;
                }
    CHECK(wrong == 0, "identity resampling is the exact crop (%d voxels differ)", wrong);
    ie_tensor_release(img), ie_tensor_release(lab), ie_sample_clear(&base);
}

static void test_ranges(void) {
    ie_seg_config cfg;
    everything_on(&cfg);
    ie_augment_config *a = &cfg.augment;
    a->rotate_probability = 0.2, a->scale_probability = 0.5, a->gamma_probability = 0.3, a->noise_probability = 0.1;
    int rot = 0, zoom = 0, gam = 0, noise = 0, out = 0, low = 0, high = 0;
    double most[3] = {0, 0, 0};
    const int N = 4000;
    for (uint32_t item = 0; item < (uint32_t)N; item++) {
        ie_rng r = ie_rng_make(2, IE_STREAM_AUGMENT, 1, item);
        ie_augment_draw d;
        ie_augment_draw_for(a, &r, 2, &d);
        rot += d.rotate, zoom += d.zoom, gam += d.gamma, noise += d.noise;
        for (int k = 0; k < 3; k++) {
            double lim = a->rotate_degrees[k] * M_PI / 180;
            out += fabs(d.angles[k]) > lim;
            most[k] = fmax(most[k], fabs(d.angles[k]) / lim);
        }
        out += d.scale < 0.8 || d.scale > 1.2 || (!d.zoom && d.scale != 1);
        for (int c = 0; d.gamma && c < 2; c++) {
            out += d.gammas[c] < 0.7 || d.gammas[c] > 1.5;
            low += d.gammas[c] < 1, high += d.gammas[c] >= 1;
        }
        out += d.noise_std < 0 || d.noise_std > 0.1;
    }
    CHECK(out == 0, "%d draws outside their ranges", out);
    CHECK(most[0] > 0.99 && most[1] > 0.99 && most[2] > 0.99, "angles reach their limits (%.3f %.3f %.3f)", most[0],
          most[1], most[2]);
    CHECK(abs(rot - N / 5) < N / 25 && abs(zoom - N / 2) < N / 25 && abs(gam - 3 * N / 10) < N / 25 &&
              abs(noise - N / 10) < N / 25,
          "probabilities: rotate %d, zoom %d, gamma %d, noise %d of %d", rot, zoom, gam, noise, N);
    CHECK(abs(low - high) < (low + high) / 10, "gamma below and above 1 half the time each (%d / %d)", low, high);
}

/* nnU-Net's transforms at its probabilities and ranges: each drawn as often
 * as its probability says (within 4.5 binomial standard deviations of N p,
 * N = 4000 items: a false alarm has probability below 1e-5), per-channel
 * draws independent, and every value inside its range. */
static void test_nnunet_draws(void) {
    ie_augment_config a;
    ie_augment_config_init(&a); /* nnU-Net's probabilities */
    a.gamma_range[0] = 0.7, a.gamma_range[1] = 1.5, a.gamma_invert_probability = 0.1;
    a.noise_std[1] = 0.1;
    a.blur_sigma[0] = 0.5, a.blur_sigma[1] = 1;
    a.brightness_range[0] = a.contrast_range[0] = 0.75, a.brightness_range[1] = a.contrast_range[1] = 1.25;
    a.lowres_zoom[0] = 0.5, a.lowres_zoom[1] = 1;
    const int N = 4000;
    int blur = 0, blur_ch = 0, bright = 0, contrast = 0, lowres = 0, lowres_ch = 0, inv = 0, out = 0, below = 0;
    for (uint32_t item = 0; item < (uint32_t)N; item++) {
        ie_rng r = ie_rng_make(5, IE_STREAM_AUGMENT, 2, item);
        ie_augment_draw d;
        ie_augment_draw_for(&a, &r, 2, &d);
        blur += d.blur, bright += d.brightness, contrast += d.contrast, lowres += d.lowres, inv += d.gamma_invert;
        for (int c = 0; c < 2; c++) {
            blur_ch += d.blur && d.blur_sigma[c] > 0;
            lowres_ch += d.lowres && d.lowres_zoom[c] != 1;
            out += d.blur_sigma[c] != 0 && (d.blur_sigma[c] < 0.5 || d.blur_sigma[c] > 1);
            const double b = d.brightness_factor[c], f = d.contrast_factor[c];
            out += b < 0.75 || b > 1.25 || (!d.brightness && b != 1);
            out += f < 0.75 || f > 1.25 || (!d.contrast && f != 1);
            out += d.lowres_zoom[c] < 0.5 || d.lowres_zoom[c] > 1;
            out += d.gamma_invert && (d.gammas_invert[c] < 0.7 || d.gammas_invert[c] > 1.5);
            below += d.contrast && d.contrast_factor[c] < 1;
        }
    }
    const struct {
        const char *what;
        int count, trials;
        double p;
    } k[] = {{"blur", blur, N, 0.2},           {"blur per channel", blur_ch, 2 * blur, 0.5},
             {"brightness", bright, N, 0.15},  {"contrast", contrast, N, 0.15},
             {"low resolution", lowres, N, 0.25}, {"low resolution per channel", lowres_ch, 2 * lowres, 0.5},
             {"inverted gamma", inv, N, 0.1},  {"contrast below 1", below, 2 * contrast, 0.5}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        double mean = k[i].trials * k[i].p, sd = sqrt(k[i].trials * k[i].p * (1 - k[i].p));
        CHECK(fabs(k[i].count - mean) < 4.5 * sd, "%s drawn %d times of %d (want %.0f +- %.0f)", k[i].what, k[i].count,
              k[i].trials, mean, 4.5 * sd);
    }
    CHECK(out == 0, "%d draws outside their ranges", out);
}

/* The elastic deformation: drawn with its probability (4.5 binomial
 * standard deviations, as above) with alpha and sigma in their ranges; off
 * at alpha [0, 0] or without axes; its field a pure function of the rng
 * (same bytes on 1 and 3 threads, another item another field); in plane
 * (axes H, W): no displacement along D and one field for every slice; and
 * a deformed sample differs from the plain crop. */
static void test_elastic(void) {
    ie_augment_config a;
    ie_augment_config_init(&a);
    a.elastic_alpha[0] = 0, a.elastic_alpha[1] = 900, a.elastic_sigma[0] = 9, a.elastic_sigma[1] = 13;
    const int N = 4000;
    int drawn = 0, out = 0;
    for (uint32_t item = 0; item < (uint32_t)N; item++) {
        ie_rng r = ie_rng_make(6, IE_STREAM_AUGMENT, 1, item);
        ie_augment_draw d;
        ie_augment_draw_for(&a, &r, 1, &d);
        drawn += d.elastic;
        out += d.elastic && (d.elastic_alpha < 0 || d.elastic_alpha > 900 || d.elastic_sigma < 9 ||
                             d.elastic_sigma > 13);
        out += !d.elastic && (d.elastic_alpha != 0 || d.elastic_sigma != 0 || ie_augment_is_spatial(&d));
    }
    const double mean = N * 0.2, sd = sqrt(N * 0.2 * 0.8);
    CHECK(fabs(drawn - mean) < 4.5 * sd, "elastic drawn %d times of %d (want %.0f +- %.0f)", drawn, N, mean, 4.5 * sd);
    CHECK(out == 0, "%d elastic draws outside their ranges", out);

    ie_augment_config off = a;
    off.elastic_probability = 1, off.elastic_alpha[1] = 0;
    ie_augment_config no_axes = a;
    no_axes.elastic_probability = 1, no_axes.elastic_axes[0] = no_axes.elastic_axes[1] = no_axes.elastic_axes[2] = false;
    ie_rng r = ie_rng_make(6, IE_STREAM_AUGMENT, 1, 0);
    ie_augment_draw d;
    ie_augment_draw_for(&off, &r, 1, &d);
    CHECK(!d.elastic, "alpha [0, 0] turns the deformation off");
    ie_augment_draw_for(&no_axes, &r, 1, &d);
    CHECK(!d.elastic, "no axes turn the deformation off");

    a.elastic_probability = 1, a.elastic_sigma[0] = 2, a.elastic_sigma[1] = 3, a.elastic_alpha[0] = 30,
    a.elastic_alpha[1] = 60;
    const int64_t size[3] = {6, 20, 17}, n = 6 * 20 * 17;
    double *f1 = NULL, *f3 = NULL, *f_item = NULL, *f2d = NULL;
    ie_rng r_item = ie_rng_make(6, IE_STREAM_AUGMENT, 1, 1);
    ie_augment_draw_for(&a, &r, 1, &d);
    ie_threads_set(1);
    CHECK_OK(ie_augment_elastic_field(&a, &d, &r, size, &f1));
    ie_threads_set(3);
    CHECK_OK(ie_augment_elastic_field(&a, &d, &r, size, &f3));
    CHECK_OK(ie_augment_elastic_field(&a, &d, &r_item, size, &f_item));
    ie_augment_config flat = a;
    flat.elastic_axes[0] = false;
    CHECK_OK(ie_augment_elastic_field(&flat, &d, &r, size, &f2d));
    ie_threads_set(0);
    CHECK(memcmp(f1, f3, (size_t)(3 * n) * sizeof *f1) == 0, "elastic field: same bytes on 1 and 3 threads");
    CHECK(memcmp(f1, f_item, (size_t)(3 * n) * sizeof *f1) != 0, "elastic field: another item, another field");
    double biggest = 0, along_d = 0, varies = 0;
    for (int64_t i = 0; i < 3 * n; i++) biggest = fmax(biggest, fabs(f1[i]));
    for (int64_t i = 0; i < n; i++) along_d = fmax(along_d, fabs(f2d[i]));
    for (int64_t i = n; i < 3 * n; i++) varies = fmax(varies, fabs(f2d[i] - f2d[n * (i / n) + i % (20 * 17)]));
    CHECK(biggest > 0.5, "the field moves voxels (largest displacement %g voxels)", biggest);
    CHECK(along_d == 0 && varies == 0, "in plane: no displacement along D (%g), one field per slice (%g)", along_d,
          varies);
    free(f1), free(f3), free(f_item), free(f2d);

    ie_seg_config plain, deformed;
    ie_seg_config_init(&plain);
    plain.crop[0] = 6, plain.crop[1] = 12, plain.crop[2] = 12;
    deformed = plain;
    deformed.augment = a;
    ie_sample base = make_sample(1, 10, 16, 14, f_wave), x = copy_of(&base), y = copy_of(&base);
    CHECK_OK(ie_seg_augment(&plain, &x, &r));
    CHECK_OK(ie_seg_augment(&deformed, &y, &r));
    CHECK(!same_tensor(x.image, y.image), "a deformed sample differs from the plain crop");
    ie_sample_clear(&x), ie_sample_clear(&y), ie_sample_clear(&base);
}

/* out(p) = f(c + M (p - c)) at points whose source lies inside the volume. */
static double worst_error(const ie_tensor *img, const double m[9], const int64_t size[3], const int64_t in[3]) {
    double worst = 0, c[3];
    for (int k = 0; k < 3; k++) c[k] = (double)(size[k] - 1) / 2;
    int checked = 0;
    for (int64_t z = 0; z < size[0]; z++)
        for (int64_t y = 0; y < size[1]; y++)
            for (int64_t x = 0; x < size[2]; x++) {
                double p[3] = {z - c[0], y - c[1], x - c[2]}, q[3];
                bool inside = true;
                for (int k = 0; k < 3; k++) {
                    q[k] = c[k] + m[k * 3] * p[0] + m[k * 3 + 1] * p[1] + m[k * 3 + 2] * p[2];
                    inside = inside && q[k] >= 0 && q[k] <= (double)(in[k] - 1);
                }
                if (!inside) continue;
                checked++;
                double e = fabs(ie_tensor_data_f32(img)[(z * size[1] + y) * size[2] + x] -
                                f_linear(0, q[0], q[1], q[2]));
                if (e > worst) worst = e;
            }
    CHECK(checked > 100, "only %d interior points", checked);
    return worst;
}

static void test_analytic(void) {
    /* 90 degrees about D on a square plane: a permutation of voxels */
    ie_sample s = make_sample(1, 4, 9, 9, f_wave);
    const double r90[9] = {1, 0, 0, 0, 0, -1, 0, 1, 0}; /* (dy, dx) -> (-dx, dy) */
    const int64_t zero[3] = {0, 0, 0}, size[3] = {4, 9, 9};
    ie_tensor *img = NULL, *lab = NULL;
    CHECK_OK(ie_augment_affine(s.image, s.labels, zero, size, r90, &img, &lab));
    int wrong = 0;
    for (int64_t z = 0; z < 4; z++)
        for (int64_t y = 0; y < 9; y++)
            for (int64_t x = 0; x < 9; x++) {
                int64_t sy = 4 - (x - 4), sx = 4 + (y - 4), o = (z * 9 + y) * 9 + x, i = (z * 9 + sy) * 9 + sx;
                wrong += ie_tensor_data_f32(img)[o] != ie_tensor_data_f32(s.image)[i];
                wrong += ((int64_t *)ie_tensor_data(lab))[o] != ((int64_t *)ie_tensor_data(s.labels))[i];
            }
    CHECK(wrong == 0, "a 90-degree turn moves every voxel to its turned place (%d wrong)", wrong);
    ie_tensor_release(img), ie_tensor_release(lab), ie_sample_clear(&s);

    /* 30 degrees about D, then 20 about W, and a 1.25 zoom, on a linear
     * function: trilinear interpolation reproduces it exactly */
    s = make_sample(1, 14, 15, 16, f_linear);
    const int64_t in[3] = {14, 15, 16}, crop[3] = {10, 11, 12}, off[3] = {2, 2, 2};
    double th = M_PI / 6, ph = M_PI / 9, sc = 1.25;
    double rd[9] = {1, 0, 0, 0, cos(th), -sin(th), 0, sin(th), cos(th)};
    double rw[9] = {cos(ph), -sin(ph), 0, sin(ph), cos(ph), 0, 0, 0, 1}, m[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            m[i * 3 + j] = (rd[i * 3] * rw[j] + rd[i * 3 + 1] * rw[3 + j] + rd[i * 3 + 2] * rw[6 + j]) / sc;
    CHECK_OK(ie_augment_affine(s.image, NULL, off, crop, m, &img, &lab));
    CHECK(lab == NULL, "no labels in, none out");
    /* the window's corner is `off`: the source point is off + c + M (p - c) */
    double worst = 0, c[3] = {4.5, 5, 5.5};
    for (int64_t z = 0; z < 10; z++)
        for (int64_t y = 0; y < 11; y++)
            for (int64_t x = 0; x < 12; x++) {
                double p[3] = {z - c[0], y - c[1], x - c[2]}, q[3];
                bool inside = true;
                for (int k = 0; k < 3; k++) {
                    q[k] = 2 + c[k] + m[k * 3] * p[0] + m[k * 3 + 1] * p[1] + m[k * 3 + 2] * p[2];
                    inside = inside && q[k] >= 0 && q[k] <= (double)(in[k] - 1);
                }
                if (!inside) continue;
                double e = fabs(ie_tensor_data_f32(img)[(z * 11 + y) * 12 + x] - f_linear(0, q[0], q[1], q[2]));
                if (e > worst) worst = e;
            }
    CHECK(worst < 1e-4, "rotated and zoomed linear function: worst error %g", worst);
    ie_tensor_release(img);
    /* the same through worst_error with the window at the origin */
    CHECK_OK(ie_augment_affine(s.image, NULL, zero, crop, m, &img, &lab));
    double w2 = worst_error(img, m, crop, in);
    CHECK(w2 < 1e-4, "window at the origin: worst error %g", w2);
    ie_tensor_release(img), ie_sample_clear(&s);
}

static void test_intensity(void) {
    ie_augment_config a;
    ie_augment_config_init(&a);
    a.gamma_range[0] = a.gamma_range[1] = 2; /* always gamma 2 */
    a.gamma_probability = 1;
    a.gamma_retain_stats = false;
    ie_sample s = make_sample(2, 6, 7, 8, f_wave);
    ie_tensor *before = NULL;
    CHECK_OK(ie_tensor_clone(s.image, &before));
    ie_rng r = ie_rng_make(4, IE_STREAM_AUGMENT, 0, 0);
    ie_augment_draw d;
    ie_augment_draw_for(&a, &r, 2, &d);
    CHECK(d.gamma && d.gammas[0] == 2 && d.gammas[1] == 2 && !ie_augment_is_spatial(&d), "gamma 2 drawn");
    CHECK_OK(ie_augment_intensity(&a, &d, s.image, &r));
    const int64_t n = 6 * 7 * 8;
    double worst = 0;
    for (int c = 0; c < 2; c++) {
        const float *x = ie_tensor_data_f32(before) + c * n, *y = ie_tensor_data_f32(s.image) + c * n;
        double mn = INFINITY, mx = -INFINITY;
        for (int64_t i = 0; i < n; i++) mn = fmin(mn, x[i]), mx = fmax(mx, x[i]);
        for (int64_t i = 0; i < n; i++) {
            double want = pow((x[i] - mn) / (mx - mn + 1e-7), 2) * (mx - mn) + mn;
            worst = fmax(worst, fabs(y[i] - want));
        }
    }
    CHECK(worst < 1e-4, "gamma: nnU-Net's formula per channel (worst %g)", worst);
    /* retain_stats keeps mean and std */
    a.gamma_retain_stats = true;
    CHECK_OK(ie_tensor_copy_data(s.image, before));
    CHECK_OK(ie_augment_intensity(&a, &d, s.image, &r));
    for (int c = 0; c < 2; c++) {
        double m0 = 0, m1 = 0, v0 = 0, v1 = 0;
        const float *x = ie_tensor_data_f32(before) + c * n, *y = ie_tensor_data_f32(s.image) + c * n;
        for (int64_t i = 0; i < n; i++) m0 += x[i], m1 += y[i];
        m0 /= n, m1 /= n;
        for (int64_t i = 0; i < n; i++) v0 += (x[i] - m0) * (x[i] - m0), v1 += (y[i] - m1) * (y[i] - m1);
        CHECK(fabs(m0 - m1) < 1e-3 && fabs(sqrt(v0 / n) - sqrt(v1 / n)) < 1e-3,
              "retain_stats: mean %g -> %g, std %g -> %g", m0, m1, sqrt(v0 / n), sqrt(v1 / n));
    }
    /* noise: the drawn std, zero mean, the same on any thread count */
    ie_augment_config_init(&a);
    a.noise_std[0] = a.noise_std[1] = 0.5;
    a.noise_probability = 1;
    ie_sample big = make_sample(1, 32, 32, 32, f_wave), big2 = make_sample(1, 32, 32, 32, f_wave);
    ie_augment_draw_for(&a, &r, 1, &d);
    CHECK(d.noise && d.noise_std == 0.5, "noise std 0.5 drawn");
    ie_threads_set(1);
    CHECK_OK(ie_augment_intensity(&a, &d, big.image, &r));
    ie_threads_set(2);
    CHECK_OK(ie_augment_intensity(&a, &d, big2.image, &r));
    ie_threads_set(0);
    CHECK(same_tensor(big.image, big2.image), "noise is the same on 1 and 2 threads");
    ie_sample clean = make_sample(1, 32, 32, 32, f_wave);
    double sum = 0, sq = 0;
    const int64_t m = 32 * 32 * 32;
    for (int64_t i = 0; i < m; i++) {
        double e = ie_tensor_data_f32(big.image)[i] - ie_tensor_data_f32(clean.image)[i];
        sum += e, sq += e * e;
    }
    double mean = sum / m, sd = sqrt(sq / m - mean * mean);
    CHECK(fabs(mean) < 0.01 && fabs(sd - 0.5) < 0.01, "noise mean %g, std %g (want 0, 0.5)", mean, sd);
    ie_sample_clear(&big), ie_sample_clear(&big2), ie_sample_clear(&clean), ie_sample_clear(&s);
    ie_tensor_release(before);
}

int main(void) {
    test_determinism();
    test_identity_at_zero();
    test_ranges();
    test_nnunet_draws();
    test_elastic();
    test_analytic();
    test_intensity();
    return test_summary();
}
