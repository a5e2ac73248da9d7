/* core/data - retaining, releasing and cloning samples and batches. */
#include "core/data/sample_util.h"

#include <string.h>

#include "core/ops/op_util.h"

void ie_data_sample_release(ie_sample *s) {
    if (!s) return;
    ie_tensor_release(s->image);
    ie_tensor_release(s->labels);
    ie_tensor_release(s->features);
    s->image = s->labels = s->features = NULL;
}

void ie_data_sample_retain(ie_sample *s) {
    ie_tensor_retain(s->image);
    ie_tensor_retain(s->labels);
    ie_tensor_retain(s->features);
}

static ie_status clone_or_null(const ie_tensor *t, ie_tensor **out) {
    *out = NULL;
    return t ? ie_tensor_clone(t, out) : IE_OK;
}

ie_status ie_data_sample_clone(const ie_sample *src, ie_sample *dst) {
    ie_sample c = *src;
    c.image = c.labels = c.features = NULL;
    ie_status st = clone_or_null(src->image, &c.image);
    if (st == IE_OK) st = clone_or_null(src->labels, &c.labels);
    if (st == IE_OK) st = clone_or_null(src->features, &c.features);
    if (st != IE_OK) ie_data_sample_release(&c);
    *dst = c;
    return st;
}

static size_t tensor_bytes(const ie_tensor *t) {
    return t ? (size_t)ie_tensor_numel(t) * ie_dtype_size(ie_tensor_dtype(t)) : 0;
}

size_t ie_data_sample_bytes(const ie_sample *s) {
    return tensor_bytes(s->image) + tensor_bytes(s->labels) + tensor_bytes(s->features);
}

void ie_data_batch_release(ie_batch *b) {
    if (!b) return;
    ie_tensor_release(b->image);
    ie_tensor_release(b->labels);
    ie_tensor_release(b->features);
    memset(b, 0, sizeof *b);
}

/* Integer labels in [0, classes): the same rule as the loss front end, said
 * with the subject the bad label belongs to. */
static ie_status check_labels(const ie_batch *b, int64_t classes) {
    ie_tensor *y = b->labels;
    if (!y || classes <= 0 || (ie_tensor_dtype(y) != IE_I64 && ie_tensor_dtype(y) != IE_I32)) return IE_OK;
    int64_t index = -1, value = 0;
    IE_TRY(ie_labels_find_bad(y, classes, &index, &value));
    if (index < 0) return IE_OK;
    char d[96];
    int64_t per_item = b->count > 0 ? ie_tensor_numel(y) / b->count : 0;
    int item = per_item > 0 ? (int)(index / per_item) : 0;
    const char *subject = b->subjects && item < b->count && b->subjects[item] ? b->subjects[item] : "?";
    return ie_error_set(IE_ERR_INVALID_ARG,
                        "batch upload: label value %lld at index %lld of labels %s (subject %s) is outside [0, %lld); "
                        "the labels must be class indices of the model's %lld classes",
                        (long long)value, (long long)index, ie_tensor_describe(y, d, sizeof d), subject,
                        (long long)classes, (long long)classes);
}

ie_status ie_data_batch_to(ie_batch *b, ie_device device, int64_t label_classes) {
    if (!b) return ie_error_set(IE_ERR_INVALID_ARG, "batch upload: batch is NULL");
    ie_tensor *const from[3] = {b->image, b->labels, b->features};
    bool moves = false;
    for (int i = 0; i < 3; i++) moves = moves || (from[i] && ie_tensor_device(from[i]) != device);
    if (!moves) return IE_OK;
    IE_TRY(check_labels(b, label_classes));
    ie_tensor *to[3] = {NULL, NULL, NULL};
    ie_status st = IE_OK;
    for (int i = 0; i < 3 && st == IE_OK; i++)
        if (from[i]) st = ie_tensor_to(from[i], device, &to[i]);
    if (st != IE_OK) {
        for (int i = 0; i < 3; i++) ie_tensor_release(to[i]);
        return ie_error_wrap(st, "batch upload to %s", ie_device_name(device));
    }
    for (int i = 0; i < 3; i++) ie_tensor_release(from[i]);
    b->image = to[0], b->labels = to[1], b->features = to[2];
    return IE_OK;
}
