/* innereye/params.h - a model's named parameters and buffers.
 *
 * Names follow the PyTorch state_dict of the original model where there is one
 * ("_layers.0.block1.conv1.weight"), so checkpoints are interchangeable.
 * Parameters are trained by the optimiser; buffers (running statistics,
 * counters) are saved and restored but not trained. */
#ifndef INNEREYE_PARAMS_H
#define INNEREYE_PARAMS_H

#include "innereye/api.h"

#include <stdbool.h>

#include "innereye/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ie_params ie_params;

typedef enum ie_param_kind { IE_PARAM = 0, IE_BUFFER = 1 } ie_param_kind;

IE_API ie_status ie_params_new(ie_params **out);
IE_API void ie_params_free(ie_params *params);
/* Retains t.  Duplicate names are refused.  A parameter gets requires_grad. */
IE_API ie_status ie_params_add(ie_params *params, const char *name, ie_tensor *t,
                        ie_param_kind kind);
IE_API int ie_params_count(const ie_params *params);
IE_API const char *ie_params_name(const ie_params *params, int i);
IE_API ie_tensor *ie_params_tensor(const ie_params *params, int i); /* borrowed */
IE_API ie_param_kind ie_params_kind(const ie_params *params, int i);
IE_API ie_tensor *ie_params_find(const ie_params *params, const char *name); /* borrowed or NULL */

/* Moves every tensor of the list, and its gradient, to `device` in place
 * (plugin ABI 1.2): the handles stay the same, so a model's own pointers to
 * its parameters stay valid, and each gets storage on `device` holding its
 * values.  Tensors that shared storage (tied weights) still share it.  All or
 * nothing: on failure no tensor has moved.  Handles made from a parameter
 * before the move (an ie_reshape view) keep the old storage, so move a model
 * before its first forward pass. */
IE_API ie_status ie_params_to(ie_params *params, ie_device device);

#ifdef __cplusplus
}
#endif
#endif
