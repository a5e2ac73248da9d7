/* Broken: the task is not an ie_task_kind. */
#include "broken_common.h"

static const ie_plugin table = {BROKEN_VALID_FIELDS("BadTask"), .task = (ie_task_kind)7};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
