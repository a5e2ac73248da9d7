/* tools - config from the command line: configs/ folder, the model's
 * built-in config, flags. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/path.h"
#include "tools/cli_config.h"

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

ie_status ie_cli_config_dir(char *out, size_t size) {
    const char *env = getenv("INNEREYE_CONFIG_DIR");
    if (env && env[0]) {
        ie_status st = ie_path_format(out, size, "%s", env);
        return st == IE_OK ? IE_OK : ie_error_wrap(st, "INNEREYE_CONFIG_DIR");
    }
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        struct stat st;
        if (ie_path_format(out, size, "%s/../share/innereye/configs", exe) == IE_OK && stat(out, &st) == 0 &&
            S_ISDIR(st.st_mode))
            return IE_OK;
    }
    return ie_path_format(out, size, "%s", IE_SOURCE_CONFIG_DIR);
}

/* "HelloWorld" -> "hello_world"; a capital after a digit starts no new word:
 * "UNet3D" -> "unet3d". */
static void snake_case(const char *name, char *out, size_t size) {
    size_t j = 0;
    for (size_t i = 0; name[i] && j + 2 < size; i++) {
        unsigned char c = (unsigned char)name[i];
        if (isupper(c) && i > 0 && islower((unsigned char)name[i - 1]))
            out[j++] = '_';
        out[j++] = (char)tolower(c);
    }
    out[j] = '\0';
}

/* The value of --model / --model=NAME, if any. */
static const char *model_flag(int argc, char **argv) {
    const char *model = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strncmp(argv[i], "--model=", 8)) model = argv[i] + 8;
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[i + 1];
    }
    return model;
}

static bool has_flag(int argc, char **argv, const char *flag) {
    size_t n = strlen(flag);
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], flag) || (!strncmp(argv[i], flag, n) && argv[i][n] == '=')) return true;
    return false;
}

/* --model build/libbrainseg.so: the plugin's own config, brainseg.json,
 * next to the file or one folder up (the project folder new-plugin made,
 * whose build/ holds the plugin). */
static ie_status plugin_file_config(ie_config *cfg, const char *plugin) {
    const char *slash = strrchr(plugin, '/'), *file = slash ? slash + 1 : plugin;
    if (!strncmp(file, "lib", 3)) file += 3;
    size_t stem = strlen(file) > 3 && !strcmp(file + strlen(file) - 3, ".so") ? strlen(file) - 3 : strlen(file);
    int folder = slash ? (int)(slash - plugin) : 1;
    const char *dir = slash ? plugin : ".";
    char near[PATH_MAX + 300], up[PATH_MAX + 300];
    IE_TRY(ie_path_format(near, sizeof near, "%.*s/%.*s.json", folder, dir, (int)stem, file));
    IE_TRY(ie_path_format(up, sizeof up, "%.*s/../%.*s.json", folder, dir, (int)stem, file));
    if (is_file(near)) return ie_config_add_file(cfg, near);
    if (is_file(up)) return ie_config_add_file(cfg, up);
    return ie_error_set(IE_ERR_CONFIG, "the plugin %s has no config: looked for %s and %s. A plugin trains with a "
                        "config that names its data and classes: innereye new-plugin writes one (%.*s.json, "
                        "extending hello_world.json) beside the project's CMakeLists.txt; or give --config FILE "
                        "(docs/sdk.md, step 5)", plugin, near, up, (int)stem, file);
}

static bool is_plugin_path(const char *model) {
    size_t n = strlen(model);
    return strchr(model, '/') || (n > 3 && !strcmp(model + n - 3, ".so"));
}

/* $INNEREYE_SET: KEY=VALUE assignments separated by spaces, applied after
 * the command line, so a test can shrink every documented command (fewer
 * epochs and subjects) without changing it (docs/config.md). */
static ie_status env_overrides(ie_config *cfg) {
    const char *env = getenv("INNEREYE_SET");
    if (!env || !env[0]) return IE_OK;
    char *copy = strdup(env), *save = NULL;
    if (!copy) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = IE_OK;
    for (char *a = strtok_r(copy, " \t", &save); a && st == IE_OK; a = strtok_r(NULL, " \t", &save))
        st = ie_config_set(cfg, a, "$INNEREYE_SET");
    free(copy);
    return st;
}

ie_status ie_cli_model_config(ie_config *cfg, int argc, char **argv) {
    const char *model = model_flag(argc, argv);
    if (!model) return IE_OK;
    if (is_plugin_path(model)) return plugin_file_config(cfg, model);
    char dir[PATH_MAX], snake[256], path[PATH_MAX + 300];
    IE_TRY(ie_cli_config_dir(dir, sizeof dir));
    snake_case(model, snake, sizeof snake);
    IE_TRY(ie_path_format(path, sizeof path, "%s/%s.json", dir, snake));
    return is_file(path) ? ie_config_add_file(cfg, path) : IE_OK;
}

bool ie_cli_names_config(int argc, char **argv) {
    return has_flag(argc, argv, "--config") || has_flag(argc, argv, "--resume") || model_flag(argc, argv) != NULL;
}

ie_status ie_cli_config(int argc, char **argv, ie_config *cfg, int *n_rest, char **rest) {
    char dir[PATH_MAX];
    IE_TRY(ie_cli_config_dir(dir, sizeof dir));
    IE_TRY(ie_config_add_search_dir(cfg, dir));
    const char *model = model_flag(argc, argv);
    if (!has_flag(argc, argv, "--config") && !has_flag(argc, argv, "--resume")) {
        if (!model) return ie_error_set(IE_ERR_INVALID_ARG, "give --config FILE or --model NAME");
        IE_TRY(ie_cli_model_config(cfg, argc, argv));
    }
    IE_TRY(ie_config_parse_args(cfg, argc, argv, n_rest, rest));
    IE_TRY(env_overrides(cfg));
    /* The file given on the command line is the plugin, whatever path the
     * config's model.plugin holds (relative to another folder, perhaps). */
    if (model && is_plugin_path(model)) {
        char assignment[PATH_MAX + 32];
        snprintf(assignment, sizeof assignment, "model.plugin=%s", model);
        IE_TRY(ie_config_set(cfg, assignment, "--model"));
    }
    return IE_OK;
}
