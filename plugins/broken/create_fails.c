/* Loads, but create fails.  config_json picks how, so one plugin covers the
 * ways a create can go wrong:
 *   default      an error with the plugin's own message (the right way)
 *   "silent"     an error status without a message
 *   "no-model"   IE_OK without a model
 *   "odd-status" a status code that is not an ie_status
 * Its validate_config (an ABI 1.1 field) refuses a config containing
 * "invalid". */
#include <string.h>

#include "broken_common.h"

static ie_status failing_create(const char *config_json, const ie_host *host, ie_model **out) {
    (void)host;
    (void)out;
    if (strstr(config_json, "silent")) return IE_ERR_CONFIG;
    if (strstr(config_json, "no-model")) return IE_OK;
    if (strstr(config_json, "odd-status")) return (ie_status)99;
    return ie_error_set(IE_ERR_CONFIG, "CreateFails: model.params.depth must be at least 1, got 0");
}

static ie_status picky_validate(const char *config_json) {
    if (strstr(config_json, "invalid"))
        return ie_error_set(IE_ERR_CONFIG, "CreateFails: model.params.depth is missing");
    return IE_OK;
}

static const ie_plugin table = {BROKEN_VALID_FIELDS("CreateFails"), .create = failing_create,
                                .validate_config = picky_validate};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
