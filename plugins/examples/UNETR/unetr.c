/* UNETR - an InnerEye model plugin: a small UNETR-style segmentation network
 * (Hatamizadeh et al., "UNETR: Transformers for 3D Medical Image
 * Segmentation", 2022), built from the SDK's transformer ops.
 *
 *   image      [N, C, D, H, W]                  D, H, W multiples of P = 2^levels
 *   patch_embed  P x P x P convolution, stride P  [N, E, D/P, H/P, W/P]
 *   + pos_embed  learned, one vector per patch  (resized trilinearly when the
 *                input's patch grid is not the training crop's)
 *   tokens     [N * T, E]                        T = D/P * H/P * W/P patches
 *   blocks.l   pre-norm transformer layers, l = 0 .. layers-1:
 *                x = x + proj(attention(q, k, v of norm1(x)))   (heads)
 *                x = x + fc2(gelu(fc1(norm2(x))))
 *   norm       layer norm of the last layer's tokens, back to [N, E, D/P, ...]
 *   decoder.i  for i = levels-1 .. 0 (resolution 1/2^i, features * 2^i channels):
 *                2x2x2 transposed conv up, concatenated with skip i,
 *                3x3x3 conv + batch norm + ReLU
 *   skip i     i = 0: stem, 3x3x3 conv + batch norm + ReLU of the image;
 *              i > 0: the tokens after layer layers*i/levels, brought to
 *              resolution 1/2^i by levels-i transposed convs, then conv + BN + ReLU
 *   out        1x1x1 conv -> logits [N, classes, D, H, W]
 *
 * As in UNETR, the encoder sees the volume only as a sequence of patches and
 * the skips carry the transformer's intermediate states to the convolutional
 * decoder; the stem gives the decoder the full-resolution image.
 *
 * Every optional entry of the table is left NULL: the host's loss, metrics,
 * loader, augmentations and optimiser apply (see plugins/examples/TinySeg for
 * the rules of the boundary, docs/sdk.md for all of them).  Only SDK ops are
 * used in forward, as the ONNX export needs (docs/export.md). */
#include <stdio.h>
#include <stdlib.h>

#include "innereye/config.h"
#include "innereye/init.h"
#include "innereye/layers.h"
#include "innereye/plugin.h"

#define UNETR_MAX_LEVELS 4 /* patch size up to 16, as in the paper */
#define UNETR_MAX_LAYERS 24

/* The network's shape, from the resolved config (model.params, defaults in
 * read_shape); the positional embedding's grid is data.crop_size / patch. */
typedef struct unetr_shape {
    int in_channels, classes;
    int embed_dim, heads, layers, mlp_dim, features;
    int patch, levels; /* patch = 2^levels */
    int64_t grid[3];   /* patches along D, H, W of a training crop */
} unetr_shape;

static ie_status read_int(const ie_config *cfg, const char *path, int64_t fallback, int64_t lo, int64_t hi, int *out) {
    int64_t v = fallback;
    if (ie_config_has(cfg, path)) IE_TRY(ie_config_get_int(cfg, path, &v));
    if (v < lo || v > hi)
        return ie_error_set(IE_ERR_CONFIG, "UNETR: %s is %lld; it must be between %lld and %lld", path, (long long)v,
                            (long long)lo, (long long)hi);
    *out = (int)v;
    return IE_OK;
}

static ie_status check_shape(const ie_config *cfg, unetr_shape *s) {
    if (s->embed_dim % s->heads)
        return ie_error_set(IE_ERR_CONFIG, "UNETR: model.params.embed_dim (%d) must be a multiple of model.params.heads "
                            "(%d): each head gets embed_dim / heads channels", s->embed_dim, s->heads);
    s->levels = 0;
    while ((1 << s->levels) < s->patch) s->levels++;
    if ((1 << s->levels) != s->patch || s->levels < 1 || s->levels > UNETR_MAX_LEVELS)
        return ie_error_set(IE_ERR_CONFIG, "UNETR: model.params.patch_size is %d; it must be 2, 4, 8 or 16 (the decoder "
                            "doubles the resolution back to the image's)", s->patch);
    int64_t crop[3] = {0};
    int n = 0;
    if (ie_config_has(cfg, "data.crop_size")) IE_TRY(ie_config_get_array_length(cfg, "data.crop_size", &n));
    if (n != 3)
        return ie_error_set(IE_ERR_CONFIG, "UNETR: data.crop_size must give the training crop [D, H, W] (the "
                            "positional embedding has one vector per patch of it)");
    IE_TRY(ie_config_get_int_array(cfg, "data.crop_size", crop, 3, &n));
    for (int i = 0; i < 3; i++) {
        if (crop[i] % s->patch || crop[i] < s->patch)
            return ie_error_set(IE_ERR_CONFIG, "UNETR: data.crop_size [%lld, %lld, %lld] must be multiples of "
                                "model.params.patch_size %d along every axis", (long long)crop[0], (long long)crop[1],
                                (long long)crop[2], s->patch);
        s->grid[i] = crop[i] / s->patch;
    }
    return IE_OK;
}

static ie_status unetr_read_shape(const char *config_json, unetr_shape *s) {
    ie_config *cfg = NULL;
    int names = 0;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_text(cfg, config_json, "resolved config");
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st == IE_OK) st = read_int(cfg, "model.params.in_channels", 1, 1, 64, &s->in_channels);
    if (st == IE_OK) st = read_int(cfg, "model.params.embed_dim", 32, 2, 1024, &s->embed_dim);
    if (st == IE_OK) st = read_int(cfg, "model.params.heads", 4, 1, 64, &s->heads);
    if (st == IE_OK) st = read_int(cfg, "model.params.layers", 2, 1, UNETR_MAX_LAYERS, &s->layers);
    if (st == IE_OK) st = read_int(cfg, "model.params.mlp_dim", 4 * (int64_t)s->embed_dim, 1, 8192, &s->mlp_dim);
    if (st == IE_OK) st = read_int(cfg, "model.params.features", 8, 1, 1024, &s->features);
    if (st == IE_OK) st = read_int(cfg, "model.params.patch_size", 4, 2, 16, &s->patch);
    if (st == IE_OK) st = check_shape(cfg, s);
    if (st == IE_OK) st = ie_config_get_array_length(cfg, "data.classes", &names);
    s->classes = names ? names : 2;
    ie_config_free(cfg);
    return st;
}

/* ---- the model: layers and their parameters ---- */

typedef struct conv_block { /* 3x3x3 conv (no bias: batch norm follows) + batch norm + ReLU */
    ie_conv_layer conv;
    ie_batch_norm_layer bn;
} conv_block;

typedef struct encoder_block {
    ie_tensor *norm1_weight, *norm1_bias, *norm2_weight, *norm2_bias; /* [E] each */
    ie_linear_layer q, k, v, proj;                                    /* E -> E */
    ie_linear_layer fc1, fc2;                                         /* E -> mlp_dim -> E */
} encoder_block;

typedef struct skip_path { /* skip i > 0: tokens -> resolution 1/2^i */
    ie_conv_layer up[UNETR_MAX_LEVELS];
    conv_block block;
} skip_path;

typedef struct decoder_level {
    ie_conv_layer up; /* 2x2x2 transposed conv, stride 2 */
    conv_block block;
} decoder_level;

struct ie_model {
    unetr_shape shape;
    ie_params *params; /* every parameter and buffer, by its PyTorch-style name */
    ie_conv_layer patch_embed;
    ie_tensor *pos_embed; /* [1, E, grid D, grid H, grid W] */
    encoder_block blocks[UNETR_MAX_LAYERS];
    ie_tensor *norm_weight, *norm_bias;
    conv_block stem;                          /* skip 0 */
    skip_path skips[UNETR_MAX_LEVELS];        /* 1 .. levels-1 */
    decoder_level decoder[UNETR_MAX_LEVELS]; /* 0 .. levels-1 */
    ie_conv_layer out;
};

static void conv_block_destroy(conv_block *b) {
    ie_conv_layer_destroy(&b->conv);
    ie_batch_norm_layer_destroy(&b->bn);
}

static void unetr_destroy(ie_model *m) {
    if (!m) return;
    ie_conv_layer_destroy(&m->patch_embed);
    for (int l = 0; l < UNETR_MAX_LAYERS; l++) {
        encoder_block *b = &m->blocks[l];
        ie_linear_layer *lin[6] = {&b->q, &b->k, &b->v, &b->proj, &b->fc1, &b->fc2};
        for (int i = 0; i < 6; i++) ie_linear_layer_destroy(lin[i]);
    }
    conv_block_destroy(&m->stem);
    for (int i = 0; i < UNETR_MAX_LEVELS; i++) {
        for (int j = 0; j < UNETR_MAX_LEVELS; j++) ie_conv_layer_destroy(&m->skips[i].up[j]);
        conv_block_destroy(&m->skips[i].block);
        ie_conv_layer_destroy(&m->decoder[i].up);
        conv_block_destroy(&m->decoder[i].block);
    }
    ie_conv_layer_destroy(&m->out);
    ie_params_free(m->params); /* holds the layer-norm and positional tensors */
    free(m);
}

/* A new parameter `name` [n] filled with `value` (layer-norm weight 1, bias 0,
 * as torch.nn.LayerNorm); *out is borrowed from params. */
static ie_status constant_param(ie_params *params, const char *name, int64_t n, float value, ie_tensor **out) {
    ie_tensor *t = NULL;
    IE_TRY(ie_tensor_full(1, &n, value, &t));
    ie_status st = ie_params_add(params, name, t, IE_PARAM);
    ie_tensor_release(t);
    *out = st == IE_OK ? t : NULL;
    return st;
}

static ie_status conv_block_create(conv_block *b, int in, int out, ie_params *params, const char *prefix,
                                   uint64_t seed) {
    char name[64];
    const ie_conv_layer_spec spec = {.dims = 3, .in_channels = in, .out_channels = out, .kernel = {3, 3, 3},
                                     .opts = {.padding = {1, 1, 1}}};
    snprintf(name, sizeof name, "%s.conv", prefix);
    IE_TRY(ie_conv_layer_create(&b->conv, &spec, params, name, seed));
    snprintf(name, sizeof name, "%s.bn", prefix);
    return ie_batch_norm_layer_create(&b->bn, out, params, name);
}

/* 2x2x2 transposed convolution with stride 2: doubles D, H and W. */
static ie_status up_create(ie_conv_layer *up, int in, int out, ie_params *params, const char *name, uint64_t seed) {
    const ie_conv_layer_spec spec = {.dims = 3, .transposed = true, .in_channels = in, .out_channels = out,
                                     .kernel = {2, 2, 2}, .opts = {.stride = {2, 2, 2}}, .bias = true};
    return ie_conv_layer_create(up, &spec, params, name, seed);
}

static ie_status encoder_block_create(encoder_block *b, const unetr_shape *s, ie_params *params, int l,
                                      uint64_t seed) {
    char name[64];
    const int e = s->embed_dim;
    struct {
        ie_linear_layer *layer;
        const char *name;
        int in, out;
    } lin[6] = {{&b->q, "attn.q", e, e},       {&b->k, "attn.k", e, e},        {&b->v, "attn.v", e, e},
                {&b->proj, "attn.proj", e, e}, {&b->fc1, "mlp.fc1", e, s->mlp_dim}, {&b->fc2, "mlp.fc2", s->mlp_dim, e}};
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "blocks.%d.%s", l, lin[i].name);
        IE_TRY(ie_linear_layer_create(lin[i].layer, lin[i].in, lin[i].out, true, params, name, seed));
    }
    ie_tensor **norm[4] = {&b->norm1_weight, &b->norm1_bias, &b->norm2_weight, &b->norm2_bias};
    const char *norm_names[4] = {"norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "blocks.%d.%s", l, norm_names[i]);
        IE_TRY(constant_param(params, name, e, i % 2 ? 0.0f : 1.0f, norm[i]));
    }
    return IE_OK;
}

/* The positional embedding starts as N(0, 0.02^2), as ViT's (without the
 * truncation), drawn from the run's seed and the parameter's name. */
static ie_status pos_embed_create(ie_model *m, uint64_t seed) {
    const unetr_shape *s = &m->shape;
    const int64_t shape[5] = {1, s->embed_dim, s->grid[0], s->grid[1], s->grid[2]};
    ie_tensor *t = NULL;
    IE_TRY(ie_tensor_empty(IE_F32, 5, shape, IE_CPU, &t));
    ie_rng rng = ie_rng_make(seed, IE_STREAM_INIT, 0, ie_param_item("pos_embed"));
    ie_status st = ie_init_normal(t, 0.0, 0.02, &rng);
    if (st == IE_OK) st = ie_params_add(m->params, "pos_embed", t, IE_PARAM);
    ie_tensor_release(t);
    if (st == IE_OK) m->pos_embed = t;
    return st;
}

/* Channels of the decoder at resolution 1/2^i. */
static int level_channels(const unetr_shape *s, int i) { return s->features << i; }

static ie_status build(ie_model *m, uint64_t seed) {
    const unetr_shape *s = &m->shape;
    const int e = s->embed_dim, p = s->patch;
    char name[64];
    const ie_conv_layer_spec patch = {.dims = 3, .in_channels = s->in_channels, .out_channels = e,
                                      .kernel = {p, p, p}, .opts = {.stride = {p, p, p}}, .bias = true};
    IE_TRY(ie_conv_layer_create(&m->patch_embed, &patch, m->params, "patch_embed.proj", seed));
    IE_TRY(pos_embed_create(m, seed));
    for (int l = 0; l < s->layers; l++) IE_TRY(encoder_block_create(&m->blocks[l], s, m->params, l, seed));
    IE_TRY(constant_param(m->params, "norm.weight", e, 1.0f, &m->norm_weight));
    IE_TRY(constant_param(m->params, "norm.bias", e, 0.0f, &m->norm_bias));
    IE_TRY(conv_block_create(&m->stem, s->in_channels, level_channels(s, 0), m->params, "stem", seed));
    for (int i = 1; i < s->levels; i++) { /* tokens (level `levels`) up to level i */
        int in = e;
        for (int j = 0, level = s->levels - 1; level >= i; j++, level--) {
            snprintf(name, sizeof name, "skips.%d.up.%d", i, j);
            IE_TRY(up_create(&m->skips[i].up[j], in, level_channels(s, level), m->params, name, seed));
            in = level_channels(s, level);
        }
        snprintf(name, sizeof name, "skips.%d.block", i);
        IE_TRY(conv_block_create(&m->skips[i].block, in, in, m->params, name, seed));
    }
    for (int i = 0; i < s->levels; i++) {
        int below = i == s->levels - 1 ? e : level_channels(s, i + 1), c = level_channels(s, i);
        snprintf(name, sizeof name, "decoder.%d.up", i);
        IE_TRY(up_create(&m->decoder[i].up, below, c, m->params, name, seed));
        snprintf(name, sizeof name, "decoder.%d.block", i);
        IE_TRY(conv_block_create(&m->decoder[i].block, 2 * c, c, m->params, name, seed));
    }
    const ie_conv_layer_spec out = {.dims = 3, .in_channels = level_channels(s, 0), .out_channels = s->classes,
                                    .kernel = {1, 1, 1}, .bias = true};
    return ie_conv_layer_create(&m->out, &out, m->params, "out", seed);
}

/* Layers register their tensors in model->params; initial values depend only
 * on host->seed and each parameter's name. */
static ie_status unetr_create(const char *config_json, const ie_host *host, ie_model **out) {
    if (!host) return ie_error_set(IE_ERR_INVALID_ARG, "UNETR: create needs the host context");
    unetr_shape shape;
    IE_TRY(unetr_read_shape(config_json, &shape));
    ie_model *m = calloc(1, sizeof *m);
    if (!m) return ie_error_set(IE_ERR_NOMEM, "UNETR: out of memory creating the model");
    m->shape = shape;
    ie_status st = ie_params_new(&m->params);
    if (st == IE_OK) st = build(m, host->seed);
    if (st != IE_OK) {
        unetr_destroy(m);
        return st; /* the layer's message says what failed */
    }
    *out = m;
    return IE_OK;
}

/* Borrowed by the host (optimiser, checkpoints) until destroy. */
static ie_params *unetr_parameters(ie_model *m) { return m->params; }

/* ---- forward ----
 * Each step releases its intermediate tensors; on failure *out stays NULL
 * and the op's message says what went wrong. */

static ie_status conv_block_forward(const conv_block *b, ie_tensor *x, bool training, ie_tensor **out) {
    ie_tensor *c = NULL;
    ie_status st = ie_conv_layer_forward(&b->conv, x, &c);
    if (st == IE_OK) st = ie_batch_norm_layer_forward_relu(&b->bn, c, training, out);
    ie_tensor_release(c);
    return st;
}

/* Patches of the image as tokens [N * T, E], positional embedding added.
 * grid: the image's patch grid. */
static ie_status embed_patches(const ie_model *m, ie_tensor *image, const int64_t grid[3], ie_tensor **out) {
    const unetr_shape *s = &m->shape;
    const int64_t n = ie_tensor_dim(image, 0), e = s->embed_dim, t = grid[0] * grid[1] * grid[2];
    ie_tensor *patches = NULL, *pos = ie_tensor_retain(m->pos_embed), *flat = NULL, *pos_flat = NULL, *sum = NULL,
              *seq = NULL, *tokens = NULL;
    ie_status st = ie_conv_layer_forward(&m->patch_embed, image, &patches); /* [N, E, grid] */
    if (st == IE_OK && (grid[0] != s->grid[0] || grid[1] != s->grid[1] || grid[2] != s->grid[2])) {
        ie_tensor *resized = NULL; /* another window than the training crop: resize the embedding (as ViT) */
        st = ie_upsample(m->pos_embed, grid, IE_UPSAMPLE_LINEAR, false, &resized);
        ie_tensor_release(pos);
        pos = resized;
    }
    /* [N, E*T] + [1, E*T]: the embedding broadcast over the batch */
    const int64_t flat_shape[2] = {n, e * t}, pos_shape[2] = {1, e * t}, seq_shape[3] = {n, e, t},
                  token_shape[2] = {n * t, e};
    if (st == IE_OK) st = ie_reshape(patches, 2, flat_shape, &flat);
    if (st == IE_OK) st = ie_reshape(pos, 2, pos_shape, &pos_flat);
    if (st == IE_OK) st = ie_add(flat, pos_flat, &sum);
    if (st == IE_OK) st = ie_reshape(sum, 3, seq_shape, &seq);
    if (st == IE_OK) st = ie_transpose(seq, 1, 2, &tokens); /* [N, T, E] */
    if (st == IE_OK) st = ie_reshape(tokens, 2, token_shape, out);
    ie_tensor *temps[] = {patches, pos, flat, pos_flat, sum, seq, tokens};
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) ie_tensor_release(temps[i]);
    return st;
}

/* Tokens [N * T, E] back to a volume [N, E, grid D, grid H, grid W]. */
static ie_status tokens_to_volume(ie_tensor *tokens, int64_t n, int64_t e, const int64_t grid[3], ie_tensor **out) {
    const int64_t t = grid[0] * grid[1] * grid[2];
    const int64_t seq_shape[3] = {n, t, e}, vol_shape[5] = {n, e, grid[0], grid[1], grid[2]};
    ie_tensor *seq = NULL, *channels_first = NULL;
    ie_status st = ie_reshape(tokens, 3, seq_shape, &seq);
    if (st == IE_OK) st = ie_transpose(seq, 1, 2, &channels_first); /* [N, E, T] */
    if (st == IE_OK) st = ie_reshape(channels_first, 5, vol_shape, out);
    ie_tensor_release(seq);
    ie_tensor_release(channels_first);
    return st;
}

/* Multi-head self-attention of x [N * T, E] -> [N * T, E] (before the
 * residual): q, k, v split into heads [N, heads, T, E/heads], fused
 * scaled-dot-product attention, heads merged, output projection. */
static ie_status self_attention(const encoder_block *b, const unetr_shape *s, int64_t n, int64_t t, ie_tensor *x,
                                ie_tensor **out) {
    const int64_t heads = s->heads, dh = s->embed_dim / s->heads;
    const int64_t split[4] = {n, t, heads, dh}, merged_shape[2] = {n * t, s->embed_dim};
    const int swap_heads[4] = {0, 2, 1, 3}; /* [N, T, h, d] <-> [N, h, T, d] */
    const ie_linear_layer *proj[3] = {&b->q, &b->k, &b->v};
    ie_tensor *lin[3] = {NULL}, *split_view[3] = {NULL}, *qkv[3] = {NULL}, *att = NULL, *back = NULL, *merged = NULL;
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < 3; i++) {
        st = ie_linear_layer_forward(proj[i], x, &lin[i]);
        if (st == IE_OK) st = ie_reshape(lin[i], 4, split, &split_view[i]);
        if (st == IE_OK) st = ie_permute(split_view[i], swap_heads, &qkv[i]);
    }
    if (st == IE_OK) st = ie_attention(qkv[0], qkv[1], qkv[2], false, &att);
    if (st == IE_OK) st = ie_permute(att, swap_heads, &back);
    if (st == IE_OK) st = ie_reshape(back, 2, merged_shape, &merged);
    if (st == IE_OK) st = ie_linear_layer_forward(&b->proj, merged, out);
    for (int i = 0; i < 3; i++) {
        ie_tensor_release(lin[i]);
        ie_tensor_release(split_view[i]);
        ie_tensor_release(qkv[i]);
    }
    ie_tensor_release(att);
    ie_tensor_release(back);
    ie_tensor_release(merged);
    return st;
}

/* One pre-norm transformer layer on x [N * T, E]. */
static ie_status encoder_block_forward(const encoder_block *b, const unetr_shape *s, int64_t n, int64_t t,
                                       ie_tensor *x, ie_tensor **out) {
    const float eps = 1e-5f; /* torch.nn.LayerNorm's default */
    ie_tensor *n1 = NULL, *att = NULL, *h = NULL, *n2 = NULL, *f1 = NULL, *act = NULL, *f2 = NULL;
    ie_status st = ie_layer_norm(x, 1, b->norm1_weight, b->norm1_bias, eps, &n1);
    if (st == IE_OK) st = self_attention(b, s, n, t, n1, &att);
    if (st == IE_OK) st = ie_add(x, att, &h);
    if (st == IE_OK) st = ie_layer_norm(h, 1, b->norm2_weight, b->norm2_bias, eps, &n2);
    if (st == IE_OK) st = ie_linear_layer_forward(&b->fc1, n2, &f1);
    if (st == IE_OK) st = ie_gelu(f1, false, &act);
    if (st == IE_OK) st = ie_linear_layer_forward(&b->fc2, act, &f2);
    if (st == IE_OK) st = ie_add(h, f2, out);
    ie_tensor *temps[] = {n1, att, h, n2, f1, act, f2};
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) ie_tensor_release(temps[i]);
    return st;
}

/* The transformer: final tokens as a volume in *bottom, and the tokens after
 * layer layers*i/levels for each skip i = 1 .. levels-1 in skip_tokens[i]. */
static ie_status encode(const ie_model *m, ie_tensor *image, const int64_t grid[3], ie_tensor **bottom,
                        ie_tensor *skip_tokens[UNETR_MAX_LEVELS]) {
    const unetr_shape *s = &m->shape;
    const int64_t n = ie_tensor_dim(image, 0), t = grid[0] * grid[1] * grid[2];
    ie_tensor *x = NULL, *normed = NULL;
    ie_status st = embed_patches(m, image, grid, &x);
    for (int l = 0; st == IE_OK && l < s->layers; l++) {
        ie_tensor *next = NULL;
        st = encoder_block_forward(&m->blocks[l], s, n, t, x, &next);
        ie_tensor_release(x);
        x = next;
        for (int i = 1; st == IE_OK && i < s->levels; i++) {
            int layer = s->layers * i / s->levels; /* 1-based, at least 1 */
            if ((layer < 1 ? 1 : layer) == l + 1) skip_tokens[i] = ie_tensor_retain(x);
        }
    }
    if (st == IE_OK) st = ie_layer_norm(x, 1, m->norm_weight, m->norm_bias, 1e-5f, &normed);
    if (st == IE_OK) st = tokens_to_volume(normed, n, s->embed_dim, grid, bottom);
    ie_tensor_release(x);
    ie_tensor_release(normed);
    return st;
}

/* Skip i > 0: tokens -> volume -> levels-i transposed convs -> conv block. */
static ie_status skip_forward(const ie_model *m, int i, ie_tensor *tokens, int64_t n, const int64_t grid[3],
                              bool training, ie_tensor **out) {
    const unetr_shape *s = &m->shape;
    ie_tensor *x = NULL;
    ie_status st = tokens_to_volume(tokens, n, s->embed_dim, grid, &x);
    for (int j = 0; st == IE_OK && j < s->levels - i; j++) {
        ie_tensor *up = NULL;
        st = ie_conv_layer_forward(&m->skips[i].up[j], x, &up);
        ie_tensor_release(x);
        x = up;
    }
    if (st == IE_OK) st = conv_block_forward(&m->skips[i].block, x, training, out);
    ie_tensor_release(x);
    return st;
}

/* batch->image [N, C, D, H, W] -> logits [N, classes, D, H, W]. */
static ie_status unetr_forward(ie_model *m, const ie_batch *batch, bool training, ie_tensor **out) {
    const unetr_shape *s = &m->shape;
    ie_tensor *image = batch->image;
    char d[128];
    if (!image) return ie_error_set(IE_ERR_INVALID_ARG, "UNETR: the batch has no image");
    if (ie_tensor_ndim(image) != 5 || ie_tensor_dim(image, 1) != s->in_channels)
        return ie_error_set(IE_ERR_SHAPE, "UNETR: expects images [N, %d, D, H, W], got %s", s->in_channels,
                            ie_tensor_describe(image, d, sizeof d));
    int64_t grid[3];
    for (int i = 0; i < 3; i++) {
        if (ie_tensor_dim(image, 2 + i) % s->patch)
            return ie_error_set(IE_ERR_SHAPE, "UNETR: image %s: D, H and W must be multiples of the patch size %d; "
                                "set data.pad_multiple (and data.test_crop_size) to multiples of it",
                                ie_tensor_describe(image, d, sizeof d), s->patch);
        grid[i] = ie_tensor_dim(image, 2 + i) / s->patch;
    }
    const int64_t n = ie_tensor_dim(image, 0);
    ie_tensor *skip_tokens[UNETR_MAX_LEVELS] = {NULL}, *x = NULL;
    ie_status st = encode(m, image, grid, &x, skip_tokens);
    for (int i = s->levels - 1; st == IE_OK && i >= 0; i--) {
        ie_tensor *up = NULL, *skip = NULL, *cat = NULL, *next = NULL;
        st = ie_conv_layer_forward(&m->decoder[i].up, x, &up);
        if (st == IE_OK)
            st = i == 0 ? conv_block_forward(&m->stem, image, training, &skip)
                        : skip_forward(m, i, skip_tokens[i], n, grid, training, &skip);
        ie_tensor *parts[2] = {up, skip};
        if (st == IE_OK) st = ie_concat(parts, 2, 1, &cat);
        if (st == IE_OK) st = conv_block_forward(&m->decoder[i].block, cat, training, &next);
        ie_tensor *temps[] = {x, up, skip, cat};
        for (size_t k = 0; k < sizeof temps / sizeof temps[0]; k++) ie_tensor_release(temps[k]);
        x = next;
    }
    if (st == IE_OK) st = ie_conv_layer_forward(&m->out, x, out);
    ie_tensor_release(x);
    for (int i = 0; i < UNETR_MAX_LEVELS; i++) ie_tensor_release(skip_tokens[i]);
    return st;
}

/* The table the host reads; fields not named here are NULL (the host's
 * defaults). */
static const ie_plugin unetr_plugin = {
    .struct_size = sizeof(ie_plugin),
    .abi_major = IE_PLUGIN_ABI_MAJOR,
    .abi_minor = IE_PLUGIN_ABI_MINOR,
    .name = "UNETR",
    .version = "0.1.0",
    .description = "UNETR: patch embedding, transformer encoder, convolutional decoder with skips (3D segmentation)",
    .task = IE_TASK_SEGMENTATION,
    .create = unetr_create,
    .destroy = unetr_destroy,
    .parameters = unetr_parameters,
    .forward = unetr_forward,
};

/* The one exported symbol. */
IE_PLUGIN_EXPORT const ie_plugin *ie_plugin_entry(void) { return &unetr_plugin; }
