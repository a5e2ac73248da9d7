/* core/metrics - segmentation metrics per subject and structure: Dice,
 * Hausdorff distance, HD95 and mean surface distance (docs/metrics.md), and
 * the argmax that turns logits into a label map.
 *
 * Conventions (InnerEye-DeepLearning's, with MedPy's surfaces):
 *   - a structure's mask is the voxels holding its class index;
 *   - its surface is the mask voxels with at least one of their 2 x ndim face
 *     neighbours (6 in 3-D, 4 in 2-D) outside the mask or outside the volume:
 *     a mask touching the volume border is closed by that border;
 *   - a surface distance is the Euclidean distance in mm (the image's voxel
 *     spacing) from the centre of a surface voxel of one mask to the nearest
 *     surface voxel centre of the other; d(P->T) and d(T->P) are the two
 *     directed sets and U their union (a multiset of |dP| + |dT| values);
 *   - Hausdorff = max U; HD95 = 95th percentile of U with linear
 *     interpolation (numpy.percentile's default, MedPy's hd95); mean distance
 *     = mean of U (InnerEye's surface_distance(), not MedPy's assd, which
 *     averages the two directed means);
 *   - both masks empty: NaN for all four; exactly one empty: Dice 0 and the
 *     three distances +inf. */
#ifndef IE_CORE_METRICS_SEGMENTATION_METRICS_H
#define IE_CORE_METRICS_SEGMENTATION_METRICS_H

#include <stdint.h>

#include "innereye/image_io.h"
#include "innereye/tensor.h"

/* One structure of one subject. */
typedef struct ie_seg_metrics {
    double dice;             /* 2|P n T| / (|P| + |T|) */
    double hausdorff_mm;     /* max of U */
    double hd95_mm;          /* 95th percentile of U */
    double mean_distance_mm; /* mean of U */
} ie_seg_metrics;

/* Dice of class `cls` between two integer label maps of the same shape:
 * 2|P n T| / (|P| + |T|).  InnerEye's conventions: both empty gives NaN. */
double ie_dice(const ie_tensor *prediction, const ie_tensor *truth, int64_t cls);

/* Voxels of class `cls` in an integer label map. */
int64_t ie_label_count(const ie_tensor *labels, int64_t cls);

/* argmax over dimension 1 of logits [N, C, ...] -> int64 [N, ...]. */
ie_status ie_argmax_channels(const ie_tensor *logits, ie_tensor **out);

/* All four metrics between two binary masks (non-zero = inside) on the same
 * row-major grid of `ndim` (2 or 3) axes: `shape` is [D, H, W] or [H, W] and
 * spacing[a] the mm between voxel centres along axis a (so z, y, x).  Works
 * on the bounding box of the two masks, so the cost follows the structures'
 * size, not the volume's; the distance transforms run on the thread pool and
 * the result is bit-identical for any thread count. */
ie_status ie_seg_metrics_masks(const uint8_t *prediction, const uint8_t *truth, int ndim, const int64_t *shape,
                               const double *spacing, ie_seg_metrics *out);

/* Metrics of every foreground class c = 1 .. n_classes-1 between a predicted
 * and a true label map, into out[c - 1] (n_classes - 1 entries).  The maps
 * are CPU tensors of any dtype holding class indices (float values are
 * truncated), with the same number of elements; their last dimensions are the
 * image's [D, H, W] (or [H, W]) as `geometry` describes it (ie_image_read's
 * order) and any leading dimensions have size 1, so the trainer's [1, D, H, W]
 * maps are accepted as they are.  Voxel spacing comes from geometry->spacing
 * (x, y, z).  Class indices outside 0 .. n_classes-1 belong to no structure. */
ie_status ie_seg_metrics_labels(const ie_tensor *prediction, const ie_tensor *truth,
                                const ie_image_geometry *geometry, int n_classes, ie_seg_metrics *out);

#endif
