/* tests/fuzz - the JSON files of a run or ensemble folder that other commands
 * read back: the input is written as run.json (the provenance record, read
 * by resume, status, MLflow and cross-validation), as manifest.json (an
 * ensemble, read by infer) and as data_statistics.json (a classification or
 * regression run's statistics, read by infer).  inference.json is written
 * by infer but read by nothing, so it has no reader to fuzz. */
#include "tests/fuzz/fuzz_util.h"

#include <cjson/cJSON.h>

#include "core/data/dataset.h"
#include "core/data/classification_regression_statistics.h"
#include "core/run/ensemble.h"
#include "core/tracking/mlflow_data.h"
#include "core/run/run_dir.h"

/* A tabular CSV as tests/cli/tabular_dataset.sh writes, to prepare with the
 * statistics. */
static const char tabular[] = "subject,age,bmi,site,sex,sick,volume\n"
                              "s000,63.1,22.0,A,F,1,3.2\n"
                              "s001,41.5,30.2,B,M,0,2.9\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *dir = fuzz_dir();
    char path[256];
    fuzz_write("run.json", data, size, path);

    cJSON *record = NULL;
    ie_status st = ie_run_record_read(dir, &record);
    fuzz_check_message(st, "run.json");
    cJSON_Delete(record);
    (void)ie_run_finished(dir);

    ie_mlflow_run_data md;
    st = ie_mlflow_run_data_read(dir, &md);
    fuzz_check_message(st, NULL);
    if (st == IE_OK) ie_mlflow_run_data_free(&md);

    fuzz_write("manifest.json", data, size, path);
    int count = 0;
    ie_ensemble_paths *members = NULL;
    st = ie_ensemble_members(dir, &members, &count);
    fuzz_check_message(st, NULL);
    if (count < 0 || count > IE_ENSEMBLE_MAX_MEMBERS || (st == IE_OK) != (members != NULL)) abort();
    free(members);
    for (int i = 0; i < 3; i++) {
        ie_ensemble_member member;
        fuzz_check_message(ie_ensemble_member_info(dir, i, &member), NULL);
    }

    fuzz_write(IE_SCALAR_STATISTICS_FILE, data, size, path);
    ie_dataset *ds = NULL;
    if (ie_dataset_parse(tabular, sizeof tabular - 1, "tabular.csv", dir, NULL, &ds) != IE_OK) abort();
    for (int require = 0; require < 2; require++) {
        ie_scalar_data *d = NULL;
        st = ie_scalar_data_from_statistics(path, ds, require, &d);
        fuzz_check_message(st, NULL);
        if (st == IE_OK) {
            int64_t shape[4];
            ie_scalar_data_image_shape(d, shape);
            ie_scalar_data_free(d);
        }
    }
    ie_dataset_free(ds);
    return 0;
}
