/* core/submit - metrics where AzureML shows them.
 *
 * Inside an AzureML job (AZUREML_RUN_ID is set, see ie_azureml_run_id) the
 * trainer mirrors its metrics into the run folder as an MLflow file store,
 * <run>/mlruns/0/<AZUREML_RUN_ID>/ (meta.yaml, metrics/<name> with one
 * "<timestamp ms> <value> <epoch>" line per epoch, params/<config key>,
 * tags/).  The run folder is the job's `run` output, so AzureML studio lists
 * these files under the job's outputs, and `mlflow ui --backend-store-uri
 * <downloaded run>/mlruns` plots them.  No Python and no network: the files
 * are the whole interface (docs/cluster.md says what AzureML shows). */
#ifndef IE_CORE_SUBMIT_MLFLOW_FILES_H
#define IE_CORE_SUBMIT_MLFLOW_FILES_H

#include "innereye/status.h"

/* Rewrites the mirror from <run_dir>/train_log.csv, metrics.csv,
 * config.resolved.json and run.json.  status: "RUNNING", "FINISHED" or
 * "FAILED".  Does nothing (IE_OK) outside an AzureML job. */
ie_status ie_mlflow_sync(const char *run_dir, const char *status);

/* ie_mlflow_sync for the trainer: a failure is printed as a warning and
 * never stops training. */
void ie_mlflow_mirror(const char *run_dir, const char *status);

#endif
