/* tools - the `innereye` command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/selfcheck.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: innereye <command> [options]\n"
            "\n"
            "commands:\n"
            "  selfcheck [--steps N] [--threads N]   train a small UNet3D on synthetic volumes and\n"
            "                                        check that its loss falls (default 40 steps,\n"
            "                                        all cores)\n");
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
    fprintf(stderr, "innereye: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
