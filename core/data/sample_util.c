/* core/data - retaining, releasing and cloning samples and batches. */
#include "core/data/sample_util.h"

#include <string.h>

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
