/* core/report - what ran, and the training curves. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/config/config_impl.h"
#include "core/report/report_impl.h"
#include "core/tracking/mlflow_data.h"
#include "core/util/file_util.h"

static void fact(ie_html *h, const char *name, const char *value) {
    if (!value || !value[0]) return;
    const char *cells[2] = {name, value};
    ie_html_row(h, cells, 2, 0);
}

static void fact_number(ie_html *h, const char *name, const cJSON *j) {
    if (!cJSON_IsNumber(j)) return;
    char text[64];
    snprintf(text, sizeof text, "%.15g", j->valuedouble);
    fact(h, name, text);
}

/* One row per config value that differs from the schema's default, and per
 * value the schema does not know (a model's own parameters). */
static void config_diff(ie_html *h, const cJSON *node, const char *path, int *rows) {
    const ie_config_key *key = path[0] ? ie_config_schema_find(path) : NULL;
    if (!key && cJSON_IsObject(node) && (!path[0] || ie_config_schema_is_section(path) || node->child)) {
        for (const cJSON *c = node->child; c; c = c->next) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", c->string);
            config_diff(h, c, sub, rows);
        }
        return;
    }
    cJSON *def = key ? cJSON_Parse(key->def) : NULL;
    if (!key || !cJSON_Compare(node, def, true)) {
        char *value = cJSON_PrintUnformatted(node);
        const char *cells[3] = {path, value ? value : "", key ? key->def : "(no default: the model's own)"};
        ie_html_row(h, cells, 3, 0);
        free(value);
        (*rows)++;
    }
    cJSON_Delete(def);
}

void ie_report_what_ran(ie_html *h, const cJSON *record, const char *config_dir) {
    ie_html_printf(h, "<h2 id=\"what-ran\">What ran</h2>\n<table class=\"facts\" data-file=\"run.json\">\n");
    fact(h, "status", ie_report_json_string(record, "status", NULL));
    fact(h, "model", ie_report_json_string(record, "plugin.name", NULL));
    fact(h, "plugin version", ie_report_json_string(record, "plugin.version", NULL));
    fact(h, "plugin SHA-256", ie_report_json_string(record, "plugin.sha256", NULL));
    fact(h, "plugin file", ie_report_json_string(record, "plugin.path", NULL));
    fact(h, "config SHA-256", ie_report_json_string(record, "config_sha256", NULL));
    fact(h, "commit", ie_report_json_string(record, "code.git_commit", NULL));
    fact(h, "InnerEye-C version", ie_report_json_string(record, "code.innereye_version", NULL));
    fact(h, "dataset", ie_report_json_string(record, "data.dataset_csv", NULL));
    fact(h, "dataset SHA-256", ie_report_json_string(record, "data.dataset_csv_sha256", NULL));
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(record, "data"),
                                                           "files_sha256");
    if (cJSON_IsObject(files)) {
        char n[32];
        snprintf(n, sizeof n, "%d", cJSON_GetArraySize(files));
        fact(h, "data files hashed (run.json)", n);
    }
    fact(h, "data", ie_report_json_string(record, "data.source", NULL));
    const cJSON *machine = cJSON_GetObjectItemCaseSensitive(record, "machine");
    fact(h, "machine", ie_report_json_string(machine, "host", NULL));
    fact(h, "operating system", ie_report_json_string(machine, "os", NULL));
    fact(h, "CPU", ie_report_json_string(machine, "cpu", NULL));
    fact_number(h, "cores", cJSON_GetObjectItemCaseSensitive(machine, "cores"));
    fact_number(h, "threads", cJSON_GetObjectItemCaseSensitive(machine, "threads"));
    fact(h, "CPU path", ie_report_json_string(machine, "cpu_path", NULL));
    fact(h, "BLAS", ie_report_json_string(machine, "blas", NULL));
    fact(h, "seed", ie_report_json_string(record, "seed", NULL));
    const char *start = ie_report_json_string(record, "start_time", NULL),
               *end = ie_report_json_string(record, "end_time", NULL);
    fact(h, "start", start);
    fact(h, "end", end);
    long long t0 = ie_mlflow_iso_ms(start), t1 = ie_mlflow_iso_ms(end);
    if (t0 && t1 && t1 >= t0) {
        char wall[64];
        long long sec = (t1 - t0) / 1000;
        snprintf(wall, sizeof wall, "%lld s (%lld h %02lld min %02lld s)", sec, sec / 3600, sec / 60 % 60, sec % 60);
        fact(h, "wall time", wall);
    }
    const cJSON *resumed = cJSON_GetObjectItemCaseSensitive(record, "resumed");
    if (cJSON_IsArray(resumed)) {
        char n[32];
        snprintf(n, sizeof n, "%d times", cJSON_GetArraySize(resumed));
        fact(h, "resumed", n);
    }
    fact_number(h, "stopped early at epoch", cJSON_GetObjectItemCaseSensitive(record, "stopped_early_at_epoch"));
    fact(h, "error", ie_report_json_string(record, "error", NULL));
    ie_html_printf(h, "</table>\n");

    cJSON *config = ie_report_json(config_dir, "config.resolved.json");
    if (!config) {
        ie_html_printf(h, "<p class=\"note\">No config.resolved.json in this folder.</p>\n");
        return;
    }
    ie_html_printf(h, "<details><summary>Config: the values that differ from the defaults</summary>\n"
                      "<table data-config-diff=\"1\">\n<tr><th>key</th><th>this run</th><th>default</th></tr>\n");
    int rows = 0;
    config_diff(h, config, "", &rows);
    ie_html_printf(h, "</table>\n<p class=\"note\">%d values differ from the defaults.</p></details>\n", rows);
    char *pretty = cJSON_Print(config);
    ie_html_printf(h, "<details><summary>Config: config.resolved.json in full</summary>\n<pre>");
    ie_html_text(h, pretty);
    ie_html_printf(h, "</pre></details>\n");
    free(pretty);
    cJSON_Delete(config);
}

/* Columns of train_log.csv drawn together: losses, learning rate, then
 * every validation metric. */
ie_status ie_report_curves(ie_html *h, const char *dir) {
    ie_csv *log = NULL;
    IE_TRY(ie_report_csv(dir, "train_log.csv", &log));
    if (!log || log->n_rows == 0) {
        ie_csv_free(log);
        return IE_OK;
    }
    int epoch = ie_csv_column(log, "epoch");
    if (epoch < 0) {
        ie_csv_free(log);
        return ie_error_set(IE_ERR_IO, "%s/train_log.csv: no epoch column", dir);
    }
    double *x = ie_report_column(log, epoch, NULL, 0);
    double *y[64] = {0};
    for (int c = 0; c < log->n_columns && c < 64; c++) y[c] = ie_report_column(log, c, NULL, 0);
    ie_html_printf(h, "<h2 id=\"curves\">Training curves</h2>\n<p class=\"note\">train_log.csv, one point per epoch "
                      "(%d epochs).</p>\n<div class=\"plots\">\n", log->n_rows);
    ie_plot_series s[64];
    int n = 0;
    const char *losses[2] = {"train_loss", "val_loss"};
    for (int i = 0; i < 2; i++) {
        int c = ie_csv_column(log, losses[i]);
        if (c >= 0 && c < 64) s[n++] = (ie_plot_series){.name = losses[i], .x = x, .y = y[c], .n = log->n_rows,
                                                         .style = IE_PLOT_LINE_POINTS};
    }
    ie_plot p = {.id = "curve:loss", .title = "Loss", .x_label = "epoch", .y_label = "loss"};
    if (n) ie_plot_xy(h, &p, s, n);
    int lr = ie_csv_column(log, "lr");
    if (lr >= 0 && lr < 64) {
        ie_plot_series one = {.name = "lr", .x = x, .y = y[lr], .n = log->n_rows, .style = IE_PLOT_LINE_POINTS};
        ie_plot q = {.id = "curve:lr", .title = "Learning rate", .x_label = "epoch", .y_label = "lr"};
        ie_plot_xy(h, &q, &one, 1);
    }
    /* Validation metrics: Dice per structure, AUROC per target, ... on one
     * chart when they share a scale (all in [0, 1]), else one each. */
    n = 0;
    for (int c = 0; c < log->n_columns && c < 64; c++) {
        const char *name = log->header[c];
        if (strncmp(name, "val_", 4) != 0 || !strcmp(name, "val_loss")) continue;
        s[n++] = (ie_plot_series){.name = name, .x = x, .y = y[c], .n = log->n_rows, .style = IE_PLOT_LINE_POINTS};
    }
    if (n) {
        ie_plot q = {.id = "curve:validation", .title = "Validation metrics", .x_label = "epoch",
                     .y_label = "value"};
        ie_plot_xy(h, &q, s, n);
    }
    ie_html_printf(h, "</div>\n");
    for (int c = 0; c < 64; c++) free(y[c]);
    free(x);
    ie_csv_free(log);
    return IE_OK;
}
