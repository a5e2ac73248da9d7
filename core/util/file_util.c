/* core/util - reading whole files, making folders, writing files atomically. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/file_util.h"
#include "core/util/path.h"

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

int ie_sync_fd(int fd) {
    if (fsync(fd) == 0) return 0;
    int err = errno;
    return err == EINVAL || err == ENOTSUP ? 0 : err;
}

ie_status ie_write_file_exclusive(const char *path, const char *text, size_t length) {
    struct stat sb;
    if (lstat(path, &sb) == 0)
        return ie_error_set(IE_ERR_IO, "%s already exists; it is never overwritten (remove it or choose another "
                            "name)", path);
    char tmp[PATH_MAX];
    IE_TRY(ie_path_format(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return ie_error_set(IE_ERR_IO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
    size_t done = 0;
    int err = 0; /* the first failure's errno: later calls may change errno */
    while (done < length) {
        ssize_t n = write(fd, text + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            err = n < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t)n;
    }
    if (!err) err = ie_sync_fd(fd);
    if (close(fd) != 0 && !err) err = errno;
    bool ok = !err;
    if (ok && link(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    unlink(tmp);
    if (ok) return IE_OK;
    if (err == EEXIST)
        return ie_error_set(IE_ERR_IO, "%s already exists; it is never overwritten (remove it or choose another "
                            "name)", path);
    return ie_error_set(IE_ERR_IO, "%s: writing failed: %s; %s (nothing was written)", path, strerror(err),
                        err == ENOSPC ? "free some disk space" : "check that the folder is writable");
}

ie_status ie_write_file_atomic(const char *path, const char *text, size_t length) {
    char tmp[4096];
    IE_TRY(ie_path_format(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return ie_error_set(IE_ERR_IO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
    size_t done = 0;
    int err = 0; /* the first failure's errno: later calls may change errno */
    while (done < length) {
        ssize_t n = write(fd, text + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            err = n < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t)n;
    }
    if (!err) err = ie_sync_fd(fd);
    if (close(fd) != 0 && !err) err = errno;
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) {
        unlink(tmp);
        return ie_error_set(IE_ERR_IO, "%s: writing failed (%s); the previous file, if any, is unchanged: %s", path,
                            strerror(err),
                            err == ENOSPC || err == EDQUOT ? "free some disk space" : "check the folder");
    }
    return IE_OK;
}

ie_status ie_write_stream_atomic(FILE *stream, char **text, size_t *size, const char *path) {
    ie_status st = fclose(stream) == 0 && *text ? ie_write_file_atomic(path, *text, *size)
                                                : ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    free(*text);
    *text = NULL;
    return st;
}

void ie_remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char full[PATH_MAX];
            /* A longer path could not be removed anyway (ENAMETOOLONG). */
            if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >= (int)sizeof full) continue;
            struct stat sb;
            if (lstat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) ie_remove_tree(full);
            else remove(full);
        }
        closedir(d);
    }
    rmdir(dir);
}
