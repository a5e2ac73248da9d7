/* Loads and creates, but forward fails with its own message (or, for an
 * image with 3 channels, returns IE_OK without an output). */
#include "broken_common.h"

static ie_status failing_forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    (void)m;
    (void)training;
    (void)out;
    if (batch->image && ie_tensor_ndim(batch->image) > 1 && ie_tensor_dim(batch->image, 1) == 3) return IE_OK;
    return ie_error_set(IE_ERR_SHAPE, "ForwardFails: expects 4 input channels");
}

static const ie_plugin table = {BROKEN_VALID_FIELDS("ForwardFails"), .forward = failing_forward};

IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &table; }
