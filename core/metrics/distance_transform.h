/* core/metrics - the exact Euclidean distance transform on anisotropic grids
 * that the surface-distance metrics are built on. */
#ifndef IE_CORE_METRICS_DISTANCE_TRANSFORM_H
#define IE_CORE_METRICS_DISTANCE_TRANSFORM_H

#include <stdint.h>

#include "innereye/status.h"

/* For every voxel of a row-major grid with `ndim` (1 to 3) axes of `shape`
 * voxels, `spacing[a]` mm apart along axis a (the order of `shape`, so z, y, x
 * for a [D, H, W] volume), writes to out[i] the squared Euclidean distance in
 * mm^2 from voxel i's centre to the nearest centre of a voxel whose
 * features[] is non-zero; +inf everywhere when no voxel is a feature.
 *
 * Exact, not a chamfer approximation: one pass of Felzenszwalb and
 * Huttenlocher's lower envelope of parabolas per axis ("Distance transforms
 * of sampled functions", 2012), O(voxels) in all.  The lines of each pass are
 * cut into fixed chunks that run on the thread pool; each line is a pure
 * function of its input, so the result is bit-identical for any number of
 * threads.  Fails only on bad arguments or when memory runs out. */
ie_status ie_edt_squared(const uint8_t *features, int ndim, const int64_t *shape, const double *spacing,
                         double *out);

#endif
