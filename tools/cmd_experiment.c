/* tools - reproducibility commands.
 *
 *   innereye repro-check (--model NAME | --config FILE) [--set K=V ...] [--threads 1,2] [--workers 0,3]
 *   innereye rerun RUN_DIR
 *   innereye compare-runs RUN_A RUN_B
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/experiment/compare_runs.h"
#include "core/experiment/repro.h"
#include "innereye/config.h"
#include "tools/cli_config.h"
#include "tools/cmd_experiment.h"

#define MAX_COUNTS 16

/* "1,2,4" -> {1, 2, 4}. */
static int parse_list(const char *flag, const char *text, int *out, int *n) {
    *n = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && *n < MAX_COUNTS; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (*end || v < 0 || v > 256) {
            fprintf(stderr, "innereye repro-check: %s takes a list of counts like 1,2; '%s' is not one\n", flag, tok);
            free(copy);
            return 0;
        }
        out[(*n)++] = (int)v;
    }
    free(copy);
    return *n > 0;
}

int ie_cmd_repro_check(int argc, char **argv) {
    int threads[MAX_COUNTS] = {1, 2}, workers[MAX_COUNTS] = {0, 2}, n_threads = 2, n_workers = 2;
    /* --threads and --workers take lists here, so they are read before the
     * config flags (where --threads is a single count). */
    char **rest = calloc((size_t)argc + 1, sizeof *rest), **config_args = calloc((size_t)argc + 1, sizeof *rest);
    int n_config = 0;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--threads") || !strcmp(argv[i], "--workers")) && i + 1 < argc) {
            bool t = !strcmp(argv[i], "--threads");
            if (!parse_list(argv[i], argv[i + 1], t ? threads : workers, t ? &n_threads : &n_workers)) return 2;
            i++;
        } else {
            config_args[n_config++] = argv[i];
        }
    }
    ie_config *cfg = NULL;
    int n_rest = 0;
    if (ie_config_new(&cfg) != IE_OK || ie_cli_config(n_config, config_args, cfg, &n_rest, rest) != IE_OK) {
        fprintf(stderr, "innereye repro-check: %s\n", ie_error_message());
        return 2;
    }
    if (n_rest) {
        fprintf(stderr, "innereye repro-check: unknown argument '%s'\n", rest[0]);
        return 2;
    }
    if (ie_config_resolve(cfg) != IE_OK) {
        fprintf(stderr, "innereye repro-check: the configuration has problems:\n%s", ie_config_problems(cfg));
        return 2;
    }
    bool passed = false;
    ie_status st = ie_repro_check(cfg, threads, n_threads, workers, n_workers, &passed);
    ie_config_free(cfg);
    free(rest);
    free(config_args);
    if (st != IE_OK) {
        fprintf(stderr, "innereye repro-check: %s\n", ie_error_message());
        return 1;
    }
    return passed ? 0 : 1;
}

int ie_cmd_rerun(int argc, char **argv) {
    if (argc != 1) {
        fprintf(stderr, "usage: innereye rerun RUN_DIR\n");
        return 2;
    }
    bool matched = false;
    if (ie_rerun(argv[0], &matched) != IE_OK) {
        fprintf(stderr, "innereye rerun: %s\n", ie_error_message());
        return 1;
    }
    return matched ? 0 : 1;
}

int ie_cmd_compare_runs(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: innereye compare-runs RUN_A RUN_B\n");
        return 2;
    }
    bool same = false;
    char diff[2048];
    if (ie_compare_runs(argv[0], argv[1], &same, diff, sizeof diff) != IE_OK) {
        fprintf(stderr, "innereye compare-runs: %s\n", ie_error_message());
        return 2;
    }
    printf("%s%s\n", same ? "SAME: weights, optimiser state, per-epoch log and metrics match byte for byte" : "DIFFERENT: ",
           same ? "" : diff);
    return same ? 0 : 1;
}
