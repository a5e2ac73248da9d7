/* tests - image IO on real data (../shared/data next to the source tree):
 * the 200 MSD hippocampus MRI cases and the MSD spleen CT crop, checked
 * against nibabel's reading of the same files; NIfTI round trips must keep
 * voxels and geometry bit for bit.  Exits 77 (ctest: skipped) without the
 * data. */
#include "image_io_test_util.h"

#include <stdint.h>

#define DATA IE_SHARED_DATA_DIR
#define HIPPO DATA "/hippocampus"
#define SPLEEN DATA "/ct_spleen"

/* One row of tests/reference/fixtures/hippocampus_nibabel.csv
 * (gen_hippocampus_expected.py: nibabel 5.0, affine converted to LPS). */
typedef struct hippo_case {
    char name[64];
    int64_t size[3];
    char image_dtype[16], label_dtype[16];
    double spacing[3], origin[3], direction[9];
    double image_sum;
    int64_t label_count[3];
} hippo_case;

static int load_cases(hippo_case *cases, int max) {
    FILE *f = fopen(IE_FIXTURE_DIR "/hippocampus_nibabel.csv", "r");
    if (!f) {
        fprintf(stderr, "FAIL: cannot open hippocampus_nibabel.csv\n");
        exit(1);
    }
    char line[1024];
    int n = 0;
    if (!fgets(line, sizeof line, f)) exit(1); /* header */
    while (n < max && fgets(line, sizeof line, f)) {
        hippo_case *c = &cases[n];
        char *fields[32];
        int k = 0;
        for (char *tok = strtok(line, ",\n"); tok && k < 32; tok = strtok(NULL, ",\n")) fields[k++] = tok;
        if (k != 25) {
            fprintf(stderr, "FAIL: bad CSV row %d (%d fields)\n", n + 2, k);
            exit(1);
        }
        snprintf(c->name, sizeof c->name, "%s", fields[0]);
        for (int i = 0; i < 3; i++) c->size[i] = strtoll(fields[1 + i], NULL, 10);
        snprintf(c->image_dtype, sizeof c->image_dtype, "%s", fields[4]);
        snprintf(c->label_dtype, sizeof c->label_dtype, "%s", fields[5]);
        for (int i = 0; i < 3; i++) c->spacing[i] = strtod(fields[6 + i], NULL);
        for (int i = 0; i < 3; i++) c->origin[i] = strtod(fields[9 + i], NULL);
        for (int i = 0; i < 9; i++) c->direction[i] = strtod(fields[12 + i], NULL);
        c->image_sum = strtod(fields[21], NULL);
        for (int i = 0; i < 3; i++) c->label_count[i] = strtoll(fields[22 + i], NULL, 10);
        n++;
    }
    fclose(f);
    return n;
}

static void check_against_nibabel(const hippo_case *c, const ie_image_geometry *g, const char *what) {
    char desc[512];
    ie_image_geometry want = {.ndim = 3};
    memcpy(want.size, c->size, sizeof want.size);
    memcpy(want.spacing, c->spacing, sizeof want.spacing);
    memcpy(want.origin, c->origin, sizeof want.origin);
    memcpy(want.direction, c->direction, sizeof want.direction);
    char why[512];
    /* Axis-aligned 1 mm grids: nibabel's and ITK's doubles agree exactly. */
    CHECK(ie_image_geometry_equal(&want, g, 0, why, sizeof why), "%s %s: %s (got %s)", c->name, what, why,
          ie_image_geometry_describe(g, desc, sizeof desc));
}

/* Every case: shape, geometry, intensity sum and label counts as nibabel
 * reads them; image and label on the same grid. */
static void test_all_hippocampus(const hippo_case *cases, int n) {
    int checked = 0;
    for (int i = 0; i < n; i++) {
        const hippo_case *c = &cases[i];
        char image_path[1024], label_path[1024];
        snprintf(image_path, sizeof image_path, HIPPO "/images/%.63s", c->name);
        snprintf(label_path, sizeof label_path, HIPPO "/labels/%.63s", c->name);
        ie_tensor *img = NULL, *lab = NULL;
        ie_image_geometry gi, gl;
        CHECK_OK(ie_image_read(image_path, IE_F32, &img, &gi));
        CHECK_OK(ie_image_read(label_path, IE_U8, &lab, &gl));
        check_against_nibabel(c, &gi, "image");
        check_against_nibabel(c, &gl, "label");
        char why[512];
        CHECK(ie_image_geometry_equal(&gi, &gl, IE_GEOMETRY_TOLERANCE, why, sizeof why), "%s: label grid: %s",
              c->name, why);
        CHECK(ie_tensor_dim(img, 0) == c->size[2] && ie_tensor_dim(img, 1) == c->size[1] &&
                  ie_tensor_dim(img, 2) == c->size[0],
              "%s: tensor is [z, y, x]", c->name);
        double s = sum_f32(img);
        CHECK(fabs(s - c->image_sum) <= 1e-12 * fabs(c->image_sum), "%s: intensity sum %.17g, nibabel %.17g", c->name, s,
              c->image_sum);
        int64_t count[4] = {0, 0, 0, 0};
        const uint8_t *l = ie_tensor_data(lab);
        for (int64_t k = 0; k < ie_tensor_numel(lab); k++) count[l[k] < 3 ? l[k] : 3]++;
        CHECK(count[0] == c->label_count[0] && count[1] == c->label_count[1] && count[2] == c->label_count[2] &&
                  count[3] == 0,
              "%s: label counts %lld/%lld/%lld (+%lld other), nibabel %lld/%lld/%lld", c->name, (long long)count[0],
              (long long)count[1], (long long)count[2], (long long)count[3], (long long)c->label_count[0],
              (long long)c->label_count[1], (long long)c->label_count[2]);
        ie_tensor_release(img);
        ie_tensor_release(lab);
        checked++;
    }
    CHECK(checked == 200, "all 200 hippocampus cases checked (%d)", checked);
}

static void round_trip_file(const char *src, ie_dtype dtype, const char *out_name) {
    ie_tensor *t = NULL;
    ie_image_geometry g;
    CHECK_OK(ie_image_read(src, dtype, &t, &g));
    /* The real grids are axis-aligned, so even NIfTI keeps them exactly. */
    check_round_trip(scratch_path(out_name), t, &g, 0);
    ie_tensor_release(t);
}

/* Cases with different stored types: 001 uint8 image, 003 float32 image and
 * float32 label, 004 float32 image and uint8 label. */
static void test_hippocampus_cases(void) {
    ie_tensor *t = NULL;
    ie_image_geometry g;
    /* nibabel: 001 is 35x51x35 uint8, voxel (1,2,3) = 40. */
    CHECK_OK(ie_image_read(HIPPO "/images/hippocampus_001.nii.gz", IE_F32, &t, &g));
    CHECK(ie_tensor_ndim(t) == 3 && ie_tensor_dim(t, 0) == 35 && ie_tensor_dim(t, 1) == 51 && ie_tensor_dim(t, 2) == 35,
          "hippocampus_001 is [35, 51, 35]");
    CHECK(ie_tensor_data_f32(t)[(3 * 51 + 2) * 35 + 1] == 40.0f, "hippocampus_001 voxel (1, 2, 3) is 40");
    ie_tensor_release(t);
    /* nibabel: 003 is 34x52x35 float32, voxel (1,2,3) = 339.6613 (float32 0x43a9d4a6). */
    CHECK_OK(ie_image_read(HIPPO "/images/hippocampus_003.nii.gz", IE_F32, &t, &g));
    CHECK(ie_tensor_dim(t, 0) == 35 && ie_tensor_dim(t, 1) == 52 && ie_tensor_dim(t, 2) == 34, "003 is [35, 52, 34]");
    const float v = ie_tensor_data_f32(t)[(3 * 52 + 2) * 34 + 1];
    CHECK(fabs(v - 339.6613) < 1e-4, "hippocampus_003 voxel (1, 2, 3) is %.9g, nibabel 339.6613", v);
    CHECK(g.spacing[0] == 1 && g.spacing[1] == 1 && g.spacing[2] == 1 && g.origin[0] == -1 && g.origin[1] == -1 &&
              g.origin[2] == 1 && g.direction[0] == -1 && g.direction[4] == -1 && g.direction[8] == 1,
          "hippocampus_003 geometry: RAS affine diag(1,1,1), offset (1,1,1) is LPS origin (-1,-1,1)");
    ie_tensor_release(t);

    /* Its float32 intensities are not labels: refused, naming file and value. */
    const char *img003 = HIPPO "/images/hippocampus_003.nii.gz";
    CHECK_FAILS(ie_image_read(img003, IE_I64, &t, &g), IE_ERR_IO, img003);
    CHECK(strstr(ie_error_message(), "not an integer") && strstr(ie_error_message(), "is 387.333069"),
          "names the first non-integer voxel: %s", ie_error_message());
    /* Its float32 label is integral: reads as every label type. */
    ie_tensor *l64 = NULL, *l32 = NULL, *l8 = NULL;
    CHECK_OK(ie_image_read(HIPPO "/labels/hippocampus_003.nii.gz", IE_I64, &l64, NULL));
    CHECK_OK(ie_image_read(HIPPO "/labels/hippocampus_003.nii.gz", IE_I32, &l32, NULL));
    CHECK_OK(ie_image_read(HIPPO "/labels/hippocampus_003.nii.gz", IE_U8, &l8, NULL));
    int64_t mismatches = 0, sum = 0;
    for (int64_t k = 0; k < ie_tensor_numel(l64); k++) {
        int64_t a = ((int64_t *)ie_tensor_data(l64))[k];
        mismatches += a != ((int32_t *)ie_tensor_data(l32))[k] || a != ((uint8_t *)ie_tensor_data(l8))[k];
        sum += a;
    }
    CHECK(mismatches == 0 && sum == 5156, "float32 label read as i64/i32/u8 agrees, sum %lld (nibabel 5156)",
          (long long)sum);
    ie_tensor_release(l64);
    ie_tensor_release(l32);
    ie_tensor_release(l8);

    round_trip_file(HIPPO "/images/hippocampus_001.nii.gz", IE_F32, "h001_image.nii.gz");
    round_trip_file(HIPPO "/images/hippocampus_001.nii.gz", IE_U8, "h001_image_u8.nii.gz");
    round_trip_file(HIPPO "/labels/hippocampus_001.nii.gz", IE_I64, "h001_label.nii.gz");
    round_trip_file(HIPPO "/images/hippocampus_003.nii.gz", IE_F32, "h003_image.nii.gz");
    round_trip_file(HIPPO "/labels/hippocampus_003.nii.gz", IE_I64, "h003_label.nii.gz");
    round_trip_file(HIPPO "/images/hippocampus_004.nii.gz", IE_F32, "h004_image.nii.gz");
    round_trip_file(HIPPO "/labels/hippocampus_004.nii.gz", IE_I32, "h004_label.nii.gz");
    round_trip_file(HIPPO "/images/hippocampus_004.nii.gz", IE_F32, "h004_image.nrrd");
    round_trip_file(HIPPO "/images/hippocampus_004.nii.gz", IE_F32, "h004_image.mha");
}

static void test_spleen(void) {
    ie_tensor *img = NULL, *lab = NULL;
    ie_image_geometry gi, gl;
    CHECK_OK(ie_image_read(SPLEEN "/image.nii.gz", IE_F32, &img, &gi));
    CHECK_OK(ie_image_read(SPLEEN "/label.nii.gz", IE_I64, &lab, &gl));
    /* nibabel 5.0: shape (164, 166, 26) float32 / uint8, sform code 2 (qform 0),
     * affine diag(0.79492199, 0.79492199, 5) with offset (-406.20513916, -406.20513916, 0);
     * pixdim 0.7949219942092896 as a double. */
    const ie_image_geometry want = {
        .ndim = 3,
        .size = {164, 166, 26},
        .spacing = {0.7949219942092896, 0.7949219942092896, 5.0},
        .origin = {406.20513916015625, 406.20513916015625, 0.0},
        .direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1},
    };
    char why[512];
    CHECK(ie_image_geometry_equal(&want, &gi, 0, why, sizeof why), "spleen image geometry: %s", why);
    CHECK(ie_image_geometry_equal(&want, &gl, 0, why, sizeof why), "spleen label geometry: %s", why);
    CHECK(ie_tensor_ndim(img) == 3 && ie_tensor_dim(img, 0) == 26 && ie_tensor_dim(img, 1) == 166 &&
              ie_tensor_dim(img, 2) == 164,
          "spleen image is [26, 166, 164]");
    /* nibabel: sum -53646912, min -1019, max 949, voxel (1,2,3) = -929 HU. */
    CHECK(sum_f32(img) == -53646912.0, "spleen intensity sum %.17g", sum_f32(img));
    CHECK(ie_tensor_data_f32(img)[(3 * 166 + 2) * 164 + 1] == -929.0f, "spleen voxel (1, 2, 3) is -929");
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < ie_tensor_numel(img); k++) {
        float x = ie_tensor_data_f32(img)[k];
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    CHECK(lo == -1019.0f && hi == 949.0f, "spleen HU range %g..%g", lo, hi);
    /* nibabel: 96672 spleen voxels, all labels 0 or 1. */
    int64_t ones = 0, other = 0;
    for (int64_t k = 0; k < ie_tensor_numel(lab); k++) {
        int64_t x = ((int64_t *)ie_tensor_data(lab))[k];
        ones += x == 1;
        other += x != 0 && x != 1;
    }
    CHECK(ones == 96672 && other == 0, "spleen label: %lld ones, %lld other", (long long)ones, (long long)other);

    check_round_trip(scratch_path("spleen_image.nii.gz"), img, &gi, 0);
    check_round_trip(scratch_path("spleen_label.nii.gz"), lab, &gl, 0);
    check_round_trip(scratch_path("spleen_image.nrrd"), img, &gi, 1e-15);
    check_round_trip(scratch_path("spleen_image.mha"), img, &gi, 0);
    ie_tensor_release(img);
    ie_tensor_release(lab);

    /* A copy cut short, as an interrupted download leaves it. */
    const char *cut = scratch_path("spleen_cut.nii.gz");
    copy_prefix(SPLEEN "/image.nii.gz", cut, file_size(SPLEEN "/image.nii.gz") / 2);
    ie_tensor *t = NULL;
    CHECK_FAILS(ie_image_read(cut, IE_F32, &t, NULL), IE_ERR_IO, cut);
    CHECK(strstr(ie_error_message(), "truncated") != NULL, "says truncated: %s", ie_error_message());
    CHECK(t == NULL, "no tensor from a truncated file");
    /* Its header is intact, so the geometry alone still reads. */
    ie_image_geometry gh;
    CHECK_OK(ie_image_read_geometry(cut, &gh));
    CHECK(ie_image_geometry_equal(&want, &gh, 0, why, sizeof why), "header of the cut file: %s", why);
}

/* Data loaders read from several threads at once. */
typedef struct parallel_reads {
    const hippo_case *cases;
    ie_tensor *images[16];
    ie_status status[16];
} parallel_reads;

static void read_one(void *ctx, int64_t i) {
    parallel_reads *p = ctx;
    char path[1024];
    snprintf(path, sizeof path, HIPPO "/images/%.63s", p->cases[i].name);
    p->status[i] = ie_image_read(path, IE_F32, &p->images[i], NULL);
}

static void test_parallel_reads(const hippo_case *cases, int n) {
    if (n < 16) return;
    parallel_reads p = {.cases = cases};
    ie_threads_set(4);
    ie_parallel_for(16, read_one, &p);
    for (int i = 0; i < 16; i++) {
        CHECK(p.status[i] == IE_OK, "%s read in parallel: %s", cases[i].name, ie_status_name(p.status[i]));
        if (p.status[i] != IE_OK) continue;
        CHECK(fabs(sum_f32(p.images[i]) - cases[i].image_sum) <= 1e-12 * fabs(cases[i].image_sum),
              "%s read in parallel has the right voxels", cases[i].name);
        ie_tensor_release(p.images[i]);
    }
    ie_threads_set(1);
}

int main(void) {
    struct stat sb;
    if (stat(HIPPO "/images", &sb) != 0 || stat(SPLEEN "/image.nii.gz", &sb) != 0) {
        printf("SKIP: real data not found under %s (hippocampus/ and ct_spleen/, see "
               "../shared/data/README.md); these checks did not run\n",
               DATA);
        return TEST_SKIP;
    }
    scratch_make();
    static hippo_case cases[256];
    const int n = load_cases(cases, 256);
    test_parallel_reads(cases, n); /* first: ITK's set-up races here if anywhere */
    test_all_hippocampus(cases, n);
    test_hippocampus_cases();
    test_spleen();
    CHECK(count_names_containing(scratch_dir, ".tmp-") == 0, "no temporary files are left behind");
    return test_summary();
}
