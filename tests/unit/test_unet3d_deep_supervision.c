/* UNet3D's deep supervision heads (models/unet3d, config.deep_supervision):
 * off, the network has exactly InnerEye's parameters (no head); on, one 1x1x1
 * head per decoder level 1..depth-2 with f 2^l input channels; the output
 * of forward and of forward_deep is the same bytes with and without the
 * heads (the other parameters are initialised by name, so they match), for
 * isotropic and anisotropic pooling; the auxiliary outputs have the sizes
 * the labels are downsampled to; the sum of an auxiliary output gives its
 * head's bias the exact gradient (its voxel count) and reaches the decoder
 * beneath, not the output layer; depth 2 has no head. */
#include "test_util.h"
#include "innereye/autograd.h"
#include "innereye/ops.h"
#include "models/unet3d/unet3d_net.h"

static bool same_bytes(const ie_tensor *a, const ie_tensor *b) {
    return a && b && ie_tensor_same_shape(a, b) &&
           !memcmp(ie_tensor_data((ie_tensor *)a), ie_tensor_data((ie_tensor *)b), (size_t)ie_tensor_numel(a) * 4);
}

static void check_config(ie_unet3d_config c, const int64_t in[5], const char *what) {
    ie_unet3d *plain = NULL, *deep = NULL;
    CHECK_OK(ie_unet3d_create(&c, 11, &plain));
    c.deep_supervision = true;
    CHECK_OK(ie_unet3d_create(&c, 11, &deep));
    const int heads = c.depth - 2;
    CHECK(ie_unet3d_aux_count(plain) == 0 && ie_unet3d_aux_count(deep) == heads, "%s: %d heads, want %d", what,
          ie_unet3d_aux_count(deep), heads);
    CHECK(ie_params_count(ie_unet3d_params(deep)) == ie_params_count(ie_unet3d_params(plain)) + 2 * heads,
          "%s: deep supervision adds a weight and a bias per head, nothing else", what);
    for (int l = 1; l <= heads; l++) {
        char name[64];
        snprintf(name, sizeof name, "deep_supervision.%d.weight", l);
        ie_tensor *w = ie_params_find(ie_unet3d_params(deep), name);
        CHECK(w && ie_tensor_dim(w, 0) == c.classes && ie_tensor_dim(w, 1) == (int64_t)c.features << l &&
                  ie_tensor_dim(w, 2) == 1 && ie_tensor_dim(w, 4) == 1,
              "%s: %s is [classes, f 2^%d, 1, 1, 1]", what, name, l);
        CHECK(ie_params_find(ie_unet3d_params(plain), name) == NULL, "%s: no %s without deep supervision", what, name);
    }
    ie_tensor *x = test_random(5, in, 5, -1, 1, false), *y_plain = NULL, *y_deep = NULL, *y_train = NULL,
              *aux[8] = {0};
    CHECK_OK(ie_unet3d_forward(plain, x, false, &y_plain));
    CHECK_OK(ie_unet3d_forward(deep, x, false, &y_deep));
    CHECK(same_bytes(y_plain, y_deep), "%s: inference output unchanged by the heads", what);
    ie_tensor_release(y_deep);
    CHECK_OK(ie_unet3d_forward(plain, x, true, &y_deep));
    CHECK_OK(ie_unet3d_forward_deep(deep, x, &y_train, aux));
    CHECK(same_bytes(y_deep, y_train), "%s: training output of forward_deep = forward's", what);
    for (int i = 0; i < heads; i++) {
        const int level = i + 1;
        bool ok = aux[i] && ie_tensor_ndim(aux[i]) == 5 && ie_tensor_dim(aux[i], 1) == c.classes;
        for (int a = 0; ok && a < 3; a++) {
            const int pool = c.pool[0] || c.pool[1] || c.pool[2] ? c.pool[a] : c.depth; /* all 0: every level */
            int pooled = level - (c.depth - pool); /* the levels above depth - pool halve the axis */
            pooled = pooled < 0 ? 0 : pooled;
            ok = ie_tensor_dim(aux[i], 2 + a) == in[2 + a] >> pooled;
        }
        CHECK(ok, "%s: auxiliary output %d has the size of level %d", what, i, level);
    }
    for (int i = 0; i < heads; i++) ie_tensor_release(aux[i]);
    ie_tensor_release(y_plain), ie_tensor_release(y_deep), ie_tensor_release(y_train), ie_tensor_release(x);
    ie_unet3d_free(plain), ie_unet3d_free(deep);
}

/* The sum of the level-1 head's output gets a gradient to that head's bias
 * of exactly its voxel count per class, and gradients reach the decoder
 * weights below it but not the output layer. */
static void check_gradients(void) {
    ie_unet3d_config c = {.in_channels = 1, .classes = 2, .features = 2, .depth = 3, .deep_supervision = true};
    ie_unet3d *net = NULL;
    CHECK_OK(ie_unet3d_create(&c, 3, &net));
    const int64_t in[5] = {2, 1, 8, 8, 8};
    ie_tensor *x = test_random(5, in, 9, -1, 1, false), *y = NULL, *aux[1] = {0}, *s = NULL;
    CHECK_OK(ie_unet3d_forward_deep(net, x, &y, aux));
    CHECK_OK(ie_sum(aux[0], &s));
    CHECK_OK(ie_backward(s));
    ie_params *p = ie_unet3d_params(net);
    ie_tensor *gb = ie_tensor_grad(ie_params_find(p, "deep_supervision.1.bias"));
    CHECK(gb && ie_tensor_data_f32(gb)[0] == 128 && ie_tensor_data_f32(gb)[1] == 128,
          "head bias gradient = its 2 x 4 x 4 x 4 voxels per class");
    ie_tensor *g_up = ie_tensor_grad(ie_params_find(p, "_layers.4.upsample_block.0.weight"));
    ie_tensor *g_out = ie_tensor_grad(ie_params_find(p, "output_layer.weight"));
    double up = 0, outw = 0;
    for (int64_t i = 0; g_up && i < ie_tensor_numel(g_up); i++) up += fabs(ie_tensor_data_f32(g_up)[i]);
    for (int64_t i = 0; g_out && i < ie_tensor_numel(g_out); i++) outw += fabs(ie_tensor_data_f32(g_out)[i]);
    CHECK(up > 0 && outw == 0, "the auxiliary loss reaches the decoder beneath (%g) and not the output layer (%g)",
          up, outw);
    ie_tensor_release(s), ie_tensor_release(aux[0]), ie_tensor_release(y), ie_tensor_release(x);
    ie_unet3d_free(net);
}

int main(void) {
    ie_threads_set(2);
    const int64_t iso[5] = {2, 1, 16, 16, 16}, aniso[5] = {2, 2, 4, 16, 16};
    check_config((ie_unet3d_config){.in_channels = 1, .classes = 3, .features = 2, .depth = 4}, iso, "depth 4");
    check_config((ie_unet3d_config){.in_channels = 2, .classes = 2, .features = 2, .depth = 4, .pool = {2, 4, 4}},
                 aniso, "depth 4, pool [2, 4, 4]");
    check_config((ie_unet3d_config){.in_channels = 1, .classes = 2, .features = 2, .depth = 2}, iso,
                 "depth 2 (no head)");
    check_gradients();
    return test_summary();
}
