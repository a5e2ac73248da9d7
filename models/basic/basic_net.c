/* models/basic - InnerEye's Basic network: forward pass and initialisation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "innereye/init.h"
#include "models/basic/basic_net.h"

#define RESIDUAL_BLOCKS 3
#define RESIDUAL_CROP 4 /* two 3x3x3 convs with dilation 2 lose 4 voxels per side */

typedef struct basic_layer { /* conv (bias) -> BN [-> ReLU] */
    ie_conv_layer conv;
    ie_batch_norm_layer bn;
    bool relu;
} basic_layer;

typedef struct residual_block {
    basic_layer layers[2];
    basic_layer conv; /* 1x1x1 projection of the residual when channels change */
    bool has_conv;
} residual_block;

struct ie_basic_net {
    ie_basic_config config;
    ie_params *params;
    basic_layer first[2];
    residual_block blocks[RESIDUAL_BLOCKS];
    ie_conv_layer output;
};

/* InnerEye re-initialises every conv weight with N(0, 0.01); the draws come
 * from the weight's own generator item, so they depend only on the seed and
 * the name. */
static ie_status init_weight_normal(ie_conv_layer *conv, const char *prefix, uint64_t seed) {
    char name[300];
    snprintf(name, sizeof name, "%s.weight", prefix);
    ie_rng rng = ie_rng_make(seed, IE_STREAM_INIT, 0, ie_param_item(name));
    return ie_init_normal(conv->weight, 0.0, 0.01, &rng);
}

static ie_status layer_create(basic_layer *b, int cin, int cout, int kernel, int dilation, bool relu, ie_params *p,
                              const char *prefix, uint64_t seed) {
    char name[256];
    ie_conv_layer_spec spec = {.dims = 3, .in_channels = cin, .out_channels = cout,
                               .kernel = {kernel, kernel, kernel}, .bias = true,
                               .opts = {.dilation = {dilation, dilation, dilation}}};
    snprintf(name, sizeof name, "%s.conv1", prefix);
    IE_TRY(ie_conv_layer_create(&b->conv, &spec, p, name, seed));
    IE_TRY(init_weight_normal(&b->conv, name, seed));
    IE_TRY(ie_init_constant(b->conv.bias, 0.0f));
    snprintf(name, sizeof name, "%s.bn1", prefix);
    IE_TRY(ie_batch_norm_layer_create(&b->bn, cout, p, name));
    b->relu = relu;
    return IE_OK;
}

static void layer_destroy(basic_layer *b) {
    ie_conv_layer_destroy(&b->conv);
    ie_batch_norm_layer_destroy(&b->bn);
}

static ie_status layer_forward(const basic_layer *b, ie_tensor *x, bool training, ie_tensor **out) {
    ie_tensor *conv = NULL;
    IE_TRY(ie_conv_layer_forward(&b->conv, x, &conv));
    ie_status st = b->relu ? ie_batch_norm_layer_forward_relu(&b->bn, conv, training, out)
                           : ie_batch_norm_layer_forward(&b->bn, conv, training, out);
    ie_tensor_release(conv);
    return st;
}

ie_status ie_basic_pad_edges(ie_tensor *x, ie_tensor **out) {
    *out = NULL;
    if (!x || ie_tensor_ndim(x) != 5 || ie_tensor_dtype(x) != IE_F32 || ie_tensor_device(x) != IE_CPU)
        return ie_error_set(IE_ERR_SHAPE, "Basic: edge padding needs a float CPU tensor [N, C, D, H, W]");
    const int64_t *in = ie_tensor_shape(x), half = IE_BASIC_SHRINKAGE / 2;
    const int64_t off[3] = {-half, -half, -half};
    const int64_t size[3] = {in[2] + 2 * half, in[3] + 2 * half, in[4] + 2 * half};
    return ie_window(x, off, size, out);
}

static ie_status residual_forward(const residual_block *r, ie_tensor *x, bool training, ie_tensor **out) {
    ie_tensor *a = NULL, *b = NULL, *skip = NULL, *projected = NULL, *sum = NULL;
    ie_status st = layer_forward(&r->layers[0], x, training, &a);
    if (st == IE_OK) st = layer_forward(&r->layers[1], a, training, &b);
    if (st == IE_OK) {
        const int64_t *in = ie_tensor_shape(x);
        const int64_t off[3] = {RESIDUAL_CROP, RESIDUAL_CROP, RESIDUAL_CROP};
        const int64_t size[3] = {in[2] - 2 * RESIDUAL_CROP, in[3] - 2 * RESIDUAL_CROP, in[4] - 2 * RESIDUAL_CROP};
        st = ie_window(x, off, size, &skip); /* detached, as InnerEye's torch.tensor(x) */
    }
    if (st == IE_OK && r->has_conv) st = layer_forward(&r->conv, skip, training, &projected);
    if (st == IE_OK) st = ie_add(b, r->has_conv ? projected : skip, &sum);
    if (st == IE_OK) st = ie_relu(sum, out);
    ie_tensor *temps[] = {a, b, skip, projected, sum};
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) ie_tensor_release(temps[i]);
    return st;
}

ie_status ie_basic_create(const ie_basic_config *c, uint64_t seed, ie_basic_net **out) {
    *out = NULL;
    bool ok = c->in_channels > 0 && c->classes > 0;
    for (int i = 0; i < IE_BASIC_FEATURES; i++) ok = ok && c->features[i] > 0;
    if (!ok)
        return ie_error_set(IE_ERR_CONFIG, "Basic: in_channels, classes and all %d feature_channels must be "
                                           "positive",
                            IE_BASIC_FEATURES);
    ie_basic_net *net = calloc(1, sizeof *net);
    if (!net) return ie_error_set(IE_ERR_NOMEM, "Basic: out of memory");
    net->config = *c;
    int ch[IE_BASIC_FEATURES + 2] = {c->in_channels};
    memcpy(ch + 1, c->features, sizeof c->features);
    ch[IE_BASIC_FEATURES + 1] = c->classes;
    char name[256];
    ie_status st = ie_params_new(&net->params);
    for (int i = 0; st == IE_OK && i < 2; i++) {
        snprintf(name, sizeof name, "_layers.%d", i);
        st = layer_create(&net->first[i], ch[i], ch[i + 1], 3, 1, true, net->params, name, seed);
    }
    for (int b = 0; st == IE_OK && b < RESIDUAL_BLOCKS; b++) {
        residual_block *r = &net->blocks[b];
        const int *rc = ch + 2 + 2 * b; /* rc[0] -> rc[1] -> rc[2] */
        for (int l = 0; st == IE_OK && l < 2; l++) {
            snprintf(name, sizeof name, "_layers.%d.layers.%d", 2 + b, l);
            st = layer_create(&r->layers[l], rc[l], rc[l + 1], 3, 2, l == 0, net->params, name, seed);
        }
        r->has_conv = rc[0] != rc[2];
        snprintf(name, sizeof name, "_layers.%d.conv", 2 + b);
        if (st == IE_OK && r->has_conv) st = layer_create(&r->conv, rc[0], rc[2], 1, 1, false, net->params, name, seed);
    }
    ie_conv_layer_spec head = {.dims = 3, .in_channels = ch[IE_BASIC_FEATURES], .out_channels = c->classes,
                               .kernel = {1, 1, 1}, .bias = true};
    snprintf(name, sizeof name, "_layers.%d", 2 + RESIDUAL_BLOCKS);
    if (st == IE_OK) st = ie_conv_layer_create(&net->output, &head, net->params, name, seed);
    if (st == IE_OK) st = init_weight_normal(&net->output, name, seed);
    if (st != IE_OK) {
        ie_basic_free(net);
        return st;
    }
    *out = net;
    return IE_OK;
}

void ie_basic_free(ie_basic_net *net) {
    if (!net) return;
    for (int i = 0; i < 2; i++) layer_destroy(&net->first[i]);
    for (int b = 0; b < RESIDUAL_BLOCKS; b++) {
        for (int l = 0; l < 2; l++) layer_destroy(&net->blocks[b].layers[l]);
        if (net->blocks[b].has_conv) layer_destroy(&net->blocks[b].conv);
    }
    ie_conv_layer_destroy(&net->output);
    ie_params_free(net->params);
    free(net);
}

ie_params *ie_basic_params(ie_basic_net *net) { return net->params; }

ie_status ie_basic_forward(ie_basic_net *net, ie_tensor *x, bool training, ie_tensor **out) {
    *out = NULL;
    if (!x || ie_tensor_ndim(x) != 5)
        return ie_error_set(IE_ERR_SHAPE, "Basic: input must be [N, C, D, H, W]");
    if (ie_tensor_dim(x, 1) != net->config.in_channels)
        return ie_error_set(IE_ERR_SHAPE, "Basic: input has %lld channels, the model expects %d",
                            (long long)ie_tensor_dim(x, 1), net->config.in_channels);
    static const char axes[] = "DHW";
    for (int i = 0; i < 3; i++)
        if (ie_tensor_dim(x, 2 + i) <= IE_BASIC_SHRINKAGE)
            return ie_error_set(IE_ERR_SHAPE,
                                "Basic: input size %lld along %c is too small: the network's unpadded "
                                "convolutions take %d voxels from each axis, so it needs at least %d",
                                (long long)ie_tensor_dim(x, 2 + i), axes[i], IE_BASIC_SHRINKAGE,
                                IE_BASIC_SHRINKAGE + 1);
    ie_tensor *cur = ie_tensor_retain(x);
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < 2; i++) {
        ie_tensor *next = NULL;
        st = layer_forward(&net->first[i], cur, training, &next);
        ie_tensor_release(cur);
        cur = next;
    }
    for (int b = 0; st == IE_OK && b < RESIDUAL_BLOCKS; b++) {
        ie_tensor *next = NULL;
        st = residual_forward(&net->blocks[b], cur, training, &next);
        ie_tensor_release(cur);
        cur = next;
    }
    if (st == IE_OK) st = ie_conv_layer_forward(&net->output, cur, out);
    ie_tensor_release(cur);
    return st;
}
