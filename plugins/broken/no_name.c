/* Broken: the table has an empty name, so users could not select it. */
#include "broken_common.h"

static const ie_plugin table = {BROKEN_VALID_FIELDS("")};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
