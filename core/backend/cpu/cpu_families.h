/* core/backend/cpu - the CPU kernel families, one file each in this folder. */
#ifndef IE_CORE_BACKEND_CPU_FAMILIES_H
#define IE_CORE_BACKEND_CPU_FAMILIES_H

#include "core/backend/conv_kernels.h"
#include "core/backend/loss_kernels.h"
#include "core/backend/norm_kernels.h"
#include "core/backend/optim_kernels.h"
#include "core/backend/pointwise_kernels.h"
#include "core/backend/pool_kernels.h"
#include "core/backend/reduce_kernels.h"

extern const struct ie_conv_kernels ie_cpu_conv_kernels;
extern const struct ie_norm_kernels ie_cpu_norm_kernels;
extern const struct ie_pool_kernels ie_cpu_pool_kernels;
extern const struct ie_pointwise_kernels ie_cpu_pointwise_kernels;
extern const struct ie_reduce_kernels ie_cpu_reduce_kernels;
extern const struct ie_loss_kernels ie_cpu_loss_kernels;
extern const struct ie_optim_kernels ie_cpu_optim_kernels;

/* Reduce-family kernels that live in attention_cpu.c. */
ie_status ie_cpu_attention_forward(ie_device_ctx *ctx, const ie_tensor *q, const ie_tensor *k, const ie_tensor *v,
                                   ie_attention_shape sh, ie_tensor *out, ie_tensor *lse);
ie_status ie_cpu_attention_backward(ie_device_ctx *ctx, const ie_tensor *q, const ie_tensor *k, const ie_tensor *v,
                                    const ie_tensor *out, const ie_tensor *lse, const ie_tensor *g,
                                    ie_attention_shape sh, ie_tensor *gq, ie_tensor *gk, ie_tensor *gv);
/* Reduce-family kernels that live in gather_cpu.c (permute, embedding). */
ie_status ie_cpu_permute(ie_device_ctx *ctx, const ie_tensor *x, const int *perm, ie_tensor *out);
ie_status ie_cpu_embedding(ie_device_ctx *ctx, const ie_tensor *table, const ie_tensor *idx, ie_tensor *out);
ie_status ie_cpu_embedding_backward(ie_device_ctx *ctx, const ie_tensor *idx, const ie_tensor *g,
                                    ie_tensor *gtable);

#endif
