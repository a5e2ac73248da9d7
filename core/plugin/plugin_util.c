/* core/plugin - the small helpers plugin.h declares for both sides: task
 * names, releasing samples and batches, reading dataset items. */
#include <string.h>

#include "innereye/plugin.h"

const char *ie_task_kind_name(ie_task_kind task) {
    switch (task) {
    case IE_TASK_SEGMENTATION: return "segmentation";
    case IE_TASK_CLASSIFICATION: return "classification";
    case IE_TASK_REGRESSION: return "regression";
    case IE_TASK_OTHER: return "other";
    }
    return "unknown";
}

/* A struct filled by code built against an older minor may end early: only
 * the fields inside its struct_size exist.  Every 1.x struct has at least the
 * 1.0 fields, so a missing or too small struct_size still covers those. */
static size_t fields_end(size_t struct_size, size_t size_1_0, size_t full) {
    size_t end = struct_size < size_1_0 ? size_1_0 : struct_size;
    return end < full ? end : full;
}

#define IE_SAMPLE_SIZE_1_0 (offsetof(ie_sample, features) + sizeof(ie_tensor *))
#define IE_BATCH_SIZE_1_0 (offsetof(ie_batch, features) + sizeof(ie_tensor *))

/* struct_size is kept so the caller can fill the struct again. */
void ie_sample_clear(ie_sample *sample) {
    if (!sample) return;
    ie_tensor_release(sample->image);
    ie_tensor_release(sample->labels);
    ie_tensor_release(sample->features);
    size_t end = fields_end(sample->struct_size, IE_SAMPLE_SIZE_1_0, sizeof *sample);
    size_t start = offsetof(ie_sample, struct_size) + sizeof sample->struct_size;
    memset((char *)sample + start, 0, end - start);
}

/* `subjects` is not freed: whoever collated the batch owns that array (the
 * strings themselves are borrowed from the dataset). */
void ie_batch_clear(ie_batch *batch) {
    if (!batch) return;
    ie_tensor_release(batch->image);
    ie_tensor_release(batch->labels);
    ie_tensor_release(batch->features);
    size_t end = fields_end(batch->struct_size, IE_BATCH_SIZE_1_0, sizeof *batch);
    size_t start = offsetof(ie_batch, struct_size) + sizeof batch->struct_size;
    memset((char *)batch + start, 0, end - start);
}

const char *ie_dataset_item_value(const ie_dataset_item *item, int row, const char *column) {
    if (!item || !column || !item->columns || !item->values || row < 0 || row >= item->n_rows) return NULL;
    for (int c = 0; c < item->n_columns; c++)
        if (item->columns[c] && !strcmp(item->columns[c], column))
            return item->values[(size_t)row * (size_t)item->n_columns + (size_t)c];
    return NULL;
}
