/* core/inference - sliding-window inference of a segmentation network over a
 * whole volume.
 *
 * A volume [C, D, H, W] is cut into overlapping windows (tiles) of the size
 * the network was made for; the windows go through the network a batch at a
 * time; each window's posteriors (softmax of the logits) are added into
 * per-class accumulators with a weight per voxel of the window, and the
 * weight each voxel received is summed; at the end the accumulators are
 * divided by that sum.  Only the accumulators (K x D x H x W floats, plus one
 * D x H x W weight sum) and one batch of windows are ever held, so memory
 * stays bounded however large the volume is.
 *
 * Window size.  opts.window (data.test_crop_size, else data.crop_size),
 * rounded up to a multiple of opts.multiple (data.pad_multiple: a UNet needs
 * sizes divisible by 2^depth).  Along an axis where the volume is smaller,
 * the window shrinks to the volume's size rounded up to the multiple (as
 * InnerEye's restrict_crop_size_to_image), and the volume is zero-padded to
 * the window, floor(extra / 2) voxels before it and the rest after (the rule
 * of the training crops); predictions in the padding are discarded.
 *
 * Window positions along an axis of (padded) size P with window w:
 *   - overlap o in [0, 1) (stride[a] == 0): nnU-Net's rule: n = ceil((P - w)
 *     / max(w (1 - o), 1)) + 1 windows, the first at 0, the last at P - w,
 *     evenly spaced in between (position i = round_half_even(i (P - w) /
 *     (n - 1)));
 *   - a fixed stride s >= 1: positions 0, s, 2s, ... and a last one at P - w.
 * Windows are visited in raster order (D slowest, W fastest).
 *
 * Weights.  IE_BLEND_UNIFORM: 1 everywhere.  IE_BLEND_GAUSSIAN: nnU-Net's
 * importance map, the product over axes of exp(-(x - c)^2 / (2 sigma^2))
 * with c = w // 2 and sigma = sigma_scale * w (nnU-Net: 1/8), scaled so its
 * maximum is 1; computed in double, stored as float (zeros, which appear
 * only for extreme sizes, are raised to the smallest non-zero weight so
 * every voxel is covered).
 *
 * Mirroring (test-time augmentation).  With mirror[a] set for some axes, each
 * batch also goes through the network flipped along every non-empty subset
 * of those axes (2^m passes in all, as nnU-Net); each output is flipped back
 * and the posteriors of all passes are averaged before blending.
 *
 * Determinism.  Windows are processed in a fixed order; within a window the
 * work is split by slice, each slice writing its own voxels; the normalising
 * division is elementwise.  Results are therefore bit-identical for any
 * thread count (the network itself is deterministic, docs/engine.md).
 * Autograd is switched off for the duration of the call. */
#ifndef IE_CORE_INFERENCE_SLIDING_WINDOW_H
#define IE_CORE_INFERENCE_SLIDING_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "innereye/tensor.h"

typedef enum ie_blend { IE_BLEND_GAUSSIAN = 0, IE_BLEND_UNIFORM = 1 } ie_blend;

typedef struct ie_window_opts {
    int64_t window[3];   /* D, H, W; >= 1 */
    int64_t multiple[3]; /* windows are multiples of this; <= 1: any size */
    double overlap;      /* [0, 1); used along axes whose stride is 0 */
    int64_t stride[3];   /* > 0: fixed stride (at most the window); 0: from overlap */
    int batch_size;      /* windows per network call, >= 1 */
    ie_blend blend;
    double sigma_scale;  /* Gaussian sigma as a fraction of the window (nnU-Net: 0.125) */
    bool mirror[3];      /* test-time mirroring along D, H, W */
} ie_window_opts;

/* Defaults: window 32^3, no multiple, overlap 0.5, batch 2, Gaussian blending
 * with sigma 1/8 of the window, no mirroring. */
void ie_window_opts_init(ie_window_opts *opts);

#define IE_WINDOW_MAX_STEPS 4096

/* Where the windows of a volume go. */
typedef struct ie_window_plan {
    int64_t size[3];    /* the volume, D, H, W */
    int64_t window[3];  /* the window actually used */
    int64_t padded[3];  /* max(size, window) */
    int64_t before[3];  /* zero padding before the volume */
    int n_steps[3];
    int64_t *steps[3];  /* window starts in padded coordinates (owned) */
    int64_t count;      /* windows in all */
} ie_window_plan;

ie_status ie_window_plan_make(const int64_t size[3], const ie_window_opts *opts, ie_window_plan *plan);
void ie_window_plan_free(ie_window_plan *plan);

/* The blending weights of a window [w0, w1, w2] (f32). */
ie_status ie_window_weights(const int64_t window[3], ie_blend blend, double sigma_scale, ie_tensor **out);

/* The network on a batch of windows [N, C, w0, w1, w2] f32 -> posteriors
 * [N, K, w0, w1, w2] f32 (probabilities: softmax already applied). */
typedef ie_status (*ie_window_fn)(void *ctx, ie_tensor *windows, ie_tensor **posteriors);

/* Sliding-window inference of `image` [C, D, H, W] f32 (CPU) with K =
 * n_classes outputs: *posteriors receives a new [K, D, H, W] f32 tensor.
 * Errors name the window (index and position) at which the network failed
 * or returned a wrong shape. */
ie_status ie_sliding_window(const ie_tensor *image, int n_classes, const ie_window_opts *opts, ie_window_fn fn,
                            void *ctx, ie_tensor **posteriors);

#endif
