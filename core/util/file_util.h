/* core/util - reading whole files, making folders. */
#ifndef IE_CORE_UTIL_FILE_UTIL_H
#define IE_CORE_UTIL_FILE_UTIL_H

#include <stddef.h>

#include "innereye/status.h"

/* The whole file as a NUL-terminated malloc'd string (free() it); length may
 * be NULL.  Errors name the file. */
ie_status ie_read_file(const char *path, char **text, size_t *length);

/* mkdir -p: dir and every missing folder above it (0755).  Errors name the
 * folder that could not be made. */
ie_status ie_make_dirs(const char *dir);

#endif
