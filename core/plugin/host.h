/* core/plugin - the host context every plugin receives (ie_host): logging
 * to stdout/stderr and image reading through core/io.  One definition for the
 * trainer, `innereye infer` and the experiment tools. */
#ifndef IE_CORE_PLUGIN_HOST_H
#define IE_CORE_PLUGIN_HOST_H

#include <stdint.h>

#include "innereye/plugin.h"

/* A CPU host context for `seed` and `run_dir` (borrowed; "" outside a run),
 * with the current compute thread count. */
ie_host ie_host_default(uint64_t seed, const char *run_dir);

#endif
