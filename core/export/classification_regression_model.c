/* core/export - a classification run opened for export: the model opened as
 * `innereye infer` opens it (ie_scalar_model_open), with the run's
 * statistics, weights and config, and no dataset (the statistics alone say
 * the inputs and how outputs become predictions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/data/classification_regression_statistics.h"
#include "core/util/file_util.h"
#include "core/export/export.h"
#include "core/util/path.h"

ie_status ie_export_scalar_open(const char *run, ie_scalar_model *m) {
    char config[4200], stats[4200], last[4200], weights[4400];
    IE_TRY(ie_path_format(config, sizeof config, "%s/config.resolved.json", run));
    IE_TRY(ie_path_format(stats, sizeof stats, "%s/" IE_SCALAR_STATISTICS_FILE, run));
    IE_TRY(ie_path_format(last, sizeof last, "%s/checkpoints/last.json", run));
    char *text = NULL;
    IE_TRY(ie_read_file(last, &text, NULL));
    cJSON *rec = cJSON_Parse(text);
    free(text);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(rec, "weights");
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(rec, "epoch");
    ie_status st = cJSON_IsString(w) ? IE_OK : ie_error_set(IE_ERR_IO, "%s: no \"weights\" entry", last);
    if (st == IE_OK) st = ie_path_format(weights, sizeof weights, "%s/checkpoints/%s", run, w->valuestring);
    int e = cJSON_IsNumber(epoch) ? (int)epoch->valuedouble : -1;
    cJSON_Delete(rec);
    IE_TRY(st);
    return ie_scalar_model_open(config, stats, weights, e, run, NULL, false, m);
}
