/* core/model - conv, batch-norm and linear layers with PyTorch's default
 * initialisation drawn from the counter-based generator. */
#include <stdio.h>
#include <string.h>

#include "core/tensor/tensor_impl.h"
#include "innereye/init.h"
#include "innereye/layers.h"
#include "innereye/rng.h"

uint32_t ie_param_item(const char *name) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 16777619u;
    return h;
}

static ie_status register_new(ie_params *params, const char *prefix, const char *suffix, ie_tensor *t,
                              ie_param_kind kind) {
    char name[512];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    return ie_params_add(params, name, t, kind);
}

/* Weight (and bias) of a conv or linear layer, initialised as torch does from
 * the layer's own random sequence, item = hash of the layer's name. */
static ie_status new_weight_and_bias(ie_params *params, const char *prefix, int ndim, const int64_t *shape,
                                     int64_t bias_size, uint64_t seed, ie_tensor **weight, ie_tensor **bias) {
    IE_TRY(ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, weight));
    if (bias_size) IE_TRY(ie_tensor_empty(IE_F32, 1, &bias_size, IE_CPU, bias));
    ie_rng rng = ie_rng_make(seed, IE_STREAM_INIT, 0, ie_param_item(prefix));
    IE_TRY(ie_init_layer_default(*weight, bias_size ? *bias : NULL, &rng));
    IE_TRY(register_new(params, prefix, "weight", *weight, IE_PARAM));
    if (bias_size) IE_TRY(register_new(params, prefix, "bias", *bias, IE_PARAM));
    return IE_OK;
}

static ie_status new_constant(ie_params *params, const char *prefix, const char *suffix, ie_dtype dtype,
                              int ndim, const int64_t *shape, float value, ie_param_kind kind,
                              ie_tensor **out) {
    char name[512];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    IE_TRY(ie_tensor_zeros(dtype, ndim, shape, IE_CPU, out));
    if (dtype == IE_F32 && value != 0.0f) IE_TRY(ie_tensor_fill(*out, value));
    ie_status st = ie_params_add(params, name, *out, kind);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

ie_status ie_conv_layer_create(ie_conv_layer *l, const ie_conv_layer_spec *s, ie_params *params,
                               const char *prefix, uint64_t seed) {
    memset(l, 0, sizeof *l);
    if (s->dims != 2 && s->dims != 3)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: convolution layers are 2D or 3D, not %dD", prefix, s->dims);
    if (s->in_channels <= 0 || s->out_channels <= 0)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: channel counts must be positive (in %d, out %d)", prefix,
                            s->in_channels, s->out_channels);
    int64_t shape[5] = {s->transposed ? s->in_channels : s->out_channels,
                        s->transposed ? s->out_channels : s->in_channels, 1, 1, 1};
    for (int i = 0; i < s->dims; i++) {
        if (s->kernel[i] <= 0)
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: kernel size %d must be positive", prefix, s->kernel[i]);
        shape[2 + i] = s->kernel[i];
    }
    /* The layer holds its own references; on failure destroy releases them. */
    IE_TRY(new_weight_and_bias(params, prefix, 2 + s->dims, shape, s->bias ? s->out_channels : 0, seed,
                               &l->weight, &l->bias));
    l->opts = s->opts;
    l->dims = s->dims;
    l->transposed = s->transposed;
    return IE_OK;
}

ie_status ie_conv_layer_forward(const ie_conv_layer *l, ie_tensor *x, ie_tensor **out) {
    if (l->dims == 3)
        return l->transposed ? ie_conv_transpose3d(x, l->weight, l->bias, l->opts, out)
                             : ie_conv3d(x, l->weight, l->bias, l->opts, out);
    return l->transposed ? ie_conv_transpose2d(x, l->weight, l->bias, l->opts, out)
                         : ie_conv2d(x, l->weight, l->bias, l->opts, out);
}

void ie_conv_layer_destroy(ie_conv_layer *l) {
    ie_tensor_release(l->weight);
    ie_tensor_release(l->bias);
    memset(l, 0, sizeof *l);
}

ie_status ie_batch_norm_layer_create(ie_batch_norm_layer *l, int channels, ie_params *params,
                                     const char *prefix) {
    memset(l, 0, sizeof *l);
    int64_t shape[1] = {channels};
    IE_TRY(new_constant(params, prefix, "weight", IE_F32, 1, shape, 1.0f, IE_PARAM, &l->weight));
    IE_TRY(new_constant(params, prefix, "bias", IE_F32, 1, shape, 0.0f, IE_PARAM, &l->bias));
    IE_TRY(new_constant(params, prefix, "running_mean", IE_F32, 1, shape, 0.0f, IE_BUFFER, &l->running_mean));
    IE_TRY(new_constant(params, prefix, "running_var", IE_F32, 1, shape, 1.0f, IE_BUFFER, &l->running_var));
    IE_TRY(new_constant(params, prefix, "num_batches_tracked", IE_I64, 0, NULL, 0.0f, IE_BUFFER,
                        &l->num_batches_tracked));
    l->momentum = 0.1f;
    l->eps = 1e-5f;
    return IE_OK;
}

ie_status ie_batch_norm_layer_forward(const ie_batch_norm_layer *l, ie_tensor *x, bool training,
                                      ie_tensor **out) {
    return ie_batch_norm(x, l->weight, l->bias, l->running_mean, l->running_var, l->num_batches_tracked,
                         training, l->momentum, l->eps, out);
}

ie_status ie_batch_norm_layer_forward_relu(const ie_batch_norm_layer *l, ie_tensor *x, bool training,
                                           ie_tensor **out) {
    return ie_batch_norm_relu(x, l->weight, l->bias, l->running_mean, l->running_var, l->num_batches_tracked,
                              training, l->momentum, l->eps, out);
}

void ie_batch_norm_layer_destroy(ie_batch_norm_layer *l) {
    ie_tensor *all[] = {l->weight, l->bias, l->running_mean, l->running_var, l->num_batches_tracked};
    for (int i = 0; i < 5; i++) ie_tensor_release(all[i]);
    memset(l, 0, sizeof *l);
}

ie_status ie_linear_layer_create(ie_linear_layer *l, int in_features, int out_features, bool bias,
                                 ie_params *params, const char *prefix, uint64_t seed) {
    memset(l, 0, sizeof *l);
    if (in_features <= 0 || out_features <= 0)
        return ie_error_set(IE_ERR_INVALID_ARG, "%s: feature counts must be positive (in %d, out %d)", prefix,
                            in_features, out_features);
    int64_t shape[2] = {out_features, in_features};
    return new_weight_and_bias(params, prefix, 2, shape, bias ? out_features : 0, seed, &l->weight, &l->bias);
}

ie_status ie_linear_layer_forward(const ie_linear_layer *l, ie_tensor *x, ie_tensor **out) {
    return ie_linear(x, l->weight, l->bias, out);
}

void ie_linear_layer_destroy(ie_linear_layer *l) {
    ie_tensor_release(l->weight);
    ie_tensor_release(l->bias);
    memset(l, 0, sizeof *l);
}
