/* core/data - the loader's settings, read once. */
#include "core/data/loader_settings.h"

#include "core/config/config_int.h"

#include <stdint.h>

ie_status ie_loader_settings_read(const ie_config *cfg, ie_loader_settings *out) {
    ie_loader_settings s = {0};
    int64_t cache_mb = 0;
    IE_TRY(ie_config_get_int32(cfg, "train.batch_size", &s.batch_size));
    IE_TRY(ie_config_get_int32(cfg, "data.workers", &s.workers));
    IE_TRY(ie_config_get_int32(cfg, "data.prefetch", &s.prefetch));
    IE_TRY(ie_config_get_int(cfg, "data.cache_mb", &cache_mb));
    s.cache_bytes = (size_t)cache_mb << 20;
    *out = s;
    return IE_OK;
}
