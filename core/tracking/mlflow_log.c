/* core/tracking - the trainer's one call for MLflow: file store and server. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tracking/mlflow_data.h"
#include "core/tracking/mlflow_files.h"
#include "core/tracking/mlflow_log.h"
#include "core/tracking/mlflow_remote.h"

void ie_mlflow_log(const char *run_dir, const char *status) {
    bool files = ie_azureml_run_id() != NULL, remote = ie_mlflow_remote_wanted();
    if (!files && !remote) return;
    char message[2048], abs_run[PATH_MAX];
    snprintf(message, sizeof message, "%s", ie_error_message()); /* keep the run's own error message */
    ie_mlflow_run_data d;
    if (!realpath(run_dir, abs_run)) {
        fprintf(stderr, "warning: MLflow: %s: %s\n", run_dir, strerror(errno));
    } else if (ie_mlflow_run_data_read(abs_run, &d) != IE_OK) {
        fprintf(stderr, "warning: MLflow: reading %s failed: %s\n", abs_run, ie_error_message());
    } else {
        if (strcmp(d.mlflow_mode, "off") != 0) {
            if (files && ie_mlflow_files_write(abs_run, &d, status) != IE_OK)
                fprintf(stderr, "warning: the MLflow copy of the metrics (mlruns/) was not updated: %s\n",
                        ie_error_message());
            if (remote) ie_mlflow_remote_sync(abs_run, &d, status); /* warns by itself, once per kind */
        }
        ie_mlflow_run_data_free(&d);
    }
    ie_error_set(IE_ERR_IO, "%s", message);
}
