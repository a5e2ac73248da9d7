/* core/util - checked path formatting (path.h). */
#include "core/util/path.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a too-long path the message quotes: its start (which folder)
 * and its end (which file); the middle of a 5000-byte path helps nobody and
 * would not fit the error message. */
#define QUOTE_HEAD 160
#define QUOTE_TAIL 120

static ie_status too_long(const char *fmt, va_list ap, size_t length, size_t cap) {
    char *full = malloc(length + 1);
    if (!full) return ie_error_set(IE_ERR_NOMEM, "out of memory quoting a path of %zu bytes", length);
    vsnprintf(full, length + 1, fmt, ap);
    bool cut = length > QUOTE_HEAD + QUOTE_TAIL;
    ie_status st = ie_error_set(IE_ERR_IO,
                                "the path '%.*s%s%s' is %zu bytes long, more than the %zu bytes allowed here; use "
                                "shorter folder or file names (a symbolic link with a short name to a deep folder "
                                "works) so that no file is read or written under a name cut short",
                                cut ? QUOTE_HEAD : (int)length, full, cut ? "..." : "",
                                cut ? full + length - QUOTE_TAIL : "", length, cap - 1);
    free(full);
    return st;
}

ie_status ie_path_vformat(char *out, size_t cap, const char *fmt, va_list ap) {
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(out, cap, fmt, ap);
    ie_status st = IE_OK;
    if (n < 0) {
        out[0] = '\0';
        st = ie_error_set(IE_ERR_INVALID_ARG, "a path could not be formatted from '%s'", fmt);
    } else if ((size_t)n >= cap) {
        out[0] = '\0';
        st = too_long(fmt, again, (size_t)n, cap);
    }
    va_end(again);
    return st;
}

ie_status ie_path_format(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ie_status st = ie_path_vformat(out, cap, fmt, ap);
    va_end(ap);
    return st;
}

ie_status ie_path_join(char *out, size_t cap, const char *dir, const char *name) {
    return ie_path_format(out, cap, "%s/%s", dir, name);
}

void ie_path_trim_slashes(char *path) {
    for (size_t n = strlen(path); n > 1 && path[n - 1] == '/'; n--) path[n - 1] = '\0';
}

char *ie_path_new(const char *fmt, ...) {
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *path = n < 0 ? NULL : malloc((size_t)n + 1);
    if (path) vsnprintf(path, (size_t)n + 1, fmt, again);
    va_end(again);
    va_end(ap);
    if (!path) ie_error_set(IE_ERR_NOMEM, "out of memory making a path from '%s'", fmt);
    return path;
}
