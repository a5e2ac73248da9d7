/* Classification and regression metrics against scikit-learn
 * (tests/reference/gen_scalar_metrics.py computes them as InnerEye does):
 * every metric of every split and target of four prediction tables
 * (InnerEye's AUPRC unit case, multi-label with ties and a one-class target,
 * multi-class with its confusion matrix, regression with a constant target);
 * the predictions CSV round trip; and bad tables refused with file and line. */
#include <unistd.h>

#include "core/util/csv.h"
#include "core/metrics/classification_regression_metrics.h"
#include "core/metrics/classification_regression_report.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/ie_test_scalar_metrics_XXXXXX";

static void fixture_path(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/scalar_metrics/%s", IE_FIXTURE_DIR, name);
}

static bool same(double got, double want) {
    if (isnan(want)) return isnan(got);
    return fabs(got - want) <= 1e-12 + 1e-10 * fabs(want);
}

static void check_case(const char *name, ie_scalar_kind kind) {
    char path[256], expected_path[1400];
    snprintf(path, sizeof path, "%s_predictions.csv", name);
    fixture_path(expected_path, sizeof expected_path, path);
    ie_predictions *p = NULL;
    CHECK_OK(ie_predictions_read_csv(expected_path, &p));
    ie_scalar_report *r = NULL;
    CHECK_OK(ie_scalar_report_compute(p, kind, &r));
    snprintf(path, sizeof path, "%s_expected.csv", name);
    fixture_path(expected_path, sizeof expected_path, path);
    ie_csv *want = NULL;
    CHECK_OK(ie_csv_read(expected_path, &want));
    CHECK(ie_scalar_report_count(r) == want->n_rows, "%s: %d metrics, sklearn has %d", name,
          ie_scalar_report_count(r), want->n_rows);
    for (int i = 0; i < want->n_rows; i++) {
        const char *split = ie_csv_cell(want, i, 0), *target = ie_csv_cell(want, i, 2);
        const char *metric = ie_csv_cell(want, i, 3);
        double w = strtod(ie_csv_cell(want, i, 4), NULL);
        double got = ie_scalar_report_find(r, split, target, metric);
        CHECK(same(got, w), "%s: %s %s %s = %.17g, sklearn %.17g", name, split, target, metric, got, w);
    }
    /* Entries come in the generator's order too (split, target, metric). */
    for (int i = 0; i < want->n_rows && i < ie_scalar_report_count(r); i++) {
        const ie_metric_entry *e = ie_scalar_report_entry(r, i);
        CHECK(!strcmp(e->metric, ie_csv_cell(want, i, 3)) && !strcmp(e->target, ie_csv_cell(want, i, 2)),
              "%s: entry %d is %s/%s, expected %s/%s", name, i, e->target, e->metric, ie_csv_cell(want, i, 2),
              ie_csv_cell(want, i, 3));
    }
    ie_csv_free(want);
    ie_scalar_report_free(r);
    ie_predictions_free(p);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

static void check_confusion_file(void) {
    char path[1024], out[1024];
    fixture_path(path, sizeof path, "multiclass_predictions.csv");
    ie_predictions *p = NULL;
    ie_scalar_report *r = NULL;
    CHECK_OK(ie_predictions_read_csv(path, &p));
    CHECK_OK(ie_scalar_report_compute(p, IE_SCALAR_CLASSIFICATION, &r));
    CHECK_OK(ie_scalar_report_write(r, tmpdir));
    snprintf(out, sizeof out, "%s/confusion_matrix.csv", tmpdir);
    fixture_path(path, sizeof path, "multiclass_confusion.csv");
    char *got = read_text(out), *want = read_text(path);
    CHECK(got && want && !strcmp(got, want), "confusion_matrix.csv differs from sklearn's:\n%s\nvs\n%s",
          got ? got : "(none)", want ? want : "(none)");
    free(got);
    free(want);
    snprintf(out, sizeof out, "%s/metrics.csv", tmpdir);
    got = read_text(out);
    CHECK(got && strstr(got, "split,epoch,target,metric,value\ntest,3,class_0,subject_count,150\n"),
          "metrics.csv starts with its header and the first metric: %s", got ? got : "(none)");
    free(got);
    ie_scalar_report_free(r);
    ie_predictions_free(p);
}

/* The direct API on InnerEye's unit case, and the single-class convention. */
static void check_binary_api(void) {
    const double p[] = {0.5, 0.6, 0.1, 0.8, 0.2, 0.9}, y[] = {0, 1, 0, 0, 1, 1};
    ie_binary_metrics m;
    CHECK_OK(ie_binary_metrics_compute(p, y, 6, &m));
    CHECK(fabs(m.auprc - 0.7111111) < 1e-7, "InnerEye's AUPRC case: %.9f, expected 0.7111111", m.auprc);
    CHECK(m.count == 6 && m.positives == 3, "counts %d %d", m.count, m.positives);
    const double ones[] = {1, 1, 1};
    CHECK_OK(ie_binary_metrics_compute(p, ones, 3, &m));
    CHECK(m.auroc == 1.0 && m.auprc == 1.0 && isnan(m.optimal_threshold), "one class: areas 1, threshold NaN");
    CHECK_OK(ie_binary_metrics_compute(p, y, 0, &m));
    CHECK(isnan(m.auroc) && isnan(m.cross_entropy), "no subjects: NaN");
    const double bad_label[] = {0, 2};
    CHECK_FAILS(ie_binary_metrics_compute(p, bad_label, 2, &m), IE_ERR_INVALID_ARG, "label 1 is 2");
    const double bad_p[] = {0.5, 1.5};
    CHECK_FAILS(ie_binary_metrics_compute(bad_p, y, 2, &m), IE_ERR_INVALID_ARG, "prediction 1 is 1.5");
    const double probs[] = {0.2, 0.8, 0.5, 0.5, 0.9, 0.1};
    const int truth[] = {1, 1, 1};
    int64_t conf[4];
    double acc = ie_multiclass_accuracy(probs, truth, 3, 2, conf);
    CHECK(fabs(acc - 1.0 / 3) < 1e-15 && conf[2] == 2 && conf[3] == 1, "multiclass: ties go to the first class");
}

static void write_file(const char *name, const char *text, char *path, size_t size) {
    snprintf(path, size, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void check_refusals(void) {
    char path[1024];
    ie_predictions *p = NULL;
    write_file("dup.csv", "subject,target,label,prediction\na,x,1,0.5\nb,x,0,0.2\na,x,1,0.7\n", path, sizeof path);
    CHECK_FAILS(ie_predictions_read_csv(path, &p), IE_ERR_IO, "dup.csv:4: subject a, target x (split all) appears twice (first on line 2)");
    write_file("nan.csv", "subject,target,label,prediction\na,x,1,abc\n", path, sizeof path);
    CHECK_FAILS(ie_predictions_read_csv(path, &p), IE_ERR_IO, "nan.csv:2: column prediction is \"abc\"");
    write_file("nocol.csv", "subject,label,prediction\na,1,0.5\n", path, sizeof path);
    CHECK_FAILS(ie_predictions_read_csv(path, &p), IE_ERR_IO, "no column \"target\"");
    write_file("half.csv", "subject,target,label,prediction\na,x,0.5,0.5\n", path, sizeof path);
    CHECK_OK(ie_predictions_read_csv(path, &p));
    ie_scalar_report *r = NULL;
    CHECK_FAILS(ie_scalar_report_compute(p, IE_SCALAR_CLASSIFICATION, &r), IE_ERR_INVALID_ARG,
                "half.csv:2: subject a, target x: label 0.5; classification labels must be 0 or 1");
    CHECK_OK(ie_scalar_report_compute(p, IE_SCALAR_REGRESSION, &r));
    CHECK(ie_scalar_report_find(r, "all", "x", "mean_absolute_error") == 0.0, "regression accepts any label");
    ie_scalar_report_free(r);
    ie_predictions_free(p);
}

static void check_round_trip(void) {
    ie_predictions *p = NULL, *q = NULL;
    CHECK_OK(ie_predictions_new(&p));
    const float values[] = {0.1f, 1.0f / 3.0f, 0.999999940f, 1e-30f};
    for (int i = 0; i < 4; i++) {
        char s[16];
        snprintf(s, sizeof s, "s,%d", i); /* a comma forces quoting */
        CHECK_OK(ie_predictions_add(p, s, "t\"x", i % 2, values[i], "test", 12));
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/pred.csv", tmpdir);
    CHECK_OK(ie_predictions_write_csv(p, path));
    CHECK_OK(ie_predictions_read_csv(path, &q));
    CHECK(ie_predictions_count(q) == 4, "4 rows back");
    for (int i = 0; i < 4 && i < ie_predictions_count(q); i++) {
        const ie_prediction_row *a = ie_predictions_row(p, i), *b = ie_predictions_row(q, i);
        CHECK(!strcmp(a->subject, b->subject) && !strcmp(a->target, b->target) && !strcmp(b->epoch, "12") &&
                  !strcmp(b->split, "test") && a->label == b->label && (float)b->prediction == values[i],
              "row %d survives the CSV", i);
    }
    ie_predictions_free(p);
    ie_predictions_free(q);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    check_case("innereye_unit", IE_SCALAR_CLASSIFICATION);
    check_case("multilabel", IE_SCALAR_CLASSIFICATION);
    check_case("multiclass", IE_SCALAR_CLASSIFICATION);
    check_case("regression", IE_SCALAR_REGRESSION);
    check_confusion_file();
    check_binary_api();
    check_refusals();
    check_round_trip();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", tmpdir);
    return test_summary();
}
