/* tests - whole-volume inference on a real CT (../shared/data/ct_spleen:
 * 164x166x26 voxels of 0.795 x 0.795 x 5 mm): the HelloWorld plugin through
 * ie_infer_item (loading and normalising as training does, sliding windows,
 * post-processing) and ie_infer_write.  Every output file must carry the
 * input's geometry exactly; posteriors sum to 1; a mask restricts the
 * segmentation; peak memory stays near the accumulators plus one batch.
 * Skipped (77) when the data is absent. */
#include "image_io_test_util.h"

#include "core/data/dataset.h"
#include "core/data/segmentation_hooks.h"
#include "core/inference/infer.h"
#include "core/plugin/loader.h"

#define CT IE_SHARED_DATA_DIR "/ct_spleen/image.nii.gz"
#define LABEL IE_SHARED_DATA_DIR "/ct_spleen/label.nii.gz"

static ie_status read_image(const ie_host *host, const char *path, ie_dtype dtype, ie_tensor **out) {
    (void)host;
    return ie_image_read(path, dtype, out, NULL);
}

int main(void) {
    struct stat sb;
    if (stat(CT, &sb) != 0) {
        printf("skipped: %s is absent\n", CT);
        return TEST_SKIP;
    }
    scratch_make();
    ie_threads_set(2);
    const char *config =
        "{\"model\": {\"name\": \"HelloWorld\", \"params\": {\"features\": 4, \"depth\": 2, \"classes\": 2}},"
        " \"data\": {\"classes\": [\"background\", \"spleen\"], \"crop_size\": [16, 64, 64], \"pad_multiple\": 4,"
        "   \"image_channels\": [\"ct\"], \"mask_channel\": \"body\"},"
        " \"infer\": {\"batch_size\": 2}, \"postprocess\": {\"largest_component\": [\"spleen\"]}}";
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, config, "test"));
    CHECK_OK(ie_config_resolve(cfg));
    ie_infer_settings settings;
    CHECK_OK(ie_infer_settings_from_config(cfg, &settings));

    ie_loaded_plugin *plugin = NULL;
    CHECK_OK(ie_plugin_find("HelloWorld", &plugin));
    ie_host host = {.struct_size = sizeof host, .abi_major = IE_PLUGIN_ABI_MAJOR, .abi_minor = IE_PLUGIN_ABI_MINOR,
                    .seed = 5, .threads = 2, .device = IE_CPU, .run_dir = "", .read_image = read_image};
    ie_model *model = NULL;
    CHECK_OK(ie_plugin_create(plugin, ie_config_text(cfg), &host, &model));
    ie_infer_net net = {.plugin = plugin, .model = model};

    /* The spleen label serves as the mask (data.mask_channel "body"):
     * outside it everything must come out as background. */
    char csv[2048];
    snprintf(csv, sizeof csv, "subject,filePath,channel\nspleen_2,%s,ct\nspleen_2,%s,body\n", CT, LABEL);
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_parse(csv, strlen(csv), "test", "/", "subject", &ds));
    ie_seg_config seg;
    ie_seg_config_init(&seg);
    const char *channels[1] = {"ct"};
    ie_seg_norm norm[1] = {IE_SEG_NORM_SIMPLE};
    seg.n_image_channels = 1, seg.image_channels = channels, seg.norm = norm;
    ie_data_hooks hooks = ie_seg_hooks(&seg);

    ie_memory_stats before, after;
    ie_memory_get_stats(&before);
    ie_infer_subject subj;
    CHECK_OK(ie_infer_item(&settings, hooks.load_item, hooks.load_item_ctx, "ct", ie_dataset_item_at(ds, 0), &host,
                           &net, &subj));
    ie_memory_get_stats(&after);
    int64_t V = ie_tensor_numel(subj.segmentation);
    CHECK(V == 164LL * 166 * 26 && ie_tensor_dim(subj.segmentation, 0) == 26, "the CT is 26x166x164 (D, H, W)");
    printf("ct_spleen: %lld voxels; peak tensor memory during inference %.1f MB (posteriors %.1f MB, image %.1f MB)\n",
           (long long)V, (double)(after.peak_in_use - before.bytes_in_use) / (1 << 20), 2.0 * V * 4 / (1 << 20),
           (double)V * 4 / (1 << 20));

    const float *p = ie_f32(subj.posteriors);
    const uint8_t *s = ie_tensor_data(subj.segmentation);
    const int64_t *m = ie_tensor_data(subj.mask); /* a mask is read as a label map (i64) */
    double worst = 0;
    int64_t outside = 0;
    for (int64_t i = 0; i < V; i++) {
        double e = fabs((double)p[i] + p[V + i] - 1.0);
        worst = e > worst ? e : worst;
        outside += m[i] == 0 && (s[i] != 0 || p[i] != 1.0f);
    }
    CHECK(worst < 1e-5, "posteriors sum to 1 within %g", worst);
    CHECK(outside == 0, "%lld voxels outside the mask are not background", (long long)outside);

    const char *out = scratch_path("predictions");
    CHECK_OK(ie_infer_write(out, &settings, &subj));
    ie_image_geometry gin, g;
    char a[256], b[256], path[1024];
    CHECK_OK(ie_image_read_geometry(CT, &gin));
    const char *files[3] = {"segmentation.nii.gz", "posterior_background.nii.gz", "posterior_spleen.nii.gz"};
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/spleen_2/%s", out, files[f]);
        CHECK_OK(ie_image_read_geometry(path, &g));
        bool same = g.ndim == gin.ndim;
        for (int i = 0; i < 3; i++)
            same = same && g.size[i] == gin.size[i] && g.spacing[i] == gin.spacing[i] && g.origin[i] == gin.origin[i];
        for (int i = 0; i < 9; i++) same = same && g.direction[i] == gin.direction[i];
        CHECK(same, "%s: geometry %s differs from the input's %s", files[f],
              ie_image_geometry_describe(&g, a, sizeof a), ie_image_geometry_describe(&gin, b, sizeof b));
    }
    ie_infer_subject_clear(&subj);
    ie_dataset_free(ds);
    plugin->table.destroy(model);
    ie_plugin_unload(plugin);
    ie_config_free(cfg);
    return test_summary();
}
