/* Broken: built for a newer minor ABI version than the host speaks. */
#include "broken_common.h"

static const ie_plugin table = {BROKEN_VALID_FIELDS("NewerMinor"), .abi_minor = IE_PLUGIN_ABI_MINOR + 1};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
