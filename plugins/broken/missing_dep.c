/* Broken: needs a shared library (libie_test_dep.so) that the dynamic linker
 * cannot find at run time (the plugin carries no RPATH to it). */
#include "broken_common.h"

int ie_test_dep_answer(void);

static const ie_plugin table = {BROKEN_VALID_FIELDS("MissingDep")};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return ie_test_dep_answer() == 42 ? &table : NULL; }
