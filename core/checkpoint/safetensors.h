/* core/checkpoint - tensors on disk in the safetensors format.
 *
 * Format (as the Hugging Face specification): 8-byte little-endian header
 * length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end]}, "__metadata__": {...}}, then the raw
 * little-endian data.  Used for checkpoints (names = the model's parameter
 * names) and for the PyTorch golden fixtures of the tests. */
#ifndef IE_CORE_CHECKPOINT_SAFETENSORS_H
#define IE_CORE_CHECKPOINT_SAFETENSORS_H

#include "innereye/params.h"

/* Reads every tensor of `path` into a new list (kind IE_BUFFER, CPU tensors).
 * Errors name the file and the entry. */
ie_status ie_safetensors_read(const char *path, ie_params **out);

/* Writes every tensor of `params` atomically: to a temporary file beside
 * `path`, fsync, rename.  An existing file is replaced only once the new one
 * is complete.  Tensors on a device are copied to the host first (a wait for
 * the device's queued work). */
ie_status ie_safetensors_write(const char *path, const ie_params *params);

#endif
