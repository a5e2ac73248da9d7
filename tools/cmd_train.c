/* tools - `innereye train`: builds the config from files, the model's
 * built-in config and command-line overrides, then runs the trainer.
 *
 *   innereye train --model HelloWorld [--set train.epochs=3] [--threads N]
 *   innereye train --config my.json [--output-dir DIR]
 *   innereye train --resume outputs/HelloWorld_20261126T215300
 *   innereye --model=HelloWorld --num_epochs=3          (InnerEye's runner)
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/train/trainer.h"
#include "innereye/config.h"
#include "tools/cmd_train.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: innereye train [--config FILE] [--model NAME] [--set KEY=VALUE ...] [--threads N]\n"
            "                      [--output-dir DIR] [InnerEye flags: --num_epochs, --random_seed, ...]\n"
            "       innereye train --resume RUN_DIR [--threads N]\n"
            "       innereye --model=NAME [...]      (the same as innereye train)\n"
            "\n"
            "Without --config, the model's built-in config configs/<model_name>.json is used.\n"
            "Keys and flags: docs/config.md.\n");
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The project's configs/ folder: $INNEREYE_CONFIG_DIR, next to an installed
 * innereye (../share/innereye/configs), or this source tree's. */
static void config_dir(char *out, size_t size) {
    const char *env = getenv("INNEREYE_CONFIG_DIR");
    if (env && env[0]) {
        snprintf(out, size, "%s", env);
        return;
    }
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(out, size, "%s/../share/innereye/configs", exe);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return;
    }
    snprintf(out, size, "%s", IE_SOURCE_CONFIG_DIR);
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

static int fail(const char *what) {
    fprintf(stderr, "innereye train: %s%s%s\n", what, what[0] ? ": " : "", ie_error_message());
    return 1;
}

int ie_cmd_train(int argc, char **argv) {
    ie_train_request req = {0};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0;
    ie_config *cfg = NULL;
    if (!rest || ie_config_new(&cfg) != IE_OK) return fail("out of memory");
    char dir[PATH_MAX];
    config_dir(dir, sizeof dir);
    if (ie_config_add_search_dir(cfg, dir) != IE_OK) return fail("");

    const char *model = model_flag(argc, argv);
    if (!has_flag(argc, argv, "--config") && !has_flag(argc, argv, "--resume")) {
        if (!model) {
            usage(stderr);
            fprintf(stderr, "innereye train: give --config FILE or --model NAME\n");
            return 2;
        }
        char snake[256], path[PATH_MAX + 300];
        snake_case(model, snake, sizeof snake);
        snprintf(path, sizeof path, "%s/%s.json", dir, snake);
        if (is_file(path) && ie_config_add_file(cfg, path) != IE_OK) return fail("");
    }
    if (ie_config_parse_args(cfg, argc, argv, &n_rest, rest) != IE_OK) return fail("");
    for (int i = 0; i < n_rest; i++) {
        const char *a = rest[i];
        if (!strcmp(a, "--resume") && i + 1 < n_rest) req.resume_dir = rest[++i];
        else if (!strncmp(a, "--resume=", 9)) req.resume_dir = a + 9;
        else if (!strcmp(a, "--stop-after-epochs") && i + 1 < n_rest) req.stop_after_epochs = atoi(rest[++i]);
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "innereye train: unknown argument '%s' (see innereye train --help)\n", a);
            return 2;
        }
    }
    if (!req.resume_dir) {
        if (ie_config_resolve(cfg) != IE_OK) {
            fprintf(stderr, "innereye train: the configuration has problems:\n%s", ie_config_problems(cfg));
            return 2;
        }
        req.config = cfg;
    } else {
        /* --threads is the one setting a resumed run takes from the command
         * line: the thread count never changes results. */
        if (ie_config_resolve(cfg) == IE_OK) {
            int64_t threads = 0;
            if (ie_config_get_int(cfg, "run.threads", &threads) == IE_OK) req.threads_override = (int)threads;
        }
    }
    char run_dir[4096] = "";
    ie_status st = ie_train(&req, run_dir, sizeof run_dir);
    ie_config_free(cfg);
    free(rest);
    if (st != IE_OK) {
        fprintf(stderr, "innereye train: %s\n", ie_error_message());
        if (run_dir[0]) fprintf(stderr, "innereye train: the run folder is %s\n", run_dir);
        return 1;
    }
    printf("done: %s\n", run_dir);
    return 0;
}
