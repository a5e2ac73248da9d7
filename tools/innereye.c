/* tools - the `innereye` command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cmd_dataset_scalar.h"
#include "tools/cmd_eval_scalar.h"
#include "tools/cmd_plugins.h"
#include "tools/cmd_train.h"
#include "tools/selfcheck.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: innereye <command> [options]\n"
            "\n"
            "commands:\n"
            "  train [--model NAME | --config FILE] [--set KEY=VALUE ...] [--resume RUN_DIR]\n"
            "                                        train a model into a new run folder (outputs/);\n"
            "                                        innereye --model=NAME is InnerEye's spelling\n"
            "  selfcheck [--steps N] [--threads N]   train a small UNet3D on synthetic volumes and\n"
            "                                        check that its loss falls (default 40 steps,\n"
            "                                        all cores)\n"
            "  plugins [--plugin PATH|NAME ...]      list the plugins found (built-in models,\n"
            "                                        INNEREYE_PLUGIN_PATH) and the requested ones\n"
            "  new-plugin NAME DIR                   start a plugin project in DIR from the SDK template\n"
            "  eval --task classification|regression --predictions CSV --out DIR\n"
            "                                        metrics of a per-subject predictions CSV\n"
            "  dataset fashion-mnist --out DIR       Fashion-MNIST as PNG images and a dataset CSV\n"
            "  dataset hippocampus-volume --images DIR --labels DIR --out DIR\n"
            "                                        a regression dataset: hippocampus volume in mL\n");
}

static int parse_int(const char *flag, const char *value, int lo, int *out) {
    char *end;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || v < lo || v > 1000000) {
        fprintf(stderr, "innereye: %s needs an integer >= %d, got '%s'\n", flag, lo, value ? value : "");
        return 0;
    }
    *out = (int)v;
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "selfcheck")) {
        int steps = 40, threads = 0;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--steps")) {
                if (!parse_int("--steps", i + 1 < argc ? argv[++i] : NULL, 1, &steps)) return 2;
            } else if (!strcmp(argv[i], "--threads")) {
                if (!parse_int("--threads", i + 1 < argc ? argv[++i] : NULL, 0, &threads)) return 2;
            } else {
                fprintf(stderr, "innereye selfcheck: unknown option '%s'\n", argv[i]);
                return 2;
            }
        }
        return ie_selfcheck(steps, threads);
    }
    if (!strcmp(argv[1], "train")) return ie_cmd_train(argc - 2, argv + 2);
    /* Classification and regression metrics (tools/cmd_eval_scalar.c). */
    if (!strcmp(argv[1], "eval") && ie_cmd_eval_is_scalar(argc - 2, argv + 2))
        return ie_cmd_eval_scalar(argc - 2, argv + 2);
    if (!strcmp(argv[1], "dataset") && argc > 2 && ie_cmd_dataset_scalar_handles(argv[2]))
        return ie_cmd_dataset_scalar(argc - 2, argv + 2);
    /* InnerEye's runner: `innereye --model=HelloWorld --num_epochs=3`. */
    if (!strncmp(argv[1], "--model", 7) || !strncmp(argv[1], "--config", 8)) return ie_cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "plugins")) return ie_cmd_plugins(argc - 2, argv + 2);
    if (!strcmp(argv[1], "new-plugin")) return ie_cmd_new_plugin(argc - 2, argv + 2);
    fprintf(stderr, "innereye: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
