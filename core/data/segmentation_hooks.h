/* core/data - the host's default data hooks for segmentation: loading a
 * subject's image channels and ground truth, random crops and flips,
 * stacking samples into batches, and whole-volume padding for validation and
 * inference.
 *
 * Loading (ie_seg_load).  Each configured channel name is looked up in the
 * item's `channel` column; the row's `filePath` (relative paths start at the
 * item's root, the CSV's folder) is read through host->read_image.  Output:
 *   image  [C, D, H, W] f32, channels in config order, each normalised;
 *   labels [D, H, W] i64, from either
 *     - a label map (Decathlon style): one channel whose values are classes
 *       0..n_classes-1 (n_classes 0: only "not negative" is checked), or
 *     - binary masks (InnerEye style): mask k (any non-zero voxel) is class
 *       k + 1, 0 is background; where masks overlap the later structure in
 *       the list wins;
 *   or no labels (truth NONE: inference).
 * Resampling (target_spacing set): every channel is resampled to that
 * spacing right after reading (ie_image_resample; its grid comes from
 * ie_image_read_geometry of the same file), images linearly, label maps and
 * masks by nearest neighbour.
 * Every image and mask of a subject must have the same shape; otherwise the
 * error names the subject and every channel with its shape.  A 2D image
 * [H, W] is taken as [1, H, W].
 * Normalisation per image channel (normalize.h): None, SimpleNorm, CtWindow,
 * MriWindow or TrimmedNorm with InnerEye's semantics, over the whole image
 * (after resampling, before any crop).  A channel that cannot be normalised
 * (not finite, or no window) fails with a message naming subject and channel.
 *
 * Augmentation (ie_seg_augment): a crop of `crop` voxels (0 along an axis:
 * the full size) then flips.  Draws come from fixed indices of the rng so
 * that each decision uses the same numbers whatever else is configured:
 *   crop start along axis a: ie_rng_below on a copy of rng with next = 16*a;
 *   class choice (class-balanced sampling): ie_rng_uniform_at(rng, 96);
 *   voxel within the class: ie_rng_below on a copy with next = 128;
 *   flip along axis a: ie_rng_uniform_at(rng, 64 + a) < flip_probability.
 * Crop position: uniform over all positions where the crop lies inside the
 * image.  With class_weights, a class c present in the labels is chosen with
 * probability proportional to class_weights[c], then a voxel of that class
 * uniformly, and the crop is centred on it (voxel at index crop/2, shifted
 * to stay inside the image) - InnerEye's class-balanced crop sampling; when
 * no weighted class is present the position is uniform.  Along an axis where
 * the image is smaller than the crop, the image is padded with zeros (labels
 * 0): floor((crop - size) / 2) voxels before it and the rest after.
 * Then rotation and zoom (augment.h; these replace the plain crop by a
 * resampling of the whole volume around the crop's centre), the flips, and
 * gamma and noise on the image.
 * The augment never writes into the tensors it receives: it replaces them
 * with new ones (so its hooks set augment_keeps_input).
 *
 * Collate (ie_seg_collate): stacks image, labels and features along a new
 * first dimension ([N, C, D, H, W], [N, D, H, W]); all samples must have the
 * same shapes and types (else an error naming two subjects and their
 * shapes).  It leaves batch.subjects NULL: the loader, which owns the
 * subjects array, fills it.
 *
 * Whole volumes (ie_seg_load_whole): loads without crop and pads each
 * spatial size up to a multiple of M (the same before/after rule as crops),
 * recording what ie_seg_unpad needs to cut predictions back to the original
 * size. */
#ifndef IE_CORE_DATA_SEGMENTATION_HOOKS_H
#define IE_CORE_DATA_SEGMENTATION_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/data/augment.h"
#include "core/data/loader.h"
#include "core/data/normalize.h"
#include "innereye/image_io.h"

typedef enum ie_seg_truth {
    IE_SEG_TRUTH_NONE = 0,       /* no labels (inference) */
    IE_SEG_TRUTH_LABEL_MAP = 1,  /* one channel of class indices */
    IE_SEG_TRUTH_MASKS = 2       /* one binary mask channel per structure */
} ie_seg_truth;

/* Everything here is borrowed and must outlive the hooks' use. */
typedef struct ie_seg_config {
    const char *path_column;    /* "filePath" */
    const char *channel_column; /* "channel" */
    int n_image_channels;
    const char *const *image_channels;
    const ie_seg_norm *norm;    /* one per image channel; NULL: NONE for all */
    const ie_norm_params *norm_params; /* one per image channel; NULL: InnerEye's defaults */
    ie_seg_truth truth;
    const char *label_channel;  /* LABEL_MAP */
    int n_classes;              /* LABEL_MAP: values must be < n_classes (0: unchecked) */
    int n_mask_channels;        /* MASKS: structure k + 1 = mask_channels[k] */
    const char *const *mask_channels;
    /* augmentation */
    int64_t crop[3];            /* D, H, W; 0: full size along that axis */
    bool flip[3];               /* flip along D, H, W with flip_probability */
    float flip_probability;     /* 0.5 */
    const float *class_weights; /* NULL: uniform crop positions */
    int n_class_weights;
    ie_augment_config augment;  /* nnU-Net's spatial and intensity transforms (augment.h) */
    double target_spacing[3];   /* mm along x, y, z; 0: keep the files' grids */
} ie_seg_config;

/* Defaults: columns "filePath" / "channel", no truth, no crop, no flips,
 * flip probability 0.5, no class weights, no other augmentation, no
 * resampling. */
void ie_seg_config_init(ie_seg_config *cfg);

ie_status ie_seg_load(const ie_seg_config *cfg, const ie_dataset_item *item, const ie_host *host, ie_sample *out);
ie_status ie_seg_augment(const ie_seg_config *cfg, ie_sample *sample, const ie_rng *rng);
ie_status ie_seg_collate(const ie_sample *const *samples, int count, ie_batch *out);

/* The three as loader hooks with cfg as their context. */
ie_data_hooks ie_seg_hooks(const ie_seg_config *cfg);

/* ---- whole volumes ---- */

typedef struct ie_seg_padding {
    int64_t original[3]; /* D, H, W before padding */
    int64_t before[3];   /* zeros added before the image */
    int64_t padded[3];   /* D, H, W after padding */
} ie_seg_padding;

/* Pads the sample's image and labels (in place: the tensors are replaced) so
 * each spatial size is a multiple of multiple[a] (<= 1: unchanged). */
ie_status ie_seg_pad_to_multiple(ie_sample *sample, const int64_t multiple[3], ie_seg_padding *pad);
/* ie_seg_load, then ie_seg_pad_to_multiple. */
ie_status ie_seg_load_whole(const ie_seg_config *cfg, const ie_dataset_item *item, const ie_host *host,
                            const int64_t multiple[3], ie_sample *out, ie_seg_padding *pad);
/* A prediction [D, H, W] (any dtype) made on the loaded grid, moved onto the
 * grid of the subject's image file (`original`, from ie_image_read_geometry):
 * unchanged without target_spacing, else resampled from the grid
 * ie_seg_load resampled to, by nearest neighbour.  *volume is replaced. */
ie_status ie_seg_to_original_grid(const ie_seg_config *cfg, const ie_image_geometry *original, ie_tensor **volume);

/* Cuts the last three dimensions of t (any dtype, any leading dimensions,
 * for example [N, K, D, H, W] predictions) back to pad->original. */
ie_status ie_seg_unpad(const ie_tensor *t, const ie_seg_padding *pad, ie_tensor **out);

#endif
