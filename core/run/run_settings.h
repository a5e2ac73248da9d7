/* core/run - the run's own settings (seed, output.dir, run.*), read once from
 * a resolved, validated config.
 *
 * Training, cross-validation, sweeps, inference, export and cluster job specs
 * all need where runs go, what this one is called and its seed; they take
 * them from here instead of each looking the keys up by string.  (run.mlflow
 * is read by core/tracking, below this layer.) */
#ifndef IE_CORE_RUN_RUN_SETTINGS_H
#define IE_CORE_RUN_RUN_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "innereye/config.h"

typedef struct ie_run_settings {
    /* Strings are borrowed from the config: valid while it lives (and until
     * it is resolved again). */
    const char *output_dir; /* output.dir: the folder that holds run folders */
    const char *name;       /* run.name: "" = a new "<prefix>_<UTC time>" folder */
    uint64_t seed;          /* seed (the schema keeps it >= 0) */
    int threads;            /* run.threads: 0 = every core (the schema allows 0 to 4096) */
    bool train;             /* run.train: false only infers with an existing checkpoint */
    bool infer_test;        /* run.infer_test: infer and evaluate the test set after training */
    bool infer_val;         /* run.infer_val: the same for the validation set */
    bool report;            /* run.report: write report.html at the end of train, cross-validation, a sweep */
    bool openblas;          /* run.blas "openblas": convolutions through OpenBLAS (else "none": the engine's) */
} ie_run_settings;

/* Fills *out from a resolved config.  A missing key or one of the wrong type
 * (a config not resolved against this schema) is an IE_ERR_CONFIG naming the
 * key; *out is untouched then. */
ie_status ie_run_settings_read(const ie_config *cfg, ie_run_settings *out);

#endif
