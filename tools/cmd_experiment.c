/* tools - reproducibility commands.
 *
 *   innereye repro-check (--model NAME | --config FILE) [--set K=V ...] [--threads 1,2] [--workers 0,3]
 *   innereye rerun RUN_DIR
 *   innereye compare-runs RUN_A RUN_B
 *   innereye cv-aggregate CV_RUN_DIR
 *   innereye ensemble --runs RUN_A RUN_B ... --out DIR
 *   innereye sweep (--model NAME | --config FILE) --grid KEY=V1,V2 --random KEY=uniform(A,B)
 *                  [--trials N] [--parallel N] [--metric COLUMN] [--goal min|max] [--no-early-stop]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/experiment/compare_runs.h"
#include "core/experiment/cross_validation.h"
#include "core/run/ensemble.h"
#include "core/run/run_settings.h"
#include "core/experiment/child_runs.h"
#include "core/experiment/repro.h"
#include "core/experiment/sweep.h"
#include "core/report/report.h"
#include "core/task/task.h"
#include "innereye/config.h"
#include "tools/cli_config.h"
#include "tools/cmd_experiment.h"
#include "tools/commands.h"

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
        ie_cli_unknown_option("repro-check", rest[0]);
        return 2;
    }
    if (ie_config_resolve(cfg) != IE_OK) {
        fprintf(stderr, "innereye repro-check: the configuration has problems:\n%s", ie_config_problems(cfg));
        return 2;
    }
    bool passed = false;
    ie_status st = ie_repro_check(cfg, &ie_all_tasks, threads, n_threads, workers, n_workers, &passed);
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
        ie_cli_usage("rerun", stderr);
        return 2;
    }
    bool matched = false;
    if (ie_rerun(argv[0], &ie_all_tasks, &matched) != IE_OK) {
        fprintf(stderr, "innereye rerun: %s\n", ie_error_message());
        return 1;
    }
    return matched ? 0 : 1;
}

int ie_cmd_compare_runs(int argc, char **argv) {
    if (argc != 2) {
        ie_cli_usage("compare-runs", stderr);
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

int ie_cmd_sweep(int argc, char **argv) {
    ie_sweep_spec spec = {.early_stop = true, .parallel = 1};
    char **rest = calloc((size_t)argc + 1, sizeof *rest), **config_args = calloc((size_t)argc + 3, sizeof *rest);
    int n_config = 0, n_rest = 0;
    static char metric_set[256], goal_set[64];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = !strcmp(a, "--grid") || !strcmp(a, "--random") || !strcmp(a, "--trials") ||
                           !strcmp(a, "--parallel") || !strcmp(a, "--metric") || !strcmp(a, "--goal");
        if (takes_value && !v) {
            fprintf(stderr, "innereye sweep: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--grid") || !strcmp(a, "--random")) {
            if (ie_sweep_add(&spec, v, !strcmp(a, "--random")) != IE_OK) {
                fprintf(stderr, "innereye %s\n", ie_error_message());
                return 2;
            }
        } else if (!strcmp(a, "--trials")) {
            spec.trials = atoi(v);
        } else if (!strcmp(a, "--parallel")) {
            spec.parallel = atoi(v);
        } else if (!strcmp(a, "--metric")) {
            snprintf(metric_set, sizeof metric_set, "train.median_stop.metric=%s", v);
            config_args[n_config++] = "--set";
            config_args[n_config++] = metric_set;
        } else if (!strcmp(a, "--goal")) {
            snprintf(goal_set, sizeof goal_set, "train.median_stop.goal=%s", v);
            config_args[n_config++] = "--set";
            config_args[n_config++] = goal_set;
        } else if (!strcmp(a, "--no-early-stop")) {
            spec.early_stop = false;
            continue;
        } else {
            config_args[n_config++] = argv[i];
            continue;
        }
        i++;
    }
    if (spec.n_params == 0) {
        fprintf(stderr, "innereye sweep: give at least one --grid KEY=V1,V2 or --random KEY=uniform(A,B)\n");
        return 2;
    }
    ie_config *cfg = NULL;
    if (ie_config_new(&cfg) != IE_OK || ie_cli_config(n_config, config_args, cfg, &n_rest, rest) != IE_OK) {
        fprintf(stderr, "innereye sweep: %s\n", ie_error_message());
        return 2;
    }
    if (n_rest) {
        ie_cli_unknown_option("sweep", rest[0]);
        return 2;
    }
    if (ie_config_resolve(cfg) != IE_OK) {
        fprintf(stderr, "innereye sweep: the configuration has problems:\n%s", ie_config_problems(cfg));
        return 2;
    }
    /* Every trial's values must make a valid config before any trial starts. */
    ie_run_settings run = {0};
    ie_run_settings_read(cfg, &run); /* resolved just above: it cannot fail */
    uint64_t seed = run.seed;
    for (int k = 0; k < ie_sweep_trial_count(&spec); k++) {
        char assignments[IE_SWEEP_MAX_KEYS][256];
        int count = 0;
        ie_config *trial = NULL;
        ie_sweep_trial(&spec, seed, k, assignments, &count);
        ie_status st = ie_config_new(&trial);
        if (st == IE_OK) st = ie_config_add_text(trial, ie_config_text(cfg), "sweep");
        for (int i = 0; st == IE_OK && i < count; i++) st = ie_config_set(trial, assignments[i], "--grid/--random");
        if (st == IE_OK && ie_config_resolve(trial) != IE_OK) {
            fprintf(stderr, "innereye sweep: trial %d's values make an invalid config:\n%s", k, ie_config_problems(trial));
            ie_config_free(trial);
            return 2;
        }
        ie_config_free(trial);
    }
    char self[4096], parent[4096];
    ie_self_path(self, sizeof self);
    ie_status st = ie_sweep_run(cfg, &spec, &ie_all_tasks, self, parent, sizeof parent);
    ie_config_free(cfg);
    free(rest);
    free(config_args);
    if (st != IE_OK) {
        fprintf(stderr, "innereye sweep: %s\n", ie_error_message());
        return 1;
    }
    return 0;
}

int ie_cmd_cv_aggregate(int argc, char **argv) {
    if (argc != 1) {
        ie_cli_usage("cv-aggregate", stderr);
        return 2;
    }
    /* The fold count comes from the cross-validation's own config. */
    ie_config *cfg = NULL;
    int folds = 0;
    ie_status st = ie_cv_read_config(argv[0], &cfg, &folds);
    if (st == IE_OK) st = ie_cv_aggregate(argv[0], folds);
    char self[4096];
    ie_self_path(self, sizeof self);
    if (st == IE_OK) st = ie_cv_ensemble_folds(cfg, &ie_all_tasks, argv[0], folds, self);
    if (st == IE_OK) ie_report_after(argv[0], ie_task_report_results); /* report.html (core/report) */
    ie_config_free(cfg);
    if (st != IE_OK) {
        fprintf(stderr, "innereye cv-aggregate: %s\n", ie_error_message());
        return 1;
    }
    printf("aggregated %lld folds: %s/cv_metrics.csv, %s/cv_summary.csv\n", (long long)folds, argv[0], argv[0]);
    return 0;
}

int ie_cmd_ensemble(int argc, char **argv) {
    const char *runs[IE_ENSEMBLE_MAX_MEMBERS], *out = NULL;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--runs")) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 && n < IE_ENSEMBLE_MAX_MEMBERS) runs[n++] = argv[++i];
        } else {
            ie_cli_unknown_option("ensemble", argv[i]);
            return 2;
        }
    }
    if (!out || n == 0) {
        ie_cli_usage("ensemble", stderr);
        return 2;
    }
    if (ie_ensemble_create(runs, n, out) != IE_OK) {
        fprintf(stderr, "innereye ensemble: %s\n", ie_error_message());
        return 1;
    }
    printf("ensemble of %d runs: %s (use it with innereye infer --run %s)\n", n, out, out);
    return 0;
}
