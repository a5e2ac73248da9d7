/* Broken: the required forward function is missing. */
#include "broken_common.h"

static const ie_plugin table = {BROKEN_VALID_FIELDS("NullForward"), .forward = NULL};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
