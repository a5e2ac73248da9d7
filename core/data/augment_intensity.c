/* core/data - the intensity augmentations (rules and order in augment.h):
 * each a function of the draw alone (and, for noise, of the rng at fixed
 * indices), computed per channel in double and rounded to float once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/augment.h"
#include "innereye/threads.h"

#define NOISE_INDEX ((uint64_t)1 << 36)

/* ---- gamma ---- */

/* nnU-Net's augment_gamma on one channel; `invert` applies it to -x and
 * negates the result (invert_image=True). */
static void gamma_channel(float *x, int64_t n, double gamma, bool retain, bool invert) {
    const double sign = invert ? -1 : 1;
    double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = sign * x[i];
        sum += v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
    }
    double mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++) sq += (sign * x[i] - mean) * (sign * x[i] - mean);
    double sd = sqrt(sq / (double)n), range = mx - mn;
    for (int64_t i = 0; i < n; i++) x[i] = (float)(pow((sign * x[i] - mn) / (range + 1e-7), gamma) * range + mn);
    if (retain) {
        double sum2 = 0, sq2 = 0;
        for (int64_t i = 0; i < n; i++) sum2 += x[i];
        double mean2 = sum2 / (double)n;
        for (int64_t i = 0; i < n; i++) sq2 += ((double)x[i] - mean2) * ((double)x[i] - mean2);
        double scale = sd / (sqrt(sq2 / (double)n) + 1e-8);
        for (int64_t i = 0; i < n; i++) x[i] = (float)(((double)x[i] - mean2) * scale + mean);
    }
    if (invert)
        for (int64_t i = 0; i < n; i++) x[i] = -x[i];
}

/* ---- noise ---- */

typedef struct noise_job {
    float *x;
    int64_t n;
    double std;
    const ie_rng *rng;
} noise_job;

#define NOISE_CHUNK 4096 /* fixed chunks: the result never depends on the thread count */

static void noise_chunk(void *ctx, int64_t chunk) {
    const noise_job *j = ctx;
    int64_t end = (chunk + 1) * NOISE_CHUNK < j->n ? (chunk + 1) * NOISE_CHUNK : j->n;
    for (int64_t i = chunk * NOISE_CHUNK; i < end; i++)
        j->x[i] = (float)((double)j->x[i] + j->std * (double)ie_rng_normal_at(j->rng, NOISE_INDEX + (uint64_t)i));
}

/* ---- Gaussian blur: scipy.ndimage.gaussian_filter(truncate=4, mode="reflect") ---- */

/* scipy's "reflect" (d c b a | a b c d | d c b a): the edge voxel repeats. */
static int64_t reflect(int64_t i, int64_t n) {
    int64_t period = 2 * n;
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - 1 - i;
}

/* One 1-D pass along `axis` of the [D, H, W] volume v (in place, via line). */
static void blur_axis(double *v, const int64_t size[3], int axis, const double *kernel, int radius, double *line) {
    const int64_t n = size[axis];
    const int64_t stride = axis == 2 ? 1 : axis == 1 ? size[2] : size[1] * size[2];
    const int64_t total = size[0] * size[1] * size[2];
    for (int64_t start = 0; start < total; start++) {
        if ((start / stride) % n != 0) continue; /* the first voxel of each line along axis */
        for (int64_t i = 0; i < n; i++) {
            double acc = 0;
            for (int k = -radius; k <= radius; k++) acc += kernel[k + radius] * v[start + reflect(i + k, n) * stride];
            line[i] = acc;
        }
        for (int64_t i = 0; i < n; i++) v[start + i * stride] = line[i];
    }
}

static ie_status blur_channel(float *x, const int64_t size[3], double sigma) {
    const int radius = (int)(4.0 * sigma + 0.5); /* scipy: int(truncate * sd + 0.5) */
    const int64_t n = size[0] * size[1] * size[2];
    int64_t longest = size[0] > size[1] ? size[0] : size[1];
    longest = longest > size[2] ? longest : size[2];
    double *v = malloc((size_t)n * sizeof *v), *line = malloc((size_t)longest * sizeof *line),
           *kernel = malloc((size_t)(2 * radius + 1) * sizeof *kernel);
    if (!v || !line || !kernel) {
        free(v), free(line), free(kernel);
        return ie_error_set(IE_ERR_NOMEM, "augment blur: out of memory");
    }
    double sum = 0;
    for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] = exp(-0.5 * k * k / (sigma * sigma));
    for (int k = 0; k <= 2 * radius; k++) kernel[k] /= sum;
    for (int64_t i = 0; i < n; i++) v[i] = x[i];
    for (int axis = 0; axis < 3; axis++) blur_axis(v, size, axis, kernel, radius, line);
    for (int64_t i = 0; i < n; i++) x[i] = (float)v[i];
    free(v), free(line), free(kernel);
    return IE_OK;
}

/* ---- contrast: nnU-Net's augment_contrast with preserve_range ---- */

static void contrast_channel(float *x, int64_t n, double factor) {
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
    }
    double mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double v = ((double)x[i] - mean) * factor + mean;
        x[i] = (float)(v < mn ? mn : v > mx ? mx : v);
    }
}

/* ---- simulated low resolution ---- */

/* Input coordinate of output voxel i when n_in voxels are resized to n_out
 * (skimage's resize grid). */
static double resize_coordinate(int64_t i, int64_t n_in, int64_t n_out) {
    return ((double)i + 0.5) * ((double)n_in / (double)n_out) - 0.5;
}

static int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* Nearest neighbour (round half up, as scipy's order 0) from `in` to `out`. */
static void resize_nearest(const double *in, const int64_t si[3], double *out, const int64_t so[3]) {
    for (int64_t z = 0; z < so[0]; z++) {
        int64_t a = clamp_index((int64_t)floor(resize_coordinate(z, si[0], so[0]) + 0.5), si[0]);
        for (int64_t y = 0; y < so[1]; y++) {
            int64_t b = clamp_index((int64_t)floor(resize_coordinate(y, si[1], so[1]) + 0.5), si[1]);
            for (int64_t w = 0; w < so[2]; w++) {
                int64_t c = clamp_index((int64_t)floor(resize_coordinate(w, si[2], so[2]) + 0.5), si[2]);
                out[(z * so[1] + y) * so[2] + w] = in[(a * si[1] + b) * si[2] + c];
            }
        }
    }
}

/* Trilinear with the edge value beyond the edge (scipy's order 1, mode
 * "nearest"). */
static void resize_linear(const double *in, const int64_t si[3], float *out, const int64_t so[3]) {
    for (int64_t o = 0; o < so[0] * so[1] * so[2]; o++) {
        const int64_t p[3] = {o / (so[1] * so[2]), (o / so[2]) % so[1], o % so[2]};
        int64_t lo[3], hi[3];
        double f[3];
        for (int a = 0; a < 3; a++) {
            double q = resize_coordinate(p[a], si[a], so[a]), fl = floor(q);
            f[a] = q - fl;
            lo[a] = clamp_index((int64_t)fl, si[a]);
            hi[a] = clamp_index((int64_t)fl + 1, si[a]);
        }
        double v = 0;
        for (int c = 0; c < 8; c++) {
            int64_t k = (c >> 2) ? hi[0] : lo[0], i = ((c >> 1) & 1) ? hi[1] : lo[1], l = (c & 1) ? hi[2] : lo[2];
            double wt = ((c >> 2) ? f[0] : 1 - f[0]) * (((c >> 1) & 1) ? f[1] : 1 - f[1]) * ((c & 1) ? f[2] : 1 - f[2]);
            v += wt * in[(k * si[1] + i) * si[2] + l];
        }
        out[o] = (float)v;
    }
}

static ie_status lowres_channel(float *x, const int64_t size[3], double zoom) {
    int64_t small[3];
    for (int a = 0; a < 3; a++) {
        small[a] = (int64_t)nearbyint((double)size[a] * zoom); /* numpy's round: half to even */
        if (small[a] < 1) small[a] = 1;
    }
    const int64_t n = size[0] * size[1] * size[2];
    double *full = malloc((size_t)n * sizeof *full), *low = malloc((size_t)(small[0] * small[1] * small[2]) * sizeof *low);
    if (!full || !low) {
        free(full), free(low);
        return ie_error_set(IE_ERR_NOMEM, "augment low resolution: out of memory");
    }
    for (int64_t i = 0; i < n; i++) full[i] = x[i];
    resize_nearest(full, size, low, small);
    resize_linear(low, small, x, size);
    free(full), free(low);
    return IE_OK;
}

ie_status ie_augment_intensity(const ie_augment_config *cfg, const ie_augment_draw *draw, ie_tensor *image,
                               const ie_rng *rng) {
    if (!cfg || !draw || !rng) return ie_error_set(IE_ERR_INVALID_ARG, "augment intensity: NULL argument");
    if (!image || !(draw->gamma || draw->noise || draw->blur || draw->brightness || draw->contrast || draw->lowres ||
                    draw->gamma_invert))
        return IE_OK;
    char a[64];
    if (ie_tensor_ndim(image) != 4 || ie_tensor_dtype(image) != IE_F32)
        return ie_error_set(IE_ERR_SHAPE, "augment intensity: image is %s, expected [C, D, H, W] f32",
                            ie_tensor_describe(image, a, sizeof a));
    const int64_t channels = ie_tensor_dim(image, 0), size[3] = {ie_tensor_dim(image, 1), ie_tensor_dim(image, 2),
                                                                 ie_tensor_dim(image, 3)};
    const int64_t n = size[0] * size[1] * size[2];
    const int64_t drawn = channels < draw->n_channels ? channels : draw->n_channels;
    float *x = ie_tensor_data(image);
    if (n == 0) return IE_OK;
    if (draw->noise && draw->noise_std > 0) {
        noise_job j = {.x = x, .n = ie_tensor_numel(image), .std = draw->noise_std, .rng = rng};
        ie_parallel_for((j.n + NOISE_CHUNK - 1) / NOISE_CHUNK, noise_chunk, &j);
    }
    for (int64_t c = 0; draw->blur && c < drawn; c++)
        if (draw->blur_sigma[c] > 0) IE_TRY(blur_channel(x + c * n, size, draw->blur_sigma[c]));
    for (int64_t c = 0; draw->brightness && c < drawn; c++)
        for (int64_t i = 0; i < n; i++) x[c * n + i] = (float)((double)x[c * n + i] * draw->brightness_factor[c]);
    for (int64_t c = 0; draw->contrast && c < drawn; c++) contrast_channel(x + c * n, n, draw->contrast_factor[c]);
    for (int64_t c = 0; draw->lowres && c < drawn; c++)
        if (draw->lowres_zoom[c] != 1) IE_TRY(lowres_channel(x + c * n, size, draw->lowres_zoom[c]));
    for (int64_t c = 0; draw->gamma_invert && c < drawn; c++)
        gamma_channel(x + c * n, n, draw->gammas_invert[c], cfg->gamma_retain_stats, true);
    for (int64_t c = 0; draw->gamma && c < drawn; c++)
        gamma_channel(x + c * n, n, draw->gammas[c], cfg->gamma_retain_stats, false);
    return IE_OK;
}
