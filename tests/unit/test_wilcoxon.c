/* tests - the paired statistics of `innereye compare` against scipy 1.10
 * (tests/reference/gen_wilcoxon.py): Wilcoxon signed-rank statistic, method,
 * z and two-sided p-value (exact distribution, ties, zero differences, large
 * n), the mean difference's 95% t interval, Student t quantiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/csv.h"
#include "core/metrics/wilcoxon.h"
#include "test_util.h"

static bool close_to(double got, double want, double rel) {
    if (isnan(want)) return isnan(got);
    return fabs(got - want) <= rel * fmax(fabs(want), 1e-300);
}

static double cell(const ie_csv *c, int r, const char *name) {
    return strtod(ie_csv_cell(c, r, ie_csv_column(c, name)), NULL);
}

static void scipy_cases(void) {
    ie_csv *c = NULL;
    CHECK_OK(ie_csv_read(IE_FIXTURE_DIR "/wilcoxon.csv", &c));
    CHECK(c->n_rows >= 12, "wilcoxon.csv has %d cases", c->n_rows);
    for (int r = 0; r < c->n_rows; r++) {
        const char *name = ie_csv_cell(c, r, 0);
        double d[512];
        int n = 0;
        char *p = (char *)ie_csv_cell(c, r, ie_csv_column(c, "differences")), *end;
        for (double v = strtod(p, &end); end != p && n < 512; v = strtod(p, &end)) d[n++] = v, p = end;
        ie_wilcoxon w;
        CHECK_OK(ie_wilcoxon_signed_rank(d, n, &w));
        bool exact = !strcmp(ie_csv_cell(c, r, ie_csv_column(c, "method")), "exact");
        CHECK(w.exact == exact, "%s: method %s, scipy's %s", name, w.exact ? "exact" : "approx",
              exact ? "exact" : "approx");
        CHECK(w.n == (int)cell(c, r, "n_nonzero") && w.n_zero == (int)cell(c, r, "n_zero"), "%s: n %d, zeros %d",
              name, w.n, w.n_zero);
        CHECK(w.statistic == cell(c, r, "statistic"), "%s: statistic %.17g, scipy %.17g", name, w.statistic,
              cell(c, r, "statistic"));
        /* Exact: sums of integers over 2^n, to the last bits; approx: erfc
         * against scipy's norm.sf. */
        CHECK(close_to(w.p_value, cell(c, r, "p_value"), exact ? 1e-13 : 1e-10), "%s: p %.17g, scipy %.17g", name,
              w.p_value, cell(c, r, "p_value"));
        CHECK(close_to(w.z, cell(c, r, "z"), 1e-12), "%s: z %.17g, scipy %.17g", name, w.z, cell(c, r, "z"));
        ie_mean_ci ci;
        ie_mean_ci95(d, n, &ci);
        CHECK(close_to(ci.mean, cell(c, r, "mean"), 1e-12), "%s: mean %.17g", name, ci.mean);
        /* 1e-8: the interval's t quantile (see student_t). */
        CHECK(close_to(ci.low, cell(c, r, "ci_low"), 1e-8) && close_to(ci.high, cell(c, r, "ci_high"), 1e-8),
              "%s: CI [%.17g, %.17g], scipy [%.17g, %.17g]", name, ci.low, ci.high, cell(c, r, "ci_low"),
              cell(c, r, "ci_high"));
    }
    ie_csv_free(c);
}

/* scipy 1.10's t.ppf is itself good to about 1e-9 relative (its own t.cdf of
 * t.ppf(0.995, 3) is 0.99499999997604, while its betainc agrees with ours to
 * 1e-15), so the quantiles are compared to 1e-8. */
static void student_t(void) {
    ie_csv *c = NULL;
    CHECK_OK(ie_csv_read(IE_FIXTURE_DIR "/student_t.csv", &c));
    for (int r = 0; r < c->n_rows; r++) {
        double p = cell(c, r, "p"), df = cell(c, r, "df"), want = cell(c, r, "quantile");
        double got = ie_student_t_quantile(p, df);
        CHECK(close_to(got, want, 1e-8), "t quantile p %g df %g: %.17g, scipy %.17g", p, df, got, want);
    }
    ie_csv_free(c);
}

static void edge_cases(void) {
    /* All differences zero: nothing to rank, no p-value (scipy refuses). */
    double zeros[4] = {0, 0, 0, 0};
    ie_wilcoxon w;
    CHECK_OK(ie_wilcoxon_signed_rank(zeros, 4, &w));
    CHECK(w.n == 0 && w.n_zero == 4 && isnan(w.p_value), "all zero: n %d zeros %d p %g", w.n, w.n_zero, w.p_value);
    /* A NaN difference is a caller's error, named. */
    double bad[3] = {0.1, NAN, 0.2};
    CHECK_FAILS(ie_wilcoxon_signed_rank(bad, 3, &w), IE_ERR_INVALID_ARG, "NaN");
    /* An infinite difference ranks above every finite one. */
    double inf[5] = {0.1, -0.2, 0.3, INFINITY, 0.5};
    CHECK_OK(ie_wilcoxon_signed_rank(inf, 5, &w));
    CHECK(w.w_plus == 13 && w.statistic == 2, "with +inf: W+ %g, statistic %g", w.w_plus, w.statistic);
    ie_mean_ci ci;
    ie_mean_ci95(inf, 5, &ci);
    CHECK(ci.n == 4, "the interval uses the 4 finite differences, got %d", ci.n);
}

int main(void) {
    scipy_cases();
    student_t();
    edge_cases();
    return test_summary();
}
