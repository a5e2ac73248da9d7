/* core/data - datasets: CSV rows grouped by subject into ie_dataset_item records. */
#include "core/data/dataset.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/csv.h"
#include "core/util/path.h"
#include "core/util/strmap.h"

struct ie_dataset {
    ie_csv *csv;
    char *root;
    int subject_column;
    int n_items;
    ie_dataset_item *items;
    const char **values; /* every row's cells, grouped by item */
    int *lines;          /* file line of each grouped row */
    int *first_row;      /* n_items + 1 offsets into the grouped rows */
    ie_strmap by_subject;
};

void ie_dataset_free(ie_dataset *ds) {
    if (!ds) return;
    ie_csv_free(ds->csv);
    free(ds->root);
    free(ds->items);
    free(ds->values);
    free(ds->lines);
    free(ds->first_row);
    ie_strmap_free(&ds->by_subject);
    free(ds);
}

static ie_status assign_subjects(ie_dataset *ds, int *item_of_row, int *rows_per_item) {
    const ie_csv *csv = ds->csv;
    for (int r = 0; r < csv->n_rows; r++) {
        const char *subject = ie_csv_cell(csv, r, ds->subject_column);
        if (!subject[0])
            return ie_error_set(IE_ERR_IO, "%s:%d: the subject column '%s' is empty in this row; fill in the "
                                "subject's name", csv->name, csv->lines[r], csv->header[ds->subject_column]);
        int existing = -1;
        IE_TRY(ie_strmap_put(&ds->by_subject, subject, ds->n_items, &existing));
        if (existing < 0) existing = ds->n_items++;
        item_of_row[r] = existing;
        rows_per_item[existing]++;
    }
    return IE_OK;
}

/* Copies the rows into item order (stable within an item) and fills items. */
static ie_status group_rows(ie_dataset *ds, const int *item_of_row, const int *rows_per_item) {
    const ie_csv *csv = ds->csv;
    size_t nc = (size_t)csv->n_columns;
    ds->items = calloc((size_t)ds->n_items, sizeof *ds->items);
    ds->values = malloc((size_t)csv->n_rows * nc * sizeof *ds->values);
    ds->lines = malloc((size_t)csv->n_rows * sizeof *ds->lines);
    ds->first_row = calloc((size_t)ds->n_items + 1, sizeof *ds->first_row);
    int *fill = calloc((size_t)ds->n_items, sizeof *fill);
    if (!ds->items || !ds->values || !ds->lines || !ds->first_row || !fill) {
        free(fill);
        return ie_error_set(IE_ERR_NOMEM, "%s: out of memory grouping %d rows", csv->name, csv->n_rows);
    }
    for (int i = 0; i < ds->n_items; i++) ds->first_row[i + 1] = ds->first_row[i] + rows_per_item[i];
    for (int r = 0; r < csv->n_rows; r++) {
        int i = item_of_row[r];
        int dst = ds->first_row[i] + fill[i]++;
        memcpy(&ds->values[(size_t)dst * nc], &csv->cells[(size_t)r * nc], nc * sizeof *ds->values);
        ds->lines[dst] = csv->lines[r];
    }
    free(fill);
    for (int i = 0; i < ds->n_items; i++) {
        ie_dataset_item *it = &ds->items[i];
        const char *const *row0 = &ds->values[(size_t)ds->first_row[i] * nc];
        it->struct_size = sizeof *it;
        it->subject = row0[ds->subject_column];
        it->root = ds->root;
        it->n_rows = rows_per_item[i];
        it->n_columns = csv->n_columns;
        it->columns = csv->header;
        it->values = row0;
    }
    return IE_OK;
}

static ie_status build(ie_dataset *ds, const char *subject_column) {
    const ie_csv *csv = ds->csv;
    if (!subject_column || !subject_column[0]) subject_column = IE_DATASET_DEFAULT_SUBJECT_COLUMN;
    ds->subject_column = ie_csv_column(csv, subject_column);
    if (ds->subject_column < 0) {
        char list[512] = "";
        for (int c = 0; c < csv->n_columns; c++) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s'%s'", c ? ", " : "", csv->header[c]);
        }
        return ie_error_set(IE_ERR_IO,
                            "%s:%d: no subject column '%s' in the header (columns: %s); add it or name "
                            "the subject column in the config",
                            csv->name, csv->header_line, subject_column, list);
    }
    if (csv->n_rows == 0)
        return ie_error_set(IE_ERR_IO, "%s:%d: the header has no rows under it; the dataset is empty: add a row per "
                            "subject (and per channel, for images)", csv->name, csv->header_line);
    int *item_of_row = malloc((size_t)csv->n_rows * sizeof *item_of_row);
    int *rows_per_item = calloc((size_t)csv->n_rows, sizeof *rows_per_item);
    ie_status st = (item_of_row && rows_per_item)
                       ? ie_strmap_init(&ds->by_subject, (size_t)csv->n_rows)
                       : ie_error_set(IE_ERR_NOMEM, "%s: out of memory for %d rows", csv->name, csv->n_rows);
    if (st == IE_OK) st = assign_subjects(ds, item_of_row, rows_per_item);
    if (st == IE_OK) st = group_rows(ds, item_of_row, rows_per_item);
    free(item_of_row);
    free(rows_per_item);
    return st;
}

static ie_status finish(ie_csv *csv, char *root, const char *subject_column, ie_dataset **out) {
    ie_dataset *ds = calloc(1, sizeof *ds);
    if (!ds || !root) {
        free(ds);
        free(root);
        ie_csv_free(csv);
        return ie_error_set(IE_ERR_NOMEM, "dataset: out of memory");
    }
    ds->csv = csv;
    ds->root = root;
    ie_status st = build(ds, subject_column);
    if (st != IE_OK) {
        ie_dataset_free(ds);
        return st;
    }
    *out = ds;
    return IE_OK;
}

/* The folder holding `path`, absolute when it can be resolved. */
static char *folder_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return NULL;
    char resolved[PATH_MAX];
    if (realpath(dir, resolved)) {
        free(dir);
        return strdup(resolved);
    }
    return dir;
}

ie_status ie_dataset_load(const char *path, const char *subject_column, ie_dataset **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "dataset_load: out is NULL");
    *out = NULL;
    if (!path) return ie_error_set(IE_ERR_INVALID_ARG, "dataset_load: path is NULL");
    ie_csv *csv = NULL;
    IE_TRY(ie_csv_read(path, &csv));
    return finish(csv, folder_of(path), subject_column, out);
}

ie_status ie_dataset_parse(const char *text, size_t len, const char *name, const char *root,
                           const char *subject_column, ie_dataset **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "dataset_parse: out is NULL");
    *out = NULL;
    ie_csv *csv = NULL;
    IE_TRY(ie_csv_parse(text, len, name, &csv));
    return finish(csv, strdup(root ? root : "."), subject_column, out);
}

ie_status ie_dataset_item_file(const ie_dataset_item *item, const char *file, char *out, size_t size) {
    if (file[0] == '/' || !item->root || !item->root[0]) return ie_path_format(out, size, "%s", file);
    return ie_path_join(out, size, item->root, file);
}

ie_status ie_dataset_set_root(ie_dataset *ds, const char *root) {
    if (!ds || !root) return ie_error_set(IE_ERR_INVALID_ARG, "dataset_set_root: NULL argument");
    char *copy = strdup(root);
    if (!copy) return ie_error_set(IE_ERR_NOMEM, "dataset_set_root: out of memory");
    free(ds->root);
    ds->root = copy;
    for (int i = 0; i < ds->n_items; i++) ds->items[i].root = copy;
    return IE_OK;
}

static char *folder_of(const char *path);

ie_status ie_dataset_moved(ie_dataset *ds, const char *path) {
    if (!ds || !path) return ie_error_set(IE_ERR_INVALID_ARG, "dataset_moved: NULL argument");
    char *name = strdup(path), *root = folder_of(path);
    ie_status st = name && root ? ie_dataset_set_root(ds, root) : ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    free(root);
    if (st != IE_OK) {
        free(name);
        return st;
    }
    free(ds->csv->name);
    ds->csv->name = name;
    return IE_OK;
}

int ie_dataset_count(const ie_dataset *ds) { return ds ? ds->n_items : 0; }

const ie_dataset_item *ie_dataset_item_at(const ie_dataset *ds, int i) {
    return (ds && i >= 0 && i < ds->n_items) ? &ds->items[i] : NULL;
}

int ie_dataset_find(const ie_dataset *ds, const char *subject) {
    return (ds && subject) ? ie_strmap_get(&ds->by_subject, subject) : -1;
}

const char *ie_dataset_path(const ie_dataset *ds) { return ds->csv->name; }
const char *ie_dataset_root(const ie_dataset *ds) { return ds->root; }
int ie_dataset_column_count(const ie_dataset *ds) { return ds->csv->n_columns; }
const char *const *ie_dataset_columns(const ie_dataset *ds) { return ds->csv->header; }
int ie_dataset_column(const ie_dataset *ds, const char *name) { return ie_csv_column(ds->csv, name); }

int ie_dataset_line(const ie_dataset *ds, int i, int row) {
    if (!ds || i < 0 || i >= ds->n_items || row < 0 || row >= ds->items[i].n_rows) return 0;
    return ds->lines[ds->first_row[i] + row];
}


const char *ie_subject_name_problem(const char *subject) {
    if (!subject || !subject[0]) return "it is empty";
    if (!strcmp(subject, ".") || !strcmp(subject, "..")) return "'.' and '..' name folders, not files";
    if (strlen(subject) > IE_SUBJECT_NAME_MAX) return "it is too long";
    for (const unsigned char *p = (const unsigned char *)subject; *p; p++) {
        if (*p == '/') return "it holds '/', which would put outputs into other folders";
        if (*p < 32 || *p == 127) return "it holds a control character (a line break, a tab, ...)";
    }
    return NULL;
}

/* The name as a message shows it: control characters as '.'. */
static void printable(const char *s, char *out, size_t size) {
    size_t n = 0;
    for (; *s && n + 1 < size; s++, n++) out[n] = (unsigned char)*s < 32 || *s == 127 ? '.' : *s;
    out[n] = '\0';
}

ie_status ie_dataset_check_names(const ie_dataset *ds) {
    for (int i = 0; i < ie_dataset_count(ds); i++) {
        const char *subject = ie_dataset_item_at(ds, i)->subject, *why = ie_subject_name_problem(subject);
        if (!why) continue;
        char shown[IE_SUBJECT_NAME_MAX + 64];
        printable(subject, shown, sizeof shown);
        if (strlen(subject) > IE_SUBJECT_NAME_MAX)
            return ie_error_set(IE_ERR_CONFIG, "subject '%s' (line %d of %s) is %zu bytes long; outputs are named "
                                "after subjects, so a name is at most %d bytes: rename the subject", shown,
                                ie_dataset_line(ds, i, 0), ie_dataset_path(ds), strlen(subject), IE_SUBJECT_NAME_MAX);
        return ie_error_set(IE_ERR_CONFIG, "subject '%s' (line %d of %s) cannot name an output file: %s; rename "
                            "the subject (one file name: no '/', not '.' or '..', no control characters)", shown,
                            ie_dataset_line(ds, i, 0), ie_dataset_path(ds), why);
    }
    return IE_OK;
}
