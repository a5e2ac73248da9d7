/* Scalar datasets (core/data/classification_regression_hooks.h): labels of each target kind,
 * numerical features standardised with the training split's statistics,
 * categorical one-hot over the training values, every problem listed with
 * subject, column and line, imputation, standardised regression targets, 2-D
 * PNG images with centre crop / pad, flips, collate shapes, the split
 * column, and label smoothing of the config's BCE. */
#include <unistd.h>

#include "core/data/classification_regression_hooks.h"
#include "core/data/split_column.h"
#include "core/train/default_loss.h"
#include "innereye/loss.h"
#include "innereye/image_io.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/ie_test_scalar_data_XXXXXX";

static ie_status read_image(const ie_host *host, const char *path, ie_dtype dtype, ie_tensor **out) {
    (void)host;
    return ie_image_read(path, dtype, out, NULL);
}
static ie_host host = {.struct_size = sizeof(ie_host), .read_image = read_image};

static ie_dataset *write_dataset(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_load(path, NULL, &ds));
    return ds;
}

static const char *const labels_bin[] = {"sick"}, *const num[] = {"age"}, *const cat[] = {"site"};

static ie_scalar_config tabular(ie_scalar_target target) {
    ie_scalar_config c = {.target = target, .n_labels = 1, .label_columns = labels_bin, .n_numerical = 1,
                          .numerical_columns = num, .n_categorical = 1, .categorical_columns = cat};
    return c;
}

static void load(const ie_scalar_data *d, const ie_dataset *ds, int i, ie_sample *s) {
    *s = (ie_sample){.struct_size = sizeof *s};
    CHECK_OK(ie_scalar_load(d, ie_dataset_item_at(ds, i), &host, s));
}

static void test_features(void) {
    ie_dataset *ds = write_dataset("tab.csv", "subject,age,site,sick,split\n"
                                              "a,40,B,1,train\n"
                                              "b,60,A,0,train\n"
                                              "c,50,B,0,train\n"
                                              "d,70,C,1,test\n");
    const int train[] = {0, 1, 2};
    ie_scalar_config c = tabular(IE_TARGET_BINARY);
    ie_scalar_data *d = NULL;
    /* d's site C is not in the training split */
    CHECK_FAILS(ie_scalar_data_prepare(&c, ds, train, 3, &d), IE_ERR_CONFIG,
                "subject d (line 5, another split): categorical column site is \"C\", a value the training split "
                "does not hold");
    c.impute_missing = true;
    CHECK_OK(ie_scalar_data_prepare(&c, ds, train, 3, &d));
    CHECK(ie_scalar_data_feature_count(d) == 3, "age + site=A + site=B: %d", ie_scalar_data_feature_count(d));
    CHECK(!strcmp(ie_scalar_data_feature_name(d, 1), "site=A") && !strcmp(ie_scalar_data_feature_name(d, 2), "site=B"),
          "one-hot columns in sorted order");
    ie_sample s;
    load(d, ds, 0, &s);
    /* training ages 40, 60, 50: mean 50, population std sqrt(200/3) */
    double sd = sqrt(200.0 / 3.0);
    const float *f = ie_tensor_data_f32(s.features);
    CHECK(fabs(f[0] - (40 - 50) / sd) < 1e-6 && f[1] == 0 && f[2] == 1, "a: %g %g %g", f[0], f[1], f[2]);
    CHECK(ie_tensor_numel(s.labels) == 1 && ie_tensor_data_f32(s.labels)[0] == 1.0f && !s.image, "a's label");
    ie_sample_clear(&s);
    load(d, ds, 3, &s);
    f = ie_tensor_data_f32(s.features);
    CHECK(fabs(f[0] - (70 - 50) / sd) < 1e-6 && f[1] == 0 && f[2] == 0, "d: unseen category imputed as zeros");
    ie_sample_clear(&s);
    ie_scalar_data_free(d);
    ie_dataset_free(ds);
}

static void test_problems(void) {
    ie_dataset *ds = write_dataset("bad.csv", "subject,age,site,sick\n"
                                              "a,40,B,1\n"
                                              "b,,A,0\n"
                                              "c,old,B,2\n"
                                              "d,50,,\n"
                                              "a,41,B,1\n");
    const int train[] = {0, 1, 2, 3};
    ie_scalar_config c = tabular(IE_TARGET_BINARY);
    ie_scalar_data *d = NULL;
    CHECK_FAILS(ie_scalar_data_prepare(&c, ds, train, 4, &d), IE_ERR_CONFIG,
                "subject a has 2 rows (lines 2 and 6)");
    CHECK(strstr(ie_error_message(), "subject c (line 4): column sick is \"2\"; it must be 0 or 1") != NULL,
          "bad binary label: %s", ie_error_message());
    CHECK(strstr(ie_error_message(), "subject d (line 5): no label in column sick") != NULL, "missing label");
    ie_dataset_free(ds);
    ds = write_dataset("bad2.csv", "subject,age,site,sick\n"
                                   "a,40,B,1\n"
                                   "b,,A,0\n"
                                   "c,old,B,0\n"
                                   "d,50,,1\n");
    CHECK_FAILS(ie_scalar_data_prepare(&c, ds, train, 4, &d), IE_ERR_CONFIG, "3 problems");
    const char *m = ie_error_message();
    CHECK(strstr(m, "subject b (line 3): no value in numerical column age (or set data.scalar.impute_missing)") &&
              strstr(m, "subject c (line 4): numerical column age is \"old\", not a number") &&
              strstr(m, "subject d (line 5): no value in categorical column site"),
          "every feature problem listed: %s", m);
    const char *const missing_col[] = {"weight"};
    c.numerical_columns = missing_col;
    CHECK_FAILS(ie_scalar_data_prepare(&c, ds, train, 4, &d), IE_ERR_CONFIG,
                "data.scalar.numerical_columns lists column \"weight\", which");
    ie_dataset_free(ds);
}

static void test_targets(void) {
    ie_dataset *ds = write_dataset("targets.csv", "subject,age,site,kind,volume\n"
                                                  "a,40,B,cat,2.0\n"
                                                  "b,60,A,2,4.0\n"
                                                  "c,50,B,dog,3.0\n");
    const int train[] = {0, 1, 2};
    const char *const classes[] = {"cat", "dog", "bird"}, *const kind[] = {"kind"}, *const vol[] = {"volume"};
    ie_scalar_config c = tabular(IE_TARGET_MULTICLASS);
    c.label_columns = kind;
    c.n_classes = 3;
    c.class_names = classes;
    ie_scalar_data *d = NULL;
    CHECK_OK(ie_scalar_data_prepare(&c, ds, train, 3, &d));
    CHECK(ie_scalar_data_output_count(d) == 3 && !strcmp(ie_scalar_data_output_name(d, 2), "bird"), "3 classes");
    ie_sample s[3];
    for (int i = 0; i < 3; i++) load(d, ds, i, &s[i]);
    const ie_sample *ptrs[3] = {&s[0], &s[1], &s[2]};
    ie_data_hooks h = ie_scalar_hooks(d);
    ie_batch b = {.struct_size = sizeof b};
    CHECK_OK(h.collate(h.collate_ctx, ptrs, 3, &b));
    const int64_t *cls = ie_tensor_data(b.labels);
    CHECK(ie_tensor_ndim(b.labels) == 1 && ie_tensor_dtype(b.labels) == IE_I64 && cls[0] == 0 && cls[1] == 2 &&
              cls[2] == 1,
          "multi-class labels [N] i64 by name or index");
    CHECK(ie_tensor_dim(b.features, 0) == 3 && ie_tensor_dim(b.features, 1) == 3, "features [3, 3]");
    CHECK(ie_scalar_data_label(d, 1, 2) == 1.0 && ie_scalar_data_label(d, 1, 0) == 0.0, "one-hot labels for reports");
    ie_batch_clear(&b);
    for (int i = 0; i < 3; i++) ie_sample_clear(&s[i]);
    ie_scalar_data_free(d);

    c = tabular(IE_TARGET_REGRESSION);
    c.label_columns = vol;
    c.standardize_targets = true;
    CHECK_OK(ie_scalar_data_prepare(&c, ds, train, 3, &d));
    double scale, offset;
    ie_scalar_data_target_scale(d, 0, &scale, &offset);
    CHECK(fabs(offset - 3.0) < 1e-12 && fabs(scale - sqrt(2.0 / 3.0)) < 1e-12, "target mean 3, std %g", scale);
    load(d, ds, 1, &s[0]);
    CHECK(fabs(ie_tensor_data_f32(s[0].labels)[0] - (4.0 - 3.0) / sqrt(2.0 / 3.0)) < 1e-6, "standardised target");
    CHECK(ie_scalar_data_label(d, 1, 0) == 4.0, "raw label for reports");
    ie_sample_clear(&s[0]);
    ie_scalar_data_free(d);
    ie_dataset_free(ds);
}

static void write_png(const char *name, int h, int w, int base) {
    int64_t shape[2] = {h, w};
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_empty(IE_U8, 2, shape, IE_CPU, &t));
    for (int i = 0; i < h * w; i++) ((uint8_t *)ie_tensor_data(t))[i] = (uint8_t)(base + i);
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(2, shape, &g));
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    CHECK_OK(ie_image_write(path, t, &g));
    ie_tensor_release(t);
}

static void test_images(void) {
    write_png("a.png", 3, 4, 0);
    write_png("b.png", 5, 2, 100);
    ie_dataset *ds = write_dataset("img.csv", "subject,img,y\n"
                                              "a,a.png,1.5\n"
                                              "b,b.png,2.5\n"
                                              "c,missing.png,0\n");
    const int train[] = {0, 1};
    const char *const img[] = {"img"}, *const y[] = {"y"};
    ie_scalar_config c = {.target = IE_TARGET_REGRESSION, .n_labels = 1, .label_columns = y, .n_images = 1,
                          .image_columns = img};
    ie_scalar_data *d = NULL;
    CHECK_FAILS(ie_scalar_data_prepare(&c, ds, train, 2, &d), IE_ERR_CONFIG,
                "subject c (line 4): image missing.png (column img) does not exist");
    ie_dataset_free(ds);
    ds = write_dataset("img2.csv", "subject,img,y\na,a.png,1.5\nb,b.png,2.5\n");
    CHECK_OK(ie_scalar_data_prepare(&c, ds, train, 2, &d));
    ie_sample a, b;
    load(d, ds, 0, &a);
    load(d, ds, 1, &b);
    CHECK(ie_tensor_ndim(a.image) == 4 && ie_tensor_dim(a.image, 0) == 1 && ie_tensor_dim(a.image, 1) == 1 &&
              ie_tensor_dim(a.image, 2) == 3 && ie_tensor_dim(a.image, 3) == 4,
          "a 2-D PNG is [1, 1, H, W]");
    CHECK(ie_tensor_data_f32(a.image)[5] == 5.0f, "pixels as stored (no normalisation)");
    ie_data_hooks h = ie_scalar_hooks(d);
    const ie_sample *ptrs[2] = {&a, &b};
    ie_batch batch = {.struct_size = sizeof batch};
    CHECK_FAILS(h.collate(h.collate_ctx, ptrs, 2, &batch), IE_ERR_SHAPE, "set data.scalar.image_size");
    ie_sample_clear(&a);
    ie_sample_clear(&b);
    ie_scalar_data_free(d);

    /* Fit to 1 x 4 x 3: a (3 x 4) is padded along H and cropped along W. */
    c.image_size[0] = 1, c.image_size[1] = 4, c.image_size[2] = 3;
    c.norm = IE_SEG_NORM_SIMPLE;
    c.flip[2] = true;
    CHECK_OK(ie_scalar_data_prepare(&c, ds, train, 2, &d));
    h = ie_scalar_hooks(d); /* the hooks of the new data: the old ones point at the freed d */
    load(d, ds, 0, &a);
    const float *x = ie_tensor_data_f32(a.image);
    /* a's pixels 0..11 z-scored: mean 5.5, std sqrt(143/12) */
    double sd = sqrt(143.0 / 12.0);
    CHECK(ie_tensor_dim(a.image, 2) == 4 && ie_tensor_dim(a.image, 3) == 3, "fitted to 4 x 3");
    /* pad H by 1 after (floor(1/2) = 0 before), crop W from offset floor(1/2) = 0 */
    CHECK(fabs(x[0] - (0 - 5.5) / sd) < 1e-5 && fabs(x[2] - (2 - 5.5) / sd) < 1e-5 && x[9] == 0.0f,
          "crop / pad positions: %g %g %g", x[0], x[2], x[9]);
    /* Flips along W use ie_rng_uniform_at(rng, 66) < 0.5. */
    int flipped = -1;
    for (uint32_t item = 0; item < 8 && flipped < 0; item++) {
        ie_rng rng = ie_rng_make(1, IE_STREAM_AUGMENT, 0, item);
        if (ie_rng_uniform_at(&rng, 66) < 0.5f) {
            ie_sample copy = a;
            ie_tensor_retain(copy.image);
            CHECK_OK(h.augment(h.augment_ctx, &copy, &rng));
            flipped = ie_tensor_data_f32(copy.image)[0] == x[2];
            ie_tensor_release(copy.image);
        }
    }
    CHECK(flipped == 1, "flip along W mirrors the row");
    ie_sample_clear(&a);
    ie_scalar_data_free(d);
    ie_dataset_free(ds);
}

static void test_split_column(void) {
    ie_dataset *ds = write_dataset("split.csv", "subject,split\na,train\nb,TEST\nc,val\nd,validation\ne,train\n");
    ie_split sp;
    CHECK_OK(ie_split_by_column(ds, "split", &sp));
    CHECK(sp.count[IE_SPLIT_TRAIN] == 2 && sp.count[IE_SPLIT_VAL] == 2 && sp.count[IE_SPLIT_TEST] == 1 &&
              sp.part[IE_SPLIT_TRAIN][1] == 4 && sp.part[IE_SPLIT_TEST][0] == 1,
          "split by column");
    ie_split_free(&sp);
    CHECK_FAILS(ie_split_by_column(ds, "fold", &sp), IE_ERR_CONFIG, "has no column \"fold\"");
    ie_dataset_free(ds);
    ds = write_dataset("split2.csv", "subject,split\na,train\nb,holdout\n");
    CHECK_FAILS(ie_split_by_column(ds, "split", &sp), IE_ERR_CONFIG,
                "split2.csv:3: subject b: column split is \"holdout\"; it must be train, val or test");
    ie_dataset_free(ds);
}

/* The config's label smoothing: BCE targets become y (1 - e) + e / 2;
 * cross-entropy passes e to ie_cross_entropy (checked against torch in
 * test_loss). */
static void test_label_smoothing(void) {
    int64_t shape[2] = {2, 3};
    ie_tensor *x = NULL, *y = NULL, *ys = NULL, *got = NULL, *want = NULL;
    CHECK_OK(ie_tensor_empty(IE_F32, 2, shape, IE_CPU, &x));
    CHECK_OK(ie_tensor_empty(IE_F32, 2, shape, IE_CPU, &y));
    CHECK_OK(ie_tensor_empty(IE_F32, 2, shape, IE_CPU, &ys));
    for (int i = 0; i < 6; i++) {
        ie_tensor_data_f32(x)[i] = 0.7f * (float)i - 2.0f;
        ie_tensor_data_f32(y)[i] = (float)(i % 2);
        ie_tensor_data_f32(ys)[i] = (float)(i % 2) * 0.8f + 0.1f;
    }
    ie_loss_spec spec = {.kind = IE_LOSS_BCE, .label_smoothing = 0.2f};
    ie_batch b = {.struct_size = sizeof b, .count = 2, .labels = y};
    CHECK_OK(ie_loss_compute(&spec, x, &b, &got));
    CHECK_OK(ie_bce_with_logits(x, ys, NULL, &want));
    CHECK(fabs(ie_tensor_item(got) - ie_tensor_item(want)) < 1e-6, "smoothed BCE %g vs %g", ie_tensor_item(got),
          ie_tensor_item(want));
    ie_tensor_release(x), ie_tensor_release(y), ie_tensor_release(ys), ie_tensor_release(got), ie_tensor_release(want);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_features();
    test_problems();
    test_targets();
    test_images();
    test_split_column();
    test_label_smoothing();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", tmpdir);
    return test_summary();
}
