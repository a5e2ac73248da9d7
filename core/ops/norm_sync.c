/* core/ops - the calling thread's synchronised batch-norm hook (norm_sync.h). */
#include "core/ops/norm_sync.h"

static _Thread_local const ie_norm_sync *current;

void ie_norm_sync_set(const ie_norm_sync *hook) { current = hook; }

const ie_norm_sync *ie_norm_sync_get(void) { return current; }
