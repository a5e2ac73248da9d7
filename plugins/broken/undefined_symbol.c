/* Broken: calls a function no library defines, so dlopen(RTLD_NOW) fails. */
#include "broken_common.h"

void ie_broken_no_such_function(void);

static const ie_plugin table = {BROKEN_VALID_FIELDS("UndefinedSymbol")};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) {
    ie_broken_no_such_function();
    return &table;
}
