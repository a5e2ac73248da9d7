/* core/experiment - hyperparameter sweeps on one machine.
 *
 * Trials are child runs in <output.dir>/<run>/trial_<k>/, started as
 * `innereye train` processes `parallel` at a time with the trial's values as
 * --set overrides.  Grid values are combined as a Cartesian product; with
 * random specs, `trials` trials are drawn, trial k taking grid point
 * k mod (grid size) and its random values from the counter-based generator
 * keyed by (seed, sweep stream, 0, k).  Each trial is ranked by the best
 * value of a train_log.csv column; the median stopping rule
 * (train.median_stop.*) can end poor trials early.  Results: trials.csv
 * (values per trial), sweep.csv (trial, status, values, best metric, epochs,
 * stopped early) and the best trial printed. */
#ifndef IE_CORE_EXPERIMENT_SWEEP_H
#define IE_CORE_EXPERIMENT_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/config.h"

struct ie_task_table; /* core/train/task_interface.h */

#define IE_SWEEP_MAX_KEYS 16

typedef enum ie_sweep_kind { IE_SWEEP_GRID, IE_SWEEP_UNIFORM, IE_SWEEP_LOGUNIFORM, IE_SWEEP_CHOICE, IE_SWEEP_RANDINT } ie_sweep_kind;

typedef struct ie_sweep_param {
    char key[128];
    ie_sweep_kind kind;
    int n_values;          /* grid, choice */
    char values[32][64];
    double lo, hi;         /* uniform, loguniform, randint */
} ie_sweep_param;

typedef struct ie_sweep_spec {
    ie_sweep_param params[IE_SWEEP_MAX_KEYS];
    int n_params;
    int trials;            /* random trials; 0: the whole grid */
    int parallel;
    bool early_stop;
} ie_sweep_spec;

/* Parses "key=v1,v2" (grid) or "key=uniform(a,b)" / "loguniform(a,b)" /
 * "choice(a,b,c)" / "randint(a,b)" (random) into spec. */
ie_status ie_sweep_add(ie_sweep_spec *spec, const char *text, bool random);

/* Values of trial k (as --set assignments "key=value"). */
ie_status ie_sweep_trial(const ie_sweep_spec *spec, uint64_t seed, int k, char assignments[][256], int *count);
int ie_sweep_trial_count(const ie_sweep_spec *spec);

/* Writes <parent>/trials.csv: trial, then each swept key's value. */
ie_status ie_sweep_write_trials(const char *parent, const ie_sweep_spec *spec, uint64_t seed);

/* Ranks the trials listed in <parent>/trials.csv by the best value of
 * `metric` in each trial_<k>/train_log.csv into <parent>/sweep.csv and prints
 * the best.  exit_codes: each trial's exit code, or NULL to take a trial as
 * finished when its run.json says so (trials run elsewhere, e.g. on Slurm);
 * trials <= 0: every row of trials.csv. */
ie_status ie_sweep_rank(const char *parent, const char *metric, bool maximize, const int *exit_codes, int trials);

/* `innereye sweep-aggregate`: ranks with the metric and goal of
 * <parent>/config.resolved.json. */
ie_status ie_sweep_aggregate(const char *parent);

/* Runs every trial as an `innereye train` process (`innereye` is the
 * command's path) into a new parent folder, made only once the first
 * trial's checks passed (core/experiment/child_check.h), then ranks them.
 * `tasks`: the task table (core/task/task.h: &ie_all_tasks). */
ie_status ie_sweep_run(ie_config *cfg, const ie_sweep_spec *spec, const struct ie_task_table *tasks,
                       const char *innereye, char *parent, size_t size);

#endif
