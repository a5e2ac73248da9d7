/* The dataset check before training (core/data/validate.h) on NIfTI files
 * written here: every kind of problem is found, all at once, each naming
 * subject, channel and path; a clean dataset passes; the report is the same
 * on any thread count. */
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/data/validate.h"
#include "innereye/image_io.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/ie_test_validate_XXXXXX";

/* Writes a [4, 5, 6] volume with value f(i) (f32, or i64 labels). */
static void write_volume(const char *name, ie_dtype dtype, double (*f)(int64_t), const double spacing[3],
                         const int64_t *shape_override) {
    const int64_t shape_default[3] = {4, 5, 6};
    const int64_t *shape = shape_override ? shape_override : shape_default;
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_empty(dtype, 3, shape, IE_CPU, &t));
    for (int64_t i = 0; i < ie_tensor_numel(t); i++) {
        if (dtype == IE_F32) ie_tensor_data_f32(t)[i] = (float)f(i);
        else ((int64_t *)ie_tensor_data(t))[i] = (int64_t)f(i);
    }
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(3, shape, &g));
    if (spacing) memcpy(g.spacing, spacing, sizeof g.spacing);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    CHECK_OK(ie_image_write(path, t, &g));
    ie_tensor_release(t);
}

static double f_image(int64_t i) { return (double)(i % 17) * 3.5; }
static double f_labels(int64_t i) { return (double)(i % 3); }
static double f_five(int64_t i) { return i == 30 ? 5 : (double)(i % 2); }
static double f_zero(int64_t i) { (void)i; return 0; }
static double f_mask(int64_t i) { return i % 5 == 0; }
static double f_half(int64_t i) { return i == 7 ? 0.5 : 0; }

static ie_dataset *dataset(const char *text) {
    ie_dataset *ds = NULL;
    CHECK_OK(ie_dataset_parse(text, strlen(text), "dataset.csv", tmpdir, NULL, &ds));
    return ds;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

static void test_label_maps(void) {
    const double aniso[3] = {1, 1, 1.5};
    const int64_t other_shape[3] = {4, 5, 7};
    write_volume("img.nii.gz", IE_F32, f_image, NULL, NULL);
    write_volume("lab.nii.gz", IE_I64, f_labels, NULL, NULL);
    write_volume("lab_aniso.nii.gz", IE_I64, f_labels, aniso, NULL);
    write_volume("lab_five.nii.gz", IE_I64, f_five, NULL, NULL);
    write_volume("lab_zero.nii.gz", IE_I64, f_zero, NULL, NULL);
    write_volume("lab_half.nii.gz", IE_F32, f_half, NULL, NULL);
    write_volume("lab_big.nii.gz", IE_I64, f_labels, NULL, other_shape);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/garbage.nii.gz", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("not an image", f);
    fclose(f);

    ie_dataset *ds = dataset("subject,filePath,channel,institutionId,seriesId,tags,groupID\n"
                             "s01,img.nii.gz,image,A,1,,g1\ns01,lab.nii.gz,label,A,1,,g1\n"
                             "s02,img.nii.gz,image,,,,\ns02,missing.nii.gz,label,,,,\n"
                             "s03,img.nii.gz,image,,,,\ns03,lab_aniso.nii.gz,label,,,,\n"
                             "s04,img.nii.gz,image,,,,\ns04,lab_five.nii.gz,label,,,,\n"
                             "s05,img.nii.gz,image,,,,\n"
                             "s06,img.nii.gz,image,,,,\ns06,lab_zero.nii.gz,label,,,,\n"
                             "s07,garbage.nii.gz,image,,,,\ns07,lab.nii.gz,label,,,,\n"
                             "s08,img.nii.gz,image,,,,\ns08,img.nii.gz,image,,,,\ns08,lab.nii.gz,label,,,,\n"
                             "s09,img.nii.gz,image,,,,\ns09,lab_half.nii.gz,label,,,,\n"
                             "s10,img.nii.gz,image,,,,\ns10,lab_big.nii.gz,label,,,,\n"
                             "s11,img.nii.gz,image,,,,\ns11,,label,,,,\n");
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    const char *const channels[] = {"image"};
    cfg.n_image_channels = 1;
    cfg.image_channels = channels;
    cfg.truth = IE_SEG_TRUTH_LABEL_MAP;
    cfg.label_channel = "label";
    cfg.n_classes = 3;
    ie_validate_result r1, r2;
    ie_threads_set(1);
    CHECK_OK(ie_seg_validate(&cfg, ds, NULL, 0, false, &r1));
    ie_threads_set(2);
    CHECK_OK(ie_seg_validate(&cfg, ds, NULL, 0, false, &r2));
    ie_threads_set(0);
    CHECK(r1.report && r2.report && !strcmp(r1.report, r2.report), "same report on 1 and 2 threads");
    printf("%s", r1.report ? r1.report : "(no report)\n");
    CHECK(r1.subjects == 11 && r1.problems == 10 && r1.bad_subjects == 10 && count_lines(r1.report) == 10,
          "11 subjects, 10 problems in 10 subjects, one line each (got %d, %d, %d)", r1.subjects, r1.problems,
          r1.bad_subjects);
    static const char *const expected[] = {
        "subject 's02', channel 'label' (", "/missing.nii.gz): No such file or directory; check the path",
        "subject 's03', channel 'label' (", "lab_aniso.nii.gz): not on the grid of channel 'image' (",
        "spacing", "subject 's04', channel 'label' (",
        "lab_five.nii.gz): 1 voxel holds values outside the classes 0..2 (data.classes); the first, 5, at voxel "
        "(x 0, y 0, z 1)",
        "subject 's05', channel 'label': no row for this channel (the subject has 'image')",
        "subject 's06': the ground truth is empty (no foreground voxel) and data.allow_empty_truth is false",
        "subject 's07', channel 'image' (", "garbage.nii.gz): ",
        "subject 's08', channel 'image': two rows for this channel (lines 15 and 16 of dataset.csv); keep one",
        "subject 's09', channel 'label' (", "not an integer",
        "subject 's10', channel 'label' (", "lab_big.nii.gz): not on the grid of channel 'image'", "size",
        "subject 's11', channel 'label': the file path is empty (line 23 of dataset.csv)",
    };
    const char *at = r1.report ? r1.report : "";
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const char *hit = strstr(at, expected[i]);
        CHECK(hit != NULL, "the report lists, in order: %s", expected[i]);
        if (hit) at = hit + strlen(expected[i]);
    }
    CHECK(!strstr(r1.report ? r1.report : "", "'s01'"), "the clean subject has no problem");
    ie_validate_result_free(&r1);
    ie_validate_result_free(&r2);

    /* empty truth is fine by default; the clean subjects alone pass */
    const int clean[] = {0, 5};
    CHECK_OK(ie_seg_validate(&cfg, ds, clean, 2, true, &r1));
    CHECK(r1.problems == 0 && r1.report == NULL && r1.subjects == 2, "s01 and s06 pass with empty truth allowed");
    ie_validate_result_free(&r1);
    CHECK_OK(ie_seg_validate(&cfg, ds, clean, 2, false, &r1));
    CHECK(r1.problems == 1, "s06 fails with empty truth forbidden");
    ie_validate_result_free(&r1);
    ie_dataset_free(ds);

    /* no channel column at all */
    ds = dataset("subject,path\ns01,img.nii.gz\n");
    CHECK_OK(ie_seg_validate(&cfg, ds, NULL, 0, true, &r1));
    CHECK(r1.problems == 1 && r1.report && strstr(r1.report, "no 'filePath' column; InnerEye's layout is "
                                                            "subject,filePath,channel"),
          "missing columns: %s", r1.report ? r1.report : "");
    ie_validate_result_free(&r1);
    ie_dataset_free(ds);
}

static void test_masks(void) {
    write_volume("liver.nii.gz", IE_I64, f_mask, NULL, NULL);
    write_volume("kidney.nii.gz", IE_I64, f_zero, NULL, NULL);
    ie_dataset *ds = dataset("subject,filePath,channel\n"
                             "m1,img.nii.gz,ct\nm1,liver.nii.gz,liver\nm1,kidney.nii.gz,kidney\n"
                             "m2,img.nii.gz,ct\nm2,kidney.nii.gz,kidney\n"
                             "m3,img.nii.gz,ct\nm3,kidney.nii.gz,liver\nm3,kidney.nii.gz,kidney\n");
    ie_seg_config cfg;
    ie_seg_config_init(&cfg);
    const char *const channels[] = {"ct"}, *const masks[] = {"liver", "kidney"};
    cfg.n_image_channels = 1;
    cfg.image_channels = channels;
    cfg.truth = IE_SEG_TRUTH_MASKS;
    cfg.n_mask_channels = 2;
    cfg.mask_channels = masks;
    cfg.n_classes = 3;
    ie_validate_result r;
    CHECK_OK(ie_seg_validate(&cfg, ds, NULL, 0, false, &r));
    printf("%s", r.report ? r.report : "(no report)\n");
    CHECK(r.problems == 2 && r.report && strstr(r.report, "subject 'm2', channel 'liver': no row for this channel") &&
              strstr(r.report, "subject 'm3': the ground truth is empty"),
          "masks: a missing mask and an empty truth (an empty mask of one structure is fine)");
    ie_validate_result_free(&r);
    ie_dataset_free(ds);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    test_label_maps();
    test_masks();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
