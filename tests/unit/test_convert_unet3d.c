/* A UNet3D trained a little in PyTorch, saved as an InnerEye (Lightning)
 * checkpoint and converted by tools/convert_pytorch_checkpoint.py
 * (tests/reference/gen_convert_unet3d.py), gives the same posteriors in the
 * UNet3D plugin on a real hippocampus MRI: to 1e-4 at every second voxel of
 * the volume, borders included.  The weights go in through
 * ie_params_copy_from, as model.init_checkpoint does.  Skipped (exit 77)
 * when ../shared/data is absent. */
#include <unistd.h>

#include "test_util.h"
#include "core/checkpoint/checkpoint.h"
#include "core/plugin/loader.h"
#include "innereye/image_io.h"

#define CASE IE_SHARED_DATA_DIR "/hippocampus/images/hippocampus_001.nii.gz"
#define MULTIPLE 16
#define STRIDE 2
#define POSTERIOR_ATOL 1e-4

static const char *const config_json =
    "{\"model\":{\"name\":\"UNet3D\",\"params\":{\"features\":4,\"depth\":2}},"
    "\"data\":{\"classes\":[\"background\",\"anterior\",\"posterior\"],\"crop_size\":[32,32,32]}}";

/* [D, H, W] -> [1, 1, D', H', W'], (x - mean) / std, zeros after the end of
 * each axis up to a multiple of MULTIPLE (as the generator does). */
static ie_tensor *normalised_padded(ie_tensor *vol, double *mean_out, double *std_out) {
    const int64_t *s = ie_tensor_shape(vol);
    int64_t n = ie_tensor_numel(vol);
    const float *v = ie_tensor_data_f32(vol);
    double sum = 0, sum2 = 0;
    for (int64_t i = 0; i < n; i++) sum += v[i];
    double mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++) sum2 += (v[i] - mean) * (v[i] - mean);
    double std = sqrt(sum2 / (double)n);
    int64_t shape[5] = {1, 1};
    for (int a = 0; a < 3; a++) shape[2 + a] = (s[a] + MULTIPLE - 1) / MULTIPLE * MULTIPLE;
    ie_tensor *x = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 5, shape, IE_CPU, &x));
    float *dst = ie_tensor_data_f32(x);
    for (int64_t i = 0; i < s[0]; i++)
        for (int64_t j = 0; j < s[1]; j++)
            for (int64_t k = 0; k < s[2]; k++)
                dst[(i * shape[3] + j) * shape[4] + k] = (float)((v[(i * s[1] + j) * s[2] + k] - mean) / std);
    *mean_out = mean;
    *std_out = std;
    return x;
}

int main(void) {
    if (access(CASE, R_OK) != 0) {
        printf("skipped: %s not found\n", CASE);
        return 77;
    }
    ie_threads_set(2);
    ie_loaded_plugin *plugin = NULL;
    CHECK_OK(ie_plugin_find("UNet3D", &plugin));
    ie_host host = {.struct_size = sizeof host, .abi_major = IE_PLUGIN_ABI_MAJOR, .abi_minor = IE_PLUGIN_ABI_MINOR,
                    .seed = 1, .threads = 2, .device = IE_CPU, .run_dir = ""};
    ie_model *model = NULL;
    CHECK_OK(ie_plugin_create(plugin, config_json, &host, &model));
    ie_params *params = plugin->table.parameters(model);

    /* Every tensor of the model comes from the file, and the file has nothing else. */
    ie_params *converted = fixture_load("convert_unet3d.safetensors");
    CHECK(ie_params_count(converted) == ie_params_count(params), "the file has %d tensors, the model %d",
          ie_params_count(converted), ie_params_count(params));
    CHECK_OK(ie_params_copy_from(params, converted, "convert_unet3d.safetensors", 1));
    ie_tensor *tracked = ie_params_find(params, "_layers.0.block1.bn1.num_batches_tracked");
    CHECK(tracked && ie_tensor_dtype(tracked) == IE_I64 && *(int64_t *)ie_tensor_data(tracked) == 4,
          "num_batches_tracked arrives as int64 4 (four training steps)");
    const float *running_var = ie_tensor_data_f32(ie_params_find(params, "_layers.1.block2.bn1.running_var"));
    CHECK(fabsf(running_var[0] - 1.0f) > 1e-3f, "running statistics moved away from their initial values");

    ie_tensor *vol = NULL, *x = NULL, *logits = NULL, *post = NULL;
    CHECK_OK(ie_image_read(CASE, IE_F32, &vol, NULL));
    CHECK(ie_tensor_dim(vol, 0) == 35 && ie_tensor_dim(vol, 1) == 51 && ie_tensor_dim(vol, 2) == 35,
          "case 001 is 35 x 51 x 35 voxels [D, H, W]");
    double mean, std;
    x = normalised_padded(vol, &mean, &std);
    ie_params *expected = fixture_load("convert_unet3d_expected.safetensors");
    const float *norm = ie_tensor_data_f32(fixture_get(expected, "norm"));
    CHECK(fabs(mean - norm[0]) < 1e-5 * norm[0] && fabs(std - norm[1]) < 1e-5 * norm[1],
          "ITK and nibabel read the same voxels (mean %g / %g, std %g / %g)", mean, norm[0], std, norm[1]);

    bool was = ie_grad_set_enabled(false);
    const char *subjects[1] = {"hippocampus_001"};
    ie_batch batch = {.struct_size = sizeof batch, .count = 1, .subjects = subjects, .image = x};
    CHECK_OK(ie_plugin_forward(plugin, model, &batch, false, &logits));
    CHECK_OK(ie_softmax(logits, 1, &post));
    ie_grad_set_enabled(was);

    /* Every STRIDE-th voxel of the original extent, [3, 18, 26, 18]. */
    ie_tensor *want = fixture_get(expected, "posteriors"), *got = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, 4, ie_tensor_shape(want), IE_CPU, &got));
    const int64_t *ps = ie_tensor_shape(post), *ws = ie_tensor_shape(want);
    float *g = ie_tensor_data_f32(got);
    const float *p = ie_tensor_data_f32(post);
    for (int64_t c = 0; c < ws[0]; c++)
        for (int64_t i = 0; i < ws[1]; i++)
            for (int64_t j = 0; j < ws[2]; j++)
                for (int64_t k = 0; k < ws[3]; k++)
                    *g++ = p[((c * ps[2] + i * STRIDE) * ps[3] + j * STRIDE) * ps[4] + k * STRIDE];
    check_close("posteriors of hippocampus_001 from the converted checkpoint", got, want, 0.0, POSTERIOR_ATOL);
    /* The posteriors say something: the model found structure, not a flat guess. */
    double lo = 1, hi = 0;
    for (int64_t i = 0; i < ie_tensor_numel(want); i++) {
        lo = fmin(lo, ie_tensor_data_f32(want)[i]);
        hi = fmax(hi, ie_tensor_data_f32(want)[i]);
    }
    CHECK(lo < 0.05 && hi > 0.95, "posteriors span [%g, %g]", lo, hi);

    ie_tensor *all[] = {vol, x, logits, post, got};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
    ie_params_free(expected);
    ie_params_free(converted);
    plugin->table.destroy(model);
    ie_plugin_unload(plugin);
    return test_summary();
}
