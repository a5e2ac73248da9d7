/* core/tracking - a folder's report and metrics tables as artifacts of its
 * MLflow run, where the run is tracked:
 *   - inside an AzureML job, copied into the run folder's MLflow file store
 *     (mlruns/0/<run>/artifacts/, core/tracking/mlflow_files.h); the folder
 *     itself is the job's output, so studio lists the files there too;
 *   - with a tracking server (MLFLOW_TRACKING_URI), uploaded into the run
 *     the metrics went to (mlflow_run.json's, or MLFLOW_RUN_ID's for a
 *     cross-validation or sweep folder) through the server's artifact proxy
 *     (mlflow-artifacts:/ artifact URIs; not AzureML's server, whose job
 *     outputs already hold the folder).  A server that keeps artifacts
 *     where only MLflow's Python client writes (s3://, wasbs://, file://) is
 *     named in one warning.
 * Files: report.html, and those of metrics.csv, metrics_aggregates.csv,
 * train_log.csv, predictions.csv, confusion_matrix.csv, cv_summary.csv,
 * cv_metrics.csv, ensemble_comparison.csv, sweep.csv that exist.  Config
 * run.mlflow = "off" turns it off.  Never fails the caller: problems are
 * warnings, and the caller's error message is kept. */
#ifndef IE_CORE_TRACKING_MLFLOW_ARTIFACTS_H
#define IE_CORE_TRACKING_MLFLOW_ARTIFACTS_H

void ie_mlflow_log_artifacts(const char *dir);

#endif
