/* core/data - photometric normalisation of one image channel, with the
 * semantics of InnerEye-DeepLearning's photometric_normalization.py (config
 * key data.normalization; docs/data.md has the formulas).
 *
 *   None         unchanged.
 *   SimpleNorm   (x - mean) / max(std, 1e-6): mean and population std over
 *                the whole channel, in double.
 *   CtWindow     the window [level - width/2, level + width/2] mapped linearly
 *                onto output_range, values outside clamped (InnerEye's CTRange).
 *   MriWindow    Otsu's threshold t (scikit-image's threshold_otsu: a 256-bin
 *                histogram between the channel's min and max); over the voxels
 *                > t, the median m, the robust std s = (q75 - q25) / 1.3489795
 *                and the max M (numpy percentiles, method "midpoint"); voxels
 *                < t become 0; then [max(m - sharpen*s, t),
 *                min(M, m + tail*s*sharpen)] is mapped onto output_range.
 *   TrimmedNorm  the voxels strictly between the trim_percentiles; their
 *                median m, robust std s, min and max; [max(m - sharpen*s, min),
 *                min(m + sharpen*s, max)] is mapped onto output_range.
 *
 * The linear map is InnerEye's LinearTransform: gradient g and offset c in
 * double, then x * g + c in float32 and clamped to output_range (numpy does
 * the same with a float32 image).  InnerEye's optional body mask (mask_id)
 * is not supported: statistics use every voxel. */
#ifndef IE_CORE_DATA_NORMALIZE_H
#define IE_CORE_DATA_NORMALIZE_H

#include <stdint.h>

#include "innereye/status.h"

typedef enum ie_seg_norm {
    IE_SEG_NORM_NONE = 0,
    IE_SEG_NORM_SIMPLE = 1,
    IE_SEG_NORM_CT_WINDOW = 2,
    IE_SEG_NORM_MRI_WINDOW = 3,
    IE_SEG_NORM_TRIMMED = 4
} ie_seg_norm;

typedef struct ie_norm_params {
    double level, window;       /* CtWindow (InnerEye `level`, `window`): 50, 600 */
    double output_range[2];     /* windows and TrimmedNorm: -1, 1 */
    double sharpen;             /* MriWindow, TrimmedNorm: 0.9 */
    double tail;                /* MriWindow: 1 */
    double trim_percentiles[2]; /* TrimmedNorm: 1, 99 */
} ie_norm_params;

/* InnerEye's defaults (above). */
void ie_norm_params_init(ie_norm_params *p);

/* "None", "SimpleNorm", "CtWindow", "MriWindow", "TrimmedNorm" (InnerEye's
 * spellings "Simple Norm", "CT Window", "MRI Window", "Trimmed Norm" too). */
ie_status ie_norm_parse(const char *name, ie_seg_norm *out);
const char *ie_norm_name(ie_seg_norm method);

/* What the statistics came to (for messages and tests). */
typedef struct ie_norm_info {
    double threshold;      /* MriWindow: Otsu's threshold */
    double input_range[2]; /* the window mapped onto output_range */
} ie_norm_info;

/* Normalises x[0..n) in place.  Fails with IE_ERR_NUMERIC when a voxel is
 * not finite, or when the statistics leave no window (a channel with a
 * single value under MriWindow or TrimmedNorm), saying why; x is then
 * unchanged.  params NULL: defaults.  info may be NULL. */
ie_status ie_normalize(ie_seg_norm method, const ie_norm_params *params, float *x, int64_t n, ie_norm_info *info);

/* scikit-image's threshold_otsu(x, nbins=256) for float32 data, exactly. */
float ie_otsu_threshold(const float *x, int64_t n);

#endif
