/* core/data - the data settings, read once. */
#include "core/data/data_settings.h"

#include <stdint.h>

static ie_status read_names(const ie_config *cfg, const char *key, const char **names, int *n) {
    return ie_config_get_string_array(cfg, key, names, IE_DATA_MAX_NAMES, n);
}

ie_status ie_data_settings_check_count(const char *key, int n, int capacity) {
    if (n <= capacity) return IE_OK;
    return ie_error_set(IE_ERR_CONFIG, "config key %s has %d elements, more than the %d expected here", key, n,
                        capacity);
}

ie_status ie_data_settings_read(const ie_config *cfg, ie_data_settings *out) {
    ie_data_settings s = {0}; /* filled whole, so a failed read leaves *out as it was */
    IE_TRY(ie_config_get_string(cfg, "data.dataset_csv", &s.dataset_csv));
    IE_TRY(ie_config_get_string(cfg, "data.root", &s.root));
    IE_TRY(ie_config_get_string(cfg, "data.images_dir", &s.images_dir));
    IE_TRY(ie_config_get_string(cfg, "data.labels_dir", &s.labels_dir));
    IE_TRY(ie_config_get_bool(cfg, "data.synthetic", &s.synthetic));
    IE_TRY(ie_config_get_bool(cfg, "data.fallback_synthetic", &s.fallback_synthetic));
    IE_TRY(ie_config_get_string(cfg, "data.label_channel", &s.label_channel));
    IE_TRY(read_names(cfg, "data.image_channels", s.image_channels, &s.n_image_channels));
    IE_TRY(read_names(cfg, "data.mask_channels", s.mask_channels, &s.n_mask_channels));
    IE_TRY(read_names(cfg, "data.classes", s.classes, &s.n_classes));
    IE_TRY(ie_config_get_string(cfg, "data.normalization", &s.normalization));
    int64_t axes[3];
    int n_axes = 0;
    IE_TRY(ie_config_get_int_array(cfg, "data.flip_axes", axes, 3, &n_axes));
    for (int i = 0; i < n_axes; i++) s.flip[axes[i]] = true; /* the schema keeps each axis in 0..2 */
    *out = s;
    return IE_OK;
}
