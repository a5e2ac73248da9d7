/* The data section of a config turned into loader settings and splits
 * (core/train/data_setup.h): ground truth as a label map or masks,
 * normalisation parameters per channel, augmentation, resampling; splits by
 * explicit subject lists and grouped proportions; data.root; and the
 * refusals, each naming the key. */
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/train/data_setup.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/ie_test_data_setup_XXXXXX";

static ie_config *config(const char *json) {
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, json, "test.json"));
    ie_status st = ie_config_resolve(cfg);
    CHECK(st == IE_OK, "config does not resolve: %s", ie_config_problems(cfg));
    return cfg;
}

static void test_seg_setup(void) {
    ie_config *cfg = config("{\"data\": {\"image_channels\": [\"ct\", \"mr\"], \"truth\": \"masks\","
                            " \"mask_channels\": [\"liver\", \"kidney\"], \"normalization\": \"MriWindow\","
                            " \"tail\": [1.5, 2], \"sharpen\": 1.9, \"output_range\": [0, 1],"
                            " \"target_spacing\": [0.8, 0.8, 2.5], \"crop_size\": [16, 24, 32], \"flip_axes\": [1],"
                            " \"augment\": {\"rotate_degrees\": [10, 0, 0], \"gamma_range\": [0.7, 1.5],"
                            " \"noise_std\": [0, 0.1], \"noise_probability\": 0.5}}}");
    ie_seg_setup s;
    CHECK_OK(ie_seg_setup_from_config(cfg, 3, &s));
    CHECK(s.seg.truth == IE_SEG_TRUTH_MASKS && s.seg.n_mask_channels == 2 && !strcmp(s.seg.mask_channels[1], "kidney"),
          "masks in structure order");
    CHECK(s.seg.n_image_channels == 2 && s.seg.norm[1] == IE_SEG_NORM_MRI_WINDOW, "MriWindow for both channels");
    CHECK(s.seg.norm_params[0].tail == 1.5 && s.seg.norm_params[1].tail == 2 && s.seg.norm_params[1].sharpen == 1.9 &&
              s.seg.norm_params[0].output_range[1] == 1 && s.seg.norm_params[0].level == 50,
          "per-channel tail, shared sharpen and range, default level");
    CHECK(s.seg.target_spacing[0] == 0.8 && s.seg.target_spacing[2] == 2.5, "target spacing");
    CHECK(s.seg.crop[2] == 32 && s.seg.flip[1] && !s.seg.flip[0], "crop and flips");
    CHECK(s.seg.augment.rotate_degrees[0] == 10 && s.seg.augment.rotate_probability == 0.2 &&
              s.seg.augment.gamma_range[0] == 0.7 && s.seg.augment.noise_std[1] == 0.1 &&
              s.seg.augment.noise_probability == 0.5 && s.seg.augment.gamma_retain_stats,
          "augmentation settings and defaults");
    CHECK_FAILS(ie_seg_setup_from_config(cfg, 4, &s), IE_ERR_CONFIG,
                "data.classes must be the background and one name per mask channel (3 names), it has 4");
    ie_config_free(cfg);

    cfg = config("{\"data\": {\"image_channels\": [\"a\", \"b\", \"c\"], \"tail\": [1, 2]}}");
    CHECK_FAILS(ie_seg_setup_from_config(cfg, 3, &s), IE_ERR_CONFIG, "data.tail lists 2 values");
    ie_config_free(cfg);
    cfg = config("{\"data\": {\"truth\": \"masks\"}}");
    CHECK_FAILS(ie_seg_setup_from_config(cfg, 3, &s), IE_ERR_CONFIG, "data.mask_channels must name 1 to");
    ie_config_free(cfg);

    /* defaults: a label map, SimpleNorm, no resampling, nothing random but crops */
    cfg = config("{}");
    CHECK_OK(ie_seg_setup_from_config(cfg, 3, &s));
    CHECK(s.seg.truth == IE_SEG_TRUTH_LABEL_MAP && !strcmp(s.seg.label_channel, "label") &&
              s.seg.norm[0] == IE_SEG_NORM_SIMPLE && s.seg.target_spacing[0] == 0 &&
              s.seg.augment.scale_range[0] == 1 && s.seg.augment.noise_std[1] == 0,
          "defaults");
    ie_config_free(cfg);

    /* the config refuses reversed ranges when it resolves */
    ie_config *bad = NULL;
    CHECK_OK(ie_config_new(&bad));
    CHECK_OK(ie_config_add_text(bad, "{\"data\": {\"output_range\": [1, -1], \"augment\": {\"scale_range\": [1.2, 0.9]}}}",
                                "bad.json"));
    CHECK(ie_config_resolve(bad) == IE_ERR_CONFIG && strstr(ie_config_problems(bad), "data.output_range: must be "
                                                                                     "[low, high] with low < high") &&
              strstr(ie_config_problems(bad), "data.augment.scale_range"),
          "reversed ranges: %s", ie_config_problems(bad));
    ie_config_free(bad);

    /* nnU-Net's intensity transforms: read into the augment config, bad ranges refused naming the key */
    cfg = config("{\"data\": {\"augment\": {\"blur_sigma\": [0.5, 1], \"blur_probability\": 0.4, "
                 "\"blur_channel_probability\": 0.6, \"brightness_range\": [0.75, 1.25], \"brightness_probability\": "
                 "0.35, \"contrast_range\": [0.7, 1.3], \"contrast_probability\": 0.45, \"lowres_zoom\": [0.5, 1], "
                 "\"lowres_probability\": 0.55, \"lowres_channel_probability\": 0.65, \"gamma_invert_probability\": "
                 "0.1}}}");
    CHECK_OK(ie_seg_setup_from_config(cfg, 3, &s));
    const ie_augment_config *a = &s.seg.augment;
    CHECK(a->blur_sigma[0] == 0.5 && a->blur_sigma[1] == 1 && a->blur_probability == 0.4 &&
              a->blur_channel_probability == 0.6 && a->brightness_range[0] == 0.75 && a->brightness_range[1] == 1.25 &&
              a->brightness_probability == 0.35 && a->contrast_range[0] == 0.7 && a->contrast_range[1] == 1.3 &&
              a->contrast_probability == 0.45 && a->lowres_zoom[0] == 0.5 && a->lowres_zoom[1] == 1 &&
              a->lowres_probability == 0.55 && a->lowres_channel_probability == 0.65 &&
              a->gamma_invert_probability == 0.1,
          "the intensity transforms' keys reach the augment config");
    ie_config_free(cfg);
    CHECK_OK(ie_config_new(&bad));
    CHECK_OK(ie_config_add_text(bad, "{\"data\": {\"augment\": {\"blur_sigma\": [1, 40], \"lowres_zoom\": [0, 1], "
                                "\"contrast_range\": [1.3, 0.7]}}}", "bad.json"));
    CHECK(ie_config_resolve(bad) == IE_ERR_CONFIG && strstr(ie_config_problems(bad), "data.augment.blur_sigma") &&
              strstr(ie_config_problems(bad), "data.augment.lowres_zoom") &&
              strstr(ie_config_problems(bad), "data.augment.contrast_range"),
          "bad blur, low resolution and contrast ranges: %s", ie_config_problems(bad));
    ie_config_free(bad);
}

static void test_splits(void) {
    const char *text = "subject,filePath,channel,groupID\n"
                       "a,x,image,p1\nb,x,image,p1\nc,x,image,p2\nd,x,image,p2\ne,x,image,p3\nf,x,image,p3\n"
                       "g,x,image,p4\nh,x,image,p4\ni,x,image,p5\nj,x,image,p5\n";
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_parse(text, strlen(text), "dataset.csv", tmpdir, NULL, &ds));
    char run[PATH_MAX];
    snprintf(run, sizeof run, "%s/run1", tmpdir);
    mkdir(run, 0755);
    ie_config *cfg = config("{\"data\": {\"split\": {\"train_subjects\": [\"a\", \"c\", \"e\"], \"val_subjects\": "
                            "[\"b\"], \"test_subjects\": [\"j\", \"i\"]}}}");
    ie_split split;
    CHECK_OK(ie_data_split(cfg, ds, run, false, &split));
    CHECK(split.count[0] == 3 && split.count[1] == 1 && split.count[2] == 2 && split.part[2][0] == 8,
          "explicit lists: 3 / 1 / 2, test in dataset order");
    ie_split_free(&split);
    CHECK_OK(ie_data_split(cfg, ds, run, true, &split));
    CHECK(split.count[0] == 3 && split.count[2] == 2, "resuming reads split.csv back");
    ie_split_free(&split);
    ie_config_free(cfg);

    cfg = config("{\"data\": {\"split\": {\"val_subjects\": [\"b\", \"zz\"]}}}");
    snprintf(run, sizeof run, "%s/run2", tmpdir);
    mkdir(run, 0755);
    CHECK_FAILS(ie_data_split(cfg, ds, run, false, &split), IE_ERR_CONFIG, "zz");
    ie_config_free(cfg);

    /* grouped proportions: a group never straddles two parts */
    cfg = config("{\"data\": {\"split\": {\"group_column\": \"groupID\", \"train\": 0.6, \"val\": 0.2, "
                 "\"test\": 0.2}}}");
    snprintf(run, sizeof run, "%s/run3", tmpdir);
    mkdir(run, 0755);
    CHECK_OK(ie_data_split(cfg, ds, run, false, &split));
    int part_of[10];
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < split.count[p]; i++) part_of[split.part[p][i]] = p;
    bool together = true;
    for (int i = 0; i < 10; i += 2) together = together && part_of[i] == part_of[i + 1];
    CHECK(together && split.count[0] == 6 && split.count[1] == 2 && split.count[2] == 2,
          "groups of two stay together: 3 / 1 / 1 groups");
    ie_split_free(&split);
    ie_config_free(cfg);
    cfg = config("{\"data\": {\"split\": {\"group_column\": \"patient\"}}}");
    snprintf(run, sizeof run, "%s/run4", tmpdir);
    mkdir(run, 0755);
    CHECK_FAILS(ie_data_split(cfg, ds, run, false, &split), IE_ERR_CONFIG, "no group column 'patient'");
    ie_config_free(cfg);
    ie_dataset_free(ds);
}

static void test_root(void) {
    char path[PATH_MAX], json[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/ds", tmpdir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/ds/dataset.csv", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("subject,filePath,channel\ns1,img/s1.nii.gz,image\n", f);
    fclose(f);
    snprintf(json, sizeof json, "{\"data\": {\"root\": \"%s/ds\"}}", tmpdir);
    ie_config *cfg = config(json);
    ie_dataset *ds = NULL;
    char note[256];
    CHECK_OK(ie_data_prepare(cfg, tmpdir, false, &ds, note, sizeof note));
    CHECK(ie_dataset_count(ds) == 1 && strstr(ie_dataset_item_at(ds, 0)->root, "/ds") && strstr(note, "dataset.csv"),
          "data.root alone reads <root>/dataset.csv: %s", note);
    ie_dataset_free(ds);
    ie_config_free(cfg);
    /* with a CSV elsewhere, file paths start at data.root */
    snprintf(json, sizeof json, "{\"data\": {\"root\": \"%s\", \"dataset_csv\": \"%s/ds/dataset.csv\"}}", tmpdir, tmpdir);
    cfg = config(json);
    CHECK_OK(ie_data_prepare(cfg, tmpdir, false, &ds, note, sizeof note));
    char real[PATH_MAX];
    CHECK(realpath(tmpdir, real) && !strcmp(ie_dataset_item_at(ds, 0)->root, real), "root is data.root: %s",
          ie_dataset_item_at(ds, 0)->root);
    ie_dataset_free(ds);
    ie_config_free(cfg);
    cfg = config("{\"data\": {\"root\": \"/no/such/folder\", \"dataset_csv\": \"/no/such/folder/x.csv\"}}");
    CHECK(ie_data_prepare(cfg, tmpdir, false, &ds, note, sizeof note) == IE_ERR_IO && ds == NULL,
          "a missing CSV fails");
    ie_config_free(cfg);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    test_seg_setup();
    test_splits();
    test_root();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
