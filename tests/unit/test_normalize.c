/* Photometric normalisation against a numpy restatement of InnerEye's
 * formulas (tests/reference/gen_normalize.py): CtWindow, MriWindow (with
 * scikit-image's Otsu threshold), TrimmedNorm and SimpleNorm on synthetic
 * volumes, the thresholds and windows of real hippocampus MR images (when
 * ../shared/data is present), and the refusals. */
#include <math.h>
#include <stdlib.h>

#include "core/data/normalize.h"
#include "innereye/image_io.h"
#include "test_util.h"

/* The generator's CASES: level, window, sharpen, tail, trim percentiles,
 * output range (the fixture holds them in float32 only). */
static const struct {
    const char *name;
    double p[8];
} cases[] = {
    {"ct_default", {50, 600, 0.9, 1, 1, 99, -1, 1}},   {"ct_soft", {40, 400, 0.9, 1, 1, 99, 0, 255}},
    {"mri_default", {50, 600, 0.9, 1, 1, 99, -1, 1}},  {"mri_wide", {50, 600, 1.9, 1.5, 1, 99, 0, 1}},
    {"mri_frac", {50, 600, 0.9, 1, 1, 99, -1, 1}},     {"trim_default", {50, 600, 0.9, 1, 1, 99, -1, 1}},
    {"trim_wide", {50, 600, 1.9, 1, 2, 98, 0, 1}},     {"trim_ct", {50, 600, 2.5, 1, 5, 95, -1, 1}},
    {"simple", {50, 600, 0.9, 1, 1, 99, -1, 1}},
};
static const char *const sources[] = {"input.ct", "input.mr_frac", "input.mr_int"}; /* sorted, as the generator */

static double f64(ie_params *fx, const char *name, int i) {
    char key[96];
    snprintf(key, sizeof key, "%s", name);
    return ie_f32(fixture_get(fx, key))[i];
}

static void test_against_numpy(void) {
    ie_params *fx = fixture_load("normalize.safetensors");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char key[96];
        snprintf(key, sizeof key, "%s.method", cases[c].name);
        ie_seg_norm method = (ie_seg_norm)((const int64_t *)ie_tensor_data(fixture_get(fx, key)))[0];
        snprintf(key, sizeof key, "%s.source", cases[c].name);
        const char *source = sources[((const int64_t *)ie_tensor_data(fixture_get(fx, key)))[0]];
        snprintf(key, sizeof key, "%s.params", cases[c].name);
        for (int k = 0; k < 8; k++)
            CHECK((float)cases[c].p[k] == (float)f64(fx, key, k), "%s: parameter %d differs from the generator's",
                  cases[c].name, k);
        const double *cp = cases[c].p;
        ie_norm_params p = {.level = cp[0], .window = cp[1], .sharpen = cp[2], .tail = cp[3],
                            .trim_percentiles = {cp[4], cp[5]}, .output_range = {cp[6], cp[7]}};
        ie_tensor *x = NULL;
        CHECK_OK(ie_tensor_clone(fixture_get(fx, source), &x));
        ie_norm_info info;
        CHECK_OK(ie_normalize(method, &p, ie_f32(x), ie_tensor_numel(x), &info));
        snprintf(key, sizeof key, "%s.y", cases[c].name);
        const ie_tensor *want = fixture_get(fx, key);
        /* float32 rounding of the map: at most a few ulps of the output range */
        double span = method == IE_SEG_NORM_SIMPLE ? 1 : p.output_range[1] - p.output_range[0];
        check_close(cases[c].name, x, want, 0, 4e-7 * span);
        int64_t differ = 0;
        for (int64_t i = 0; i < ie_tensor_numel(x); i++) differ += ie_f32(x)[i] != ie_f32(want)[i];
        printf("%-13s %s: %lld of %lld voxels differ from numpy in the last bits\n", cases[c].name, ie_norm_name(method),
               (long long)differ, (long long)ie_tensor_numel(x));
        snprintf(key, sizeof key, "%s.stats", cases[c].name);
        if (method == IE_SEG_NORM_MRI_WINDOW)
            CHECK((float)info.threshold == (float)f64(fx, key, 0), "%s: Otsu threshold %.9g, numpy %.9g", cases[c].name,
                  info.threshold, f64(fx, key, 0));
        if (method != IE_SEG_NORM_SIMPLE)
            for (int k = 0; k < 2; k++)
                CHECK(fabs(info.input_range[k] - f64(fx, key, 1 + k)) <= 1e-6 * fabs(f64(fx, key, 1 + k)) + 1e-9,
                      "%s: window bound %d is %.9g, numpy %.9g", cases[c].name, k, info.input_range[k], f64(fx, key, 1 + k));
        ie_tensor_release(x);
    }
    ie_params_free(fx);
}

/* Otsu thresholds and windows of real MR images: the exact numbers numpy
 * and scikit-image's algorithm give. */
static int test_hippocampus(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/hippocampus_normalize.csv", IE_FIXTURE_DIR);
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f || !fgets(line, sizeof line, f)) {
        CHECK(0, "cannot read %s", path);
        if (f) fclose(f);
        return 0;
    }
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256];
        double t, lo, hi, tlo, thi;
        if (sscanf(line, "%255[^,],%lf,%lf,%lf,%lf,%lf", name, &t, &lo, &hi, &tlo, &thi) != 6) continue;
        snprintf(path, sizeof path, "%s/hippocampus/images/%s", IE_SHARED_DATA_DIR, name);
        ie_tensor *x = NULL, *y = NULL;
        if (ie_image_read(path, IE_F32, &x, NULL) != IE_OK) {
            fclose(f);
            return 0; /* no data: skipped */
        }
        CHECK_OK(ie_tensor_clone(x, &y));
        ie_norm_info info;
        CHECK_OK(ie_normalize(IE_SEG_NORM_MRI_WINDOW, NULL, ie_f32(x), ie_tensor_numel(x), &info));
        CHECK(info.threshold == t, "%s: Otsu threshold %.17g, scikit-image's algorithm %.17g", name, info.threshold, t);
        CHECK(fabs(info.input_range[0] - lo) <= 1e-9 * fabs(lo) && fabs(info.input_range[1] - hi) <= 1e-9 * fabs(hi),
              "%s: MriWindow window [%.17g, %.17g], numpy [%.17g, %.17g]", name, info.input_range[0],
              info.input_range[1], lo, hi);
        CHECK_OK(ie_normalize(IE_SEG_NORM_TRIMMED, NULL, ie_f32(y), ie_tensor_numel(y), &info));
        CHECK(fabs(info.input_range[0] - tlo) <= 1e-9 * fabs(tlo) && fabs(info.input_range[1] - thi) <= 1e-9 * fabs(thi),
              "%s: TrimmedNorm window [%.17g, %.17g], numpy [%.17g, %.17g]", name, info.input_range[0],
              info.input_range[1], tlo, thi);
        ie_tensor_release(x);
        ie_tensor_release(y);
        rows++;
    }
    fclose(f);
    CHECK(rows >= 10, "only %d hippocampus rows checked", rows);
    return rows;
}

static void test_refusals(void) {
    float constant[64], bad[8] = {1, 2, 3, NAN, 5, 6, 7, 8};
    for (int i = 0; i < 64; i++) constant[i] = 7;
    CHECK_FAILS(ie_normalize(IE_SEG_NORM_MRI_WINDOW, NULL, constant, 64, NULL), IE_ERR_NUMERIC, "single value");
    CHECK_FAILS(ie_normalize(IE_SEG_NORM_TRIMMED, NULL, constant, 64, NULL), IE_ERR_NUMERIC, "TrimmedNorm");
    CHECK(constant[0] == 7 && constant[63] == 7, "a refused channel is left unchanged");
    CHECK_FAILS(ie_normalize(IE_SEG_NORM_SIMPLE, NULL, bad, 8, NULL), IE_ERR_NUMERIC, "voxel 3 is nan");
    ie_norm_params p;
    ie_norm_params_init(&p);
    p.output_range[0] = 1;
    p.output_range[1] = -1;
    CHECK_FAILS(ie_normalize(IE_SEG_NORM_CT_WINDOW, &p, constant, 64, NULL), IE_ERR_CONFIG, "data.output_range");
    /* CtWindow of a constant image is fine: a constant */
    ie_norm_params_init(&p);
    CHECK_OK(ie_normalize(IE_SEG_NORM_CT_WINDOW, &p, constant, 64, NULL));
    CHECK(fabsf(constant[5] - (7.0f - 50.0f) / 300.0f) < 1e-6f, "CtWindow(50, 600) of 7 is %g", constant[5]);
    /* SimpleNorm of a constant image: zeros (std floored at 1e-6) */
    for (int i = 0; i < 64; i++) constant[i] = 7;
    CHECK_OK(ie_normalize(IE_SEG_NORM_SIMPLE, NULL, constant, 64, NULL));
    CHECK(constant[0] == 0, "SimpleNorm of a constant is 0, got %g", constant[0]);

    ie_seg_norm m;
    CHECK_OK(ie_norm_parse("MRI Window", &m));
    CHECK(m == IE_SEG_NORM_MRI_WINDOW, "InnerEye's spelling 'MRI Window'");
    CHECK_OK(ie_norm_parse("TrimmedNorm", &m));
    CHECK(m == IE_SEG_NORM_TRIMMED, "TrimmedNorm");
    CHECK_FAILS(ie_norm_parse("ZScore", &m), IE_ERR_CONFIG, "use None, SimpleNorm");
    /* Otsu of two clusters: scikit-image's answer is the centre of the bin
     * ending class 1, here inside the lower cluster (numpy: 11.894531) */
    float two[100];
    for (int i = 0; i < 100; i++) two[i] = i < 60 ? 10.0f + (float)(i % 3) : 200.0f + (float)(i % 5);
    float t = ie_otsu_threshold(two, 100);
    CHECK(t == 11.894531f, "Otsu of two clusters is %.9g, scikit-image's algorithm 11.894531", t);
}

int main(void) {
    test_against_numpy();
    int rows = test_hippocampus();
    test_refusals();
    if (!rows) printf("hippocampus part skipped: %s/hippocampus not found\n", IE_SHARED_DATA_DIR);
    return test_summary();
}
