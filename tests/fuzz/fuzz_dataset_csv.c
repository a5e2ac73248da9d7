/* tests/fuzz - the segmentation dataset.csv: the CSV reader (csv.h) and the
 * grouping of rows by subject (dataset.h), read back as the data pipeline
 * reads them. */
#include "tests/fuzz/fuzz_util.h"

#include "core/util/csv.h"
#include "core/data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    ie_csv *csv = NULL;
    ie_status st = ie_csv_parse(text, size, "fuzz.csv", &csv);
    fuzz_check_message(st, "fuzz.csv");
    if (st == IE_OK) {
        for (int r = 0; r < csv->n_rows; r++)
            for (int c = 0; c < csv->n_columns; c++)
                if (!ie_csv_cell(csv, r, c)) abort();
        for (int c = 0; c < csv->n_columns; c++)
            if (ie_csv_column(csv, csv->header[c]) != c) abort(); /* names are distinct */
        ie_csv_free(csv);
    }
    ie_dataset *ds = NULL;
    st = ie_dataset_parse(text, size, "dataset.csv", "/nonexistent", NULL, &ds);
    fuzz_check_message(st, "dataset.csv");
    if (st == IE_OK) {
        int subject_col = ie_dataset_column(ds, "subject");
        if (subject_col < 0) abort();
        for (int i = 0; i < ie_dataset_count(ds); i++) {
            const ie_dataset_item *item = ie_dataset_item_at(ds, i);
            if (!item || item->n_rows < 1 || ie_dataset_find(ds, item->subject) != i) abort();
            for (int r = 0; r < item->n_rows; r++) {
                if (strcmp(item->values[r * item->n_columns + subject_col], item->subject) != 0) abort();
                if (ie_dataset_line(ds, i, r) < 1) abort();
            }
        }
        if (ie_dataset_item_at(ds, ie_dataset_count(ds)) != NULL) abort();
        if (ie_dataset_set_root(ds, "/elsewhere") != IE_OK) abort();
        ie_dataset_free(ds);
    }
    return 0;
}
