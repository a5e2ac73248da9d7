/* core/experiment - repro-check and rerun. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/experiment/child_check.h"
#include "core/experiment/compare_runs.h"
#include "core/experiment/repro.h"
#include "core/run/run_dir.h"
#include "core/run/run_settings.h"
#include "core/train/trainer.h"
#include "core/util/path.h"

/* Trains `base` with overrides into <parent>/<name>. */
static ie_status train_variant(ie_config *base, const ie_task_table *tasks, const char *parent, const char *name,
                               int threads, int workers, char *run_dir, size_t size) {
    ie_config *cfg = NULL;
    char set[4200];
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_text(cfg, ie_config_text(base), "repro-check");
    snprintf(set, sizeof set, "output.dir=%s", parent);
    if (st == IE_OK) st = ie_config_set(cfg, set, "repro-check");
    snprintf(set, sizeof set, "run.name=%s", name);
    if (st == IE_OK) st = ie_config_set(cfg, set, "repro-check");
    snprintf(set, sizeof set, "data.workers=%d", workers);
    if (st == IE_OK) st = ie_config_set(cfg, set, "repro-check");
    if (st == IE_OK) st = ie_config_resolve(cfg);
    printf("== %s: %d threads, %d loader workers\n", name, threads, workers);
    fflush(stdout);
    ie_train_request req = {.config = cfg, .threads_override = threads, .tasks = tasks};
    if (st == IE_OK) st = ie_train(&req, run_dir, size);
    ie_config_free(cfg);
    return st;
}

ie_status ie_repro_check(ie_config *cfg, const ie_task_table *tasks, const int *threads, int n_threads,
                         const int *workers, int n_workers, bool *passed) {
    ie_run_settings run;
    IE_TRY(ie_run_settings_read(cfg, &run));
    char parent[4096], base[4200], other[4200], name[64], diff[2048];
    /* The baseline's checks pass before the parent folder is made
     * (core/experiment/child_check.h); the parent's name is generated. */
    const char *unnamed[] = {"run.name="};
    IE_TRY(ie_child_check(cfg, tasks, unnamed, 1, "repro_check", threads[0], parent, sizeof parent));
    IE_TRY(ie_run_dir_create(run.output_dir, "", "repro_check", parent, sizeof parent));
    printf("repro-check in %s\n", parent);
    IE_TRY(train_variant(cfg, tasks, parent, "baseline", threads[0], workers[0], base, sizeof base));
    *passed = true;
    int checks = 0;
    for (int t = 0; t < n_threads; t++)
        for (int w = 0; w < n_workers; w++) {
            if (t == 0 && w == 0) snprintf(name, sizeof name, "baseline_again");
            else snprintf(name, sizeof name, "threads%d_workers%d", threads[t], workers[w]);
            IE_TRY(train_variant(cfg, tasks, parent, name, threads[t], workers[w], other, sizeof other));
            bool same = false;
            IE_TRY(ie_compare_runs(base, other, &same, diff, sizeof diff));
            checks++;
            printf("%s %s vs baseline%s%s\n", same ? "same:" : "DIFFERENT:", name, same ? "" : ": ", same ? "" : diff);
            *passed = *passed && same;
        }
    printf("%s: %d runs compared byte for byte with the baseline (weights, optimiser state, per-epoch log, "
           "metrics)\n", *passed ? "PASS" : "FAIL", checks);
    return IE_OK;
}

ie_status ie_rerun(const char *run_dir, const ie_task_table *tasks, bool *matched) {
    char path[4200], name[512], copy[4200], set[4200], new_dir[4200], diff[2048];
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", run_dir));
    ie_config *cfg = NULL;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_file(cfg, path);
    /* Beside the original, under a new name. */
    if (st == IE_OK) st = ie_path_format(copy, sizeof copy, "%s", run_dir);
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = '\0';
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    if (st == IE_OK) st = ie_path_format(name, sizeof name, "%s_rerun_%s", basename(copy), stamp);
    if (st == IE_OK) st = ie_path_format(copy, sizeof copy, "%s", run_dir);
    if (st == IE_OK) st = ie_path_format(set, sizeof set, "output.dir=%s", dirname(copy));
    if (st == IE_OK) st = ie_config_set(cfg, set, "rerun");
    if (st == IE_OK) st = ie_path_format(set, sizeof set, "run.name=%s", name);
    if (st == IE_OK) st = ie_config_set(cfg, set, "rerun");
    if (st == IE_OK) st = ie_config_resolve(cfg);
    ie_train_request req = {.config = cfg, .tasks = tasks};
    if (st == IE_OK) st = ie_train(&req, new_dir, sizeof new_dir);
    ie_config_free(cfg);
    IE_TRY(st);
    IE_TRY(ie_compare_runs(run_dir, new_dir, matched, diff, sizeof diff));
    printf("%s: %s %s %s%s%s\n", *matched ? "MATCH" : "DIFFERENT", new_dir, *matched ? "reproduces" : "does not reproduce",
           run_dir, *matched ? "" : ": ", *matched ? "" : diff);
    return IE_OK;
}
