/* core/export - a classification run opened for export: the model opened as
 * `innereye infer` opens it (ie_scalar_model_open), with the run's
 * statistics, weights and config.  Opening needs a dataset to prepare; an
 * export has none, so an empty one with the columns the statistics name
 * stands in: one subject whose files are never read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/data/dataset.h"
#include "core/data/classification_regression_statistics.h"
#include "core/util/file_util.h"
#include "core/export/export.h"
#include "core/util/path.h"

static int add_columns(FILE *f, const cJSON *root, const char *key) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, key), *item;
    int n = 0;
    cJSON_ArrayForEach(item, list) {
        /* entries may be objects naming their column */
        const cJSON *name = cJSON_IsString(item) ? item : cJSON_GetObjectItemCaseSensitive(item, "column");
        if (!name) name = cJSON_GetObjectItemCaseSensitive(item, "name");
        if (cJSON_IsString(name)) fprintf(f, ",%s", name->valuestring), n++;
    }
    return n;
}

static ie_status header_dataset(const char *stats, ie_dataset **out) {
    char *text = NULL, *csv = NULL;
    size_t len = 0;
    IE_TRY(ie_read_file(stats, &text, NULL));
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return ie_error_set(IE_ERR_IO, "%s: not valid JSON", stats);
    FILE *f = open_memstream(&csv, &len);
    if (!f) {
        cJSON_Delete(root);
        return ie_error_set(IE_ERR_NOMEM, "out of memory");
    }
    /* labels are optional in inference, so they are left out; images name
     * a file that exists (checked when the dataset is prepared) but is never
     * opened as an image; other cells stay empty */
    fprintf(f, "subject");
    int images = add_columns(f, root, "image_columns");
    int n = add_columns(f, root, "numerical");
    n += add_columns(f, root, "categorical");
    fprintf(f, "\nexport"); /* one row: a dataset may not be empty */
    for (int i = 0; i < images; i++) fprintf(f, ",%s", stats);
    for (int i = 0; i < n; i++) fputc(',', f);
    fprintf(f, "\n");
    fclose(f);
    cJSON_Delete(root);
    ie_status st = ie_dataset_parse(csv, len, stats, ".", "subject", out);
    free(csv);
    return st;
}

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
    ie_dataset *ds = NULL;
    IE_TRY(header_dataset(stats, &ds));
    st = ie_scalar_model_open(config, stats, weights, e, run, ds, false, m);
    ie_dataset_free(ds);
    return st;
}
