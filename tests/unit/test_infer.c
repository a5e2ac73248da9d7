/* tests - core/inference settings and output files:
 *   - infer.* / postprocess.* read from a resolved config, class names in
 *     rules resolved, bad names and values refused naming the key;
 *   - segmentation.nii.gz and posterior_<class>.nii.gz: uint8 posteriors are
 *     InnerEye's floor(clip(p * 255)) in float32, float32 on request, labels
 *     as uint8; every file carries the input's geometry exactly (an oblique,
 *     anisotropic grid; and a 2-D image);
 *   - an existing result is never overwritten, a failed write leaves nothing,
 *     no partial folder is left behind. */
#include "image_io_test_util.h"

#include "core/inference/infer.h"

static ie_config *config_of(const char *json) {
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, json, "test"));
    CHECK_OK(ie_config_resolve(cfg));
    return cfg;
}

static void test_settings(void) {
    ie_config *cfg = config_of(
        "{\"data\": {\"classes\": [\"background\", \"liver\", \"kidney\", \"spleen\"], \"crop_size\": [24, 40, 40],"
        " \"test_crop_size\": [32, 64, 48], \"pad_multiple\": 8, \"mask_channel\": \"body\"},"
        " \"infer\": {\"overlap\": 0.25, \"batch_size\": 3, \"blend\": \"uniform\", \"mirror_axes\": [0, 2],"
        "   \"posterior_dtype\": \"float32\"},"
        " \"postprocess\": {\"smoothing_mm\": [2, 1, 1], \"connectivity\": 26,"
        "   \"summed_probability_rules\": [\"liver,kidney,background\", \" spleen , liver, kidney\"],"
        "   \"slice_exclusion_rules\": [\"kidney,liver,true\"], \"largest_component\": [\"liver\", \"spleen\"],"
        "   \"largest_component_fraction\": 0.2, \"min_component_voxels\": 5, \"min_component_mm3\": 2.5}}");
    ie_infer_settings s;
    CHECK_OK(ie_infer_settings_from_config(cfg, &s));
    CHECK(s.n_classes == 4 && !strcmp(s.class_names[3], "spleen"), "classes");
    CHECK(s.window.window[0] == 32 && s.window.window[1] == 64 && s.window.window[2] == 48, "test_crop_size wins");
    CHECK(s.window.multiple[1] == 8 && s.window.overlap == 0.25 && s.window.batch_size == 3, "window settings");
    CHECK(s.window.blend == IE_BLEND_UNIFORM && s.window.mirror[0] && !s.window.mirror[1] && s.window.mirror[2],
          "blend and mirroring");
    CHECK(!strcmp(s.mask_channel, "body") && s.posteriors_float && s.write_posteriors, "mask and outputs");
    CHECK(s.post.smoothing_mm[0] == 2 && s.post.connectivity == 26, "smoothing and connectivity");
    CHECK(s.post.n_summed == 2 && s.post.summed[0].first == 1 && s.post.summed[0].second == 2 &&
              s.post.summed[0].external == 0 && s.post.summed[1].first == 3 && s.post.summed[1].external == 2,
          "summed probability rules by class index (spaces around names are ignored)");
    CHECK(s.post.n_slice == 1 && s.post.slice[0].higher == 2 && s.post.slice[0].lower == 1 &&
              s.post.slice[0].higher_dominates, "slice exclusion rule");
    CHECK(s.post.largest_component[1] && !s.post.largest_component[2] && s.post.largest_component[3] &&
              s.post.largest_component_fraction == 0.2, "largest components");
    CHECK(s.post.min_component_voxels == 5 && s.post.min_component_mm3 == 2.5, "minimum component sizes");
    ie_config_free(cfg);

    cfg = config_of("{\"data\": {\"classes\": [\"background\", \"a\"], \"crop_size\": [1, 64, 64]}}");
    CHECK_OK(ie_infer_settings_from_config(cfg, &s));
    CHECK(s.window.multiple[0] == 1 && s.window.multiple[1] == 16, "2-D crops: no padding along D");
    ie_config_free(cfg);
    cfg = config_of("{\"data\": {\"classes\": [\"background\", \"a\"]}}");
    CHECK_OK(ie_infer_settings_from_config(cfg, &s));
    CHECK(s.window.window[0] == 32 && s.window.overlap == 0.5 && s.window.blend == IE_BLEND_GAUSSIAN &&
              s.window.batch_size == 2 && s.window.sigma_scale == 0.125 && !s.posteriors_float &&
              s.post.connectivity == 6 && !s.mask_channel[0],
          "defaults: data.crop_size, overlap 0.5, Gaussian, batch 2, uint8 posteriors, 6-connectivity, no mask");
    ie_config_free(cfg);

    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"data\": {\"classes\": [\"background\", \"a\"]}, \"postprocess\": {\"summed_probability_rules\": "
         "[\"a,b,background\"]}}", "postprocess.summed_probability_rules[0] is \"a,b,background\": \"b\" is not one of "
         "data.classes (background, a)"},
        {"{\"data\": {\"classes\": [\"background\", \"a\"]}, \"postprocess\": {\"summed_probability_rules\": "
         "[\"a,background\"]}}", "it must have the form \"first,second,external\""},
        {"{\"data\": {\"classes\": [\"background\", \"a\"]}, \"postprocess\": {\"slice_exclusion_rules\": "
         "[\"a,background,maybe\"]}}", "its last field must be true or false"},
        {"{\"data\": {\"classes\": [\"background\", \"a\"]}, \"postprocess\": {\"largest_component\": "
         "[\"background\"]}}", "the background (the first of data.classes); list foreground classes only"},
        {"{\"data\": {\"classes\": [\"background\", \"a\"]}, \"postprocess\": {\"connectivity\": 18}}",
         "postprocess.connectivity is 18; use 6"},
        {"{\"data\": {\"classes\": [\"background\", \"a\"], \"crop_size\": [16, 16, 16]}, \"infer\": {\"stride\": "
         "[8, 20, 8]}}", "infer.stride[1] is 20, larger than the window (16"},
        {"{\"data\": {\"classes\": [\"background\"]}}", "data.classes must name the segmentation classes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg = config_of(bad[i].json);
        CHECK_FAILS(ie_infer_settings_from_config(cfg, &s), IE_ERR_CONFIG, bad[i].needle);
        ie_config_free(cfg);
    }
}

/* ---------------------------------------------------------------- files */

static bool same_geometry(const ie_image_geometry *a, const ie_image_geometry *b) {
    bool ok = a->ndim == b->ndim;
    for (int i = 0; i < 3; i++)
        ok = ok && a->size[i] == b->size[i] && a->spacing[i] == b->spacing[i] && a->origin[i] == b->origin[i];
    for (int i = 0; i < 9; i++) ok = ok && a->direction[i] == b->direction[i];
    return ok;
}

static void check_geometry(const char *path, const ie_image_geometry *want) {
    ie_image_geometry g;
    char a[256], b[256];
    CHECK_OK(ie_image_read_geometry(path, &g));
    CHECK(same_geometry(&g, want), "%s: geometry %s, the input's is %s", path,
          ie_image_geometry_describe(&g, a, sizeof a), ie_image_geometry_describe(want, b, sizeof b));
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.' || strstr(e->d_name, "partial");
    if (d) closedir(d);
    return n;
}

static ie_infer_subject make_subject(const char *subject, const int64_t shape[3], const ie_image_geometry *g) {
    ie_infer_subject s = {.subject = subject, .geometry = *g};
    int64_t V = shape[0] * shape[1] * shape[2], ps[4] = {3, shape[0], shape[1], shape[2]};
    CHECK_OK(ie_tensor_empty(IE_F32, 4, ps, IE_CPU, &s.posteriors));
    float *p = ie_f32(s.posteriors);
    /* Edge values first, then pseudo-random posteriors. */
    const float edges[] = {0.0f, 1.0f, 0.5f, 1.0f / 255.0f, 0.999999f, 0.00392f, 254.5f / 255.0f, 1e-9f};
    ie_rng rng = ie_rng_make(3, IE_STREAM_SAMPLING, 0, 0);
    for (int64_t i = 0; i < V; i++) {
        float a = i < 8 ? edges[i] : ie_rng_uniform(&rng), b = (1.0f - a) * ie_rng_uniform(&rng);
        p[i] = a, p[V + i] = b, p[2 * V + i] = 1.0f - a - b;
    }
    CHECK_OK(ie_posteriors_argmax(s.posteriors, &s.segmentation));
    return s;
}

static void test_outputs(void) {
    ie_infer_settings s;
    memset(&s, 0, sizeof s);
    s.n_classes = 3;
    s.class_names[0] = "background", s.class_names[1] = "liver", s.class_names[2] = "a/b";
    s.write_posteriors = true;
    /* An input on an oblique, anisotropic grid, as ITK writes and reads it. */
    int64_t shape[3] = {5, 7, 6};
    ie_image_geometry g = {.ndim = 3, .size = {6, 7, 5}, .spacing = {0.795, 0.795, 5.0},
                           .origin = {-12.5, 30.25, 7.0}};
    double c = cos(0.3), sn = sin(0.3);
    double dir[9] = {c, -sn, 0, sn, c, 0, 0, 0, 1};
    memcpy(g.direction, dir, sizeof dir);
    ie_tensor *input = NULL;
    CHECK_OK(ie_tensor_zeros(IE_F32, 3, shape, IE_CPU, &input));
    CHECK_OK(ie_image_write(scratch_path("input.nii.gz"), input, &g));
    ie_image_geometry gin;
    CHECK_OK(ie_image_read_geometry(scratch_path("input.nii.gz"), &gin));

    const char *out = scratch_path("out");
    ie_infer_subject subj = make_subject("case_1", shape, &gin);
    CHECK_OK(ie_infer_write(out, &s, &subj));
    const char *names[4] = {"segmentation.nii.gz", "posterior_background.nii.gz", "posterior_liver.nii.gz",
                            "posterior_a_b.nii.gz"};
    char path[1024];
    for (int f = 0; f < 4; f++) {
        snprintf(path, sizeof path, "%s/case_1/%s", out, names[f]);
        check_geometry(path, &gin);
    }
    CHECK(count_entries(out) == 1, "only the subject's folder is left in %s (no partial folder)", out);
    /* Labels. */
    ie_tensor *back = NULL;
    snprintf(path, sizeof path, "%s/case_1/segmentation.nii.gz", out);
    CHECK_OK(ie_image_read(path, IE_U8, &back, NULL));
    CHECK(memcmp(ie_tensor_data(back), ie_tensor_data(subj.segmentation), (size_t)ie_tensor_numel(back)) == 0,
          "segmentation read back differs");
    ie_tensor_release(back);
    /* uint8 posteriors: InnerEye's float32 p * 255, clipped, truncated. */
    int64_t V = shape[0] * shape[1] * shape[2], wrong = 0;
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/case_1/%s", out, names[k + 1]);
        CHECK_OK(ie_image_read(path, IE_U8, &back, NULL));
        const uint8_t *b = ie_tensor_data(back);
        for (int64_t i = 0; i < V; i++) {
            float v = ie_f32(subj.posteriors)[k * V + i] * 255.0f;
            uint8_t want = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)floorf(v);
            wrong += b[i] != want;
        }
        if (k == 0)
            CHECK(b[0] == 0 && b[1] == 255 && b[2] == 127 && b[3] == 1 && b[4] == 254 && b[5] == 0 && b[6] == 254,
                  "edge values: %d %d %d %d %d %d %d", b[0], b[1], b[2], b[3], b[4], b[5], b[6]);
        ie_tensor_release(back);
    }
    CHECK(wrong == 0, "%lld uint8 posterior voxels differ from floor(clip(p * 255))", (long long)wrong);

    /* Never overwritten: the second write fails and the first files stay. */
    long before = file_size(path);
    CHECK_FAILS(ie_infer_write(out, &s, &subj), IE_ERR_IO, "case_1 already exists; inference never overwrites");
    CHECK(file_size(path) == before && count_entries(out) == 1, "the first results are untouched");
    CHECK_FAILS(ie_infer_outputs_check(out, "../x"), IE_ERR_CONFIG, "cannot name an output folder");
    mkdir(scratch_path("out/empty"), 0755);
    CHECK_OK(ie_infer_outputs_check(out, "empty"));

    /* float32 on request; an empty folder already there is filled. */
    s.posteriors_float = true;
    subj.subject = "empty";
    CHECK_OK(ie_infer_write(out, &s, &subj));
    snprintf(path, sizeof path, "%s/empty/posterior_liver.nii.gz", out);
    CHECK_OK(ie_image_read(path, IE_F32, &back, NULL));
    CHECK(memcmp(ie_tensor_data(back), ie_f32(subj.posteriors) + V, (size_t)V * 4) == 0,
          "float32 posteriors are written exactly");
    check_geometry(path, &gin);
    ie_tensor_release(back);

    /* A prediction that is not on the input's grid is refused before anything is written. */
    subj.subject = "case_2";
    subj.geometry.size[0] = 9;
    CHECK_FAILS(ie_infer_write(out, &s, &subj), IE_ERR_SHAPE, "outputs are written on the input's grid");
    CHECK(count_entries(out) == 2, "nothing of case_2 is left behind");
    ie_infer_subject_clear(&subj);
    ie_tensor_release(input);

    /* A 2-D image gives 2-D outputs with its geometry. */
    int64_t shape2[2] = {7, 6}, shape3[3] = {1, 7, 6};
    ie_image_geometry g2 = {.ndim = 2, .size = {6, 7, 1}, .spacing = {0.5, 0.7, 1}, .origin = {3, -4, 0},
                            .direction = {1, 0, 0, 0, 1, 0, 0, 0, 1}};
    CHECK_OK(ie_tensor_zeros(IE_F32, 2, shape2, IE_CPU, &input));
    CHECK_OK(ie_image_write(scratch_path("slice.nii.gz"), input, &g2));
    CHECK_OK(ie_image_read_geometry(scratch_path("slice.nii.gz"), &gin));
    subj = make_subject("slice", shape3, &gin);
    s.posteriors_float = false;
    CHECK_OK(ie_infer_write(out, &s, &subj));
    snprintf(path, sizeof path, "%s/slice/segmentation.nii.gz", out);
    check_geometry(path, &gin);
    CHECK_OK(ie_image_read(path, IE_U8, &back, NULL));
    CHECK(ie_tensor_ndim(back) == 2, "a 2-D input gives a 2-D segmentation");
    ie_tensor_release(back);
    ie_infer_subject_clear(&subj);
    ie_tensor_release(input);
}

int main(void) {
    scratch_make();
    test_settings();
    test_outputs();
    return test_summary();
}
