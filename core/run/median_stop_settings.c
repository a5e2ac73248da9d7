/* core/run - the median stopping rule's settings, read once. */
#include "core/run/median_stop_settings.h"

#include <stdint.h>
#include <string.h>

ie_status ie_median_stop_settings_read(const ie_config *cfg, ie_median_stop_settings *out) {
    const char *metric = "val_loss", *goal = "min", *siblings = "";
    int64_t min_epochs = 2;
    IE_TRY(ie_config_get_string(cfg, "train.median_stop.metric", &metric));
    IE_TRY(ie_config_get_string(cfg, "train.median_stop.goal", &goal));
    IE_TRY(ie_config_get_int(cfg, "train.median_stop.min_epochs", &min_epochs));
    IE_TRY(ie_config_get_string(cfg, "train.median_stop.siblings", &siblings));
    *out = (ie_median_stop_settings){.metric = metric, .maximize = !strcmp(goal, "max"), .min_epochs = (int)min_epochs,
                                     .siblings = siblings};
    return IE_OK;
}
