/* core/experiment - hyperparameter sweeps. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/experiment/child_check.h"
#include "core/experiment/child_runs.h"
#include "core/experiment/sweep.h"
#include "core/report/report.h"
#include "core/train/median_stop.h"
#include "core/plugin/model_settings.h"
#include "core/run/run_dir.h"
#include "core/run/run_settings.h"
#include "core/util/path.h"
#include "innereye/rng.h"

#define SWEEP_STREAM (IE_STREAM_USER - 1)
#define MAX_TRIALS 256

static int split_list(const char *text, char out[32][64]) {
    int n = 0;
    const char *p = text;
    while (*p && n < 32) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len >= 64) len = 63;
        memcpy(out[n], p, len);
        out[n][len] = '\0';
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    return n;
}

ie_status ie_sweep_add(ie_sweep_spec *spec, const char *text, bool random) {
    const char *eq = strchr(text, '=');
    if (!eq || eq == text)
        return ie_error_set(IE_ERR_INVALID_ARG, "sweep: '%s' must be key=values (e.g. train.optimizer.lr=0.001,0.01)", text);
    if (spec->n_params == IE_SWEEP_MAX_KEYS)
        return ie_error_set(IE_ERR_INVALID_ARG, "sweep: at most %d swept keys", IE_SWEEP_MAX_KEYS);
    ie_sweep_param *p = &spec->params[spec->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->key, sizeof p->key, "%.*s", (int)(eq - text), text);
    const char *v = eq + 1;
    if (!random) {
        p->kind = IE_SWEEP_GRID;
        p->n_values = split_list(v, p->values);
        if (p->n_values < 1) return ie_error_set(IE_ERR_INVALID_ARG, "sweep: --grid %s has no values", text);
        spec->n_params++;
        return IE_OK;
    }
    static const struct { const char *name; ie_sweep_kind kind; } kinds[] = {
        {"uniform(", IE_SWEEP_UNIFORM}, {"loguniform(", IE_SWEEP_LOGUNIFORM}, {"choice(", IE_SWEEP_CHOICE},
        {"randint(", IE_SWEEP_RANDINT}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t n = strlen(kinds[k].name);
        if (strncmp(v, kinds[k].name, n) != 0) continue;
        size_t len = strlen(v);
        if (v[len - 1] != ')')
            return ie_error_set(IE_ERR_INVALID_ARG, "sweep: --random %s: missing ')'", text);
        char inner[2048];
        snprintf(inner, sizeof inner, "%.*s", (int)(len - n - 1), v + n);
        p->kind = kinds[k].kind;
        p->n_values = split_list(inner, p->values);
        if (p->kind == IE_SWEEP_CHOICE) {
            if (p->n_values < 1) return ie_error_set(IE_ERR_INVALID_ARG, "sweep: --random %s: choice() needs values", text);
        } else {
            char *e1, *e2;
            if (p->n_values != 2) goto bad_range;
            p->lo = strtod(p->values[0], &e1);
            p->hi = strtod(p->values[1], &e2);
            if (*e1 || *e2 || !(p->lo < p->hi) || (p->kind == IE_SWEEP_LOGUNIFORM && p->lo <= 0)) goto bad_range;
        }
        spec->n_params++;
        return IE_OK;
    bad_range:
        return ie_error_set(IE_ERR_INVALID_ARG, "sweep: --random %s: needs two numbers a < b%s", text,
                            p->kind == IE_SWEEP_LOGUNIFORM ? ", both > 0" : "");
    }
    return ie_error_set(IE_ERR_INVALID_ARG, "sweep: --random %s: use uniform(a,b), loguniform(a,b), choice(a,b,...) "
                                            "or randint(a,b)",
                        text);
}

static int grid_size(const ie_sweep_spec *spec, bool *has_random) {
    int g = 1;
    *has_random = false;
    for (int i = 0; i < spec->n_params; i++) {
        if (spec->params[i].kind == IE_SWEEP_GRID) g *= spec->params[i].n_values;
        else *has_random = true;
    }
    return g;
}

int ie_sweep_trial_count(const ie_sweep_spec *spec) {
    bool random;
    int g = grid_size(spec, &random);
    return random ? (spec->trials > 0 ? spec->trials : 8) : g;
}

ie_status ie_sweep_trial(const ie_sweep_spec *spec, uint64_t seed, int k, char assignments[][256], int *count) {
    bool random;
    int g = grid_size(spec, &random), point = k % g;
    ie_rng rng = ie_rng_make(seed, SWEEP_STREAM, 0, (uint32_t)k);
    *count = 0;
    for (int i = 0; i < spec->n_params; i++) {
        const ie_sweep_param *p = &spec->params[i];
        char value[64];
        switch (p->kind) {
        case IE_SWEEP_GRID:
            snprintf(value, sizeof value, "%s", p->values[point % p->n_values]);
            point /= p->n_values;
            break;
        case IE_SWEEP_UNIFORM:
            snprintf(value, sizeof value, "%.6g", p->lo + (p->hi - p->lo) * ie_rng_uniform_at(&rng, (uint64_t)i));
            break;
        case IE_SWEEP_LOGUNIFORM:
            snprintf(value, sizeof value, "%.6g",
                     exp(log(p->lo) + (log(p->hi) - log(p->lo)) * ie_rng_uniform_at(&rng, (uint64_t)i)));
            break;
        case IE_SWEEP_CHOICE:
            snprintf(value, sizeof value, "%s",
                     p->values[(int)(ie_rng_uniform_at(&rng, (uint64_t)i) * (float)p->n_values) % p->n_values]);
            break;
        case IE_SWEEP_RANDINT: {
            long lo = (long)ceil(p->lo), hi = (long)floor(p->hi);
            long v = lo + (long)(ie_rng_uniform_at(&rng, (uint64_t)i) * (double)(hi - lo + 1));
            snprintf(value, sizeof value, "%ld", v > hi ? hi : v);
            break;
        }
        }
        snprintf(assignments[(*count)++], 256, "%s=%s", p->key, value);
    }
    return IE_OK;
}

ie_status ie_sweep_run(ie_config *cfg, const ie_sweep_spec *spec, const ie_task_table *tasks, const char *innereye,
                       char *parent, size_t size) {
    ie_run_settings run;
    ie_model_settings model;
    ie_median_stop_settings rank;
    IE_TRY(ie_run_settings_read(cfg, &run));
    IE_TRY(ie_model_settings_read(cfg, &model));
    IE_TRY(ie_median_stop_settings_read(cfg, &rank));
    uint64_t seed = run.seed;
    int threads = run.threads;
    int trials = ie_sweep_trial_count(spec);
    if (trials < 1 || trials > MAX_TRIALS)
        return ie_error_set(IE_ERR_INVALID_ARG, "sweep: %d trials; 1 to %d are supported", trials, MAX_TRIALS);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s_sweep", model.name);
    /* The first trial's checks pass before the parent folder is made
     * (core/experiment/child_check.h). */
    char first[IE_SWEEP_MAX_KEYS][256];
    const char *first_trial[IE_SWEEP_MAX_KEYS];
    int n_first = 0;
    IE_TRY(ie_sweep_trial(spec, seed, 0, first, &n_first));
    for (int i = 0; i < n_first; i++) first_trial[i] = first[i];
    IE_TRY(ie_child_check(cfg, tasks, first_trial, n_first, prefix, threads, parent, size));
    IE_TRY(ie_run_dir_create(run.output_dir, run.name, prefix, parent, size));
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", parent));
    const char *text = ie_config_text_pretty(cfg);
    IE_TRY(ie_write_file_atomic(path, text, strlen(text)));

    int parallel = spec->parallel > 0 ? spec->parallel : 1;
    if (parallel > trials) parallel = trials;
    int cores = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int per_trial = cores / parallel > 0 ? cores / parallel : 1;
    printf("sweep: %d trials, %d at a time, %d threads each, ranked by %s (%s) in %s\n", trials, parallel, per_trial,
           rank.metric, rank.maximize ? "max" : "min", parent);
    /* Every trial's command line. */
    static char assignments[MAX_TRIALS][IE_SWEEP_MAX_KEYS][256];
    static char names[MAX_TRIALS][64], logs[MAX_TRIALS][4200], labels[MAX_TRIALS][32];
    static char *argvs[MAX_TRIALS][16 + 2 * IE_SWEEP_MAX_KEYS];
    static ie_child_run runs[MAX_TRIALS];
    int counts[MAX_TRIALS];
    char threads_s[32], siblings[4300];
    snprintf(threads_s, sizeof threads_s, "%d", per_trial);
    snprintf(siblings, sizeof siblings, "train.median_stop.siblings=%s", spec->early_stop ? parent : "");
    IE_TRY(ie_sweep_write_trials(parent, spec, seed));
    static char config_path[4200];
    IE_TRY(ie_path_format(config_path, sizeof config_path, "%s/config.resolved.json", parent));
    for (int k = 0; k < trials; k++) {
        IE_TRY(ie_sweep_trial(spec, seed, k, assignments[k], &counts[k]));
        snprintf(names[k], sizeof names[k], "run.name=trial_%d", k);
        snprintf(logs[k], sizeof logs[k], "%s/trial_%d.log", parent, k);
        snprintf(labels[k], sizeof labels[k], "trial %d", k);
        int a = 0;
        char **argv = argvs[k];
        argv[a++] = (char *)innereye;
        argv[a++] = "train";
        argv[a++] = "--config";
        argv[a++] = config_path;
        argv[a++] = "--output-dir";
        argv[a++] = parent;
        argv[a++] = "--set";
        argv[a++] = names[k];
        argv[a++] = "--set";
        argv[a++] = siblings;
        argv[a++] = "--threads";
        argv[a++] = threads_s;
        for (int i = 0; i < counts[k]; i++) {
            argv[a++] = "--set";
            argv[a++] = assignments[k][i];
        }
        argv[a] = NULL;
        runs[k] = (ie_child_run){.argv = argv, .log = logs[k], .label = labels[k]};
    }
    ie_status st = ie_child_runs(runs, trials, parallel);

    int exit_codes[MAX_TRIALS];
    for (int k = 0; k < trials; k++) exit_codes[k] = runs[k].exit_code;
    ie_status ranked = ie_sweep_rank(parent, rank.metric, rank.maximize, exit_codes, trials);
    /* report.html: the trials ranked (core/report); a sweep shows no run's
     * results, so it needs no task table */
    if (ranked == IE_OK) ie_report_after(parent, NULL);
    return st != IE_OK ? st : ranked;
}

ie_status ie_sweep_write_trials(const char *parent, const ie_sweep_spec *spec, uint64_t seed) {
    int trials = ie_sweep_trial_count(spec);
    if (trials < 1 || trials > MAX_TRIALS)
        return ie_error_set(IE_ERR_INVALID_ARG, "sweep: %d trials; 1 to %d are supported", trials, MAX_TRIALS);
    char *text = NULL;
    size_t size = 0;
    FILE *tf = open_memstream(&text, &size);
    if (!tf) return ie_error_set(IE_ERR_NOMEM, "sweep: out of memory");
    fprintf(tf, "trial");
    for (int i = 0; i < spec->n_params; i++) fprintf(tf, ",%s", spec->params[i].key);
    fprintf(tf, "\n");
    for (int k = 0; k < trials; k++) {
        char assignments[IE_SWEEP_MAX_KEYS][256];
        int count = 0;
        ie_sweep_trial(spec, seed, k, assignments, &count);
        fprintf(tf, "%d", k);
        for (int i = 0; i < count; i++) fprintf(tf, ",%s", strchr(assignments[i], '=') + 1);
        fprintf(tf, "\n");
    }
    char path[4200];
    ie_status st = ie_path_format(path, sizeof path, "%s/trials.csv", parent);
    if (st != IE_OK) {
        fclose(tf);
        free(text);
        return st;
    }
    return ie_write_stream_atomic(tf, &text, &size, path);
}

/* Ranking reads everything from the parent folder (trials.csv, each trial's
 * train_log.csv and run.json), so it ranks trials run here or on a cluster
 * alike. */
ie_status ie_sweep_rank(const char *parent, const char *metric, bool maximize, const int *exit_codes, int trials) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/trials.csv", parent));
    ie_csv *tcsv = NULL;
    IE_TRY(ie_csv_read(path, &tcsv));
    if (trials <= 0 || trials > tcsv->n_rows) trials = tcsv->n_rows;
    ie_status st = ie_path_format(path, sizeof path, "%s/sweep.csv", parent);
    char *text = NULL;
    size_t size = 0;
    FILE *f = st == IE_OK ? open_memstream(&text, &size) : NULL; /* then written atomically */
    if (!f) {
        ie_csv_free(tcsv);
        return st != IE_OK ? st : ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    }
    fprintf(f, "trial,status");
    for (int i = 1; i < tcsv->n_columns; i++) fprintf(f, ",%s", tcsv->header[i]);
    fprintf(f, ",%s,epochs,stopped_early\n", metric);
    int best = -1;
    double best_value = NAN;
    for (int k = 0; k < trials; k++) {
        char log[4300], run[4300];
        snprintf(log, sizeof log, "%s/trial_%d/train_log.csv", parent, k);
        snprintf(run, sizeof run, "%s/trial_%d", parent, k);
        int epochs = 0;
        double v = ie_train_log_best(log, metric, maximize, 0, &epochs);
        cJSON *rec = NULL;
        if (ie_run_record_read(run, &rec) != IE_OK) rec = NULL;
        const char *status = rec ? cJSON_GetStringValue(cJSON_GetObjectItem(rec, "status")) : NULL;
        bool early = rec && cJSON_GetObjectItem(rec, "stopped_early_at_epoch") != NULL;
        bool finished = exit_codes ? exit_codes[k] == 0 : status && !strcmp(status, "finished");
        cJSON_Delete(rec);
        fprintf(f, "%d,%s", k, finished ? "finished" : "failed");
        for (int i = 1; i < tcsv->n_columns; i++) fprintf(f, ",%s", ie_csv_cell(tcsv, k, i));
        fprintf(f, ",%.9g,%d,%s\n", v, epochs, early ? "yes" : "no");
        if (finished && !isnan(v) && (best < 0 || (maximize ? v > best_value : v < best_value))) {
            best = k;
            best_value = v;
        }
    }
    st = ie_write_stream_atomic(f, &text, &size, path);
    if (st != IE_OK) {
        ie_csv_free(tcsv);
        return st;
    }
    if (best < 0) {
        ie_csv_free(tcsv);
        return ie_error_set(IE_ERR_STATE, "sweep: no trial finished with a value of %s (see %s)", metric, path);
    }
    printf("best: trial %d, %s = %.6g:", best, metric, best_value);
    for (int i = 1; i < tcsv->n_columns; i++) printf(" %s=%s", tcsv->header[i], ie_csv_cell(tcsv, best, i));
    printf("\nresults: %s\n", path);
    ie_csv_free(tcsv);
    return IE_OK;
}

ie_status ie_sweep_aggregate(const char *parent) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", parent));
    ie_config *cfg = NULL;
    ie_median_stop_settings rank;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_file(cfg, path);
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st == IE_OK) st = ie_median_stop_settings_read(cfg, &rank);
    if (st == IE_OK) st = ie_sweep_rank(parent, rank.metric, rank.maximize, NULL, 0);
    if (st == IE_OK) ie_report_after(parent, NULL); /* a sweep: no run's results */
    ie_config_free(cfg);
    return st;
}
