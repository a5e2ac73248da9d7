/* core/report - paired comparison of two runs' per-subject metrics. */
#include "core/report/compare.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/util/csv.h"
#include "core/metrics/wilcoxon.h"
#include "core/report/report_impl.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

#define MAX_METRICS 16
#define MAX_LISTED 10 /* subjects named in a refusal */

/* The metrics.csv a folder's test results are in. */
static ie_status metrics_file(const char *what, char *out, size_t size) {
    struct stat s;
    if (stat(what, &s) != 0) return ie_error_set(IE_ERR_IO, "%s: %s", what, strerror(errno));
    if (S_ISREG(s.st_mode)) return ie_path_format(out, size, "%s", what);
    static const char *const candidates[] = {"metrics.csv", "ensemble/metrics.csv"};
    for (int i = 0; i < 2; i++)
        if (ie_report_has(what, candidates[i])) return ie_path_join(out, size, what, candidates[i]);
    return ie_error_set(IE_ERR_IO, "%s has no metrics.csv (nor ensemble/metrics.csv): give a run, ensemble or "
                                   "cross-validation folder whose test set was evaluated, or a metrics.csv", what);
}

/* Lower case, letters and digits only: "HD95_mm" and "hd95" compare equal
 * after the unit is dropped. */
static void simplify(const char *in, char *out, size_t size) {
    size_t j = 0;
    for (; *in && j + 1 < size; in++)
        if (isalnum((unsigned char)*in)) out[j++] = (char)tolower((unsigned char)*in);
    out[j] = '\0';
    if (j > 2 && !strcmp(out + j - 2, "mm")) out[j - 2] = '\0';
}

static bool higher_is_better(const char *metric) { return strstr(metric, "Dice") != NULL; }

typedef struct table {
    ie_csv *csv;
    int patient, structure;
} table;

static ie_status open_table(const char *path, table *t) {
    IE_TRY(ie_csv_read(path, &t->csv));
    t->patient = ie_csv_column(t->csv, "Patient");
    t->structure = ie_csv_column(t->csv, "Structure");
    if (t->patient < 0 || t->structure < 0)
        return ie_error_set(IE_ERR_IO, "%s: not a segmentation metrics.csv (no Patient and Structure columns); "
                                       "innereye compare takes segmentation results (docs/metrics.md)", path);
    return IE_OK;
}

/* Row of (subject, structure) in t, or -1. */
static int find_row(const table *t, const char *subject, const char *structure) {
    for (int r = 0; r < t->csv->n_rows; r++)
        if (!strcmp(ie_csv_cell(t->csv, r, t->patient), subject) &&
            !strcmp(ie_csv_cell(t->csv, r, t->structure), structure))
            return r;
    return -1;
}

/* The subjects of `x` missing from `y`, listed into msg. */
static int missing(const table *x, const table *y, char *msg, size_t size) {
    int count = 0;
    size_t used = strlen(msg);
    for (int r = 0; r < x->csv->n_rows; r++) {
        const char *s = ie_csv_cell(x->csv, r, x->patient);
        bool seen = false, found = false;
        for (int q = 0; q < r && !seen; q++) seen = !strcmp(ie_csv_cell(x->csv, q, x->patient), s);
        for (int q = 0; q < y->csv->n_rows && !found && !seen; q++) found = !strcmp(ie_csv_cell(y->csv, q, y->patient), s);
        if (seen || found) continue;
        if (count < MAX_LISTED && used < size)
            used += (size_t)snprintf(msg + used, size - used, "%s%s", count ? ", " : "", s);
        count++;
    }
    if (count > MAX_LISTED && used < size) snprintf(msg + used, size - used, " and %d more", count - MAX_LISTED);
    return count;
}

typedef struct result {
    const char *structure, *metric;
    int pairs;
    double mean_a, mean_b;
    ie_mean_ci diff;
    ie_wilcoxon w;
    int better, worse;
} result;

static const char *fmt(char *buf, double v) {
    snprintf(buf, 32, "%.6g", v);
    return buf;
}

/* compare.csv, compare_subjects.csv and compare.json: everything the
 * comparison section of a report shows (section_compare.c). */
static ie_status write_outputs(const ie_compare_opts *o, const char *pa, const char *pb, const table *a,
                               const table *b, const result *res, int n_res, const int *metric_col, int n_metrics) {
    static const char *const folders[] = {"run.json", "cv_status.csv", "manifest.json", "sweep.csv"};
    for (int i = 0; !o->replace && i < 4; i++)
        if (ie_report_has(o->out_dir, folders[i]))
            return ie_error_set(IE_ERR_IO, "--out %s is a run, cross-validation, ensemble or sweep folder (it has %s); "
                                           "give a new folder, or put the comparison into that folder's report with "
                                           "innereye report %s --compare A (nothing was written)",
                                o->out_dir, folders[i], o->out_dir);
    char csv_path[4200], subjects_path[4200], json_path[4200];
    IE_TRY(ie_path_join(csv_path, sizeof csv_path, o->out_dir, "compare.csv"));
    IE_TRY(ie_path_join(subjects_path, sizeof subjects_path, o->out_dir, "compare_subjects.csv"));
    IE_TRY(ie_path_join(json_path, sizeof json_path, o->out_dir, "compare.json"));
    IE_TRY(ie_make_dirs(o->out_dir));
    static const char *const names[4] = {"compare.csv", "compare_subjects.csv", "compare.json", "report.html"};
    for (int i = 0; !o->replace && i < 4; i++)
        if (ie_report_has(o->out_dir, names[i]))
            return ie_error_set(IE_ERR_IO, "%s/%s already exists; give another --out folder (nothing was written)",
                                o->out_dir, names[i]);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    fprintf(f, "structure,metric,pairs,mean_a,mean_b,mean_difference,ci95_low,ci95_high,finite_differences,"
               "zero_differences,statistic,p_value,method,better,worse\n");
    for (int i = 0; i < n_res; i++) {
        const result *r = &res[i];
        ie_csv_write_field(f, r->structure);
        fprintf(f, ",%s,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%d,%d,%.9g,%.9g,%s,%d,%d\n", r->metric, r->pairs, r->mean_a,
                r->mean_b, r->diff.mean, r->diff.low, r->diff.high, r->diff.n, r->w.n_zero, r->w.statistic,
                r->w.p_value, r->w.exact ? "exact" : "normal", r->better, r->worse);
    }
    IE_TRY(ie_write_stream_atomic(f, &text, &size, csv_path));
    /* Every paired subject, the ones that got worse first (largest change
     * first within a structure and metric). */
    f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    fprintf(f, "structure,metric,subject,a,b,difference,worse\n");
    for (int i = 0; i < n_res; i++) {
        int m = 0;
        while (m < n_metrics && strcmp(a->csv->header[metric_col[m]], res[i].metric) != 0) m++;
        int col_a = metric_col[m], col_b = ie_csv_column(b->csv, res[i].metric);
        for (int pass = 0; pass < 2; pass++)
            for (int r = 0; r < a->csv->n_rows; r++) {
                if (strcmp(ie_csv_cell(a->csv, r, a->structure), res[i].structure) != 0) continue;
                const char *subject = ie_csv_cell(a->csv, r, a->patient);
                int rb = find_row(b, subject, res[i].structure);
                double va = ie_report_number(ie_csv_cell(a->csv, r, col_a)),
                       vb = ie_report_number(ie_csv_cell(b->csv, rb, col_b));
                if (isnan(va) || isnan(vb)) continue;
                bool worse = higher_is_better(res[i].metric) ? vb < va : vb > va;
                if (worse != (pass == 0)) continue;
                ie_csv_write_field(f, res[i].structure);
                fprintf(f, ",%s,", res[i].metric);
                ie_csv_write_field(f, subject);
                fprintf(f, ",%s,%s,%.9g,%d\n", ie_csv_cell(a->csv, r, col_a), ie_csv_cell(b->csv, rb, col_b),
                        va == vb ? 0.0 : vb - va, worse);
            }
    }
    IE_TRY(ie_write_stream_atomic(f, &text, &size, subjects_path));
    /* Which files A and B were, for the section's heading. */
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "a", o->a);
    cJSON_AddStringToObject(j, "b", o->b);
    cJSON_AddStringToObject(j, "a_metrics", pa);
    cJSON_AddStringToObject(j, "b_metrics", pb);
    cJSON_AddStringToObject(j, "metric", o->metric ? o->metric : "all");
    char *json = cJSON_Print(j);
    cJSON_Delete(j);
    if (!json) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = ie_write_file_atomic(json_path, json, strlen(json));
    free(json);
    return st;
}

ie_status ie_compare(const ie_compare_opts *o, FILE *summary) {
    char pa[4200], pb[4200];
    IE_TRY(metrics_file(o->a, pa, sizeof pa));
    IE_TRY(metrics_file(o->b, pb, sizeof pb));
    table a = {0}, b = {0};
    result *res = NULL;
    double *d = NULL;
    ie_status st = open_table(pa, &a);
    if (st == IE_OK) st = open_table(pb, &b);
    if (st == IE_OK) {
        char only_a[2048] = "", only_b[2048] = "";
        int na = missing(&a, &b, only_a, sizeof only_a), nb = missing(&b, &a, only_b, sizeof only_b);
        if (na || nb)
            st = ie_error_set(IE_ERR_INVALID_ARG, "A and B were evaluated on different subjects: %d only in %s%s%s%s; "
                                                  "%d only in %s%s%s%s. Compare runs evaluated on the same test set",
                              na, pa, na ? " (" : "", only_a, na ? ")" : "", nb, pb, nb ? " (" : "", only_b,
                              nb ? ")" : "");
    }
    /* The metric columns both files have (after Patient and Structure). */
    int metric_col[MAX_METRICS], n_metrics = 0;
    char wanted[64] = "";
    if (o->metric) simplify(o->metric, wanted, sizeof wanted);
    for (int c = 0; st == IE_OK && c < a.csv->n_columns && n_metrics < MAX_METRICS; c++) {
        if (c == a.patient || c == a.structure || ie_csv_column(b.csv, a.csv->header[c]) < 0) continue;
        char name[64];
        simplify(a.csv->header[c], name, sizeof name);
        if (!wanted[0] || !strcmp(name, wanted) || (!strcmp(wanted, "hausdorff") && !strcmp(name, "hausdorffdistance")) ||
            (!strcmp(wanted, "msd") && !strcmp(name, "meandistance")))
            metric_col[n_metrics++] = c;
    }
    if (st == IE_OK && n_metrics == 0) {
        char have[512] = "";
        for (int c = 0; c < a.csv->n_columns; c++)
            if (c != a.patient && c != a.structure)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? ", " : "",
                         a.csv->header[c]);
        st = ie_error_set(IE_ERR_INVALID_ARG, "--metric %s: %s has no such column; it has %s", o->metric ? o->metric : "",
                          pa, have);
    }
    if (st == IE_OK) {
        res = calloc((size_t)a.csv->n_rows * MAX_METRICS + 1, sizeof *res);
        d = malloc(sizeof *d * (size_t)(a.csv->n_rows + 1));
        if (!res || !d) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    }
    int n_res = 0;
    const char *structures[256];
    int n_structures = 0;
    for (int r = 0; st == IE_OK && r < a.csv->n_rows; r++) {
        const char *s = ie_csv_cell(a.csv, r, a.structure);
        int k = 0;
        while (k < n_structures && strcmp(structures[k], s) != 0) k++;
        if (k == n_structures && n_structures < 256) structures[n_structures++] = s;
    }
    for (int s = 0; st == IE_OK && s < n_structures; s++)
        for (int m = 0; st == IE_OK && m < n_metrics; m++) {
            result *r = &res[n_res++];
            r->structure = structures[s];
            r->metric = a.csv->header[metric_col[m]];
            int col_b = ie_csv_column(b.csv, r->metric), n = 0, finite = 0;
            double sum_a = 0, sum_b = 0;
            bool up = higher_is_better(r->metric);
            for (int row = 0; row < a.csv->n_rows; row++) {
                if (strcmp(ie_csv_cell(a.csv, row, a.structure), r->structure) != 0) continue;
                int rb = find_row(&b, ie_csv_cell(a.csv, row, a.patient), r->structure);
                if (rb < 0) {
                    st = ie_error_set(IE_ERR_INVALID_ARG, "%s: subject %s has no %s row (it is in %s)", pb,
                                      ie_csv_cell(a.csv, row, a.patient), r->structure, pa);
                    break;
                }
                double va = ie_report_number(ie_csv_cell(a.csv, row, metric_col[m])),
                       vb = ie_report_number(ie_csv_cell(b.csv, rb, col_b));
                if (isnan(va) || isnan(vb)) continue; /* the structure is in neither map: nothing to compare */
                d[n++] = va == vb ? 0.0 : vb - va;   /* inf == inf: no change */
                if (isfinite(va) && isfinite(vb)) sum_a += va, sum_b += vb, finite++;
                if (va != vb) (up ? vb > va : vb < va) ? r->better++ : r->worse++;
            }
            r->pairs = n;
            r->mean_a = finite ? sum_a / finite : NAN;
            r->mean_b = finite ? sum_b / finite : NAN;
            if (st == IE_OK) st = ie_wilcoxon_signed_rank(d, n, &r->w);
            ie_mean_ci95(d, n, &r->diff);
        }
    for (int i = 0; st == IE_OK && summary && i < n_res; i++) {
        const result *r = &res[i];
        char m[32], lo[32], hi[32], p[32];
        fprintf(summary, "%-12s %-22s %3d pairs  B - A %s [%s, %s]  p %s (%s)  better %d, worse %d\n", r->structure,
                r->metric, r->pairs, fmt(m, r->diff.mean), fmt(lo, r->diff.low), fmt(hi, r->diff.high),
                fmt(p, r->w.p_value), r->w.exact ? "exact" : "normal approximation", r->better, r->worse);
    }
    if (st == IE_OK && o->out_dir) st = write_outputs(o, pa, pb, &a, &b, res, n_res, metric_col, n_metrics);
    free(res);
    free(d);
    ie_csv_free(a.csv);
    ie_csv_free(b.csv);
    return st;
}
