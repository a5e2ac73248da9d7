/* The typed settings read once from a resolved config (docs/architecture.md,
 * "Settings"): ie_run_settings, ie_model_settings, ie_cv_settings,
 * ie_data_settings, ie_loader_settings, ie_device_settings,
 * ie_geometry_settings, ie_scalar_settings, ie_split_settings,
 * ie_median_stop_settings and ie_train_settings hold what the keys say, their
 * defaults when unset, the checks that span keys, and a failed read leaves
 * the struct as it was. */
#include <stdlib.h>
#include <string.h>

#include "core/data/cv_settings.h"
#include "core/data/data_settings.h"
#include "core/data/geometry_settings.h"
#include "core/data/loader_settings.h"
#include "core/data/scalar_settings.h"
#include "core/plugin/model_settings.h"
#include "core/run/device_settings.h"
#include "core/run/median_stop_settings.h"
#include "core/run/run_settings.h"
#include "core/train/data_setup.h"
#include "core/train/default_loss.h"
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
              run.infer_test && !run.infer_val && run.train && run.report && !run.openblas,
          "run defaults: %s '%s' seed %llu threads %d", run.output_dir, run.name, (unsigned long long)run.seed,
          run.threads);
    CHECK_OK(ie_model_settings_read(cfg, &model));
    CHECK(!strcmp(model.name, "HelloWorld") && !model.plugin[0] && !model.init_checkpoint[0] && model.init_strict,
          "model defaults");
    CHECK(!strcmp(ie_model_settings_plugin_spec(&model), "HelloWorld"), "no plugin file: the name is looked up");
    CHECK_OK(ie_cv_settings_read(cfg, &cv));
    CHECK(cv.splits == 0 && cv.split_index == -1 && cv.parallel == 1 && cv.choose_postprocessing, "cv defaults");
    ie_config_free(cfg);
}

static void test_values(void) {
    ie_config *cfg = config("{\"seed\": 7, \"output\": {\"dir\": \"out\"},"
                            " \"run\": {\"name\": \"r1\", \"threads\": 3, \"infer_test\": false, \"infer_val\": true,"
                            " \"train\": false, \"report\": false, \"blas\": \"openblas\"},"
                            " \"model\": {\"name\": \"UNet3D\", \"plugin\": \"x.so\", \"init_checkpoint\": \"w.st\","
                            " \"init_strict\": false},"
                            " \"cv\": {\"splits\": 5, \"split_index\": 4, \"parallel\": 2,"
                            " \"choose_postprocessing\": false}}");
    ie_run_settings run;
    ie_model_settings model;
    ie_cv_settings cv;
    CHECK_OK(ie_run_settings_read(cfg, &run));
    CHECK(!strcmp(run.output_dir, "out") && !strcmp(run.name, "r1") && run.seed == 7 && run.threads == 3 &&
              !run.infer_test && run.infer_val && !run.train && !run.report && run.openblas,
          "run values");
    CHECK_OK(ie_model_settings_read(cfg, &model));
    CHECK(!strcmp(model.name, "UNet3D") && !strcmp(model.init_checkpoint, "w.st") && !model.init_strict &&
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
    CHECK(t.epochs == 9 && t.loader.batch_size == 8 && t.micro_batch == 2 &&
              t.device.precision == IE_PRECISION_TF32 && t.device.device == IE_CUDA &&
              !strcmp(t.device.name, "cuda") && t.loader.cache_bytes == (size_t)3 << 20 && t.loader.workers == 4 &&
              t.loader.prefetch == 2,
          "train values, the loader's and the device's among them");
    ie_config_free(cfg);
    cfg = config("{\"train\": {\"batch_size\": 6}}");
    CHECK_OK(ie_train_settings_read(cfg, &t));
    CHECK(t.micro_batch == 6 && t.device.device == IE_CPU && t.device.precision == IE_PRECISION_FP32,
          "micro_batch_size 0 is the batch size; cpu and fp32 by default");
    ie_config_free(cfg);
    cfg = config("{\"train\": {\"batch_size\": 6, \"micro_batch_size\": 4}}");
    t.epochs = -5;
    CHECK_FAILS(ie_train_settings_read(cfg, &t), IE_ERR_CONFIG, "train.micro_batch_size 4 must divide");
    CHECK(t.epochs == -5, "a failed read leaves the settings as they were");
    ie_config_free(cfg);
}

/* The groups two layers need, read by one function each. */
static void test_shared_groups(void) {
    ie_config *cfg = config("{\"train\": {\"batch_size\": 5, \"device\": \"cuda\", \"precision\": \"tf32\"},"
                            " \"data\": {\"workers\": 0, \"prefetch\": 3, \"crop_size\": [1, 40, 48],"
                            " \"pad_multiple\": 8, \"target_spacing\": [0.5, 0.5, 2]}}");
    ie_loader_settings loader;
    CHECK_OK(ie_loader_settings_read(cfg, &loader));
    CHECK(loader.batch_size == 5 && loader.workers == 0 && loader.prefetch == 3 &&
              loader.cache_bytes == (size_t)512 << 20,
          "loader values (data.cache_mb's default 512)");
    ie_device_settings device;
    CHECK_OK(ie_device_settings_read(cfg, &device));
    CHECK(device.device == IE_CUDA && device.precision == IE_PRECISION_TF32 && !strcmp(device.name, "cuda"),
          "device values");
    ie_geometry_settings g;
    CHECK_OK(ie_geometry_settings_read(cfg, &g));
    CHECK(g.n_crop_size == 3 && g.crop_size[0] == 1 && g.crop_size[1] == 40 && g.crop_size[2] == 48 &&
              g.n_test_crop_size == 0 && g.pad_multiple == 8 && g.target_spacing[0] == 0.5 &&
              g.target_spacing[2] == 2,
          "geometry values; data.test_crop_size [] lists none");
    ie_config_free(cfg);
    cfg = config("{}");
    CHECK_OK(ie_geometry_settings_read(cfg, &g));
    CHECK(g.target_spacing[0] == 0 && g.target_spacing[1] == 0 && g.target_spacing[2] == 0 && g.pad_multiple == 16,
          "data.target_spacing [] is all 0 (the files' grids); data.pad_multiple 16 by default");
    ie_config_free(cfg);
    CHECK_OK(ie_config_new(&cfg));
    device.name = "kept";
    CHECK(ie_device_settings_read(cfg, &device) == IE_ERR_STATE && !strcmp(device.name, "kept"),
          "a failed device read leaves the settings as they were");
    loader.prefetch = -5;
    CHECK(ie_loader_settings_read(cfg, &loader) == IE_ERR_STATE && loader.prefetch == -5, "... a loader read");
    g.pad_multiple = -5;
    CHECK(ie_geometry_settings_read(cfg, &g) == IE_ERR_STATE && g.pad_multiple == -5, "... a geometry read");
    ie_config_free(cfg);
}

/* The table columns, the split, the stopping rule, the data's normalisation
 * name and flips, and the loss name kept for messages. */
static void test_task_groups(void) {
    ie_config *cfg = config("{\"data\": {\"scalar\": {\"label_columns\": [\"y\"], \"image_columns\": [\"a\", \"b\"],"
                            " \"numerical_columns\": [\"age\"], \"target\": \"regression\","
                            " \"image_size\": [1, 28, 28], \"impute_missing\": true},"
                            " \"split\": {\"train\": 0.5, \"val\": 0.3, \"test\": 0.2, \"seed\": 5},"
                            " \"normalization\": \"None\", \"flip_axes\": [2, 0]},"
                            " \"train\": {\"loss\": {\"name\": \"MSE\"},"
                            " \"median_stop\": {\"goal\": \"max\", \"siblings\": \"sw\"}}}");
    ie_scalar_settings *sc = malloc(sizeof *sc);
    CHECK(sc != NULL, "memory");
    CHECK_OK(ie_scalar_settings_read(cfg, sc));
    CHECK(sc->n_label_columns == 1 && !strcmp(sc->label_columns[0], "y") && sc->n_image_columns == 2 &&
              !strcmp(sc->image_columns[1], "b") && sc->n_numerical_columns == 1 && sc->n_categorical_columns == 0 &&
              !strcmp(sc->target, "regression") && sc->n_image_size == 3 && sc->image_size[2] == 28 &&
              sc->impute_missing && !sc->standardize_targets,
          "scalar values");
    free(sc);
    ie_split_settings split;
    CHECK_OK(ie_split_settings_read(cfg, &split));
    CHECK(split.seed == 5 && split.fraction[IE_SPLIT_TRAIN] == 0.5 && split.fraction[IE_SPLIT_TEST] == 0.2 &&
              !split.column[0] && !split.group_column[0],
          "split values");
    ie_median_stop_settings stop;
    CHECK_OK(ie_median_stop_settings_read(cfg, &stop));
    CHECK(stop.maximize && !strcmp(stop.siblings, "sw") && !strcmp(stop.metric, "val_loss"), "median stop values");
    ie_data_settings *data = malloc(sizeof *data);
    CHECK(data != NULL, "memory");
    CHECK_OK(ie_data_settings_read(cfg, data));
    CHECK(!strcmp(data->normalization, "None") && data->flip[0] && !data->flip[1] && data->flip[2],
          "the normalisation's name and the flips");
    free(data);
    ie_loss_spec loss;
    CHECK_OK(ie_loss_spec_from_config(cfg, &loss));
    CHECK(loss.kind == IE_LOSS_MSE && !strcmp(loss.name, "MSE"), "the loss and its name as written");
    ie_loss_spec_clear(&loss);
    ie_config_free(cfg);
    cfg = config("{}");
    CHECK_OK(ie_split_settings_read(cfg, &split));
    CHECK(split.seed == 42, "the split's seed is the run's when data.split.seed is -1");
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
    test_shared_groups();
    test_task_groups();
    test_unresolved();
    return test_summary();
}
