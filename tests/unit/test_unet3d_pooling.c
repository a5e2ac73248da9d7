/* UNet3D with per-axis pooling (model.params.pool_axes, set by `innereye
 * plan` for thick slices): which levels halve which axis, the shapes of the
 * strided and transposed convs that follow from it, the size rule, a forward
 * and backward through an anisotropic net, and that the default is the
 * unchanged isotropic network. */
#include "test_util.h"
#include "innereye/autograd.h"
#include "innereye/ops.h"
#include "models/unet3d/unet3d_net.h"

static const int64_t no_shape[5] = {0};

static const int64_t *weight_shape(ie_unet3d *net, const char *name) {
    ie_tensor *t = ie_params_find(ie_unet3d_params(net), name);
    CHECK(t != NULL, "no tensor %s", name);
    return t ? ie_tensor_shape(t) : no_shape;
}

int main(void) {
    ie_threads_set(2);
    /* depth 3, D pooled once (at the deepest level), H and W three times: a
     * 0.7 x 0.7 x 5 mm volume's plan. */
    ie_unet3d_config aniso = {.in_channels = 1, .classes = 2, .features = 2, .depth = 3, .pool = {1, 3, 3}};
    ie_unet3d *net = NULL;
    CHECK_OK(ie_unet3d_create(&aniso, 7, &net));
    /* Encoder level 1 and 2 strided convs keep D (kernel 3 either way);
     * the decoder steps undoing them have transposed kernels 1 along D, the
     * one undoing level 3 (which pools D) kernel 4. */
    const int64_t *up0 = weight_shape(net, "_layers.4.upsample_block.0.weight");
    const int64_t *up2 = weight_shape(net, "_layers.8.upsample_block.0.weight");
    CHECK(up0[2] == 4 && up0[3] == 4 && up0[4] == 4, "decoder step 0 (undoes level 3) kernel %lldx%lldx%lld, want 4x4x4",
          (long long)up0[2], (long long)up0[3], (long long)up0[4]);
    CHECK(up2[2] == 1 && up2[3] == 4 && up2[4] == 4, "decoder step 2 (undoes level 1) kernel %lldx%lldx%lld, want 1x4x4",
          (long long)up2[2], (long long)up2[3], (long long)up2[4]);

    /* D needs a multiple of 2^1 only, H and W of 2^3. */
    int64_t shape[5] = {2, 1, 2, 8, 16};
    ie_tensor *x = test_random(5, shape, 3, -1, 1, false), *y = NULL;
    CHECK_OK(ie_unet3d_forward(net, x, true, &y));
    if (y) {
        const int64_t *s = ie_tensor_shape(y);
        CHECK(s[0] == 2 && s[1] == 2 && s[2] == 2 && s[3] == 8 && s[4] == 16, "output %lldx%lldx%lldx%lldx%lld",
              (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3], (long long)s[4]);
        ie_tensor *loss = NULL;
        CHECK_OK(ie_mean(y, &loss));
        CHECK_OK(ie_backward(loss));
        ie_tensor *g = ie_tensor_grad(ie_params_find(ie_unet3d_params(net), "_layers.0.block1.conv1.weight"));
        CHECK(g != NULL, "no gradient reached the first conv");
        for (int64_t i = 0; g && i < ie_tensor_numel(g); i++)
            CHECK(isfinite(ie_tensor_data_f32(g)[i]), "gradient %lld is not finite", (long long)i);
        ie_tensor_release(loss);
        ie_tensor_release(y);
    }
    ie_tensor_release(x);
    int64_t bad[5] = {1, 1, 3, 8, 8};
    x = test_random(5, bad, 3, -1, 1, false);
    CHECK_FAILS(ie_unet3d_forward(net, x, false, &y), IE_ERR_SHAPE, "not a multiple of 2^pool = 2");
    ie_tensor_release(x);
    ie_unet3d_free(net);

    /* An axis pooled more often than depth is refused. */
    ie_unet3d_config over = {.in_channels = 1, .classes = 2, .features = 2, .depth = 2, .pool = {3, 2, 2}};
    CHECK_FAILS(ie_unet3d_create(&over, 7, &net), IE_ERR_CONFIG, "pools 0..depth");

    /* No pool given = pool every axis at every level: the same network,
     * the same bytes, as pool {depth, depth, depth}. */
    ie_unet3d_config plain = {.in_channels = 1, .classes = 2, .features = 2, .depth = 2};
    ie_unet3d_config full = plain;
    full.pool[0] = full.pool[1] = full.pool[2] = 2;
    ie_unet3d *a = NULL, *b = NULL;
    CHECK_OK(ie_unet3d_create(&plain, 5, &a));
    CHECK_OK(ie_unet3d_create(&full, 5, &b));
    int64_t iso[5] = {1, 1, 4, 4, 8};
    x = test_random(5, iso, 9, -1, 1, false);
    ie_tensor *ya = NULL, *yb = NULL;
    CHECK_OK(ie_unet3d_forward(a, x, false, &ya));
    CHECK_OK(ie_unet3d_forward(b, x, false, &yb));
    CHECK(ya && yb && memcmp(ie_tensor_data(ya), ie_tensor_data(yb), (size_t)ie_tensor_numel(ya) * 4) == 0,
          "default pooling differs from pool {2, 2, 2}");
    const int64_t *k = weight_shape(a, "_layers.5.upsample_block.0.weight");
    CHECK(k[2] == 4, "isotropic decoder kernel along D is %lld, want 4", (long long)k[2]);
    ie_tensor_release(ya);
    ie_tensor_release(yb);
    ie_tensor_release(x);
    ie_unet3d_free(a);
    ie_unet3d_free(b);
    return test_summary();
}
