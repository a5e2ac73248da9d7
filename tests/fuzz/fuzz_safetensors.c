/* tests/fuzz - the safetensors reader (checkpoints, weights of runs and
 * ensembles): the input is the file. */
#include "tests/fuzz/fuzz_util.h"

#include "core/checkpoint/safetensors.h"
#include "innereye/params.h"
#include "innereye/tensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[256];
    fuzz_write("weights.safetensors", data, size, path);
    ie_params *params = NULL;
    ie_status st = ie_safetensors_read(path, &params);
    fuzz_check_message(st, path);
    if (st != IE_OK) {
        if (params) abort();
        return 0;
    }
    /* Every tensor's bytes lie inside the file. */
    for (int i = 0; i < ie_params_count(params); i++) {
        ie_tensor *t = ie_params_tensor(params, i);
        if (!ie_params_name(params, i) || !t || ie_tensor_numel(t) < 0 ||
            (size_t)ie_tensor_numel(t) * ie_dtype_size(ie_tensor_dtype(t)) > size)
            abort();
    }
    ie_params_free(params);
    return 0;
}
