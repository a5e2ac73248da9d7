/* core/util - building file paths that are never silently cut short.
 *
 * A path made with snprintf into a fixed buffer is truncated when the run
 * folder, data folder or subject name is long, and the truncated name is then
 * read or written: a wrong result without an error.  Every path in core/ and
 * tools/ is made here instead; one that does not fit its buffer is an error
 * that names the path, its length and the limit, and says what to do. */
#ifndef IE_CORE_UTIL_PATH_H
#define IE_CORE_UTIL_PATH_H

#include <stdarg.h>
#include <stddef.h>

#include "innereye/status.h"

/* Formats a path into out (cap bytes, cap > 0).  When it does not fit, out is
 * "" and IE_ERR_IO says which path (its start and its end), how long it
 * would be and how long it may be. */
ie_status ie_path_format(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
ie_status ie_path_vformat(char *out, size_t cap, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* dir "/" name, exactly as "%s/%s" (a dir ending in '/' keeps it, so names
 * already recorded in run folders do not change), checked as above. */
ie_status ie_path_join(char *out, size_t cap, const char *dir, const char *name);

/* Removes the '/' at the end of a folder name the user gave ("--out
 * predictions/"), so that the paths made from it read
 * "predictions/case_01", not "predictions//case_01"; "/" itself stays. */
void ie_path_trim_slashes(char *path);

/* The growable form: a malloc'd path of whatever length (free() it), for
 * paths kept beyond one function; NULL with IE_ERR_NOMEM set when memory runs
 * out. */
char *ie_path_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
