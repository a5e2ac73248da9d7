/* The typed settings read once from a resolved config (docs/architecture.md,
 * "Settings"): ie_run_settings, ie_model_settings, ie_cv_settings,
 * ie_data_settings and ie_train_settings hold what the keys say, their
 * defaults when unset, the checks that span keys, and a failed read leaves
 * the struct as it was. */
#include <stdlib.h>
#include <string.h>

#include "core/data/cv_settings.h"
#include "core/data/data_settings.h"
#include "core/plugin/model_settings.h"
#include "core/run/run_settings.h"
#include "core/train/train_settings.h"
#include "test_util.h"

static ie_config *config(const char *json) {
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, json, "test.json"));
    ie_status st = ie_config_resolve(cfg);
    CHECK(st == IE_OK, "config does not resolve: %s", ie_config_problems(cfg));
    return cfg;
}

static void test_defaults(void) {
    ie_config *cfg = config("{}");
    ie_run_settings run;
    ie_model_settings model;
    ie_cv_settings cv;
    CHECK_OK(ie_run_settings_read(cfg, &run));
    CHECK(!strcmp(run.output_dir, "outputs") && !strcmp(run.name, "") && run.seed == 42 && run.threads == 0 &&
              run.infer_test && !run.infer_val,
          "run defaults: %s '%s' seed %llu threads %d", run.output_dir, run.name, (unsigned long long)run.seed,
          run.threads);
    CHECK_OK(ie_model_settings_read(cfg, &model));
    CHECK(!strcmp(model.name, "HelloWorld") && !model.plugin[0] && !model.init_checkpoint[0], "model defaults");
    CHECK(!strcmp(ie_model_settings_plugin_spec(&model), "HelloWorld"), "no plugin file: the name is looked up");
    CHECK_OK(ie_cv_settings_read(cfg, &cv));
    CHECK(cv.splits == 0 && cv.split_index == -1 && cv.parallel == 1 && cv.choose_postprocessing, "cv defaults");
    ie_config_free(cfg);
}

static void test_values(void) {
    ie_config *cfg = config("{\"seed\": 7, \"output\": {\"dir\": \"out\"},"
                            " \"run\": {\"name\": \"r1\", \"threads\": 3, \"infer_test\": false, \"infer_val\": true},"
                            " \"model\": {\"name\": \"UNet3D\", \"plugin\": \"x.so\", \"init_checkpoint\": \"w.st\"},"
                            " \"cv\": {\"splits\": 5, \"split_index\": 4, \"parallel\": 2,"
                            " \"choose_postprocessing\": false}}");
    ie_run_settings run;
    ie_model_settings model;
    ie_cv_settings cv;
    CHECK_OK(ie_run_settings_read(cfg, &run));
    CHECK(!strcmp(run.output_dir, "out") && !strcmp(run.name, "r1") && run.seed == 7 && run.threads == 3 &&
              !run.infer_test && run.infer_val,
          "run values");
    CHECK_OK(ie_model_settings_read(cfg, &model));
    CHECK(!strcmp(model.name, "UNet3D") && !strcmp(model.init_checkpoint, "w.st") &&
              !strcmp(ie_model_settings_plugin_spec(&model), "x.so"),
          "a plugin file is what is looked up");
    CHECK_OK(ie_cv_settings_read(cfg, &cv));
    CHECK(cv.splits == 5 && cv.split_index == 4 && cv.parallel == 2 && !cv.choose_postprocessing, "cv values");
    ie_config_free(cfg);
}

static void test_data(void) {
    ie_config *cfg = config("{\"data\": {\"dataset_csv\": \"d.csv\", \"root\": \"r\", \"images_dir\": \"i\","
                            " \"labels_dir\": \"l\", \"synthetic\": true, \"fallback_synthetic\": true,"
                            " \"label_channel\": \"seg\","
                            " \"image_channels\": [\"ct\", \"mr\"], \"mask_channels\": [\"a\", \"b\", \"c\"],"
                            " \"classes\": [\"background\", \"liver\"]}}");
    ie_data_settings *data = malloc(sizeof *data);
    CHECK_OK(ie_data_settings_read(cfg, data));
    CHECK(!strcmp(data->dataset_csv, "d.csv") && !strcmp(data->root, "r") && !strcmp(data->images_dir, "i") &&
              !strcmp(data->labels_dir, "l") && data->synthetic && data->fallback_synthetic &&
              !strcmp(data->label_channel, "seg"),
          "data source and label channel");
    CHECK(data->n_image_channels == 2 && !strcmp(data->image_channels[1], "mr") && data->n_mask_channels == 3 &&
              !strcmp(data->mask_channels[2], "c") && data->n_classes == 2 && !strcmp(data->classes[1], "liver"),
          "the lists, in order");
    CHECK_OK(ie_data_settings_check_count("data.classes", 2, 2));
    CHECK_FAILS(ie_data_settings_check_count("data.classes", 3, 2), IE_ERR_CONFIG,
                "config key data.classes has 3 elements, more than the 2 expected here");
    ie_config_free(cfg);
    /* One name more than a list may hold: refused, naming the key; *out untouched. */
    size_t size = 64 + (IE_DATA_MAX_NAMES + 1) * 8;
    char *json = malloc(size);
    int at = snprintf(json, size, "{\"data\": {\"classes\": [");
    for (int i = 0; i <= IE_DATA_MAX_NAMES; i++)
        at += snprintf(json + at, size - (size_t)at, "%s\"c%d\"", i ? "," : "", i);
    snprintf(json + at, size - (size_t)at, "]}}");
    cfg = config(json);
    data->n_classes = -5;
    CHECK_FAILS(ie_data_settings_read(cfg, data), IE_ERR_CONFIG, "data.classes");
    CHECK(data->n_classes == -5, "a failed read leaves the settings as they were");
    ie_config_free(cfg);
    free(json);
    free(data);
}

static void test_train(void) {
    ie_config *cfg = config("{\"train\": {\"epochs\": 9, \"batch_size\": 8, \"micro_batch_size\": 2,"
                            " \"device\": \"cuda\", \"precision\": \"tf32\"},"
                            " \"data\": {\"cache_mb\": 3, \"workers\": 4}}");
    ie_train_settings t;
    CHECK_OK(ie_train_settings_read(cfg, &t));
    CHECK(t.epochs == 9 && t.batch_size == 8 && t.micro_batch == 2 && t.precision == IE_PRECISION_TF32 &&
              t.device == IE_CUDA && !strcmp(t.device_name, "cuda") && t.cache_bytes == (size_t)3 << 20 &&
              t.workers == 4,
          "train values");
    ie_config_free(cfg);
    cfg = config("{\"train\": {\"batch_size\": 6}}");
    CHECK_OK(ie_train_settings_read(cfg, &t));
    CHECK(t.micro_batch == 6 && t.device == IE_CPU && t.precision == IE_PRECISION_FP32,
          "micro_batch_size 0 is the batch size; cpu and fp32 by default");
    ie_config_free(cfg);
    cfg = config("{\"train\": {\"batch_size\": 6, \"micro_batch_size\": 4}}");
    t.epochs = -5;
    CHECK_FAILS(ie_train_settings_read(cfg, &t), IE_ERR_CONFIG, "train.micro_batch_size 4 must divide");
    CHECK(t.epochs == -5, "a failed read leaves the settings as they were");
    ie_config_free(cfg);
}

static void test_unresolved(void) {
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    ie_run_settings run = {.threads = -5};
    CHECK(ie_run_settings_read(cfg, &run) == IE_ERR_STATE && run.threads == -5, "an unresolved config is refused");
    ie_cv_settings cv = {.splits = -5};
    CHECK(ie_cv_settings_read(cfg, &cv) == IE_ERR_STATE && cv.splits == -5, "... by each reader");
    ie_config_free(cfg);
}

int main(void) {
    test_defaults();
    test_values();
    test_data();
    test_train();
    test_unresolved();
    return test_summary();
}
