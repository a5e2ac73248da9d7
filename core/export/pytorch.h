/* core/export - a model's parameters and buffers as a PyTorch checkpoint:
 * the file torch.save(state_dict) writes (zip serialisation: archive/data.pkl,
 * a pickle of an OrderedDict of tensors rebuilt with
 * torch._utils._rebuild_tensor_v2, one archive/data/<key> record of raw
 * little-endian values per tensor, archive/version).  Written directly from
 * C, so no Python is needed to export; torch.load reads it (also with
 * weights_only=True: only OrderedDict, tensors and their storages appear).
 * The reverse of tools/convert_pytorch_checkpoint.py: the names are the
 * state_dict names InnerEye's PyTorch models use. */
#ifndef IE_CORE_EXPORT_PYTORCH_H
#define IE_CORE_EXPORT_PYTORCH_H

#include "innereye/params.h"

/* Every tensor of params (float32 as FloatStorage, int64 as LongStorage) to
 * `path`, written atomically. */
ie_status ie_export_pytorch(const ie_params *params, const char *path);

#endif
