/* core/experiment - comparing two runs byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/checkpoint/safetensors.h"
#include "core/util/csv.h"
#include "core/experiment/compare_runs.h"
#include "core/tensor/tensor_impl.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

/* Paths of the newest checkpoint's files, from checkpoints/last.json. */
static ie_status last_checkpoint(const char *run, char *weights, char *optimizer, size_t size) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/checkpoints/last.json", run));
    char *text = NULL;
    if (ie_read_file(path, &text, NULL) != IE_OK)
        return ie_error_set(IE_ERR_IO, "%s: no checkpoint (is %s a finished run folder?)", path, run);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cJSON *w = cJSON_GetObjectItem(j, "weights"), *o = cJSON_GetObjectItem(j, "optimizer");
    ie_status st = IE_OK;
    if (!cJSON_IsString(w) || !cJSON_IsString(o))
        st = ie_error_set(IE_ERR_IO, "%s: not a checkpoint record", path);
    else {
        st = ie_path_format(weights, size, "%s/checkpoints/%s", run, w->valuestring);
        if (st == IE_OK) st = ie_path_format(optimizer, size, "%s/checkpoints/%s", run, o->valuestring);
    }
    cJSON_Delete(j);
    return st;
}

static ie_status compare_tensors(const char *what, const char *path_a, const char *path_b, bool *same, char *diff,
                                 size_t size) {
    ie_params *a = NULL, *b = NULL;
    IE_TRY(ie_safetensors_read(path_a, &a));
    ie_status st = ie_safetensors_read(path_b, &b);
    for (int i = 0; st == IE_OK && *same && i < ie_params_count(a); i++) {
        const char *name = ie_params_name(a, i);
        ie_tensor *ta = ie_params_tensor(a, i), *tb = ie_params_find(b, name);
        if (!tb || !ie_tensor_same_shape(ta, tb) || ta->dtype != tb->dtype) {
            snprintf(diff, size, "%s: tensor '%s' is %s in the second run", what, name, tb ? "shaped differently" : "missing");
            *same = false;
            break;
        }
        size_t elem = ie_dtype_size(ta->dtype);
        const unsigned char *pa = ie_tensor_ptr(ta), *pb = ie_tensor_ptr(tb);
        for (int64_t k = 0; k < ta->numel; k++) {
            if (memcmp(pa + k * elem, pb + k * elem, elem) == 0) continue;
            if (ta->dtype == IE_F32)
                snprintf(diff, size, "%s: tensor '%s' differs first at element %lld (%.9g vs %.9g)", what, name,
                         (long long)k, ie_f32(ta)[k], ie_f32(tb)[k]);
            else
                snprintf(diff, size, "%s: tensor '%s' differs first at element %lld", what, name, (long long)k);
            *same = false;
            break;
        }
    }
    if (st == IE_OK && *same && ie_params_count(a) != ie_params_count(b)) {
        snprintf(diff, size, "%s: %d tensors in the first run, %d in the second", what, ie_params_count(a),
                 ie_params_count(b));
        *same = false;
    }
    ie_params_free(a);
    ie_params_free(b);
    return st;
}

/* Row by row, every column except `skip_column` (timings). */
static ie_status compare_csv(const char *file, const char *run_a, const char *run_b, const char *skip_column,
                             bool *same, char *diff, size_t size) {
    char pa[4200], pb[4200];
    IE_TRY(ie_path_join(pa, sizeof pa, run_a, file));
    IE_TRY(ie_path_join(pb, sizeof pb, run_b, file));
    ie_csv *a = NULL, *b = NULL;
    if (ie_csv_read(pa, &a) != IE_OK) {
        ie_csv *probe = NULL;
        bool b_has = ie_csv_read(pb, &probe) == IE_OK;
        ie_csv_free(probe);
        if (b_has) {
            snprintf(diff, size, "%s exists only in the second run", file);
            *same = false;
        }
        return IE_OK; /* neither run wrote it */
    }
    ie_status st = ie_csv_read(pb, &b);
    if (st != IE_OK) {
        snprintf(diff, size, "%s exists only in the first run", file);
        *same = false;
        ie_csv_free(a);
        return IE_OK;
    }
    if (a->n_columns != b->n_columns || a->n_rows != b->n_rows) {
        snprintf(diff, size, "%s: %d rows x %d columns in the first run, %d x %d in the second", file, a->n_rows,
                 a->n_columns, b->n_rows, b->n_columns);
        *same = false;
    }
    for (int r = 0; *same && r < a->n_rows; r++)
        for (int c = 0; c < a->n_columns; c++) {
            if (skip_column && !strcmp(a->header[c], skip_column)) continue;
            const char *x = a->cells[(size_t)r * (size_t)a->n_columns + (size_t)c];
            const char *y = b->cells[(size_t)r * (size_t)b->n_columns + (size_t)c];
            if (strcmp(x, y) == 0) continue;
            snprintf(diff, size, "%s: row %d (%s %s), column %s: %s vs %s", file, r + 1, a->header[0],
                     a->cells[(size_t)r * (size_t)a->n_columns], a->header[c], x, y);
            *same = false;
            break;
        }
    ie_csv_free(a);
    ie_csv_free(b);
    return IE_OK;
}

ie_status ie_compare_runs(const char *run_a, const char *run_b, bool *same, char *diff, size_t size) {
    *same = true;
    diff[0] = '\0';
    char wa[4200], oa[4200], wb[4200], ob[4200];
    IE_TRY(last_checkpoint(run_a, wa, oa, sizeof wa));
    IE_TRY(last_checkpoint(run_b, wb, ob, sizeof wb));
    /* The log first: it names the first epoch at which the runs diverged. */
    IE_TRY(compare_csv("train_log.csv", run_a, run_b, "seconds", same, diff, size));
    if (*same) IE_TRY(compare_tensors("weights", wa, wb, same, diff, size));
    if (*same && strcmp(oa + strlen(oa) - 1, "/") != 0) IE_TRY(compare_tensors("optimiser state", oa, ob, same, diff, size));
    if (*same) IE_TRY(compare_csv("metrics.csv", run_a, run_b, NULL, same, diff, size));
    return IE_OK;
}
