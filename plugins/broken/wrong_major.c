/* Broken: built for a different major ABI version (2.0). */
#include "broken_common.h"

static const ie_plugin table = {BROKEN_VALID_FIELDS("WrongMajor"), .abi_major = 2, .abi_minor = 0};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
