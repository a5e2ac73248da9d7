/* tools - `innereye convert`: PyTorch / InnerEye-DeepLearning checkpoints to
 * safetensors.  The converter is tools/convert_pytorch_checkpoint.py (it
 * needs PyTorch to read pickles), installed beside the command in
 * share/innereye/tools; this runs it with $INNEREYE_PYTHON, else python3. */
#include "tools/cmd_convert.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/util/path.h"

#define SCRIPT "convert_pytorch_checkpoint.py"

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Installed: <bin>/../share/innereye/tools/SCRIPT; in a build tree: the
 * source tree's tools/SCRIPT. */
static bool find_script(char *out, size_t size) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        if (ie_path_format(out, size, "%s/../share/innereye/tools/" SCRIPT, exe) == IE_OK && is_file(out)) return true;
    }
    return ie_path_format(out, size, "%s/tools/" SCRIPT, IE_SOURCE_DIR) == IE_OK && is_file(out);
}

int ie_cmd_convert(int argc, char **argv) {
    char script[PATH_MAX + 64];
    if (!find_script(script, sizeof script)) {
        fprintf(stderr, "innereye convert: the converter %s is not installed beside innereye (share/innereye/tools) "
                        "nor in the source tree %s/tools; reinstall innereye (cmake --install)\n", SCRIPT,
                IE_SOURCE_DIR);
        return 1;
    }
    const char *python = getenv("INNEREYE_PYTHON");
    if (!python || !python[0]) python = "python3";
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args) {
        fprintf(stderr, "innereye convert: out of memory\n");
        return 1;
    }
    args[0] = (char *)python;
    args[1] = script;
    for (int i = 0; i < argc; i++) args[i + 2] = argv[i];
    fflush(stdout);
    execvp(python, args);
    fprintf(stderr, "innereye convert: cannot run %s: %s; install Python 3 with PyTorch (Debian: apt-get install "
                    "python3-torch) or name one with INNEREYE_PYTHON\n", python, strerror(errno));
    free(args);
    return 1;
}
