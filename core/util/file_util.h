/* core/util - reading whole files, making folders, writing files atomically. */
#ifndef IE_CORE_UTIL_FILE_UTIL_H
#define IE_CORE_UTIL_FILE_UTIL_H

#include <stddef.h>
#include <stdio.h>

#include "innereye/status.h"

/* The longest run folder path (core/run/run_dir.h): every file a run
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

/* fsync(fd), 0 or the errno of its failure.  EINVAL and ENOTSUP count as
 * success: the file system cannot sync (a pipe, some FUSE or network mounts)
 * and nothing was lost; any other failure (EIO, ENOSPC, EDQUOT) means the data
 * may not be on disk.  Every writer of the project syncs through this one
 * rule.  Async-signal-safe (guard.c's crash record uses it). */
int ie_sync_fd(int fd);

/* Writes `text` to a new file `path`: a temporary file beside it, fsync,
 * then link() to the name, which fails when path exists, so an existing
 * file is never overwritten and no half-written file ever has the name.
 * IE_ERR_IO names the path and says what to do. */
ie_status ie_write_file_exclusive(const char *path, const char *text, size_t length);

/* Writes `text` to `path` atomically (temporary file, fsync, rename). */
ie_status ie_write_file_atomic(const char *path, const char *text, size_t length);

/* Closes `stream`, an open_memstream(text, size), writes what it holds to
 * `path` with ie_write_file_atomic and frees *text. */
ie_status ie_write_stream_atomic(FILE *stream, char **text, size_t *size, const char *path);

/* rm -r: removes `dir` with everything in it (symbolic links themselves, never
 * what they point to), as far as it can; for temporary folders and a run
 * folder given up before training began. */
void ie_remove_tree(const char *dir);

#endif
