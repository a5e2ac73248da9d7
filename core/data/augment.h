/* core/data - random spatial and intensity augmentations of segmentation
 * samples (config data.augment.*, docs/data.md), each optional and each a
 * pure function of the sample's rng (seed, epoch, item).
 *
 *   rotation  angles uniform in [-r_a, r_a] degrees about the D, H and W
 *             axes (r = rotate_degrees), applied with rotate_probability;
 *   zoom      factor s uniform in scale_range, with scale_probability; s > 1
 *             enlarges the content (the crop sees a smaller region);
 *   gamma     nnU-Net's: per image channel, with probability 1/2 (when
 *             gamma_range[0] < 1) gamma uniform in [gamma_range[0], 1), else
 *             in [max(gamma_range[0], 1), gamma_range[1]); the channel is
 *             rescaled to [0, 1] by its min and range (+1e-7), raised to
 *             gamma and scaled back; with retain_stats its mean and std are
 *             restored afterwards; applied with gamma_probability;
 *   noise     std uniform in noise_std, one per sample, N(0, std^2) added to
 *             every image voxel, with noise_probability;
 *   blur      nnU-Net's GaussianBlurTransform: with blur_probability, each
 *             channel with blur_channel_probability gets a Gaussian filter of
 *             sigma (voxels, every axis) uniform in blur_sigma, as
 *             scipy.ndimage.gaussian_filter (truncate 4, mode "reflect");
 *   brightness  BrightnessMultiplicativeTransform: with brightness_probability
 *             each channel is multiplied by its factor uniform in
 *             brightness_range;
 *   contrast  ContrastAugmentationTransform: with contrast_probability, per
 *             channel a factor f (drawn as gamma is: half the time below 1)
 *             and x -> (x - mean) f + mean, clipped to the channel's former
 *             [min, max] (preserve_range);
 *   low resolution  SimulateLowResolutionTransform: with lowres_probability,
 *             each channel with lowres_channel_probability is resized to
 *             round(size * z) voxels (z uniform in lowres_zoom, every axis)
 *             by nearest neighbour and back to its size by linear
 *             interpolation, both at input coordinate (i + 1/2) in / out -
 *             1/2, edge clamped (nnU-Net v2's nearest-exact and trilinear);
 *   inverted gamma  with gamma_invert_probability: the gamma above (own
 *             draws) applied to -x and negated back (nnU-Net's
 *             invert_image=True gamma, run before the plain one);
 *   elastic   batchgenerators' elastic_deform_coordinates: with
 *             elastic_probability, alpha uniform in elastic_alpha and sigma
 *             (voxels) uniform in elastic_sigma, one per sample; along each
 *             axis a of elastic_axes a field of uniform noise in [-1, 1] on
 *             the crop's grid is smoothed by scipy.ndimage.gaussian_filter
 *             (sigma, truncate 4, mode "constant", i.e. zero outside) and
 *             scaled by alpha: the displacement (voxels) along a.  An axis
 *             left out of elastic_axes gets no displacement and the fields
 *             do not vary along it (nnU-Net's "dummy 2D" deformation of
 *             thick-slice data: one in-plane field for every slice).
 * The intensity transforms run in nnU-Net's order: noise, blur, brightness,
 * contrast, low resolution, inverted gamma, gamma.
 *
 * Elastic deformation, rotation and zoom act together, as batchgenerators'
 * SpatialTransform: output voxel p reads the input at
 *     offset + c + matrix * (p - c + displacement(p)),
 * the displacement in the crop's own axes before rotation and zoom.
 * They act in voxel index space around the centre of the crop
 * and read from the whole (uncropped) volume, so rotated corners hold image
 * content, not padding; images are sampled trilinearly (zero outside the
 * volume, as crop padding), labels by nearest neighbour (0 outside), so
 * labels keep their class values.  With no rotation and no zoom drawn the
 * result is exactly the plain crop.
 *
 * Random draws use fixed indices of the rng (the crop and flip draws of
 * segmentation_hooks.h use indices below 256): 256 rotate?, 257-259 angles,
 * 260 zoom?, 261 factor, 262 gamma?, 263 noise?, 264 noise std, 265 blur?,
 * 266 brightness?, 267 contrast?, 268 low resolution?, 269 inverted gamma?,
 * 512 + 2c and 513 + 2c channel c's gamma branch and value, 768 + 2c and
 * 769 + 2c the same for the inverted gamma, 270 elastic?, 271 alpha, 272
 * sigma, uniform draw 2^37 + 2^34 a + i for the elastic noise of axis a at
 * voxel i of its grid, 1024 + 8c + k channel c's blur?
 * (k 0), sigma (1), brightness (2), contrast branch (3) and factor (4), low
 * resolution? (5) and zoom (6), and normal draw 2^36 + i for the noise of
 * voxel i.  Every draw is a pure function of (seed, stream, epoch, item,
 * index): no result depends on worker or thread counts. */
#ifndef IE_CORE_DATA_AUGMENT_H
#define IE_CORE_DATA_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "innereye/rng.h"
#include "innereye/tensor.h"

#define IE_AUGMENT_MAX_CHANNELS 64

typedef struct ie_augment_config {
    double rotate_degrees[3]; /* about D, H, W; 0: none */
    double rotate_probability;
    double scale_range[2];    /* [1, 1]: none */
    double scale_probability;
    double gamma_range[2];    /* [1, 1]: none */
    double gamma_probability;
    bool gamma_retain_stats;
    double noise_std[2];      /* [0, 0]: none */
    double noise_probability;
    double blur_sigma[2];     /* [0, 0]: none */
    double blur_probability, blur_channel_probability;
    double brightness_range[2]; /* [1, 1]: none */
    double brightness_probability;
    double contrast_range[2]; /* [1, 1]: none */
    double contrast_probability;
    double lowres_zoom[2];    /* [1, 1]: none */
    double lowres_probability, lowres_channel_probability;
    double gamma_invert_probability; /* uses gamma_range; 0: none */
    double elastic_alpha[2];  /* [0, 0]: none */
    double elastic_sigma[2];  /* voxels */
    double elastic_probability;
    bool elastic_axes[3];     /* D, H, W: displaced and varying along */
} ie_augment_config;

/* Everything off; the probabilities at nnU-Net's values (rotation 0.2, zoom
 * 0.2, gamma 0.3, noise 0.1, blur 0.2 and 0.5 per channel, brightness 0.15,
 * contrast 0.15, low resolution 0.25 and 0.5 per channel, inverted gamma
 * 0.1, elastic 0.2 with sigma 9-13 as nnU-Net v1's default_3D_augmentation_params,
 * every axis). */
void ie_augment_config_init(ie_augment_config *cfg);

/* What one sample drew. */
typedef struct ie_augment_draw {
    bool rotate, zoom, gamma, noise, blur, brightness, contrast, lowres, gamma_invert, elastic;
    double elastic_alpha, elastic_sigma; /* 0 when no elastic deformation */
    double angles[3];  /* radians about D, H, W */
    double scale;      /* 1 when no zoom */
    int n_channels;
    double gammas[IE_AUGMENT_MAX_CHANNELS];
    double noise_std;
    double blur_sigma[IE_AUGMENT_MAX_CHANNELS];  /* 0: channel not blurred */
    double brightness_factor[IE_AUGMENT_MAX_CHANNELS]; /* multipliers */
    double contrast_factor[IE_AUGMENT_MAX_CHANNELS];   /* factors */
    double lowres_zoom[IE_AUGMENT_MAX_CHANNELS]; /* 1: channel kept */
    double gammas_invert[IE_AUGMENT_MAX_CHANNELS];
    double matrix[9];  /* output offset -> input offset, index space (D, H, W), row-major */
} ie_augment_draw;

void ie_augment_draw_for(const ie_augment_config *cfg, const ie_rng *rng, int n_channels, ie_augment_draw *out);

/* True when the draw moves voxels (a rotation, a zoom or a deformation). */
static inline bool ie_augment_is_spatial(const ie_augment_draw *d) { return d->rotate || d->zoom || d->elastic; }

/* Resamples a window of `size` voxels whose corner is at `offset` in the
 * input: output voxel p takes the input at
 *     offset + c + matrix * (p - c),   c = (size - 1) / 2,
 * image [C, D, H, W] f32 trilinearly (zero outside), labels [D, H, W] i64 by
 * nearest neighbour (0 outside).  Either input may be NULL. */
ie_status ie_augment_affine(const ie_tensor *image, const ie_tensor *labels, const int64_t offset[3],
                            const int64_t size[3], const double matrix[9], ie_tensor **image_out,
                            ie_tensor **labels_out);

/* The elastic displacement a draw asks for on a crop of `size` voxels:
 * *field_out is [3][D * H * W] doubles (voxels along D, H, W; row-major
 * voxels), malloc'ed for the caller to free; NULL when the draw has no
 * elastic deformation. */
ie_status ie_augment_elastic_field(const ie_augment_config *cfg, const ie_augment_draw *draw, const ie_rng *rng,
                                   const int64_t size[3], double **field_out);

/* The smoothing step alone (tests restate it in scipy): v holds the noise of
 * one axis, in [-1, 1], on `grid` (size 1 along axes left out of `axes`);
 * replaced by alpha * gaussian_filter(v, sigma, truncate 4, mode "constant")
 * along the axes in `axes`. */
ie_status ie_augment_smooth_displacement(double *v, const int64_t grid[3], const bool axes[3], double sigma,
                                         double alpha);

/* As ie_augment_affine, with output voxel p displaced by `field` (as
 * ie_augment_elastic_field makes it; NULL: none) before the matrix acts. */
ie_status ie_augment_warp(const ie_tensor *image, const ie_tensor *labels, const int64_t offset[3],
                          const int64_t size[3], const double matrix[9], const double *field, ie_tensor **image_out,
                          ie_tensor **labels_out);

/* The intensity transforms drawn, in place, on image [C, D, H, W] f32, in
 * the order above (core/data/augment_intensity.c). */
ie_status ie_augment_intensity(const ie_augment_config *cfg, const ie_augment_draw *draw, ie_tensor *image,
                               const ie_rng *rng);

#endif
