/* core/run - what a run folder holds, summed up for people: one row per run
 * for `innereye runs`, and the whole story of one run for `innereye show`
 * (both read only run.json, config.resolved.json, train_log.csv, split.csv
 * and the metrics files; nothing is written). */
#ifndef IE_CORE_RUN_RUN_SUMMARY_H
#define IE_CORE_RUN_RUN_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "innereye/status.h"

typedef struct ie_run_summary {
    char name[256];        /* the folder's own name */
    char kind[24];         /* "run", "cross-validation", "ensemble", "sweep" */
    char model[128];
    char task[32];         /* "segmentation", "classification", "regression", or "?" */
    char status[32];       /* run.json's, or "stopped" when it says running and no process holds the folder */
    char started[32];      /* UTC, as run.json records it */
    int epochs_done, epochs_planned;
    char metric_name[48];  /* the headline metric: "mean dice", "accuracy", "auroc", "mae" */
    double metric;
    bool has_metric;
    double seconds;        /* end - start, or the time so far of a running run; < 0 unknown */
} ie_run_summary;

/* The summary of the run (or cross-validation, ensemble, sweep) folder dir.
 * Fails when dir is none of those. */
ie_status ie_run_summary_read(const char *dir, ie_run_summary *out);

/* The table of `innereye runs`: one line per run folder directly in parent,
 * by start time; a note when there is none. */
ie_status ie_runs_print(const char *parent, FILE *out);

/* `innereye show RUN`: what ran, on what data, the results, the files. */
ie_status ie_run_show(const char *run_dir, FILE *out);

#endif
