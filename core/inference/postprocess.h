/* core/inference - from posteriors to a segmentation, in InnerEye's order
 * (InnerEye-DeepLearning's InferencePipeline.post_process and
 * FullImageInferencePipelineBase.post_process):
 *
 *   1. mask      voxels outside the subject's mask get posterior 1 for the
 *                background and 0 for every other class
 *                (image_util.apply_mask_to_posteriors);
 *   2. argmax    over classes, the first maximum winning (np.argmax);
 *   3. smoothing optional: each class's posteriors smoothed with a Gaussian
 *                of sigma = smoothing_mm / spacing voxels per axis
 *                (scipy.ndimage.gaussian_filter: mode "reflect", truncate
 *                4), then the argmax again (posterior_smoothing_mm);
 *   4. summed probability rules, in order (SummedProbabilityRule): a voxel
 *                labelled `external` where p(external) < p(first) +
 *                p(second) is relabelled first if p(first) >= p(second),
 *                else second;
 *   5. components: for each class of largest_component, only its largest
 *                connected component is kept (ties: the one whose first
 *                voxel comes first in raster order, np.argmax); with a
 *                fraction f in (0, 0.5), every component holding at least
 *                f of the class's voxels is kept instead, and the largest
 *                when none does (largest_connected_component_foreground_
 *                classes with a threshold; f = 0.5 keeps only the largest,
 *                as InnerEye).  Then, for every foreground class, components
 *                smaller than min_voxels voxels or min_mm3 cubic millimetres
 *                are removed, and for class c those smaller than
 *                class_min_component_mm3[c] (additions of ours; the latter is
 *                what a cross-validation chooses, core/experiment/
 *                cv_postprocess.h).  Removed voxels become background;
 *   6. slice exclusion rules, in order (SliceExclusionRule): when class
 *                `higher` appears in a slice (along D) at or below the
 *                highest slice of class `lower`, the voxels of the dominated
 *                class in the overlapping slices take the dominant class
 *                (`higher` when higher_dominates, else `lower`).
 *
 * Posteriors are [K, D, H, W] f32, segmentations [D, H, W] u8 (so at most
 * 255 classes); spacing is in mm along D, H, W. */
#ifndef IE_CORE_INFERENCE_POSTPROCESS_H
#define IE_CORE_INFERENCE_POSTPROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "innereye/tensor.h"

#define IE_POSTPROCESS_MAX_RULES 32
#define IE_POSTPROCESS_MAX_CLASSES 255

typedef struct ie_summed_rule {
    int first, second, external; /* class indices */
} ie_summed_rule;

typedef struct ie_slice_rule {
    int higher, lower; /* class indices */
    bool higher_dominates;
} ie_slice_rule;

typedef struct ie_postprocess_opts {
    double smoothing_mm[3];   /* D, H, W; all 0: no smoothing */
    int n_summed;
    ie_summed_rule summed[IE_POSTPROCESS_MAX_RULES];
    bool largest_component[IE_POSTPROCESS_MAX_CLASSES]; /* by class index (0 is never processed) */
    double largest_component_fraction;                   /* 0, or (0, 0.5] */
    int64_t min_component_voxels;                        /* 0: off */
    double min_component_mm3;                            /* 0: off */
    double class_min_component_mm3[IE_POSTPROCESS_MAX_CLASSES]; /* by class index; 0: off */
    int connectivity;                                    /* 6 or 26 */
    int n_slice;
    ie_slice_rule slice[IE_POSTPROCESS_MAX_RULES];
} ie_postprocess_opts;

/* Nothing: no smoothing, rules or component filtering; 6-connectivity. */
void ie_postprocess_opts_init(ie_postprocess_opts *opts);

/* Steps 1-6 above.  posteriors is modified in place (mask, smoothing);
 * mask (any dtype, [D, H, W], non-zero = inside) may be NULL.
 * *segmentation receives a new [D, H, W] u8 tensor. */
ie_status ie_postprocess(const ie_postprocess_opts *opts, ie_tensor *posteriors, const ie_tensor *mask,
                         const double spacing[3], ie_tensor **segmentation);

/* ---- the steps, for tests and other pipelines ---- */

ie_status ie_posteriors_apply_mask(ie_tensor *posteriors, const ie_tensor *mask);
/* scipy.ndimage.gaussian_filter(p[k], sigma) for every class k, in place;
 * sigma in voxels along D, H, W (axes with sigma <= 1e-15 are left alone,
 * as scipy). */
ie_status ie_posteriors_smooth(ie_tensor *posteriors, const double sigma[3]);
ie_status ie_posteriors_argmax(const ie_tensor *posteriors, ie_tensor **segmentation);
ie_status ie_segmentation_summed_rules(ie_tensor *segmentation, const ie_tensor *posteriors,
                                       const ie_summed_rule *rules, int count);
/* Step 5; voxel_mm3 is the volume of one voxel. */
ie_status ie_segmentation_filter_components(ie_tensor *segmentation, const ie_postprocess_opts *opts,
                                            double voxel_mm3);
ie_status ie_segmentation_slice_rules(ie_tensor *segmentation, const ie_slice_rule *rules, int count);

#endif
