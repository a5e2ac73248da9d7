/* models/classifier - the Classifier network (structure in classifier_net.h). */
#include <stdio.h>
#include <stdlib.h>

#include "models/classifier/classifier_net.h"

#define MAX_CONVS 4

typedef struct conv_bn {
    ie_conv_layer conv;
    ie_batch_norm_layer bn;
} conv_bn;

typedef struct block {
    conv_bn conv[MAX_CONVS];
    int n_convs;
    bool has_skip;
    conv_bn skip;
} block;

struct ie_classifier {
    ie_classifier_config c;
    ie_params *params;
    block blocks[IE_CLASSIFIER_MAX_BLOCKS];
    ie_linear_layer head[IE_CLASSIFIER_MAX_HIDDEN + 1];
    int n_head;
};

static ie_status conv_bn_create(conv_bn *l, const ie_classifier_config *c, int cin, int cout, int k,
                                ie_params *p, const char *conv_name, const char *bn_name, uint64_t seed) {
    ie_conv_layer_spec spec = {.dims = c->dims, .in_channels = cin, .out_channels = cout,
                               .kernel = {k, k, k}, .opts = {.padding = {k / 2, k / 2, k / 2}}};
    IE_TRY(ie_conv_layer_create(&l->conv, &spec, p, conv_name, seed));
    return ie_batch_norm_layer_create(&l->bn, cout, p, bn_name);
}

static void conv_bn_destroy(conv_bn *l) {
    ie_conv_layer_destroy(&l->conv);
    ie_batch_norm_layer_destroy(&l->bn);
}

/* conv -> BN (-> ReLU).  Consumes nothing: x stays the caller's. */
static ie_status conv_bn_forward(const conv_bn *l, ie_tensor *x, bool training, bool relu, ie_tensor **out) {
    ie_tensor *a = NULL;
    IE_TRY(ie_conv_layer_forward(&l->conv, x, &a));
    ie_status st = relu ? ie_batch_norm_layer_forward_relu(&l->bn, a, training, out)
                        : ie_batch_norm_layer_forward(&l->bn, a, training, out);
    ie_tensor_release(a);
    return st;
}

static ie_status create_blocks(ie_classifier *net, uint64_t seed) {
    const ie_classifier_config *c = &net->c;
    char a[96], b[96];
    int cin = c->in_channels;
    for (int i = 0; i < c->n_blocks; i++) {
        block *bl = &net->blocks[i];
        int cout = c->widths[i];
        bl->n_convs = c->residual ? 2 : c->convs_per_block;
        for (int j = 0; j < bl->n_convs; j++) {
            snprintf(a, sizeof a, "encoder.%d.conv%d", i, j + 1);
            snprintf(b, sizeof b, "encoder.%d.bn%d", i, j + 1);
            IE_TRY(conv_bn_create(&bl->conv[j], c, j ? cout : cin, cout, c->kernel, net->params, a, b, seed));
        }
        if (c->residual && cin != cout) {
            snprintf(a, sizeof a, "encoder.%d.skip", i);
            snprintf(b, sizeof b, "encoder.%d.skip_bn", i);
            IE_TRY(conv_bn_create(&bl->skip, c, cin, cout, 1, net->params, a, b, seed));
            bl->has_skip = true;
        }
        cin = cout;
    }
    return IE_OK;
}

ie_status ie_classifier_create(const ie_classifier_config *c, uint64_t seed, ie_classifier **out) {
    *out = NULL;
    if (c->n_blocks > IE_CLASSIFIER_MAX_BLOCKS || c->n_hidden > IE_CLASSIFIER_MAX_HIDDEN ||
        c->convs_per_block > MAX_CONVS || (c->in_channels > 0 && c->n_blocks < 1) || c->outputs < 1 ||
        (c->in_channels == 0 && c->features == 0))
        return ie_error_set(IE_ERR_INVALID_ARG, "Classifier: invalid network configuration");
    ie_classifier *net = calloc(1, sizeof *net);
    if (!net) return ie_error_set(IE_ERR_NOMEM, "Classifier: out of memory");
    net->c = *c;
    ie_status st = ie_params_new(&net->params);
    if (st == IE_OK && c->in_channels > 0) st = create_blocks(net, seed);
    int in = (c->in_channels > 0 ? c->widths[c->n_blocks - 1] : 0) + c->features;
    for (int i = 0; st == IE_OK && i <= c->n_hidden; i++) {
        int o = i < c->n_hidden ? c->hidden[i] : c->outputs;
        char name[64];
        snprintf(name, sizeof name, "head.%d", i);
        st = ie_linear_layer_create(&net->head[i], in, o, true, net->params, name, seed);
        if (st == IE_OK) net->n_head = i + 1;
        in = o;
    }
    if (st != IE_OK) {
        ie_classifier_free(net);
        return st;
    }
    *out = net;
    return IE_OK;
}

void ie_classifier_free(ie_classifier *net) {
    if (!net) return;
    for (int i = 0; i < net->c.n_blocks && net->c.in_channels > 0; i++) {
        block *bl = &net->blocks[i];
        for (int j = 0; j < bl->n_convs; j++) conv_bn_destroy(&bl->conv[j]);
        if (bl->has_skip) conv_bn_destroy(&bl->skip);
    }
    for (int i = 0; i < net->n_head; i++) ie_linear_layer_destroy(&net->head[i]);
    ie_params_free(net->params);
    free(net);
}

ie_params *ie_classifier_params(ie_classifier *net) { return net->params; }

/* One block; takes ownership of x. */
static ie_status block_forward(const block *bl, bool residual, ie_tensor *x, bool training, ie_tensor **out) {
    ie_tensor *y = NULL;
    ie_status st = IE_OK;
    if (!residual) {
        for (int j = 0; st == IE_OK && j < bl->n_convs; j++) {
            st = conv_bn_forward(&bl->conv[j], x, training, true, &y);
            ie_tensor_release(x);
            x = y;
        }
        *out = st == IE_OK ? x : NULL;
        if (st != IE_OK) ie_tensor_release(x);
        return st;
    }
    ie_tensor *a = NULL, *b = NULL, *skip = NULL, *sum = NULL;
    st = conv_bn_forward(&bl->conv[0], x, training, true, &a);
    if (st == IE_OK) st = conv_bn_forward(&bl->conv[1], a, training, false, &b);
    if (st == IE_OK && bl->has_skip) st = conv_bn_forward(&bl->skip, x, training, false, &skip);
    if (st == IE_OK) st = ie_add(b, skip ? skip : x, &sum);
    if (st == IE_OK) st = ie_relu(sum, out);
    ie_tensor_release(x);
    ie_tensor_release(a);
    ie_tensor_release(b);
    ie_tensor_release(skip);
    ie_tensor_release(sum);
    return st;
}

static ie_status pool(int dims, ie_tensor *x, ie_tensor **out) {
    const int k[3] = {2, 2, 2}, s[3] = {2, 2, 2}, p[3] = {0, 0, 0};
    return dims == 2 ? ie_max_pool2d(x, k, s, p, out) : ie_max_pool3d(x, k, s, p, out);
}

static ie_status encode(ie_classifier *net, ie_tensor *image, bool training, ie_tensor **out) {
    const ie_classifier_config *c = &net->c;
    ie_tensor *x = NULL, *y = NULL;
    char d[64];
    if (ie_tensor_ndim(image) != 5 || ie_tensor_dim(image, 1) != c->in_channels ||
        (c->dims == 2 && ie_tensor_dim(image, 2) != 1))
        return ie_error_set(IE_ERR_SHAPE, "Classifier: the image batch is %s; the model takes [N, %d, %s]",
                            ie_tensor_describe(image, d, sizeof d), c->in_channels,
                            c->dims == 2 ? "1, H, W] (2-D images" : "D, H, W] (3-D volumes");
    if (c->dims == 2) {
        const int64_t shape[4] = {ie_tensor_dim(image, 0), c->in_channels, ie_tensor_dim(image, 3),
                                  ie_tensor_dim(image, 4)};
        IE_TRY(ie_reshape(image, 4, shape, &x));
    } else {
        x = ie_tensor_retain(image);
    }
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < c->n_blocks; i++) {
        st = block_forward(&net->blocks[i], c->residual, x, training, &y);
        x = y;
        y = NULL;
        if (st == IE_OK && i + 1 < c->n_blocks) {
            st = pool(c->dims, x, &y);
            ie_tensor_release(x);
            x = y;
            y = NULL;
        }
    }
    if (st == IE_OK) st = ie_global_avg_pool(x, out);
    ie_tensor_release(x);
    return st;
}

ie_status ie_classifier_forward(ie_classifier *net, ie_tensor *image, ie_tensor *features, bool training,
                                const ie_rng *dropout_rng, ie_tensor **out) {
    const ie_classifier_config *c = &net->c;
    char d[64];
    if (c->in_channels > 0 && !image)
        return ie_error_set(IE_ERR_INVALID_ARG, "Classifier: the model takes images, the batch has none");
    if (c->features > 0 && (!features || ie_tensor_ndim(features) != 2 || ie_tensor_dim(features, 1) != c->features))
        return ie_error_set(IE_ERR_SHAPE, "Classifier: the model takes %d non-image features, the batch has %s",
                            c->features, features ? ie_tensor_describe(features, d, sizeof d) : "none");
    ie_tensor *x = NULL, *y = NULL;
    ie_status st = IE_OK;
    if (c->in_channels > 0) st = encode(net, image, training, &x);
    if (st == IE_OK && c->features > 0) {
        if (x) {
            ie_tensor *parts[2] = {x, features};
            st = ie_concat(parts, 2, 1, &y);
            ie_tensor_release(x);
            x = y;
            y = NULL;
        } else {
            x = ie_tensor_retain(features);
        }
    }
    for (int i = 0; st == IE_OK && i < net->n_head; i++) {
        st = ie_linear_layer_forward(&net->head[i], x, &y);
        ie_tensor_release(x);
        x = y;
        y = NULL;
        if (st == IE_OK && i + 1 < net->n_head) {
            st = ie_relu(x, &y);
            ie_tensor_release(x);
            x = y;
            y = NULL;
            if (st == IE_OK && c->dropout > 0 && training) {
                ie_rng r = *dropout_rng;
                r.epoch += (uint32_t)i; /* the mask uses element indices as counters: one key per layer */
                st = ie_dropout(x, c->dropout, training, &r, &y);
                ie_tensor_release(x);
                x = y;
                y = NULL;
            }
        }
    }
    if (st != IE_OK) {
        ie_tensor_release(x);
        return st;
    }
    *out = x;
    return IE_OK;
}
