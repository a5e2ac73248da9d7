/* models/unet3d - InnerEye's UNet3D forward pass. */
#include <stdio.h>
#include <stdlib.h>

#include "models/unet3d/unet3d_net.h"

#define MAX_DEPTH 6

typedef struct basic_layer { /* conv (no bias) [-> BN -> ReLU] */
    ie_conv_layer conv;
    ie_batch_norm_layer bn;
    bool norm;
} basic_layer;

typedef struct synthesis_block {
    basic_layer conv1, conv2; /* conv only */
    ie_batch_norm_layer bn;   /* activation_block.0 */
    basic_layer block2;
} synthesis_block;

struct ie_unet3d {
    ie_unet3d_config config;
    ie_params *params;
    basic_layer encode[MAX_DEPTH + 1][2];
    ie_conv_layer upsample[MAX_DEPTH];
    ie_batch_norm_layer upsample_bn[MAX_DEPTH];
    synthesis_block synthesis[MAX_DEPTH];
    ie_conv_layer output;
    ie_conv_layer aux[MAX_DEPTH]; /* aux[l] at level l = 1..depth-2 (deep supervision) */
};

/* Levels 1..depth-2 carry an auxiliary head when deep supervision is on. */
static int aux_levels(const ie_unet3d_config *c) { return c->deep_supervision && c->depth >= 3 ? c->depth - 2 : 0; }

/* InnerEye pads a conv with kernel k and dilation d by (k - 1) / 2 + d - 1
 * (0 for k = 1), which keeps the size for odd k.  `dilation` applies to H and
 * W only: InnerEye's UNet2D dilates the second conv of each lower encoder
 * block by (1, 2, 2). */
static ie_status basic_create(basic_layer *b, const ie_unet3d_config *c, int cin, int cout, const int stride[3],
                              int dilation, bool norm, ie_params *p, const char *prefix, uint64_t seed) {
    char name[256];
    int kd = c->flat ? 1 : 3, pad = dilation; /* (3 - 1) / 2 + dilation - 1 */
    ie_conv_layer_spec spec = {.dims = 3, .in_channels = cin, .out_channels = cout,
                               .kernel = {kd, 3, 3},
                               .opts = {.stride = {stride[0], stride[1], stride[2]}, .padding = {kd / 2, pad, pad},
                                        .dilation = {1, dilation, dilation}}};
    snprintf(name, sizeof name, "%s.conv1", prefix);
    IE_TRY(ie_conv_layer_create(&b->conv, &spec, p, name, seed));
    b->norm = norm;
    if (norm) {
        snprintf(name, sizeof name, "%s.bn1", prefix);
        IE_TRY(ie_batch_norm_layer_create(&b->bn, cout, p, name));
    }
    return IE_OK;
}

/* BN + ReLU that consumes x: in inference the result overwrites x (its one
 * reader), in training autograd keeps x and the result is new. */
static ie_status bn_relu_consume(const ie_batch_norm_layer *l, ie_tensor *x, bool training, ie_tensor **out) {
    return ie_batch_norm_relu_consume(x, l->weight, l->bias, l->running_mean, l->running_var, l->num_batches_tracked,
                                      training, l->momentum, l->eps, out);
}

static ie_status basic_forward(const basic_layer *b, ie_tensor *x, bool training, ie_tensor **out) {
    ie_tensor *conv = NULL;
    IE_TRY(ie_conv_layer_forward(&b->conv, x, &conv));
    if (!b->norm) {
        *out = conv;
        return IE_OK;
    }
    return bn_relu_consume(&b->bn, conv, training, out);
}

static void basic_destroy(basic_layer *b) {
    ie_conv_layer_destroy(&b->conv);
    if (b->norm) ie_batch_norm_layer_destroy(&b->bn);
}

/* Returns a(x) + b(a(x)) style residual: out = second(first) + first,
 * written over first's memory (nothing keeps it: autograd keeps batch norm +
 * ReLU outputs as recipes), so the sum takes no new activation. */
static ie_status residual_add(ie_tensor *first, ie_tensor *second, ie_tensor **out) {
    ie_status st = ie_add_consume(second, first, out);
    ie_tensor_release(second);
    return st;
}

static ie_status encode_forward(ie_unet3d *net, int level, ie_tensor *x, bool training, ie_tensor **out) {
    ie_tensor *a = NULL, *b = NULL;
    IE_TRY(basic_forward(&net->encode[level][0], x, training, &a));
    ie_status st = basic_forward(&net->encode[level][1], a, training, &b);
    if (st != IE_OK) {
        ie_tensor_release(a);
        return st;
    }
    return residual_add(a, b, out);
}

/* Consumes x and *skip (sets it to NULL). */
static ie_status decode_forward(ie_unet3d *net, int j, ie_tensor *x, ie_tensor **skip, bool training,
                                ie_tensor **out) {
    ie_tensor *up = NULL, *up_act = NULL, *c1 = NULL, *c2 = NULL, *sum = NULL, *act = NULL, *b2 = NULL;
    synthesis_block *s = &net->synthesis[j];
    /* Each temporary is released as soon as it is consumed: what backward
     * needs, autograd keeps (or recomputes), and the rest frees at once. */
    ie_status st = ie_conv_layer_forward(&net->upsample[j], x, &up);
    ie_tensor_release(x); /* its last use: not held through this level's peak */
    if (st == IE_OK) st = bn_relu_consume(&net->upsample_bn[j], up, training, &up_act);
    if (st == IE_OK) st = basic_forward(&s->conv1, up_act, training, &c1);
    ie_tensor_release(up_act);
    if (st == IE_OK) st = basic_forward(&s->conv2, *skip, training, &c2);
    ie_tensor_release(*skip); /* its last use */
    *skip = NULL;
    if (st == IE_OK) st = ie_add_consume(c1, c2, &sum); /* over c2's memory, which no node keeps */
    else ie_tensor_release(c2);
    ie_tensor_release(c1);
    if (st == IE_OK) st = bn_relu_consume(&s->bn, sum, training, &act);
    if (st == IE_OK) st = basic_forward(&s->block2, act, training, &b2);
    if (st != IE_OK) {
        ie_tensor_release(act);
        ie_tensor_release(b2);
        return st;
    }
    return residual_add(act, b2, out);
}

/* Whether encoder level i (1..depth) halves axis a: the pool[a] deepest ones. */
static bool level_pools(const ie_unet3d_config *c, int level, int axis) {
    return level >= 1 && level > c->depth - c->pool[axis];
}

ie_status ie_unet3d_create(const ie_unet3d_config *c_in, uint64_t seed, ie_unet3d **out) {
    *out = NULL;
    ie_unet3d_config resolved = *c_in, *c = &resolved;
    if (!c->pool[0] && !c->pool[1] && !c->pool[2]) c->pool[0] = c->pool[1] = c->pool[2] = c->depth;
    if (c->flat) c->pool[0] = 0;
    for (int a = 0; a < 3; a++)
        if (c->pool[a] < 0 || c->pool[a] > c->depth)
            return ie_error_set(IE_ERR_CONFIG, "unet3d: pool[%d] is %d; each axis pools 0..depth (%d) times", a,
                                c->pool[a], c->depth);
    if (c->depth < 1 || c->depth > MAX_DEPTH || c->features < 1 || c->in_channels < 1 || c->classes < 1)
        return ie_error_set(IE_ERR_CONFIG,
                            "unet3d: depth must be 1..%d and features, in_channels, classes positive "
                            "(got depth %d, features %d, in_channels %d, classes %d)",
                            MAX_DEPTH, c->depth, c->features, c->in_channels, c->classes);
    ie_unet3d *net = calloc(1, sizeof *net);
    if (!net) return ie_error_set(IE_ERR_NOMEM, "unet3d: out of memory");
    net->config = *c;
    ie_status st = ie_params_new(&net->params);
    char name[256];
    int ch = c->features;
    for (int i = 0; st == IE_OK && i <= c->depth; i++) {
        int cin = i == 0 ? c->in_channels : ch / 2, one[3] = {1, 1, 1}, stride[3];
        for (int a = 0; a < 3; a++) stride[a] = level_pools(c, i, a) ? 2 : 1;
        snprintf(name, sizeof name, "_layers.%d.block1", i);
        st = basic_create(&net->encode[i][0], c, cin, ch, stride, 1, true, net->params, name, seed);
        snprintf(name, sizeof name, "_layers.%d.block2", i);
        int dilation = c->flat && i > 0 ? 2 : 1;
        if (st == IE_OK)
            st = basic_create(&net->encode[i][1], c, ch, ch, one, dilation, true, net->params, name, seed);
        if (i < c->depth) ch *= 2;
    }
    for (int j = 0; st == IE_OK && j < c->depth; j++) {
        /* Decoder step j undoes encoder level depth - j. */
        int idx = c->depth + 1 + 2 * j, k[3], s[3], pd[3];
        for (int a = 0; a < 3; a++) {
            bool pools = level_pools(c, c->depth - j, a);
            k[a] = pools ? 4 : 1;
            s[a] = pools ? 2 : 1;
            pd[a] = pools ? 1 : 0;
        }
        ie_conv_layer_spec up = {.dims = 3, .transposed = true, .in_channels = ch, .out_channels = ch / 2,
                                 .kernel = {k[0], k[1], k[2]}, .bias = true,
                                 .opts = {.stride = {s[0], s[1], s[2]}, .padding = {pd[0], pd[1], pd[2]}}};
        snprintf(name, sizeof name, "_layers.%d.upsample_block.0", idx);
        st = ie_conv_layer_create(&net->upsample[j], &up, net->params, name, seed);
        snprintf(name, sizeof name, "_layers.%d.upsample_block.1", idx);
        if (st == IE_OK) st = ie_batch_norm_layer_create(&net->upsample_bn[j], ch / 2, net->params, name);
        ch /= 2;
        synthesis_block *sb = &net->synthesis[j];
        const int one[3] = {1, 1, 1};
        snprintf(name, sizeof name, "_layers.%d.conv1", idx + 1);
        if (st == IE_OK) st = basic_create(&sb->conv1, c, ch, ch, one, 1, false, net->params, name, seed);
        snprintf(name, sizeof name, "_layers.%d.conv2", idx + 1);
        if (st == IE_OK) st = basic_create(&sb->conv2, c, ch, ch, one, 1, false, net->params, name, seed);
        snprintf(name, sizeof name, "_layers.%d.activation_block.0", idx + 1);
        if (st == IE_OK) st = ie_batch_norm_layer_create(&sb->bn, ch, net->params, name);
        snprintf(name, sizeof name, "_layers.%d.block2", idx + 1);
        if (st == IE_OK) st = basic_create(&sb->block2, c, ch, ch, one, 1, true, net->params, name, seed);
    }
    ie_conv_layer_spec head = {.dims = 3, .in_channels = c->features, .out_channels = c->classes,
                               .kernel = {1, 1, 1}, .bias = true};
    if (st == IE_OK) st = ie_conv_layer_create(&net->output, &head, net->params, "output_layer", seed);
    for (int l = 1; st == IE_OK && l <= aux_levels(c); l++) {
        ie_conv_layer_spec aux = head;
        aux.in_channels = c->features << l;
        snprintf(name, sizeof name, "deep_supervision.%d", l);
        st = ie_conv_layer_create(&net->aux[l], &aux, net->params, name, seed);
    }
    if (st != IE_OK) {
        ie_unet3d_free(net);
        return st;
    }
    *out = net;
    return IE_OK;
}

void ie_unet3d_free(ie_unet3d *net) {
    if (!net) return;
    for (int i = 0; i <= net->config.depth; i++) {
        basic_destroy(&net->encode[i][0]);
        basic_destroy(&net->encode[i][1]);
    }
    for (int j = 0; j < net->config.depth; j++) {
        ie_conv_layer_destroy(&net->upsample[j]);
        ie_batch_norm_layer_destroy(&net->upsample_bn[j]);
        basic_destroy(&net->synthesis[j].conv1);
        basic_destroy(&net->synthesis[j].conv2);
        ie_batch_norm_layer_destroy(&net->synthesis[j].bn);
        basic_destroy(&net->synthesis[j].block2);
    }
    ie_conv_layer_destroy(&net->output);
    for (int l = 1; l <= aux_levels(&net->config); l++) ie_conv_layer_destroy(&net->aux[l]);
    ie_params_free(net->params);
    free(net);
}

ie_params *ie_unet3d_params(ie_unet3d *net) { return net->params; }

int ie_unet3d_aux_count(const ie_unet3d *net) { return aux_levels(&net->config); }

/* The forward pass; with aux (training only), also the auxiliary heads'
 * logits, aux[l - 1] for level l. */
static ie_status forward(ie_unet3d *net, ie_tensor *x, bool training, ie_tensor **out, ie_tensor **aux) {
    const ie_unet3d_config *c = &net->config;
    *out = NULL;
    if (!x || ie_tensor_ndim(x) != 5)
        return ie_error_set(IE_ERR_SHAPE, "unet3d: input must be [N, C, D, H, W]");
    if (ie_tensor_dim(x, 1) != c->in_channels)
        return ie_error_set(IE_ERR_SHAPE, "unet3d: input has %lld channels, the model expects %d",
                            (long long)ie_tensor_dim(x, 1), c->in_channels);
    for (int i = 2; i < 5; i++) {
        int64_t m = (int64_t)1 << c->pool[i - 2];
        if (ie_tensor_dim(x, i) % m != 0)
            return ie_error_set(IE_ERR_SHAPE,
                                "unet3d: spatial size %lld (dimension %d) is not a multiple of 2^pool = %lld; "
                                "choose crop sizes that are",
                                (long long)ie_tensor_dim(x, i), i, (long long)m);
    }
    ie_tensor *skips[MAX_DEPTH + 1] = {0};
    ie_tensor *cur = x;
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i <= c->depth; i++) {
        st = encode_forward(net, i, cur, training, &skips[i]);
        cur = skips[i];
    }
    ie_tensor *y = st == IE_OK ? ie_tensor_retain(skips[c->depth]) : NULL;
    for (int j = 0; st == IE_OK && j < c->depth; j++) {
        ie_tensor *next = NULL;
        st = decode_forward(net, j, y, &skips[c->depth - 1 - j], training, &next);
        y = next;
        const int level = c->depth - 1 - j; /* where the decoder now is */
        if (st == IE_OK && aux && level >= 1 && level <= aux_levels(c))
            st = ie_conv_layer_forward(&net->aux[level], y, &aux[level - 1]);
    }
    for (int i = 0; i <= c->depth; i++) ie_tensor_release(skips[i]);
    if (st == IE_OK) st = ie_conv_layer_forward(&net->output, y, out);
    ie_tensor_release(y);
    return st;
}

ie_status ie_unet3d_forward(ie_unet3d *net, ie_tensor *x, bool training, ie_tensor **out) {
    return forward(net, x, training, out, NULL);
}

ie_status ie_unet3d_forward_deep(ie_unet3d *net, ie_tensor *x, ie_tensor **out, ie_tensor **aux) {
    const int n = aux_levels(&net->config);
    for (int i = 0; i < n; i++) aux[i] = NULL;
    ie_status st = forward(net, x, true, out, aux);
    if (st != IE_OK)
        for (int i = 0; i < n; i++) {
            ie_tensor_release(aux[i]);
            aux[i] = NULL;
        }
    return st;
}
