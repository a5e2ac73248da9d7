/* core/util - reading whole files, making folders. */
#ifndef IE_CORE_UTIL_FILE_UTIL_H
#define IE_CORE_UTIL_FILE_UTIL_H

#include <stddef.h>

#include "innereye/status.h"

/* The longest run folder path (core/train/run_dir.h): every file a run
 * writes (checkpoints, predictions named after subjects of up to 200 bytes,
 * their temporary names) then fits the 4096 bytes of a path.  Checked before
 * the folder is made, so a long path never fails a run after an epoch; here
 * so that the checkpoint writer can check it too. */
#define IE_RUN_DIR_MAX 2900

/* The whole file as a NUL-terminated malloc'd string (free() it); length may
 * be NULL.  Errors name the file. */
ie_status ie_read_file(const char *path, char **text, size_t *length);

/* mkdir -p: dir and every missing folder above it (0755).  Errors name the
 * folder that could not be made. */
ie_status ie_make_dirs(const char *dir);

#endif
