/* core/data - the augmentations' draws and the affine resampler (rules in
 * augment.h; the intensity transforms are in augment_intensity.c). */
#include "core/data/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "innereye/threads.h"

enum {
    DRAW_ROTATE = 256,
    DRAW_ANGLES = 257, /* 257, 258, 259 */
    DRAW_ZOOM = 260,
    DRAW_SCALE = 261,
    DRAW_GAMMA = 262,
    DRAW_NOISE = 263,
    DRAW_NOISE_STD = 264,
    DRAW_BLUR = 265,
    DRAW_BRIGHTNESS = 266,
    DRAW_CONTRAST = 267,
    DRAW_LOWRES = 268,
    DRAW_GAMMA_INVERT = 269,
    DRAW_ELASTIC = 270,
    DRAW_ELASTIC_ALPHA = 271,
    DRAW_ELASTIC_SIGMA = 272,
    DRAW_GAMMA_CHANNEL = 512,        /* 512 + 2c: branch, 513 + 2c: value */
    DRAW_GAMMA_INVERT_CHANNEL = 768, /* likewise */
    DRAW_CHANNEL = 1024              /* 1024 + 8c + k, k below */
};
enum { CH_BLUR, CH_BLUR_SIGMA, CH_BRIGHTNESS, CH_CONTRAST_BRANCH, CH_CONTRAST, CH_LOWRES, CH_LOWRES_ZOOM };

void ie_augment_config_init(ie_augment_config *c) {
    memset(c, 0, sizeof *c);
    c->rotate_probability = 0.2;
    c->scale_range[0] = c->scale_range[1] = 1;
    c->scale_probability = 0.2;
    c->gamma_range[0] = c->gamma_range[1] = 1;
    c->gamma_probability = 0.3;
    c->gamma_retain_stats = true;
    c->noise_probability = 0.1;
    c->blur_probability = 0.2;
    c->blur_channel_probability = 0.5;
    c->brightness_range[0] = c->brightness_range[1] = 1;
    c->brightness_probability = 0.15;
    c->contrast_range[0] = c->contrast_range[1] = 1;
    c->contrast_probability = 0.15;
    c->lowres_zoom[0] = c->lowres_zoom[1] = 1;
    c->lowres_probability = 0.25;
    c->lowres_channel_probability = 0.5;
    c->gamma_invert_probability = 0;
    c->elastic_sigma[0] = 9, c->elastic_sigma[1] = 13;
    c->elastic_probability = 0.2;
    c->elastic_axes[0] = c->elastic_axes[1] = c->elastic_axes[2] = true;
}

static double uniform(const ie_rng *rng, uint64_t index, double lo, double hi) {
    return lo + (hi - lo) * (double)ie_rng_uniform_at(rng, index);
}

static void matmul3(const double a[9], const double b[9], double out[9]) {
    double r[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) r[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
    memcpy(out, r, sizeof r);
}

/* Rotation about index axis `axis` (0 = D, 1 = H, 2 = W) by `angle`. */
static void rotation(int axis, double angle, double m[9]) {
    int a = (axis + 1) % 3, b = (axis + 2) % 3; /* the plane it turns */
    double c = cos(angle), s = sin(angle);
    memset(m, 0, 9 * sizeof *m);
    m[axis * 3 + axis] = 1;
    m[a * 3 + a] = c;
    m[a * 3 + b] = -s;
    m[b * 3 + a] = s;
    m[b * 3 + b] = c;
}

/* nnU-Net's draw of a gamma or contrast factor from [lo, hi]: half the time
 * (when lo < 1) below 1, else at least 1, so that shrinking and stretching
 * are equally likely whatever the range's asymmetry. */
static double factor_below_or_above_one(const ie_rng *rng, uint64_t at, double lo, double hi) {
    if (lo < 1 && ie_rng_uniform_at(rng, at) < 0.5) return uniform(rng, at + 1, lo, 1);
    return uniform(rng, at + 1, lo > 1 ? lo : 1, hi);
}

static uint64_t channel_index(int c, int k) { return DRAW_CHANNEL + 8 * (uint64_t)c + (uint64_t)k; }

void ie_augment_draw_for(const ie_augment_config *cfg, const ie_rng *rng, int n_channels, ie_augment_draw *d) {
    memset(d, 0, sizeof *d);
    d->scale = 1;
    d->n_channels = n_channels < IE_AUGMENT_MAX_CHANNELS ? n_channels : IE_AUGMENT_MAX_CHANNELS;
    bool any_angle = cfg->rotate_degrees[0] > 0 || cfg->rotate_degrees[1] > 0 || cfg->rotate_degrees[2] > 0;
    d->rotate = any_angle && ie_rng_uniform_at(rng, DRAW_ROTATE) < cfg->rotate_probability;
    for (int a = 0; d->rotate && a < 3; a++) {
        double r = cfg->rotate_degrees[a] * M_PI / 180.0;
        d->angles[a] = uniform(rng, DRAW_ANGLES + (uint64_t)a, -r, r);
    }
    bool any_zoom = cfg->scale_range[0] != 1 || cfg->scale_range[1] != 1;
    d->zoom = any_zoom && ie_rng_uniform_at(rng, DRAW_ZOOM) < cfg->scale_probability;
    if (d->zoom) d->scale = uniform(rng, DRAW_SCALE, cfg->scale_range[0], cfg->scale_range[1]);
    bool any_gamma = cfg->gamma_range[0] != 1 || cfg->gamma_range[1] != 1;
    d->gamma = any_gamma && ie_rng_uniform_at(rng, DRAW_GAMMA) < cfg->gamma_probability;
    for (int c = 0; d->gamma && c < d->n_channels; c++)
        d->gammas[c] = factor_below_or_above_one(rng, DRAW_GAMMA_CHANNEL + 2 * (uint64_t)c, cfg->gamma_range[0],
                                                 cfg->gamma_range[1]);
    d->gamma_invert = any_gamma && ie_rng_uniform_at(rng, DRAW_GAMMA_INVERT) < cfg->gamma_invert_probability;
    for (int c = 0; d->gamma_invert && c < d->n_channels; c++)
        d->gammas_invert[c] = factor_below_or_above_one(rng, DRAW_GAMMA_INVERT_CHANNEL + 2 * (uint64_t)c,
                                                        cfg->gamma_range[0], cfg->gamma_range[1]);
    bool any_noise = cfg->noise_std[1] > 0;
    d->noise = any_noise && ie_rng_uniform_at(rng, DRAW_NOISE) < cfg->noise_probability;
    if (d->noise) d->noise_std = uniform(rng, DRAW_NOISE_STD, cfg->noise_std[0], cfg->noise_std[1]);
    d->blur = cfg->blur_sigma[1] > 0 && ie_rng_uniform_at(rng, DRAW_BLUR) < cfg->blur_probability;
    for (int c = 0; d->blur && c < d->n_channels; c++)
        if (ie_rng_uniform_at(rng, channel_index(c, CH_BLUR)) < cfg->blur_channel_probability)
            d->blur_sigma[c] = uniform(rng, channel_index(c, CH_BLUR_SIGMA), cfg->blur_sigma[0], cfg->blur_sigma[1]);
    bool any_brightness = cfg->brightness_range[0] != 1 || cfg->brightness_range[1] != 1;
    d->brightness = any_brightness && ie_rng_uniform_at(rng, DRAW_BRIGHTNESS) < cfg->brightness_probability;
    for (int c = 0; c < d->n_channels; c++)
        d->brightness_factor[c] = d->brightness ? uniform(rng, channel_index(c, CH_BRIGHTNESS), cfg->brightness_range[0],
                                                   cfg->brightness_range[1])
                                         : 1;
    bool any_contrast = cfg->contrast_range[0] != 1 || cfg->contrast_range[1] != 1;
    d->contrast = any_contrast && ie_rng_uniform_at(rng, DRAW_CONTRAST) < cfg->contrast_probability;
    for (int c = 0; c < d->n_channels; c++)
        d->contrast_factor[c] = d->contrast ? factor_below_or_above_one(rng, channel_index(c, CH_CONTRAST_BRANCH),
                                                                 cfg->contrast_range[0], cfg->contrast_range[1])
                                     : 1;
    bool any_lowres = cfg->lowres_zoom[0] != 1 || cfg->lowres_zoom[1] != 1;
    d->lowres = any_lowres && ie_rng_uniform_at(rng, DRAW_LOWRES) < cfg->lowres_probability;
    for (int c = 0; c < d->n_channels; c++) {
        d->lowres_zoom[c] = 1;
        if (d->lowres && ie_rng_uniform_at(rng, channel_index(c, CH_LOWRES)) < cfg->lowres_channel_probability)
            d->lowres_zoom[c] = uniform(rng, channel_index(c, CH_LOWRES_ZOOM), cfg->lowres_zoom[0], cfg->lowres_zoom[1]);
    }
    bool any_elastic = cfg->elastic_alpha[1] > 0 && cfg->elastic_sigma[1] > 0 &&
                       (cfg->elastic_axes[0] || cfg->elastic_axes[1] || cfg->elastic_axes[2]);
    d->elastic = any_elastic && ie_rng_uniform_at(rng, DRAW_ELASTIC) < cfg->elastic_probability;
    if (d->elastic) {
        d->elastic_alpha = uniform(rng, DRAW_ELASTIC_ALPHA, cfg->elastic_alpha[0], cfg->elastic_alpha[1]);
        d->elastic_sigma = uniform(rng, DRAW_ELASTIC_SIGMA, cfg->elastic_sigma[0], cfg->elastic_sigma[1]);
    }
    double m[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, r[9];
    for (int a = 0; d->rotate && a < 3; a++) {
        rotation(a, d->angles[a], r);
        matmul3(m, r, m);
    }
    for (int i = 0; i < 9; i++) d->matrix[i] = m[i] / d->scale;
}

/* ---- the affine resampler ---- */

typedef struct affine_job {
    const float *img;
    const int64_t *lab;
    float *img_out;
    int64_t *lab_out;
    int64_t channels, in[3], out[3], offset[3];
    double matrix[9], centre[3];
    const double *field; /* [3][out voxels] displacement, or NULL */
} affine_job;

static void affine_slice(void *ctx, int64_t z) {
    const affine_job *j = ctx;
    const int64_t D = j->in[0], H = j->in[1], W = j->in[2], plane = D * H * W;
    const int64_t oplane = j->out[0] * j->out[1] * j->out[2];
    for (int64_t y = 0; y < j->out[1]; y++)
        for (int64_t x = 0; x < j->out[2]; x++) {
            const int64_t o = (z * j->out[1] + y) * j->out[2] + x;
            double p[3] = {(double)z - j->centre[0], (double)y - j->centre[1], (double)x - j->centre[2]};
            if (j->field)
                for (int a = 0; a < 3; a++) p[a] += j->field[a * oplane + o];
            double q[3];
            for (int a = 0; a < 3; a++)
                q[a] = (double)j->offset[a] + j->centre[a] + j->matrix[a * 3] * p[0] + j->matrix[a * 3 + 1] * p[1] +
                       j->matrix[a * 3 + 2] * p[2];
            if (j->lab_out) {
                int64_t n[3];
                for (int a = 0; a < 3; a++) n[a] = (int64_t)floor(q[a] + 0.5);
                bool inside = n[0] >= 0 && n[0] < D && n[1] >= 0 && n[1] < H && n[2] >= 0 && n[2] < W;
                j->lab_out[o] = inside ? j->lab[(n[0] * H + n[1]) * W + n[2]] : 0;
            }
            if (!j->img_out) continue;
            int64_t b[3];
            double f[3];
            for (int a = 0; a < 3; a++) {
                double fl = floor(q[a]);
                b[a] = (int64_t)fl;
                f[a] = q[a] - fl;
            }
            int64_t idx[8];
            double w[8];
            int n = 0;
            for (int c = 0; c < 8; c++) {
                int64_t k = b[0] + (c >> 2), i = b[1] + ((c >> 1) & 1), l = b[2] + (c & 1);
                double wt = ((c >> 2) ? f[0] : 1 - f[0]) * (((c >> 1) & 1) ? f[1] : 1 - f[1]) *
                            ((c & 1) ? f[2] : 1 - f[2]);
                if (k < 0 || k >= D || i < 0 || i >= H || l < 0 || l >= W || wt == 0) continue;
                idx[n] = (k * H + i) * W + l;
                w[n++] = wt;
            }
            for (int64_t ch = 0; ch < j->channels; ch++) {
                const float *src = j->img + ch * plane;
                double v = 0;
                for (int c = 0; c < n; c++) v += w[c] * (double)src[idx[c]];
                j->img_out[ch * oplane + o] = (float)v;
            }
        }
}

ie_status ie_augment_affine(const ie_tensor *image, const ie_tensor *labels, const int64_t offset[3],
                            const int64_t size[3], const double matrix[9], ie_tensor **image_out,
                            ie_tensor **labels_out) {
    return ie_augment_warp(image, labels, offset, size, matrix, NULL, image_out, labels_out);
}

ie_status ie_augment_warp(const ie_tensor *image, const ie_tensor *labels, const int64_t offset[3],
                          const int64_t size[3], const double matrix[9], const double *field, ie_tensor **image_out,
                          ie_tensor **labels_out) {
    if (!offset || !size || !matrix || !image_out || !labels_out)
        return ie_error_set(IE_ERR_INVALID_ARG, "augment affine: NULL argument");
    *image_out = *labels_out = NULL;
    const ie_tensor *ref = image ? image : labels;
    if (!ref) return IE_OK;
    char a[64];
    if ((image && (ie_tensor_ndim(image) != 4 || ie_tensor_dtype(image) != IE_F32)) ||
        (labels && (ie_tensor_ndim(labels) != 3 || ie_tensor_dtype(labels) != IE_I64)))
        return ie_error_set(IE_ERR_SHAPE, "augment affine: expected image [C, D, H, W] f32 and labels [D, H, W] "
                            "i64, got %s", ie_tensor_describe(image ? image : labels, a, sizeof a));
    affine_job j = {.channels = image ? ie_tensor_dim(image, 0) : 0};
    for (int k = 0; k < 3; k++) {
        j.in[k] = ie_tensor_dim(ref, -3 + k);
        if (image && labels && ie_tensor_dim(labels, k) != j.in[k])
            return ie_error_set(IE_ERR_SHAPE, "augment affine: labels do not fit the image");
        if (size[k] < 1) return ie_error_set(IE_ERR_INVALID_ARG, "augment affine: window size %lld", (long long)size[k]);
        j.out[k] = size[k];
        j.offset[k] = offset[k];
        j.centre[k] = (double)(size[k] - 1) / 2.0;
    }
    memcpy(j.matrix, matrix, sizeof j.matrix);
    j.field = field;
    if (image) {
        const int64_t shape[4] = {j.channels, size[0], size[1], size[2]};
        IE_TRY(ie_tensor_empty(IE_F32, 4, shape, IE_CPU, image_out));
        j.img = ie_tensor_data(image);
        j.img_out = ie_tensor_data(*image_out);
    }
    if (labels) {
        ie_status st = ie_tensor_empty(IE_I64, 3, size, IE_CPU, labels_out);
        if (st != IE_OK) {
            ie_tensor_release(*image_out);
            *image_out = NULL;
            return st;
        }
        j.lab = ie_tensor_data(labels);
        j.lab_out = ie_tensor_data(*labels_out);
    }
    ie_parallel_for(size[0], affine_slice, &j);
    return IE_OK;
}
