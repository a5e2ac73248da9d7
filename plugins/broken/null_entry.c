/* Broken: the entry returns NULL instead of a table. */
#include "broken_common.h"

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return NULL; }
