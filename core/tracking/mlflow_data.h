/* core/tracking - what a run folder tells MLflow: the metrics, parameters and
 * times that both the file-store mirror (mlflow_files.c) and the tracking
 * server client (mlflow_remote.c) send, read from the files the trainer
 * writes:
 *   train_log.csv         every column but epoch and seconds, one value per
 *                         epoch (step = the epoch number);
 *   metrics.csv           segmentation: the mean of each metric column per
 *                         structure over the test subjects, as
 *                         test_<metric>_<structure> (test_Dice_anterior);
 *   run.json              classification/regression: test_metrics
 *                         {target: {metric: value}} as test_<metric>_<target>;
 *                         and the run's start and end times;
 *   config.resolved.json  every leaf value as a parameter named by its
 *                         dotted key (train.epochs). */
#ifndef IE_CORE_TRACKING_MLFLOW_DATA_H
#define IE_CORE_TRACKING_MLFLOW_DATA_H

#include <stddef.h>

#include "innereye/status.h"

/* MLflow's limit on metric and parameter names. */
#define IE_MLFLOW_KEY_MAX 250

typedef struct ie_mlflow_metric {
    char key[IE_MLFLOW_KEY_MAX + 1];
    double value;
    long long timestamp_ms;
    long step;
} ie_mlflow_metric;

typedef struct ie_mlflow_param {
    char key[IE_MLFLOW_KEY_MAX + 1];
    char *value; /* the JSON leaf: a string as is, anything else as JSON text */
} ie_mlflow_param;

typedef struct ie_mlflow_run_data {
    long long start_ms, end_ms; /* run.json; 0 when absent */
    ie_mlflow_metric *epoch;    /* train_log.csv, row by row (epoch order) */
    int n_epoch;
    ie_mlflow_metric *test; /* step 0, timestamped at the run's end */
    int n_test;
    ie_mlflow_param *params;
    int n_params;
    char mlflow_mode[16]; /* config run.mlflow ("auto" when absent) */
} ie_mlflow_run_data;

/* The name a train_log.csv column, a test metric or a config key is logged
 * under: letters, digits and _-. kept, anything else '_', at most
 * IE_MLFLOW_KEY_MAX bytes.  A subset of what MLflow and AzureML accept that
 * is also a safe file name, so the file store and the server agree; and the
 * name an AzureML sweep's objective names (core/submit/azureml.c). */
void ie_mlflow_key(const char *name, char *out, size_t size);

/* Reads what exists of the run folder (a missing file gives no entries;
 * epoch timestamps are the run's start plus the epochs' seconds).  Free with
 * ie_mlflow_run_data_free. */
ie_status ie_mlflow_run_data_read(const char *run_dir, ie_mlflow_run_data *data);
void ie_mlflow_run_data_free(ie_mlflow_run_data *data);

/* "2026-11-26T21:45:03Z" -> ms since 1970; 0 when unreadable. */
long long ie_mlflow_iso_ms(const char *iso);

#endif
