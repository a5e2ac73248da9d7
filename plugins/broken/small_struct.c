/* Broken: struct_size claims a table shorter than ABI 1.0's (only the
 * leading size and version fields). */
#include "broken_common.h"

static const ie_plugin table = {BROKEN_VALID_FIELDS("SmallStruct"), .struct_size = offsetof(ie_plugin, name)};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
