/* core/data - the cross-validation settings, read once. */
#include "core/data/cv_settings.h"

#include <stdint.h>

ie_status ie_cv_settings_read(const ie_config *cfg, ie_cv_settings *out) {
    int64_t splits = 0, split_index = -1, parallel = 1;
    bool choose = true;
    IE_TRY(ie_config_get_int(cfg, "cv.splits", &splits));
    IE_TRY(ie_config_get_int(cfg, "cv.split_index", &split_index));
    IE_TRY(ie_config_get_int(cfg, "cv.parallel", &parallel));
    IE_TRY(ie_config_get_bool(cfg, "cv.choose_postprocessing", &choose));
    *out = (ie_cv_settings){.splits = (int)splits, .split_index = (int)split_index, .parallel = (int)parallel,
                            .choose_postprocessing = choose};
    return IE_OK;
}
