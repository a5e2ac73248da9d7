/* tests - segmentation metrics (core/metrics):
 *   - Dice, Hausdorff, HD95 and mean surface distance against scipy
 *     (tests/reference/gen_seg_metrics.py): InnerEye's unit cases, real
 *     hippocampus label maps, random blobs, 2-D; Dice exact, distances to
 *     1e-6 relative;
 *   - the distance transform against brute force on random volumes;
 *   - bit-identical results on 1, 2 and 3 threads; cropping invariance;
 *   - label-map shapes and dtypes, refusals;
 *   - metrics.csv and metrics_aggregates.csv: contents, NaN/inf rules, no
 *     overwriting, no temporary files left behind.
 * With --write-eval-inputs DIR it instead writes the label maps the CLI test
 * (tests/cli/test_eval.sh) evaluates. */
#include "image_io_test_util.h"

#include "core/util/csv.h"
#include "core/metrics/distance_transform.h"
#include "core/metrics/metrics_csv.h"
#include "core/metrics/segmentation_metrics.h"
#include "innereye/rng.h"

/* ------------------------------------------------------------ helpers */

static ie_tensor *tensor_u8(int ndim, const int64_t *shape, const uint8_t *data) {
    ie_tensor *t = NULL;
    CHECK_OK(ie_tensor_from_data(IE_U8, ndim, shape, data, &t));
    return t;
}

static ie_image_geometry geometry_of(const ie_tensor *t, double sx, double sy, double sz) {
    ie_image_geometry g;
    CHECK_OK(ie_image_geometry_from_shape(ie_tensor_ndim(t), ie_tensor_shape(t), &g));
    g.spacing[0] = sx;
    g.spacing[1] = sy;
    if (g.ndim == 3) g.spacing[2] = sz;
    return g;
}

/* Equal, both NaN, or the same infinity; else within rtol (atol for 0). */
static bool close_value(double got, double want, double rtol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= rtol * fabs(want) + 1e-12;
}

static double parse_double(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) {
        fprintf(stderr, "FAIL: '%s' is not a number in the expected-metrics fixture\n", s);
        exit(1);
    }
    return v;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ------------------------------------------------------- scipy fixtures */

static void test_against_scipy(void) {
    ie_params *fx = fixture_load("seg_metrics.safetensors");
    ie_csv *csv = NULL;
    CHECK_OK(ie_csv_read(IE_FIXTURE_DIR "/seg_metrics_expected.csv", &csv));
    int col[10];
    const char *names[10] = {"case", "input", "spacing_x", "spacing_y", "spacing_z", "class",
                             "Dice", "HausdorffDistance_mm", "HD95_mm", "MeanDistance_mm"};
    for (int i = 0; i < 10; i++) {
        col[i] = ie_csv_column(csv, names[i]);
        CHECK(col[i] >= 0, "expected-metrics fixture lacks column %s", names[i]);
        if (col[i] < 0) exit(test_summary());
    }
    int rows = 0, hippocampus = 0, infinite = 0, missing = 0, two_d = 0;
    for (int r = 0; r < csv->n_rows; r++) {
        const char *input = ie_csv_cell(csv, r, col[1]);
        char key[128];
        snprintf(key, sizeof key, "%s.pred", input);
        ie_tensor *pred = fixture_get(fx, key);
        snprintf(key, sizeof key, "%s.truth", input);
        ie_tensor *truth = fixture_get(fx, key);
        int cls = atoi(ie_csv_cell(csv, r, col[5]));
        ie_image_geometry g = geometry_of(truth, parse_double(ie_csv_cell(csv, r, col[2])),
                                          parse_double(ie_csv_cell(csv, r, col[3])),
                                          parse_double(ie_csv_cell(csv, r, col[4])));
        ie_seg_metrics m[8];
        CHECK_OK(ie_seg_metrics_labels(pred, truth, &g, cls + 1, m));
        const ie_seg_metrics *got = &m[cls - 1];
        double want[4];
        for (int i = 0; i < 4; i++) want[i] = parse_double(ie_csv_cell(csv, r, col[6 + i]));
        const char *c = ie_csv_cell(csv, r, col[0]);
        /* Dice: the same double operations as numpy's, so equal bits. */
        CHECK(isnan(want[0]) ? isnan(got->dice) : got->dice == want[0], "%s class %d: Dice %.17g, scipy %.17g", c,
              cls, got->dice, want[0]);
        CHECK(close_value(got->hausdorff_mm, want[1], 1e-6), "%s class %d: Hausdorff %.17g mm, scipy %.17g", c, cls,
              got->hausdorff_mm, want[1]);
        CHECK(close_value(got->hd95_mm, want[2], 1e-6), "%s class %d: HD95 %.17g mm, scipy %.17g", c, cls,
              got->hd95_mm, want[2]);
        CHECK(close_value(got->mean_distance_mm, want[3], 1e-6), "%s class %d: mean distance %.17g mm, scipy %.17g",
              c, cls, got->mean_distance_mm, want[3]);
        CHECK(close_value(got->dice, ie_dice(pred, truth, cls), 1e-15), "%s: ie_dice agrees", c);
        rows++;
        hippocampus += !strncmp(c, "hippocampus", 11);
        infinite += isinf(want[1]);
        missing += isnan(want[1]);
        two_d += ie_tensor_ndim(truth) == 2;
    }
    CHECK(rows >= 25 && hippocampus >= 4 && infinite >= 3 && missing >= 2 && two_d >= 2,
          "fixture coverage: %d rows, %d hippocampus, %d inf, %d NaN, %d 2-D", rows, hippocampus, infinite, missing,
          two_d);
    ie_csv_free(csv);
    ie_params_free(fx);
}

/* InnerEye's own asserted values (Tests/ML/test_metrics.py), exactly. */
static void test_innereye_cases(void) {
    ie_params *fx = fixture_load("seg_metrics.safetensors");
    ie_tensor *pred = fixture_get(fx, "innereye_hd_exact.pred"), *truth = fixture_get(fx, "innereye_hd_exact.truth");
    ie_image_geometry g = geometry_of(truth, 3, 2, 1); /* InnerEye's (z, y, x) = (1, 2, 3) */
    ie_seg_metrics m;
    CHECK_OK(ie_seg_metrics_labels(pred, truth, &g, 2, &m));
    CHECK(m.hausdorff_mm == 6 && m.mean_distance_mm == 6 && m.hd95_mm == 6 && m.dice == 0,
          "test_calculate_hd_exact: HD %g, mean %g, HD95 %g, Dice %g; InnerEye asserts HD = mean = 6", m.hausdorff_mm,
          m.mean_distance_mm, m.hd95_mm, m.dice);
    const char *dice2[3] = {"innereye_dice2_same.pred", "innereye_dice2_two_thirds.pred", "innereye_dice2_half.pred"};
    const double want[3] = {1.0, 2.0 / 3.0, 0.5};
    for (int i = 0; i < 3; i++) {
        CHECK_OK(ie_seg_metrics_labels(fixture_get(fx, dice2[i]), fixture_get(fx, "innereye_dice2_same.truth"), &g,
                                       2, &m));
        CHECK(m.dice == want[i], "%s: Dice %.17g, InnerEye asserts %.17g", dice2[i], m.dice, want[i]);
    }
    ie_tensor *zero = fixture_get(fx, "innereye_both_empty.pred"), *one = fixture_get(fx, "innereye_all_one.pred");
    g = geometry_of(zero, 1, 1, 1);
    CHECK_OK(ie_seg_metrics_labels(zero, zero, &g, 2, &m));
    CHECK(isnan(m.dice) && isnan(m.hausdorff_mm) && isnan(m.hd95_mm) && isnan(m.mean_distance_mm),
          "both empty: all NaN");
    CHECK_OK(ie_seg_metrics_labels(zero, one, &g, 2, &m));
    CHECK(m.dice == 0 && isinf(m.hausdorff_mm) && isinf(m.hd95_mm) && isinf(m.mean_distance_mm),
          "prediction empty: Dice 0, distances inf");
    CHECK_OK(ie_seg_metrics_labels(one, zero, &g, 2, &m));
    CHECK(m.dice == 0 && isinf(m.hausdorff_mm) && m.hausdorff_mm > 0, "truth empty: Dice 0, distances +inf");
    CHECK_OK(ie_seg_metrics_labels(one, one, &g, 2, &m));
    CHECK(m.dice == 1 && m.hausdorff_mm == 0 && m.mean_distance_mm == 0, "identical: Dice 1, distances 0");
    ie_params_free(fx);
}

/* ------------------------------------------------ the distance transform */

static void random_features(uint64_t seed, int64_t n, double density, uint8_t *out) {
    ie_rng rng = ie_rng_make(seed, IE_STREAM_USER, 0, 0);
    for (int64_t i = 0; i < n; i++) out[i] = ie_rng_uniform_at(&rng, (uint64_t)i) < density;
}

static void test_edt_brute_force(void) {
    const struct {
        int ndim;
        int64_t shape[3];
        double spacing[3];
        double density;
    } cases[] = {
        {3, {7, 9, 11}, {2.1, 1.3, 0.7}, 0.03},
        {3, {5, 6, 4}, {1, 1, 1}, 0.2},
        {3, {1, 8, 13}, {3.0, 0.6, 1.1}, 0.05},
        {3, {12, 1, 1}, {0.5, 1, 1}, 0.1},
        {2, {13, 6}, {1.6, 0.9}, 0.04},
        {2, {9, 10}, {1, 1}, 0.0}, /* no features: +inf everywhere */
        {1, {40}, {0.25}, 0.05},
        {3, {6, 7, 8}, {1.5, 1.5, 1.5}, 1.0}, /* all features: 0 everywhere */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int nd = cases[k].ndim;
        int64_t n = 1, sh[3] = {1, 1, 1};
        for (int a = 0; a < nd; a++) {
            n *= cases[k].shape[a];
            sh[3 - nd + a] = cases[k].shape[a];
        }
        double sp[3] = {1, 1, 1};
        for (int a = 0; a < nd; a++) sp[3 - nd + a] = cases[k].spacing[a];
        uint8_t *feat = malloc((size_t)n);
        double *got = malloc(sizeof(double) * (size_t)n);
        random_features(100 + k, n, cases[k].density, feat);
        if (k == 3) feat[5] = 1; /* at least one on the 1-voxel-wide line */
        CHECK_OK(ie_edt_squared(feat, nd, cases[k].shape, cases[k].spacing, got));
        double worst = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t p[3] = {i / (sh[1] * sh[2]), i / sh[2] % sh[1], i % sh[2]};
            double best = INFINITY;
            for (int64_t j = 0; j < n; j++) {
                if (!feat[j]) continue;
                int64_t q[3] = {j / (sh[1] * sh[2]), j / sh[2] % sh[1], j % sh[2]};
                double d2 = 0;
                for (int a = 0; a < 3; a++) d2 += (sp[a] * (double)(p[a] - q[a])) * (sp[a] * (double)(p[a] - q[a]));
                if (d2 < best) best = d2;
            }
            double err = isinf(best) ? (isinf(got[i]) ? 0 : INFINITY) : fabs(got[i] - best) / (best + 1e-300);
            if (best == 0) err = got[i] == 0 ? 0 : INFINITY;
            if (err > worst) worst = err;
        }
        CHECK(worst <= 1e-12, "EDT case %zu: worst relative error %g against brute force", k, worst);
        free(feat);
        free(got);
    }
    const int64_t shape[3] = {4, 4, 4};
    const double bad[3] = {1, 0, 1};
    uint8_t f[64] = {0};
    double out[64];
    CHECK_FAILS(ie_edt_squared(f, 3, shape, bad, out), IE_ERR_INVALID_ARG, "spacing 0 mm");
    CHECK_FAILS(ie_edt_squared(f, 4, shape, bad, out), IE_ERR_INVALID_ARG, "ndim 4");
}

/* ----------------------------------------------------------- threads */

static void test_thread_independence(void) {
    const int64_t shape[3] = {48, 40, 36}, n = 48 * 40 * 36;
    const double spacing[3] = {2.5, 0.8, 0.7};
    uint8_t *feat = malloc((size_t)n);
    double *runs[3];
    random_features(7, n, 0.002, feat);
    ie_params *fx = fixture_load("seg_metrics.safetensors");
    ie_tensor *pred = fixture_get(fx, "hippocampus_001.pred"), *truth = fixture_get(fx, "hippocampus_001.truth");
    ie_image_geometry g = geometry_of(truth, 0.8, 1.0, 1.5);
    ie_seg_metrics m[3][2];
    for (int t = 0; t < 3; t++) {
        ie_threads_set(t + 1);
        runs[t] = malloc(sizeof(double) * (size_t)n);
        CHECK_OK(ie_edt_squared(feat, 3, shape, spacing, runs[t]));
        CHECK_OK(ie_seg_metrics_labels(pred, truth, &g, 3, m[t]));
    }
    ie_threads_set(0);
    for (int t = 1; t < 3; t++) {
        CHECK(memcmp(runs[0], runs[t], sizeof(double) * (size_t)n) == 0,
              "EDT on %d threads differs from 1 thread", t + 1);
        CHECK(memcmp(m[0], m[t], sizeof m[0]) == 0, "metrics on %d threads differ from 1 thread", t + 1);
    }
    for (int t = 0; t < 3; t++) free(runs[t]);
    free(feat);
    ie_params_free(fx);
}

/* ------------------------------------------------- label-map interface */

static void test_label_maps(void) {
    ie_params *fx = fixture_load("seg_metrics.safetensors");
    ie_tensor *pred = fixture_get(fx, "hippocampus_004.pred"), *truth = fixture_get(fx, "hippocampus_004.truth");
    const int64_t *s = ie_tensor_shape(truth);
    const int64_t D = s[0], H = s[1], W = s[2];
    ie_image_geometry g = geometry_of(truth, 1, 1, 1);
    ie_seg_metrics want[2], got[2];
    CHECK_OK(ie_seg_metrics_labels(pred, truth, &g, 3, want));

    /* Zero padding around the maps (asymmetric) changes nothing: the work is
     * on the bounding box, and no mask voxel reaches the padded border. */
    const int64_t pad_lo[3] = {3, 0, 5}, pad_hi[3] = {1, 4, 2};
    const int64_t ps[4] = {1, D + 4, H + 4, W + 7};
    uint8_t *big_p = calloc((size_t)(ps[1] * ps[2] * ps[3]), 1), *big_t = calloc((size_t)(ps[1] * ps[2] * ps[3]), 1);
    const uint8_t *p = ie_tensor_data(pred), *t = ie_tensor_data(truth);
    for (int64_t z = 0; z < D; z++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                int64_t i = ((z + pad_lo[0]) * ps[2] + y + pad_lo[1]) * ps[3] + x + pad_lo[2];
                big_p[i] = p[(z * H + y) * W + x];
                big_t[i] = t[(z * H + y) * W + x];
            }
    (void)pad_hi;
    ie_tensor *bp = tensor_u8(4, ps, big_p), *bt = tensor_u8(3, ps + 1, big_t);
    ie_image_geometry bg = geometry_of(bt, 1, 1, 1);
    CHECK_OK(ie_seg_metrics_labels(bp, bt, &bg, 3, got)); /* [1, D, H, W] against [D, H, W] */
    CHECK(memcmp(got, want, sizeof got) == 0, "padding the maps changed the metrics");

    /* Other label dtypes give the same results. */
    ie_tensor *pi64 = NULL, *tf32 = NULL, *pi32 = NULL;
    CHECK_OK(ie_tensor_empty(IE_I64, 3, s, IE_CPU, &pi64));
    CHECK_OK(ie_tensor_empty(IE_I32, 3, s, IE_CPU, &pi32));
    CHECK_OK(ie_tensor_empty(IE_F32, 3, s, IE_CPU, &tf32));
    for (int64_t i = 0; i < D * H * W; i++) {
        ((int64_t *)ie_tensor_data(pi64))[i] = p[i];
        ((int32_t *)ie_tensor_data(pi32))[i] = p[i];
        ((float *)ie_tensor_data(tf32))[i] = t[i];
    }
    CHECK_OK(ie_seg_metrics_labels(pi64, tf32, &g, 3, got));
    CHECK(memcmp(got, want, sizeof got) == 0, "int64 / float32 maps give other metrics than uint8");
    CHECK_OK(ie_seg_metrics_labels(pi32, truth, &g, 3, got));
    CHECK(memcmp(got, want, sizeof got) == 0, "int32 maps give other metrics than uint8");

    /* Refusals name what is wrong. */
    CHECK_FAILS(ie_seg_metrics_labels(bp, truth, &g, 3, got), IE_ERR_SHAPE, "predicted label map");
    CHECK_FAILS(ie_seg_metrics_labels(pred, bt, &g, 3, got), IE_ERR_SHAPE, "does not fit the image's voxels");
    ie_image_geometry bad = g;
    bad.spacing[1] = 0;
    CHECK_FAILS(ie_seg_metrics_labels(pred, truth, &bad, 3, got), IE_ERR_INVALID_ARG, "spacing");
    CHECK_FAILS(ie_seg_metrics_labels(pred, truth, &g, 0, got), IE_ERR_INVALID_ARG, "n_classes");

    ie_tensor_release(bp);
    ie_tensor_release(bt);
    ie_tensor_release(pi64);
    ie_tensor_release(pi32);
    ie_tensor_release(tf32);
    free(big_p);
    free(big_t);
    ie_params_free(fx);
}

/* ---------------------------------------------------------- CSV files */

static void test_csv_files(void) {
    scratch_make();
    const char *metrics = scratch_path("metrics.csv"), *aggregates = scratch_path("metrics_aggregates.csv");
    ie_metrics_writer *w = NULL;
    CHECK_OK(ie_metrics_writer_open(metrics, false, &w));
    const ie_seg_metrics rows[] = {
        {0.5, 3, 2.5, 1.25}, {0.7, INFINITY, INFINITY, INFINITY}, {NAN, NAN, NAN, NAN}, {0.9, 5, 4, 2},
    };
    const char *patients[] = {"p1", "p2", "p3", "p4"};
    for (int i = 0; i < 4; i++) CHECK_OK(ie_metrics_writer_add(w, patients[i], "left, lobe", &rows[i]));
    /* a subject from label maps: 1 x 1 x 4 at 2 mm along x, classes 1 and 2;
     * every voxel is a surface voxel, U = {2, 0} + {0, 2} mm */
    const int64_t shape[3] = {1, 1, 4};
    const uint8_t pl[4] = {1, 1, 0, 0}, tl[4] = {0, 1, 1, 0};
    ie_tensor *pt = tensor_u8(3, shape, pl), *tt = tensor_u8(3, shape, tl);
    ie_image_geometry g = geometry_of(tt, 2, 1, 1);
    const char *names[3] = {"background", "A", "B"};
    ie_seg_metrics sm[2];
    CHECK_OK(ie_metrics_writer_add_subject(w, "p5", pt, tt, &g, 3, names, sm));
    CHECK(sm[0].dice == 0.5 && sm[0].hausdorff_mm == 2 && sm[0].mean_distance_mm == 1 && isnan(sm[1].dice),
          "add_subject's metrics");
    CHECK(file_size(metrics) < 0, "metrics.csv appears only at commit");
    CHECK_OK(ie_metrics_writer_commit(w));
    const char *want =
        "Patient,Structure,Dice,HausdorffDistance_mm,HD95_mm,MeanDistance_mm\n"
        "p1,\"left, lobe\",0.500000,3.000000,2.500000,1.250000\n"
        "p2,\"left, lobe\",0.700000,inf,inf,inf\n"
        "p3,\"left, lobe\",nan,nan,nan,nan\n"
        "p4,\"left, lobe\",0.900000,5.000000,4.000000,2.000000\n"
        "p5,A,0.500000,2.000000,2.000000,1.000000\n"
        "p5,B,nan,nan,nan,nan\n";
    const char *text = read_text(metrics);
    CHECK(text && !strcmp(text, want), "metrics.csv is\n%s\nwant\n%s", text ? text : "(missing)", want);

    CHECK_OK(ie_metrics_aggregates_write(metrics, aggregates, false));
    /* "left, lobe" Dice: 0.5 0.7 nan 0.9 -> mean 0.7, std 0.2; Hausdorff: 3 inf
     * nan 5 -> mean 4 and std sqrt(2) over the finite values, max inf. */
    const char *want_agg =
        "Structure,Metric,count,nan_count,inf_count,mean,std,min,max\n"
        "\"left, lobe\",Dice,3,1,0,0.700000,0.200000,0.500000,0.900000\n"
        "\"left, lobe\",HausdorffDistance_mm,3,1,1,4.000000,1.414214,3.000000,inf\n"
        "\"left, lobe\",HD95_mm,3,1,1,3.250000,1.060660,2.500000,inf\n"
        "\"left, lobe\",MeanDistance_mm,3,1,1,1.625000,0.530330,1.250000,inf\n"
        "A,Dice,1,0,0,0.500000,nan,0.500000,0.500000\n"
        "A,HausdorffDistance_mm,1,0,0,2.000000,nan,2.000000,2.000000\n"
        "A,HD95_mm,1,0,0,2.000000,nan,2.000000,2.000000\n"
        "A,MeanDistance_mm,1,0,0,1.000000,nan,1.000000,1.000000\n"
        "B,Dice,0,1,0,nan,nan,nan,nan\n"
        "B,HausdorffDistance_mm,0,1,0,nan,nan,nan,nan\n"
        "B,HD95_mm,0,1,0,nan,nan,nan,nan\n"
        "B,MeanDistance_mm,0,1,0,nan,nan,nan,nan\n";
    text = read_text(aggregates);
    CHECK(text && !strcmp(text, want_agg), "metrics_aggregates.csv is\n%s\nwant\n%s", text ? text : "(missing)",
          want_agg);

    /* Never overwritten unless asked; nothing temporary left behind. */
    CHECK_FAILS(ie_metrics_writer_open(metrics, false, &w), IE_ERR_IO, "metrics.csv already exists");
    CHECK(w == NULL, "no writer after a refusal");
    CHECK_FAILS(ie_metrics_aggregates_write(metrics, aggregates, false), IE_ERR_IO, "already exists");
    CHECK_OK(ie_metrics_aggregates_write(metrics, aggregates, true));
    CHECK(!strcmp(read_text(aggregates), want_agg), "overwritten aggregates are the same");
    CHECK_OK(ie_metrics_writer_open(scratch_path("other.csv"), false, &w));
    ie_metrics_writer_discard(w);
    CHECK(file_size(scratch_path("other.csv")) < 0, "a discarded writer leaves no file");
    /* A file that appears while the writer works is not replaced. */
    CHECK_OK(ie_metrics_writer_open(scratch_path("late.csv"), false, &w));
    write_bytes(scratch_path("late.csv"), "mine\n", 5);
    CHECK_FAILS(ie_metrics_writer_commit(w), IE_ERR_IO, "late.csv appeared while it was being written");
    CHECK(!strcmp(read_text(scratch_path("late.csv")), "mine\n"), "the late file is untouched");
    CHECK(count_names_containing(scratch_dir, ".tmp-") == 0, "temporary files left behind");

    /* Bad metrics files. */
    write_bytes(scratch_path("bad.csv"), "Patient,Structure,Dice\np1,A,0.5\np2,A,zero\n", 42);
    CHECK_FAILS(ie_metrics_aggregates_write(scratch_path("bad.csv"), scratch_path("bad_agg.csv"), false), IE_ERR_IO,
                "bad.csv:3: column Dice: 'zero' is not a number");
    write_bytes(scratch_path("nostruct.csv"), "Patient,Dice\np1,0.5\n", 20);
    CHECK_FAILS(ie_metrics_aggregates_write(scratch_path("nostruct.csv"), scratch_path("bad_agg.csv"), false),
                IE_ERR_IO, "needs a Structure column");
    CHECK(file_size(scratch_path("bad_agg.csv")) < 0, "no aggregates from a bad file");
    CHECK_FAILS(ie_metrics_writer_open(scratch_path("no/such/dir/metrics.csv"), false, &w), IE_ERR_IO,
                "cannot create");
    ie_tensor_release(pt);
    ie_tensor_release(tt);
}

static void test_stats(void) {
    ie_metric_stats s;
    const double v[] = {1, NAN, 2, INFINITY, 6};
    ie_metric_stats_compute(v, 5, &s);
    CHECK(s.count == 4 && s.nan_count == 1 && s.inf_count == 1 && s.mean == 3 && fabs(s.std - sqrt(7)) < 1e-15 &&
              s.min == 1 && isinf(s.max),
          "stats: count %d nan %d inf %d mean %g std %g min %g max %g", s.count, s.nan_count, s.inf_count, s.mean,
          s.std, s.min, s.max);
    const double only_inf[] = {INFINITY};
    ie_metric_stats_compute(only_inf, 1, &s);
    CHECK(s.count == 1 && s.inf_count == 1 && isnan(s.mean) && isnan(s.std) && isinf(s.min), "stats of one inf");
    ie_metric_stats_compute(NULL, 0, &s);
    CHECK(s.count == 0 && isnan(s.mean) && isnan(s.max), "stats of nothing");
}

/* ------------------------------------------- inputs of tests/cli/test_eval.sh */

static void write_map(const char *dir, const char *name, int64_t d, int64_t h, int64_t w, const uint8_t *v,
                      double sx, double sy, double sz) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const int64_t shape[3] = {d, h, w};
    ie_tensor *t = tensor_u8(3, shape, v);
    ie_image_geometry g = geometry_of(t, sx, sy, sz);
    CHECK_OK(ie_image_write(path, t, &g));
    ie_tensor_release(t);
}

/* DIR/pred and DIR/truth:
 *   case1  InnerEye's hd_exact maps (1x3x3, spacing x 3, y 2, z 1 mm): class 1
 *          Dice 0, Hausdorff = HD95 = mean = 6 mm; class 2 in neither;
 *   case2  identical 4x4x4 maps with classes 1 and 2 (the prediction named
 *          case2_segmentation.nii.gz, as the trainer names them);
 *   case3  class 1 only in the truth: Dice 0, distances inf;
 *   extra (prediction only), lonely (truth only): unmatched.
 * DIR/bad: shape.nii.gz (4x4x5) and spacing.nii.gz (case2 at 2 mm);
 * DIR/empty: no images. */
static int write_eval_inputs(const char *dir) {
    char sub[1024];
    const char *subs[] = {"pred", "truth", "bad", "empty"};
    for (int i = 0; i < 4; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
        if (mkdir(sub, 0755) != 0) {
            perror(sub);
            return 1;
        }
    }
    char pred[1024], truth[1024], bad[1024];
    snprintf(pred, sizeof pred, "%s/pred", dir);
    snprintf(truth, sizeof truth, "%s/truth", dir);
    snprintf(bad, sizeof bad, "%s/bad", dir);
    const uint8_t hd_pred[9] = {0, 0, 1, 0, 0, 1, 0, 0, 1}, hd_truth[9] = {1, 0, 0, 1, 0, 0, 1, 0, 0};
    write_map(pred, "case1.nii.gz", 1, 3, 3, hd_pred, 3, 2, 1);
    write_map(truth, "case1.nii.gz", 1, 3, 3, hd_truth, 3, 2, 1);
    uint8_t cube[64] = {0}, cube5[80] = {0}, none[64] = {0};
    for (int z = 1; z < 3; z++)
        for (int y = 1; y < 3; y++) {
            cube[(z * 4 + y) * 4 + 1] = 1;
            cube[(z * 4 + y) * 4 + 2] = 2;
        }
    write_map(pred, "case2_segmentation.nii.gz", 4, 4, 4, cube, 1, 1, 1);
    write_map(truth, "case2.nii.gz", 4, 4, 4, cube, 1, 1, 1);
    write_map(pred, "case3.nii.gz", 4, 4, 4, none, 1, 1, 1);
    uint8_t ones[64];
    for (int i = 0; i < 64; i++) ones[i] = cube[i] == 1;
    write_map(truth, "case3.nii.gz", 4, 4, 4, ones, 1, 1, 1);
    write_map(pred, "extra.nii.gz", 4, 4, 4, cube, 1, 1, 1);
    write_map(truth, "lonely.nii.gz", 4, 4, 4, cube, 1, 1, 1);
    write_map(bad, "shape.nii.gz", 4, 4, 5, cube5, 1, 1, 1);
    write_map(bad, "spacing.nii.gz", 4, 4, 4, cube, 2, 1, 1);
    snprintf(sub, sizeof sub, "%s/empty/notes.txt", dir);
    write_bytes(sub, "no images here\n", 15);
    return test_summary();
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-eval-inputs")) return write_eval_inputs(argv[2]);
    test_against_scipy();
    test_innereye_cases();
    test_edt_brute_force();
    test_thread_independence();
    test_label_maps();
    test_stats();
    test_csv_files();
    return test_summary();
}
