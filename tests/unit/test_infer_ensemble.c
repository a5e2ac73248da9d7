/* tests - ensemble inference: with two HelloWorld models (different seeds)
 * as members, the sliding-window posteriors of the ensemble equal the mean of
 * the members' own posteriors (to float rounding), and an ensemble of one
 * model with itself equals that model exactly. */
#include "test_util.h"

#include "core/inference/infer.h"
#include "core/plugin/loader.h"

static ie_tensor *posteriors(const ie_infer_settings *settings, const ie_tensor *image, const ie_infer_net *net) {
    ie_tensor *out = NULL;
    CHECK_OK(ie_sliding_window(image, settings->n_classes, &settings->window, ie_infer_net_window, (void *)net, &out));
    return out;
}

int main(void) {
    ie_threads_set(2);
    const char *config = "{\"model\": {\"name\": \"HelloWorld\", \"params\": {\"features\": 4, \"depth\": 2}},"
                         " \"data\": {\"classes\": [\"background\", \"a\", \"b\"], \"crop_size\": [16, 16, 16],"
                         "   \"pad_multiple\": 4}, \"infer\": {\"overlap\": 0.5}}";
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, config, "test"));
    CHECK_OK(ie_config_resolve(cfg));
    ie_infer_settings settings;
    CHECK_OK(ie_infer_settings_from_config(cfg, &settings));
    ie_loaded_plugin *plugin = NULL;
    CHECK_OK(ie_plugin_find("HelloWorld", &plugin));
    ie_model *models[2] = {NULL, NULL};
    for (int m = 0; m < 2; m++) {
        ie_host host = {.struct_size = sizeof host, .abi_major = IE_PLUGIN_ABI_MAJOR,
                        .abi_minor = IE_PLUGIN_ABI_MINOR, .seed = 11 + (uint64_t)m, .threads = 2, .run_dir = ""};
        CHECK_OK(ie_plugin_create(plugin, ie_config_text(cfg), &host, &models[m]));
    }
    const int64_t shape[4] = {1, 20, 28, 24};
    ie_tensor *image = test_random(4, shape, 3, -2, 2, false);

    ie_infer_net a = {.plugin = plugin, .model = models[0]}, b = {.plugin = plugin, .model = models[1]};
    ie_infer_net ensemble = {.plugin = plugin, .model = models[0], .n_others = 1, .others = &b};
    ie_infer_net self_pair = {.plugin = plugin, .model = models[0], .n_others = 1, .others = &a};
    ie_tensor *pa = posteriors(&settings, image, &a), *pb = posteriors(&settings, image, &b);
    ie_tensor *pe = posteriors(&settings, image, &ensemble), *ps = posteriors(&settings, image, &self_pair);

    const float *xa = ie_f32(pa), *xb = ie_f32(pb), *xe = ie_f32(pe), *xs = ie_f32(ps);
    double worst = 0, differ = 0;
    int64_t self_mismatch = 0;
    for (int64_t i = 0; i < ie_tensor_numel(pa); i++) {
        double d = fabs(xe[i] - 0.5 * ((double)xa[i] + xb[i]));
        worst = d > worst ? d : worst;
        differ = fabs(xa[i] - xb[i]) > differ ? fabs(xa[i] - xb[i]) : differ;
        self_mismatch += fabsf(xs[i] - xa[i]) > 1e-7f;
    }
    CHECK(differ > 1e-3, "the two members must disagree for the test to mean anything (max diff %g)", differ);
    CHECK(worst < 1e-6, "ensemble posteriors differ from the members' mean by up to %g", worst);
    CHECK(self_mismatch == 0, "an ensemble of a model with itself differs from the model at %lld voxels",
          (long long)self_mismatch);
    printf("members differ by up to %.3g; ensemble vs mean of members: %.3g\n", differ, worst);

    ie_tensor *all[] = {pa, pb, pe, ps, image};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ie_tensor_release(all[i]);
    for (int m = 0; m < 2; m++) plugin->table.destroy(models[m]);
    ie_plugin_unload(plugin);
    ie_config_free(cfg);
    return test_summary();
}
