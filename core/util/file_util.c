/* core/util - reading whole files, making folders. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/file_util.h"

ie_status ie_read_file(const char *path, char **text, size_t *length) {
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory reading the file", path);
    if (failed) {
        free(buf);
        return ie_error_set(IE_ERR_IO, "%s: read failed", path);
    }
    buf[n] = '\0';
    *text = buf;
    if (length) *length = n;
    return IE_OK;
}

ie_status ie_make_dirs(const char *dir) {
    char buf[4096];
    if (!dir[0]) return ie_error_set(IE_ERR_INVALID_ARG, "an empty folder name was given");
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return ie_error_set(IE_ERR_IO, "%s: path too long", dir);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return ie_error_set(IE_ERR_IO, "%s: cannot create the folder: %s", buf, strerror(errno));
        if (!c) return IE_OK;
        *p = c;
    }
}
