/* core/data - split by a dataset column (rules in split_column.h). */
#include "core/data/split_column.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int part_of(const char *v) {
    if (!strcasecmp(v, "train")) return IE_SPLIT_TRAIN;
    if (!strcasecmp(v, "val") || !strcasecmp(v, "validation")) return IE_SPLIT_VAL;
    if (!strcasecmp(v, "test")) return IE_SPLIT_TEST;
    return -1;
}

ie_status ie_split_by_column(const ie_dataset *ds, const char *column, ie_split *out) {
    memset(out, 0, sizeof *out);
    int col = ie_dataset_column(ds, column);
    if (col < 0)
        return ie_error_set(IE_ERR_CONFIG, "data.split.column: %s has no column \"%s\"", ie_dataset_path(ds), column);
    int n = ie_dataset_count(ds);
    int *part = malloc((size_t)(n ? n : 1) * sizeof *part);
    if (!part) return ie_error_set(IE_ERR_NOMEM, "split: out of memory");
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < n; i++) {
        const ie_dataset_item *item = ie_dataset_item_at(ds, i);
        for (int r = 0; r < item->n_rows; r++) {
            const char *v = item->values[(size_t)r * item->n_columns + col];
            int p = part_of(v);
            if (p < 0)
                st = ie_error_set(IE_ERR_CONFIG, "%s:%d: subject %s: column %s is \"%s\"; it must be train, val or test",
                                  ie_dataset_path(ds), ie_dataset_line(ds, i, r), item->subject, column, v);
            else if (r > 0 && p != part[i])
                st = ie_error_set(IE_ERR_CONFIG, "%s:%d: subject %s is in split %s here and %s on line %d",
                                  ie_dataset_path(ds), ie_dataset_line(ds, i, r), item->subject, ie_split_part_name(p),
                                  ie_split_part_name(part[i]), ie_dataset_line(ds, i, 0));
            if (st != IE_OK) break;
            part[i] = p;
        }
        if (st == IE_OK) out->count[part[i]]++;
    }
    for (int p = 0; st == IE_OK && p < IE_SPLIT_PARTS; p++) {
        if (!out->count[p]) continue;
        out->part[p] = malloc((size_t)out->count[p] * sizeof(int));
        if (!out->part[p]) {
            st = ie_error_set(IE_ERR_NOMEM, "split: out of memory");
            break;
        }
        int at = 0;
        for (int i = 0; i < n; i++)
            if (part[i] == p) out->part[p][at++] = i;
    }
    free(part);
    if (st != IE_OK) ie_split_free(out);
    return st;
}
