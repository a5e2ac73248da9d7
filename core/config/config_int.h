/* core/config/config_int.h - the host's settings readers' int getter. */
#ifndef IE_CORE_CONFIG_INT_H
#define IE_CORE_CONFIG_INT_H

#include "innereye/config.h"

/* ie_config_get_int into an int.  Exact for every schema key: the schema
 * bounds each integer key by INT_MAX (core/config/schema.c); a key beyond
 * int (a plugin's, unbounded) is an IE_ERR_CONFIG naming it, never a
 * truncated value. */
ie_status ie_config_get_int32(const ie_config *cfg, const char *path, int *out);

#endif
