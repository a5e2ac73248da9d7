/* core/data - the segmentation geometry, read once. */
#include "core/data/geometry_settings.h"

ie_status ie_geometry_settings_read(const ie_config *cfg, ie_geometry_settings *out) {
    ie_geometry_settings g = {.pad_multiple = 1};
    int n = 0;
    IE_TRY(ie_config_get_int_array(cfg, "data.crop_size", g.crop_size, 3, &g.n_crop_size));
    IE_TRY(ie_config_get_int_array(cfg, "data.test_crop_size", g.test_crop_size, 3, &g.n_test_crop_size));
    IE_TRY(ie_config_get_int(cfg, "data.pad_multiple", &g.pad_multiple));
    IE_TRY(ie_config_get_number_array(cfg, "data.target_spacing", g.target_spacing, 3, &n));
    if (n != 3) g.target_spacing[0] = g.target_spacing[1] = g.target_spacing[2] = 0;
    *out = g;
    return IE_OK;
}
