/* core/plugin - the model's settings, read once. */
#include "core/plugin/model_settings.h"

ie_status ie_model_settings_read(const ie_config *cfg, ie_model_settings *out) {
    ie_model_settings s = {0};
    IE_TRY(ie_config_get_string(cfg, "model.name", &s.name));
    IE_TRY(ie_config_get_string(cfg, "model.plugin", &s.plugin));
    IE_TRY(ie_config_get_string(cfg, "model.init_checkpoint", &s.init_checkpoint));
    IE_TRY(ie_config_get_bool(cfg, "model.init_strict", &s.init_strict));
    *out = s;
    return IE_OK;
}

const char *ie_model_settings_plugin_spec(const ie_model_settings *model) {
    return model->plugin[0] ? model->plugin : model->name;
}
