/* core/util - reading whole files. */
#ifndef IE_CORE_UTIL_FILE_UTIL_H
#define IE_CORE_UTIL_FILE_UTIL_H

#include <stddef.h>

#include "innereye/status.h"

/* The whole file as a NUL-terminated malloc'd string (free() it); length may
 * be NULL.  Errors name the file. */
ie_status ie_read_file(const char *path, char **text, size_t *length);

#endif
