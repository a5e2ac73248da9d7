/* core/metrics - segmentation metrics (the full set - Hausdorff, HD95, surface
 * distance - arrives with the segmentation issue). */
#ifndef IE_CORE_METRICS_SEGMENTATION_METRICS_H
#define IE_CORE_METRICS_SEGMENTATION_METRICS_H

#include "innereye/tensor.h"

/* Dice of class `cls` between two integer label maps of the same shape:
 * 2|P n T| / (|P| + |T|).  InnerEye's conventions: both empty gives NaN. */
double ie_dice(const ie_tensor *prediction, const ie_tensor *truth, int64_t cls);

/* argmax over dimension 1 of logits [N, C, ...] -> int64 [N, ...]. */
ie_status ie_argmax_channels(const ie_tensor *logits, ie_tensor **out);

#endif
