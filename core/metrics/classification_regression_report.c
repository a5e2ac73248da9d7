/* core/metrics - grouping a predictions table and computing its metrics
 * (rules in classification_regression_report.h). */
#include "core/metrics/classification_regression_report.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/util/path.h"
#include "core/util/strmap.h"
#include "core/metrics/classification_regression_metrics.h"

typedef struct confusion {
    const char *split, *epoch;
    int k;
    const char **classes;
    int64_t *counts; /* k x k, rows: true class */
} confusion;

struct ie_scalar_report {
    ie_scalar_kind kind;
    ie_metric_entry *entries;
    int count, capacity;
    confusion *conf;
    int n_conf;
};

/* Table strings are interned (one pointer per distinct text), so groups and
 * targets compare by pointer. */
typedef struct group {
    const char *split, *epoch;
    const char **targets;
    int n_targets;
} group;

static ie_status add_entry(ie_scalar_report *r, const group *g, const char *target, const char *metric, double v) {
    if (r->count == r->capacity) {
        int cap = r->capacity ? 2 * r->capacity : 64;
        ie_metric_entry *grown = realloc(r->entries, (size_t)cap * sizeof *grown);
        if (!grown) return ie_error_set(IE_ERR_NOMEM, "metrics: out of memory");
        r->entries = grown;
        r->capacity = cap;
    }
    r->entries[r->count++] = (ie_metric_entry){g->split, g->epoch, target, metric, v};
    return IE_OK;
}

static ie_status check_rows(const ie_predictions *p, ie_scalar_kind kind) {
    if (kind != IE_SCALAR_CLASSIFICATION) return IE_OK;
    for (int i = 0; i < ie_predictions_count(p); i++) {
        const ie_prediction_row *r = ie_predictions_row(p, i);
        char where[64] = "";
        if (r->line) snprintf(where, sizeof where, ":%d", r->line);
        if (r->label != 0.0 && r->label != 1.0)
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "%s%s: subject %s, target %s: label %g; classification labels must be 0 or 1 (for "
                                "a quantity use --task regression)",
                                ie_predictions_name(p), where, r->subject, r->target, r->label);
        if (!(r->prediction >= 0.0 && r->prediction <= 1.0))
            return ie_error_set(IE_ERR_INVALID_ARG,
                                "%s%s: subject %s, target %s: prediction %g; classification predictions must be "
                                "probabilities in [0, 1] (apply a sigmoid or softmax to logits first)",
                                ie_predictions_name(p), where, r->subject, r->target, r->prediction);
    }
    return IE_OK;
}

/* Distinct (split, epoch) groups and their targets, in order of appearance. */
static ie_status find_groups(const ie_predictions *p, group **out, int *n_out) {
    group *groups = NULL;
    int n = 0;
    for (int i = 0; i < ie_predictions_count(p); i++) {
        const ie_prediction_row *r = ie_predictions_row(p, i);
        int g = 0;
        while (g < n && !(groups[g].split == r->split && groups[g].epoch == r->epoch)) g++;
        if (g == n) {
            group *grown = realloc(groups, (size_t)(n + 1) * sizeof *grown);
            if (!grown) goto nomem;
            groups = grown;
            groups[n++] = (group){r->split, r->epoch, NULL, 0};
        }
        group *gr = &groups[g];
        int t = 0;
        while (t < gr->n_targets && gr->targets[t] != r->target) t++;
        if (t == gr->n_targets) {
            const char **grown = realloc(gr->targets, (size_t)(t + 1) * sizeof *grown);
            if (!grown) goto nomem;
            gr->targets = grown;
            gr->targets[gr->n_targets++] = r->target;
        }
    }
    *out = groups;
    *n_out = n;
    return IE_OK;
nomem:
    for (int g = 0; g < n; g++) free(groups[g].targets);
    free(groups);
    return ie_error_set(IE_ERR_NOMEM, "metrics: out of memory grouping predictions");
}

static ie_status target_metrics(ie_scalar_report *r, const ie_predictions *p, const group *g, const char *target,
                                double *pred, double *label) {
    int n = 0;
    for (int i = 0; i < ie_predictions_count(p); i++) {
        const ie_prediction_row *row = ie_predictions_row(p, i);
        if (row->split != g->split || row->epoch != g->epoch || row->target != target) continue;
        pred[n] = row->prediction;
        label[n] = row->label;
        n++;
    }
    IE_TRY(add_entry(r, g, target, "subject_count", n));
    if (r->kind == IE_SCALAR_REGRESSION) {
        ie_regression_metrics m;
        ie_regression_metrics_compute(pred, label, n, &m);
        IE_TRY(add_entry(r, g, target, "mean_squared_error", m.mse));
        IE_TRY(add_entry(r, g, target, "mean_absolute_error", m.mae));
        IE_TRY(add_entry(r, g, target, "r2_score", m.r2));
        return add_entry(r, g, target, "explained_variance", m.explained_variance);
    }
    ie_binary_metrics m;
    IE_TRY(ie_binary_metrics_compute(pred, label, n, &m));
    IE_TRY(add_entry(r, g, target, "area_under_roc_curve", m.auroc));
    IE_TRY(add_entry(r, g, target, "area_under_pr_curve", m.auprc));
    IE_TRY(add_entry(r, g, target, "cross_entropy", m.cross_entropy));
    IE_TRY(add_entry(r, g, target, "accuracy_at_threshold_05", m.accuracy_05));
    IE_TRY(add_entry(r, g, target, "optimal_threshold", m.optimal_threshold));
    IE_TRY(add_entry(r, g, target, "accuracy_at_optimal_threshold", m.accuracy_optimal));
    IE_TRY(add_entry(r, g, target, "false_positive_rate_at_optimal_threshold", m.fpr_optimal));
    return add_entry(r, g, target, "false_negative_rate_at_optimal_threshold", m.fnr_optimal);
}

/* Multi-class accuracy and confusion when the group's labels are one-hot
 * over its targets (see the header); otherwise nothing. */
static ie_status multiclass_metrics(ie_scalar_report *r, const ie_predictions *p, const group *g) {
    int k = g->n_targets;
    if (r->kind != IE_SCALAR_CLASSIFICATION || k < 2) return IE_OK;
    ie_strmap subjects;
    IE_TRY(ie_strmap_init(&subjects, 1024));
    int n = 0, cap = 0;
    double *prob = NULL, *lab = NULL;
    unsigned char *filled = NULL;
    int *truth = NULL;
    ie_status st = IE_OK;
    bool one_hot = true;
    for (int i = 0; st == IE_OK && i < ie_predictions_count(p); i++) {
        const ie_prediction_row *row = ie_predictions_row(p, i);
        if (row->split != g->split || row->epoch != g->epoch) continue;
        int s = ie_strmap_get(&subjects, row->subject);
        if (s < 0) {
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                double *pg = realloc(prob, (size_t)cap * k * sizeof *pg);
                if (pg) prob = pg;
                double *lg = realloc(lab, (size_t)cap * k * sizeof *lg);
                if (lg) lab = lg;
                unsigned char *fg = realloc(filled, (size_t)cap * k);
                if (fg) filled = fg;
                if (!pg || !lg || !fg) {
                    st = ie_error_set(IE_ERR_NOMEM, "metrics: out of memory");
                    break;
                }
            }
            memset(filled + (size_t)n * k, 0, (size_t)k);
            st = ie_strmap_put(&subjects, row->subject, n, NULL);
            s = n++;
        }
        int t = 0;
        while (g->targets[t] != row->target) t++;
        prob[(size_t)s * k + t] = row->prediction;
        lab[(size_t)s * k + t] = row->label;
        filled[(size_t)s * k + t] = 1;
    }
    if (st == IE_OK && n > 0) {
        truth = malloc((size_t)n * sizeof *truth);
        if (!truth) st = ie_error_set(IE_ERR_NOMEM, "metrics: out of memory");
    }
    for (int s = 0; st == IE_OK && one_hot && s < n; s++) {
        int ones = 0;
        for (int t = 0; t < k; t++) {
            if (!filled[(size_t)s * k + t]) one_hot = false;
            if (lab[(size_t)s * k + t] == 1.0) ones++, truth[s] = t;
        }
        if (ones != 1) one_hot = false;
    }
    if (st == IE_OK && one_hot && n > 0) {
        confusion *grown = realloc(r->conf, (size_t)(r->n_conf + 1) * sizeof *grown);
        int64_t *counts = malloc((size_t)k * k * sizeof *counts);
        if (grown) r->conf = grown;
        if (!grown || !counts) {
            free(counts);
            st = ie_error_set(IE_ERR_NOMEM, "metrics: out of memory");
        } else {
            double acc = ie_multiclass_accuracy(prob, truth, n, k, counts);
            r->conf[r->n_conf++] = (confusion){g->split, g->epoch, k, g->targets, counts};
            st = add_entry(r, g, IE_MULTICLASS_TARGET, "subject_count", n);
            if (st == IE_OK) st = add_entry(r, g, IE_MULTICLASS_TARGET, "accuracy", acc);
        }
    }
    ie_strmap_free(&subjects);
    free(prob);
    free(lab);
    free(filled);
    free(truth);
    return st;
}

ie_status ie_scalar_report_compute(const ie_predictions *p, ie_scalar_kind kind, ie_scalar_report **out) {
    *out = NULL;
    IE_TRY(check_rows(p, kind));
    ie_scalar_report *r = calloc(1, sizeof *r);
    if (!r) return ie_error_set(IE_ERR_NOMEM, "metrics: out of memory");
    r->kind = kind;
    group *groups = NULL;
    int n_groups = 0, n = ie_predictions_count(p);
    ie_status st = find_groups(p, &groups, &n_groups);
    double *pred = malloc((size_t)(n ? n : 1) * sizeof *pred), *label = malloc((size_t)(n ? n : 1) * sizeof *label);
    if (st == IE_OK && (!pred || !label)) st = ie_error_set(IE_ERR_NOMEM, "metrics: out of memory");
    for (int g = 0; st == IE_OK && g < n_groups; g++) {
        for (int t = 0; st == IE_OK && t < groups[g].n_targets; t++)
            st = target_metrics(r, p, &groups[g], groups[g].targets[t], pred, label);
        if (st == IE_OK) st = multiclass_metrics(r, p, &groups[g]);
        if (st != IE_OK)
            ie_error_wrap(st, "%s: split %s%s%s", ie_predictions_name(p), groups[g].split,
                          groups[g].epoch[0] ? ", epoch " : "", groups[g].epoch);
    }
    free(pred);
    free(label);
    /* Confusion matrices keep their group's target list: hand it over. */
    for (int g = 0; g < n_groups; g++) {
        bool kept = false;
        for (int c = 0; c < r->n_conf; c++) kept |= r->conf[c].classes == groups[g].targets;
        if (!kept) free(groups[g].targets);
    }
    free(groups);
    if (st != IE_OK) {
        ie_scalar_report_free(r);
        return st;
    }
    *out = r;
    return IE_OK;
}

void ie_scalar_report_free(ie_scalar_report *r) {
    if (!r) return;
    for (int c = 0; c < r->n_conf; c++) {
        free(r->conf[c].classes);
        free(r->conf[c].counts);
    }
    free(r->conf);
    free(r->entries);
    free(r);
}

int ie_scalar_report_count(const ie_scalar_report *r) { return r->count; }
const ie_metric_entry *ie_scalar_report_entry(const ie_scalar_report *r, int i) { return &r->entries[i]; }

double ie_scalar_report_find(const ie_scalar_report *r, const char *split, const char *target, const char *metric) {
    for (int i = 0; i < r->count; i++) {
        const ie_metric_entry *e = &r->entries[i];
        if (!strcmp(e->split, split) && !strcmp(e->target, target) && !strcmp(e->metric, metric)) return e->value;
    }
    return NAN;
}


static void print_value(FILE *f, double v) {
    if (isnan(v)) fputs("NaN", f);
    else fprintf(f, "%.9g", v);
}

ie_status ie_scalar_report_write(const ie_scalar_report *r, const char *out_dir) {
    char path[4200], confusion_path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/metrics.csv", out_dir));
    IE_TRY(ie_path_format(confusion_path, sizeof confusion_path, "%s/confusion_matrix.csv", out_dir));
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "metrics: out of memory");
    fputs("split,epoch,target,metric,value\n", f);
    for (int i = 0; i < r->count; i++) {
        const ie_metric_entry *e = &r->entries[i];
        ie_csv_write_field(f, e->split);
        fputc(',', f);
        ie_csv_write_field(f, e->epoch);
        fputc(',', f);
        ie_csv_write_field(f, e->target);
        fprintf(f, ",%s,", e->metric);
        print_value(f, e->value);
        fputc('\n', f);
    }
    IE_TRY(ie_write_stream_atomic(f, &text, &size, path));
    if (r->n_conf == 0) return IE_OK;
    text = NULL;
    f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "metrics: out of memory");
    fputs("split,epoch,true_class,predicted_class,count\n", f);
    for (int c = 0; c < r->n_conf; c++) {
        const confusion *m = &r->conf[c];
        for (int a = 0; a < m->k; a++)
            for (int b = 0; b < m->k; b++) {
                ie_csv_write_field(f, m->split);
                fputc(',', f);
                ie_csv_write_field(f, m->epoch);
                fputc(',', f);
                ie_csv_write_field(f, m->classes[a]);
                fputc(',', f);
                ie_csv_write_field(f, m->classes[b]);
                fprintf(f, ",%lld\n", (long long)m->counts[a * m->k + b]);
            }
    }
    return ie_write_stream_atomic(f, &text, &size, confusion_path);
}

/* Short names for the summary. */
static const char *short_name(const char *metric) {
    static const char *const names[][2] = {
        {"area_under_roc_curve", "auroc"}, {"area_under_pr_curve", "auprc"}, {"cross_entropy", "ce"},
        {"accuracy_at_threshold_05", "acc@0.5"}, {"optimal_threshold", "youden_thr"},
        {"accuracy_at_optimal_threshold", "acc@thr"}, {"false_positive_rate_at_optimal_threshold", "fpr@thr"},
        {"false_negative_rate_at_optimal_threshold", "fnr@thr"}, {"mean_squared_error", "mse"},
        {"mean_absolute_error", "mae"}, {"r2_score", "r2"}, {"explained_variance", "expl_var"},
        {"subject_count", "n"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(metric, names[i][0])) return names[i][1];
    return metric;
}

void ie_scalar_report_print(const ie_scalar_report *r, FILE *f) {
    const char *split = NULL, *epoch = NULL, *target = NULL;
    for (int i = 0; i < r->count; i++) {
        const ie_metric_entry *e = &r->entries[i];
        if (e->split != split || e->epoch != epoch) {
            if (target) fputc('\n', f);
            fprintf(f, "%s%s%s:\n", e->split, e->epoch[0] ? ", epoch " : "", e->epoch);
            split = e->split, epoch = e->epoch, target = NULL;
        }
        if (e->target != target) {
            if (target) fputc('\n', f);
            fprintf(f, "  %s:", e->target);
            target = e->target;
        }
        if (!strcmp(e->metric, "subject_count")) fprintf(f, " n %d", (int)e->value);
        else fprintf(f, " %s %.4g", short_name(e->metric), e->value);
    }
    if (target) fputc('\n', f);
    for (int c = 0; c < r->n_conf; c++) {
        const confusion *m = &r->conf[c];
        if (m->k > 20) continue;
        fprintf(f, "confusion matrix, %s%s%s (rows: true class, columns: predicted, in the order above)\n", m->split,
                m->epoch[0] ? ", epoch " : "", m->epoch);
        for (int a = 0; a < m->k; a++) {
            fprintf(f, "  %-16.16s", m->classes[a]);
            for (int b = 0; b < m->k; b++) fprintf(f, " %6lld", (long long)m->counts[a * m->k + b]);
            fputc('\n', f);
        }
    }
}
