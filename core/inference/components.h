/* core/inference - connected components of a label map.
 *
 * Two voxels are connected when they hold the same non-zero value and are
 * neighbours: 6-connectivity joins voxels that share a face (scipy.ndimage's
 * default structure, generate_binary_structure(3, 1), which InnerEye used),
 * 26-connectivity also joins those that share an edge or a corner
 * (generate_binary_structure(3, 3)).  Value 0 is background and never part
 * of a component.  On a binary mask this is exactly scipy.ndimage.label.
 *
 * Components are numbered 1, 2, ... in the raster order (D slowest, W
 * fastest) of their first voxel, the numbering scipy.ndimage.label gives.
 * Union-find over voxel indices, with every link pointing to a smaller
 * index, then one raster pass that turns links into numbers in place: the
 * only memory used is the int32 label array itself. */
#ifndef IE_CORE_INFERENCE_COMPONENTS_H
#define IE_CORE_INFERENCE_COMPONENTS_H

#include <stdint.h>

#include "innereye/status.h"

/* map: D*H*W values (row-major [D, H, W]); labels: D*H*W int32 outputs (0 for
 * background, else the component number); *count: components found.
 * Volumes of 2^31 voxels or more are refused. */
ie_status ie_components_label(const uint8_t *map, const int64_t size[3], int connectivity, int32_t *labels,
                              int32_t *count);

#endif
