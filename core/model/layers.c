/* core/model - conv, batch-norm and linear layers with PyTorch's default
 * initialisation drawn from the counter-based generator. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/tensor/tensor_impl.h"
#include "innereye/layers.h"
#include "innereye/rng.h"

uint32_t ie_param_item(const char *name) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 16777619u;
    return h;
}

/* Creates a float tensor, fills it uniformly in [-bound, bound) from the
 * parameter's own random sequence, and registers it. */
static ie_status new_param(ie_params *params, const char *prefix, const char *suffix, int ndim,
                           const int64_t *shape, double bound, uint64_t seed, ie_param_kind kind,
                           ie_tensor **out) {
    char name[512];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    IE_TRY(ie_tensor_empty(IE_F32, ndim, shape, IE_CPU, out));
    ie_rng rng = ie_rng_make(seed, IE_STREAM_INIT, 0, ie_param_item(name));
    ie_rng_fill_uniform(&rng, 0, ie_f32(*out), (*out)->numel, (float)-bound, (float)bound);
    ie_status st = ie_params_add(params, name, *out, kind);
    if (st != IE_OK) {
        ie_tensor_release(*out);
        *out = NULL;
    }
    return st;
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
    int64_t receptive = 1;
    for (int i = 0; i < s->dims; i++) {
        if (s->kernel[i] <= 0)
            return ie_error_set(IE_ERR_INVALID_ARG, "%s: kernel size %d must be positive", prefix, s->kernel[i]);
        shape[2 + i] = s->kernel[i];
        receptive *= s->kernel[i];
    }
    /* torch's fan_in is weight.size(1) * receptive field, also for transposed
     * convs; kaiming_uniform(a=sqrt(5)) and the bias rule both give
     * bound = 1/sqrt(fan_in). */
    double bound = 1.0 / sqrt((double)(shape[1] * receptive));
    IE_TRY(new_param(params, prefix, "weight", 2 + s->dims, shape, bound, seed, IE_PARAM, &l->weight));
    ie_tensor_retain(l->weight);
    if (s->bias) {
        int64_t bshape[1] = {s->out_channels};
        IE_TRY(new_param(params, prefix, "bias", 1, bshape, bound, seed, IE_PARAM, &l->bias));
        ie_tensor_retain(l->bias);
    }
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
    ie_tensor *all[] = {l->weight, l->bias, l->running_mean, l->running_var, l->num_batches_tracked};
    for (int i = 0; i < 5; i++) ie_tensor_retain(all[i]);
    l->momentum = 0.1f;
    l->eps = 1e-5f;
    return IE_OK;
}

ie_status ie_batch_norm_layer_forward(const ie_batch_norm_layer *l, ie_tensor *x, bool training,
                                      ie_tensor **out) {
    return ie_batch_norm(x, l->weight, l->bias, l->running_mean, l->running_var, l->num_batches_tracked,
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
    double bound = 1.0 / sqrt((double)in_features);
    IE_TRY(new_param(params, prefix, "weight", 2, shape, bound, seed, IE_PARAM, &l->weight));
    ie_tensor_retain(l->weight);
    if (bias) {
        int64_t bshape[1] = {out_features};
        IE_TRY(new_param(params, prefix, "bias", 1, bshape, bound, seed, IE_PARAM, &l->bias));
        ie_tensor_retain(l->bias);
    }
    return IE_OK;
}

ie_status ie_linear_layer_forward(const ie_linear_layer *l, ie_tensor *x, ie_tensor **out) {
    return ie_linear(x, l->weight, l->bias, out);
}

void ie_linear_layer_destroy(ie_linear_layer *l) {
    ie_tensor_release(l->weight);
    ie_tensor_release(l->bias);
    memset(l, 0, sizeof *l);
}
