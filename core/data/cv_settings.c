/* core/data - the cross-validation settings, read once. */
#include "core/data/cv_settings.h"

#include "core/config/config_int.h"

ie_status ie_cv_settings_read(const ie_config *cfg, ie_cv_settings *out) {
    ie_cv_settings s = {0};
    IE_TRY(ie_config_get_int32(cfg, "cv.splits", &s.splits));
    IE_TRY(ie_config_get_int32(cfg, "cv.split_index", &s.split_index));
    IE_TRY(ie_config_get_int32(cfg, "cv.parallel", &s.parallel));
    IE_TRY(ie_config_get_bool(cfg, "cv.choose_postprocessing", &s.choose_postprocessing));
    *out = s;
    return IE_OK;
}
