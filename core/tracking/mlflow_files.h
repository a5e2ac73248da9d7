/* core/tracking - metrics where AzureML lists them as files.
 *
 * Inside an AzureML job (AZUREML_RUN_ID is set, see ie_azureml_run_id) the
 * trainer mirrors its metrics into the run folder as an MLflow file store,
 * <run>/mlruns/0/<AZUREML_RUN_ID>/ (meta.yaml, metrics/<name> with one
 * "<timestamp ms> <value> <epoch>" line per epoch, params/<config key>,
 * tags/).  The run folder is the job's `run` output, so AzureML studio lists
 * these files under the job's outputs, and `mlflow ui --backend-store-uri
 * <downloaded run>/mlruns` plots them.  No Python and no network: the files
 * are the whole interface.  The tracking server (studio's Metrics tab, a
 * sweep's objective) gets the same data from core/tracking/mlflow_remote.c;
 * core/tracking/mlflow_log.c calls both. */
#ifndef IE_CORE_TRACKING_MLFLOW_FILES_H
#define IE_CORE_TRACKING_MLFLOW_FILES_H

#include "core/tracking/mlflow_data.h"
#include "innereye/status.h"

/* Rewrites <abs_run>/mlruns/ from `data` (ie_mlflow_run_data_read of the
 * same folder).  status: "RUNNING", "FINISHED" or "FAILED". */
ie_status ie_mlflow_files_write(const char *abs_run, const ie_mlflow_run_data *data, const char *status);

/* Inside an AzureML job (AZUREML_RUN_ID is set): the run's id, else NULL. */
const char *ie_azureml_run_id(void);

#endif
