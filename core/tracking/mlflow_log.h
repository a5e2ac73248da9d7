/* core/tracking - the trainer's one call for MLflow.
 *
 * After every epoch and at the end of a run, ie_mlflow_log reads the run
 * folder once (core/tracking/mlflow_data.h) and
 *   - inside an AzureML job, rewrites the MLflow file store in the run folder
 *     (core/tracking/mlflow_files.h);
 *   - when the environment names a tracking server (MLFLOW_TRACKING_URI:
 *     AzureML's, or any MLflow server), sends what the server has not seen
 *     yet (core/tracking/mlflow_remote.h).
 * Config run.mlflow = "off" turns both off.  Nothing here stops or fails a
 * run: problems are printed as warnings, and the run's own error message is
 * kept. */
#ifndef IE_CORE_TRACKING_MLFLOW_LOG_H
#define IE_CORE_TRACKING_MLFLOW_LOG_H

/* status: "RUNNING" (after an epoch), "FINISHED" or "FAILED". */
void ie_mlflow_log(const char *run_dir, const char *status);

#endif
