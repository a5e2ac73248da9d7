/* core/tracking - a run's metrics on an MLflow tracking server: AzureML
 * studio's Metrics tab, a sweep job's objective and early termination, or
 * any MLflow server (core/tracking/mlflow_rest.h says how the environment
 * names it).
 *
 * Each sync sends what the server has not seen yet:
 *   - the epochs of train_log.csv newer than the last one sent, every
 *     column but epoch and seconds, step = epoch;
 *   - once, the resolved config's leaf values as params;
 *   - at the end (FINISHED / FAILED) the test metrics, then the run's
 *     status and end time (not into an AzureML job's own run, whose status
 *     is the job's exit status).
 * What was sent, and the run id of a run created here (no MLFLOW_RUN_ID),
 * are kept in <run>/mlflow_run.json, so a resumed run continues the same
 * MLflow run without sending an epoch twice.  No credentials are written.
 *
 * Training never waits long and never stops for it: each request is bounded
 * (core/tracking/mlflow_rest.h); what fails stays pending for the next sync;
 * after 3 failed syncs in a row only the final one is tried; each kind of
 * failure prints one warning line per process. */
#ifndef IE_CORE_TRACKING_MLFLOW_REMOTE_H
#define IE_CORE_TRACKING_MLFLOW_REMOTE_H

#include <stdbool.h>

#include "core/tracking/mlflow_data.h"

/* Whether the environment names a tracking server (MLFLOW_TRACKING_URI). */
bool ie_mlflow_remote_wanted(void);

/* Uses `client` (copied; its strings are taken over) instead of the
 * environment's, for the rest of the process: for tests and programs that
 * embed the trainer.  Resets the warnings and failure count. */
struct ie_mlflow_client;
void ie_mlflow_remote_set_client(const struct ie_mlflow_client *client);

/* The process's client of the tracking server (the environment's, or the
 * one set above); NULL when none is usable. */
struct ie_mlflow_client *ie_mlflow_remote_client(void);
/* Whether this process already warned that the server failed (then the
 * artifacts' upload does not warn about the same server again). */
bool ie_mlflow_remote_warned(void);

/* Sends the news of `data` (ie_mlflow_run_data_read of abs_run).  status:
 * "RUNNING", "FINISHED" or "FAILED". */
void ie_mlflow_remote_sync(const char *abs_run, const ie_mlflow_run_data *data, const char *status);

#endif
