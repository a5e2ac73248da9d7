/* Broken: the entry function exists but was not marked IE_PLUGIN_EXPORT, so
 * -fvisibility=hidden keeps it out of the symbol table. */
#include "broken_common.h"

static const ie_plugin table = {BROKEN_VALID_FIELDS("NoEntry")};

const ie_plugin *ie_plugin_entry(void);
const ie_plugin *ie_plugin_entry(void) { return &table; }
