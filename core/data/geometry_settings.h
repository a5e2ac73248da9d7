/* core/data - the segmentation geometry: data.crop_size,
 * data.test_crop_size, data.pad_multiple and data.target_spacing, read once
 * from a resolved, validated config.
 *
 * The segmentation data setup (training crops, the grid volumes are
 * resampled to, the padding of whole volumes; core/train/data_setup.h) and
 * the inference settings (the window; core/inference/settings.h) take them
 * from here.  Each user checks what it needs with its own message. */
#ifndef IE_CORE_DATA_GEOMETRY_SETTINGS_H
#define IE_CORE_DATA_GEOMETRY_SETTINGS_H

#include <stdint.h>

#include "innereye/config.h"

typedef struct ie_geometry_settings {
    int64_t crop_size[3];      /* data.crop_size (D, H, W): the training crop */
    int n_crop_size;           /* how many sizes it lists (the schema: 3) */
    int64_t test_crop_size[3]; /* data.test_crop_size: the inference window */
    int n_test_crop_size;      /* 0: [] (data.crop_size is used), else 3 */
    int64_t pad_multiple;      /* data.pad_multiple: whole volumes are padded to a multiple of it */
    double target_spacing[3];  /* data.target_spacing (mm along x, y, z); all 0 for [] (the files' grids) */
} ie_geometry_settings;

/* Fills *out from a resolved config.  A missing key or one of the wrong type
 * is an IE_ERR_CONFIG naming the key; *out is untouched then. */
ie_status ie_geometry_settings_read(const ie_config *cfg, ie_geometry_settings *out);

#endif
