/* core/data - the loader's settings, read once. */
#include "core/data/loader_settings.h"

#include <stdint.h>

static ie_status get_int(const ie_config *cfg, const char *key, int *out) {
    int64_t v = 0;
    IE_TRY(ie_config_get_int(cfg, key, &v));
    *out = (int)v; /* exact: the schema bounds every integer key by INT_MAX */
    return IE_OK;
}

ie_status ie_loader_settings_read(const ie_config *cfg, ie_loader_settings *out) {
    ie_loader_settings s = {0};
    int64_t cache_mb = 0;
    IE_TRY(get_int(cfg, "train.batch_size", &s.batch_size));
    IE_TRY(get_int(cfg, "data.workers", &s.workers));
    IE_TRY(get_int(cfg, "data.prefetch", &s.prefetch));
    IE_TRY(ie_config_get_int(cfg, "data.cache_mb", &cache_mb));
    s.cache_bytes = (size_t)cache_mb << 20;
    *out = s;
    return IE_OK;
}
