/* tests/fuzz - the classification / regression CSV (classification_regression_hooks.h): one row
 * per subject with label, numerical and categorical columns, checked and
 * turned into features for three targets as the tests' tabular dataset
 * (tests/cli/tabular_dataset.sh) is used: binary on "sick", multi-class on
 * "site" (class names A, B, C), regression on "volume" with imputation and
 * standardised targets.  Image columns are left out: they would read files. */
#include "tests/fuzz/fuzz_util.h"

#include "core/data/dataset.h"
#include "core/data/classification_regression_hooks.h"

static const char *const numerical[] = {"age", "bmi"};
static const char *const categorical[] = {"site", "sex"};
static const char *const sick[] = {"sick"}, *const site[] = {"site"}, *const volume[] = {"volume"};
static const char *const classes[] = {"A", "B", "C"};

static void prepare(const ie_scalar_config *cfg, const ie_dataset *ds) {
    int n = ie_dataset_count(ds);
    int *train = malloc(sizeof *train * (size_t)(n ? n : 1));
    int n_train = 0;
    for (int i = 0; i < n; i++) /* every other subject trains, as a split would */
        if (i % 2 == 0) train[n_train++] = i;
    ie_scalar_data *d = NULL;
    ie_status st = ie_scalar_data_prepare(cfg, ds, train, n_train, &d);
    fuzz_check_message(st, NULL);
    if (st == IE_OK) {
        int K = ie_scalar_data_output_count(d), F = ie_scalar_data_feature_count(d);
        for (int k = 0; k < K; k++)
            if (!ie_scalar_data_output_name(d, k)) abort();
        for (int f = 0; f < F; f++)
            if (!ie_scalar_data_feature_name(d, f)) abort();
        for (int i = 0; i < n; i++)
            for (int k = 0; k < K; k++) (void)ie_scalar_data_label(d, i, k);
        ie_scalar_data_free(d);
    }
    free(train);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ie_dataset *ds = NULL;
    ie_status st = ie_dataset_parse((const char *)data, size, "tabular.csv", "/nonexistent", NULL, &ds);
    fuzz_check_message(st, "tabular.csv");
    if (st != IE_OK) return 0;
    ie_scalar_config binary = {.target = IE_TARGET_BINARY, .n_labels = 1, .label_columns = sick,
                               .n_numerical = 2, .numerical_columns = numerical,
                               .n_categorical = 2, .categorical_columns = categorical};
    prepare(&binary, ds);
    ie_scalar_config multiclass = {.target = IE_TARGET_MULTICLASS, .n_labels = 1, .label_columns = site,
                                   .n_classes = 3, .class_names = classes, .n_numerical = 2,
                                   .numerical_columns = numerical};
    prepare(&multiclass, ds);
    ie_scalar_config regression = {.target = IE_TARGET_REGRESSION, .n_labels = 1, .label_columns = volume,
                                   .n_numerical = 2, .numerical_columns = numerical, .n_categorical = 2,
                                   .categorical_columns = categorical, .impute_missing = true,
                                   .standardize_targets = true};
    prepare(&regression, ds);
    ie_dataset_free(ds);
    return 0;
}
