/* core/run - where a run computes, read once. */
#include "core/run/device_settings.h"

#include <string.h>

ie_status ie_device_settings_read(const ie_config *cfg, ie_device_settings *out) {
    ie_device_settings s = {.name = "cpu", .device = IE_CPU, .precision = IE_PRECISION_FP32};
    const char *precision = "fp32";
    IE_TRY(ie_config_get_string(cfg, "train.device", &s.name));
    IE_TRY(ie_config_get_string(cfg, "train.precision", &precision));
    s.device = strcmp(s.name, "cuda") == 0 ? IE_CUDA : IE_CPU;
    if (!ie_precision_parse(precision, &s.precision))
        return ie_error_set(IE_ERR_CONFIG, "train.precision: unknown value '%s' (fp32, tf32 or bf16)", precision);
    *out = s;
    return IE_OK;
}
