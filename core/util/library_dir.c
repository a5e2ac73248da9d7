/* core/util - where libinnereye's files are (library_dir.h). */
#define _GNU_SOURCE /* dladdr */
#include "core/util/library_dir.h"
#include "core/util/path.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The library folder relative to the executables' folder: the install's
 * (CMake's bindir to libdir, e.g. "../lib") and the build tree's (bin/ and
 * tests/ beside lib/). */
#ifndef IE_LIB_FROM_BIN
#define IE_LIB_FROM_BIN "../lib"
#endif
static const char *const from_executable[] = {IE_LIB_FROM_BIN, "../lib"};

static bool is_library_file(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libinnereye.so", strlen("libinnereye.so")) == 0;
}

ie_status ie_library_dir(char *buf, size_t size) {
    Dl_info info;
    char self[PATH_MAX];
    if (!dladdr((const void *)&ie_library_dir, &info) || !info.dli_fname)
        return ie_error_set(IE_ERR_INTERNAL, "cannot locate libinnereye itself (dladdr), so not the folder of its "
                                             "models and modules");
    if (is_library_file(info.dli_fname)) {
        if (!realpath(info.dli_fname, self))
            return ie_error_set(IE_ERR_IO, "cannot resolve libinnereye's path '%s'", info.dli_fname);
        char *slash = strrchr(self, '/');
        if (slash) *slash = '\0';
        if ((size_t)snprintf(buf, size, "%s", self) >= size)
            return ie_error_set(IE_ERR_INTERNAL, "libinnereye's folder path is longer than %zu bytes", size);
        return IE_OK;
    }
    /* In the main program dladdr names it as it was started (argv[0], maybe
     * found through PATH and relative to another folder): ask the kernel. */
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return ie_error_set(IE_ERR_IO, "cannot read /proc/self/exe, so not libinnereye's folder");
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    /* A host executable: the first candidate holding libinnereye.so.0 (which
     * every install and build tree has beside the models). */
    for (size_t i = 0; i < sizeof from_executable / sizeof *from_executable; i++) {
        char dir[PATH_MAX], probe[PATH_MAX + 32];
        if ((size_t)snprintf(dir, sizeof dir, "%s/%s", self, from_executable[i]) >= sizeof dir) continue;
        IE_TRY(ie_path_format(probe, sizeof probe, "%s/libinnereye.so.0", dir));
        if (access(probe, F_OK) != 0) continue;
        char real[PATH_MAX];
        if (!realpath(dir, real)) continue;
        if ((size_t)snprintf(buf, size, "%s", real) >= size)
            return ie_error_set(IE_ERR_INTERNAL, "libinnereye's folder path is longer than %zu bytes", size);
        return IE_OK;
    }
    return ie_error_set(IE_ERR_IO,
                        "cannot find libinnereye's folder from the program in %s (looked for libinnereye.so.0 in "
                        "%s/%s and %s/../lib); is the installation complete?",
                        self, self, IE_LIB_FROM_BIN, self);
}
