/* core/run - run summaries for people (run_summary.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* timegm */
#endif
#include "core/run/run_summary.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/util/csv.h"
#include "core/run/run_dir.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

static bool exists(const char *dir, const char *name) {
    char path[4400];
    struct stat st;
    return ie_path_join(path, sizeof path, dir, name) == IE_OK && stat(path, &st) == 0;
}

static cJSON *read_json(const char *dir, const char *name) {
    char path[4400], *text = NULL;
    if (ie_path_join(path, sizeof path, dir, name) != IE_OK || ie_read_file(path, &text, NULL) != IE_OK) {
        ie_error_clear();
        return NULL;
    }
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

static ie_csv *read_csv(const char *dir, const char *name) {
    char path[4400];
    ie_csv *csv = NULL;
    if (ie_path_join(path, sizeof path, dir, name) != IE_OK || !exists(dir, name) || ie_csv_read(path, &csv) != IE_OK) {
        ie_error_clear();
        return NULL;
    }
    return csv;
}

static const char *json_string(const cJSON *j, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_GetStringValue(x);
}

/* A config value at a dotted path ("train.epochs"), or NULL. */
static const cJSON *config_at(const cJSON *cfg, const char *path) {
    char part[128];
    const cJSON *node = cfg;
    while (node && *path) {
        size_t n = strcspn(path, ".");
        snprintf(part, sizeof part, "%.*s", (int)(n < sizeof part ? n : sizeof part - 1), path);
        node = cJSON_GetObjectItemCaseSensitive(node, part);
        path += n + (path[n] == '.');
    }
    return node;
}

static double utc_seconds(const char *text) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!text || !strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm)) return NAN;
    return (double)timegm(&tm);
}

static const char *base_name(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    const char *p = dir + n;
    while (p > dir && p[-1] != '/') p--;
    return p;
}

/* The headline metric: the mean test Dice over the structures of a
 * segmentation run; for a classifier or regressor the first target's
 * accuracy, AUROC or MAE (in that order of preference). */
static void headline(const cJSON *record, ie_run_summary *s) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(record, "test_metrics");
    if (!cJSON_IsObject(m) || !m->child) return;
    if (!cJSON_IsObject(m->child)) {
        double sum = 0;
        int n = 0;
        for (const cJSON *c = m->child; c; c = c->next)
            if (cJSON_IsNumber(c)) sum += c->valuedouble, n++;
        if (n > 0) {
            s->metric = sum / n, s->has_metric = true;
            snprintf(s->metric_name, sizeof s->metric_name, "dice");
        }
        return;
    }
    static const char *const preferred[][2] = {{"accuracy", "accuracy"},
                                               {"area_under_roc_curve", "auroc"},
                                               {"mean_absolute_error", "mae"}};
    for (size_t k = 0; k < sizeof preferred / sizeof preferred[0]; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->child, preferred[k][0]);
        if (cJSON_IsNumber(v)) {
            s->metric = v->valuedouble, s->has_metric = true;
            snprintf(s->metric_name, sizeof s->metric_name, "%s", preferred[k][1]);
            return;
        }
    }
}

/* The task the trainer recorded (core/task's choice: the plugin's kind, or
 * the target its config names); runs made before it was recorded: what
 * their predictions or logs show. */
static void task_of(const cJSON *record, const char *dir, ie_run_summary *s) {
    const char *kind = json_string(record, "task", NULL);
    if (!kind) kind = json_string(record, "predictions", "kind");
    if (kind) {
        snprintf(s->task, sizeof s->task, "%s", kind);
        return;
    }
    ie_csv *log = read_csv(dir, "train_log.csv");
    bool dice = false;
    for (int c = 0; log && c < log->n_columns; c++) dice = dice || strstr(log->header[c], "dice") != NULL;
    ie_csv_free(log);
    snprintf(s->task, sizeof s->task, "%s", dice || exists(dir, "metrics_aggregates.csv") ? "segmentation" : "?");
}

static ie_status summary_of_run(const char *dir, ie_run_summary *s) {
    cJSON *record = read_json(dir, "run.json");
    if (!record) return ie_error_set(IE_ERR_IO, "%s/run.json is missing or not JSON", dir);
    cJSON *cfg = read_json(dir, "config.resolved.json");
    const char *status = json_string(record, "status", NULL), *model = json_string(record, "plugin", "name");
    const char *start = json_string(record, "start_time", NULL), *end = json_string(record, "end_time", NULL);
    if (!model) model = cJSON_GetStringValue(config_at(cfg, "model.name"));
    snprintf(s->model, sizeof s->model, "%s", model ? model : "?");
    snprintf(s->status, sizeof s->status, "%s", status ? status : "unknown");
    bool running = status && !strcmp(status, "running");
    if (running && !ie_run_dir_in_use(dir)) snprintf(s->status, sizeof s->status, "stopped");
    snprintf(s->started, sizeof s->started, "%s", start ? start : "?");
    double t0 = utc_seconds(start), t1 = end && !running ? utc_seconds(end) : NAN;
    if (running && !strcmp(s->status, "running")) t1 = (double)time(NULL);
    s->seconds = isfinite(t0) && isfinite(t1) && t1 >= t0 ? t1 - t0 : -1;
    const cJSON *epochs = config_at(cfg, "train.epochs"), *train = config_at(cfg, "run.train");
    s->epochs_planned = cJSON_IsNumber(epochs) && !cJSON_IsFalse(train) ? epochs->valueint : 0;
    ie_csv *log = read_csv(dir, "train_log.csv");
    s->epochs_done = log ? log->n_rows : 0;
    /* A stopped run has no end time: the epochs' own seconds, then. */
    int col = log ? ie_csv_column(log, "seconds") : -1;
    if (s->seconds < 0 && col >= 0) {
        s->seconds = 0;
        for (int r = 0; r < log->n_rows; r++) s->seconds += atof(ie_csv_cell(log, r, col));
    }
    ie_csv_free(log);
    task_of(record, dir, s);
    headline(record, s);
    cJSON_Delete(cfg);
    cJSON_Delete(record);
    return IE_OK;
}

ie_status ie_run_summary_read(const char *dir, ie_run_summary *s) {
    memset(s, 0, sizeof *s);
    s->seconds = -1;
    snprintf(s->name, sizeof s->name, "%s", base_name(dir));
    const char *kind = exists(dir, "manifest.json")                                     ? "ensemble"
                       : exists(dir, "sweep.csv") || exists(dir, "trials.csv")           ? "sweep"
                       : exists(dir, "cv_status.csv") || exists(dir, "fold_0/run.json")  ? "cross-validation"
                       : exists(dir, "run.json")                                         ? "run"
                                                                                         : NULL;
    if (!kind)
        return ie_error_set(IE_ERR_IO, "%s is not a run folder (it has no run.json); give a folder that innereye "
                                       "train made (innereye runs lists them)", dir);
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    if (!strcmp(kind, "run")) return summary_of_run(dir, s);
    /* Experiments: the model and task of their first member. */
    char first[4400];
    IE_TRY(ie_path_format(first, sizeof first, "%s/fold_0", dir));
    ie_run_summary member;
    if (!strcmp(kind, "cross-validation") && summary_of_run(first, &member) == IE_OK) {
        snprintf(s->model, sizeof s->model, "%s", member.model);
        snprintf(s->started, sizeof s->started, "%s", member.started);
        snprintf(s->task, sizeof s->task, "%s", member.task);
    } else {
        ie_error_clear();
        snprintf(s->model, sizeof s->model, "?");
        snprintf(s->task, sizeof s->task, "?");
        snprintf(s->started, sizeof s->started, "?");
    }
    snprintf(s->status, sizeof s->status, "%s", kind);
    return IE_OK;
}

/* ---------------------------------------------------------------- runs */

static void duration(double seconds, char *out, size_t size) {
    if (seconds < 0) snprintf(out, size, "-");
    else if (seconds < 120) snprintf(out, size, "%.0f s", seconds);
    else if (seconds < 7200) snprintf(out, size, "%.1f min", seconds / 60);
    else snprintf(out, size, "%.1f h", seconds / 3600);
}

static int by_start(const void *a, const void *b) {
    const ie_run_summary *x = a, *y = b;
    int c = strcmp(x->started, y->started);
    return c ? c : strcmp(x->name, y->name);
}

ie_status ie_runs_print(const char *parent, FILE *out) {
    DIR *d = opendir(parent);
    if (!d)
        return ie_error_set(IE_ERR_IO, "%s: no such folder; runs are made under outputs/ (output.dir), or give the "
                                       "folder that holds them: innereye runs DIR", parent);
    int n = 0, cap = 0;
    ie_run_summary *rows = NULL;
    ie_status st = IE_OK;
    for (struct dirent *e; st == IE_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char dir[4400];
        struct stat sb;
        st = ie_path_join(dir, sizeof dir, parent, e->d_name);
        if (st != IE_OK) break;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        ie_run_summary s;
        if (ie_run_summary_read(dir, &s) != IE_OK) {
            ie_error_clear(); /* not a run folder: not listed */
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            ie_run_summary *grown = realloc(rows, sizeof *rows * (size_t)cap);
            if (!grown) {
                st = ie_error_set(IE_ERR_NOMEM, "innereye runs: out of memory");
                break;
            }
            rows = grown;
        }
        rows[n++] = s;
    }
    closedir(d);
    if (st != IE_OK) {
        free(rows);
        return st;
    }
    if (n == 0) {
        fprintf(out, "no runs in %s (innereye train makes them there)\n", parent);
        free(rows);
        return IE_OK;
    }
    qsort(rows, (size_t)n, sizeof *rows, by_start);
    int w = 4;
    for (int i = 0; i < n; i++) w = (int)strlen(rows[i].name) > w ? (int)strlen(rows[i].name) : w;
    fprintf(out, "%-*s  %-12s %-14s %-16s %-7s %-16s %-9s %s\n", w, "name", "model", "task", "status", "epochs",
            "metric (test)", "duration", "started (UTC)");
    for (int i = 0; i < n; i++) {
        const ie_run_summary *s = &rows[i];
        char epochs[32] = "-", metric[64] = "-", time_text[32];
        if (!strcmp(s->kind, "run")) snprintf(epochs, sizeof epochs, "%d/%d", s->epochs_done, s->epochs_planned);
        if (s->has_metric) snprintf(metric, sizeof metric, "%s %.4f", s->metric_name, s->metric);
        duration(s->seconds, time_text, sizeof time_text);
        fprintf(out, "%-*s  %-12s %-14s %-16s %-7s %-16s %-9s %s\n", w, s->name, s->model, s->task, s->status, epochs,
                metric, time_text, s->started);
    }
    free(rows);
    return IE_OK;
}

/* ---------------------------------------------------------------- show */

static void file_line(FILE *out, const char *dir, const char *name, const char *what) {
    if (exists(dir, name)) fprintf(out, "  %-28s %s\n", name, what);
}

/* The config keys the run set on top of the model's defaults are in the
 * report; here the few a person asks first. */
static void show_config(FILE *out, const cJSON *cfg) {
    static const char *const keys[] = {"model.name", "model.plugin", "model.init_checkpoint", "data.dataset_csv",
                                       "data.images_dir", "data.labels_dir", "train.epochs", "train.batch_size",
                                       "train.optimizer.lr", "train.loss", "seed"};
    fprintf(out, "config (config.resolved.json, all keys there):\n");
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const cJSON *v = config_at(cfg, keys[k]);
        if (!v || (cJSON_IsString(v) && !v->valuestring[0])) continue;
        char *text = cJSON_PrintUnformatted(v);
        fprintf(out, "  %-24s %s\n", keys[k], text ? text : "?");
        free(text);
    }
}

static void show_split(FILE *out, const char *dir) {
    ie_csv *split = read_csv(dir, "split.csv");
    int col = split ? ie_csv_column(split, "split") : -1;
    if (col < 0) {
        ie_csv_free(split);
        return;
    }
    static const char *const names[] = {"train", "val", "test"};
    int counts[3] = {0, 0, 0};
    for (int r = 0; r < split->n_rows; r++)
        for (int k = 0; k < 3; k++)
            if (!strcmp(ie_csv_cell(split, r, col), names[k])) counts[k]++;
    fprintf(out, "  subjects: %d train, %d validation, %d test (split.csv)\n", counts[0], counts[1], counts[2]);
    ie_csv_free(split);
}

static void show_last_epoch(FILE *out, const char *dir) {
    ie_csv *log = read_csv(dir, "train_log.csv");
    if (!log || log->n_rows == 0) {
        ie_csv_free(log);
        return;
    }
    fprintf(out, "last epoch (train_log.csv):");
    for (int c = 0; c < log->n_columns; c++)
        fprintf(out, "%s %s %s", c ? "," : "", log->header[c], ie_csv_cell(log, log->n_rows - 1, c));
    fprintf(out, "\n");
    ie_csv_free(log);
}

static void show_metrics(FILE *out, const cJSON *record) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(record, "test_metrics");
    if (!cJSON_IsObject(m) || !m->child) {
        fprintf(out, "test metrics: none (no test subjects were evaluated)\n");
        return;
    }
    fprintf(out, "test metrics:\n");
    for (const cJSON *c = m->child; c; c = c->next) {
        if (cJSON_IsNumber(c)) fprintf(out, "  dice %-20s %.4f\n", c->string, c->valuedouble);
        else if (cJSON_IsNull(c)) fprintf(out, "  dice %-20s (no subject scored)\n", c->string);
        else if (cJSON_IsObject(c))
            for (const cJSON *v = c->child; v; v = v->next)
                if (cJSON_IsNumber(v)) fprintf(out, "  %s %-32s %.4f\n", c->string, v->string, v->valuedouble);
    }
}

ie_status ie_run_show(const char *dir, FILE *out) {
    ie_run_summary s;
    IE_TRY(ie_run_summary_read(dir, &s));
    if (strcmp(s.kind, "run") != 0) {
        fprintf(out, "%s is a %s folder (model %s); innereye report %s writes its report.html, innereye show "
                     "shows one run (for example %s/fold_0)\n", dir, s.kind, s.model, dir, dir);
        return IE_OK;
    }
    cJSON *record = read_json(dir, "run.json"), *cfg = read_json(dir, "config.resolved.json");
    char time_text[32];
    duration(s.seconds, time_text, sizeof time_text);
    fprintf(out, "run %s\n", dir);
    fprintf(out, "  model %s (%s), plugin %s\n", s.model, s.task,
            json_string(record, "plugin", "path") ? json_string(record, "plugin", "path") : "?");
    fprintf(out, "  started %s, %s, seed %s, innereye %s (commit %.12s)\n", s.started, time_text,
            json_string(record, "seed", NULL) ? json_string(record, "seed", NULL) : "?",
            json_string(record, "code", "innereye_version") ? json_string(record, "code", "innereye_version") : "?",
            json_string(record, "code", "git_commit") ? json_string(record, "code", "git_commit") : "?");
    fprintf(out, "  epochs %d of %d\n", s.epochs_done, s.epochs_planned);
    bool ok = false;
    fprintf(out, "status:\n");
    ie_status st = ie_run_status_print(dir, out, &ok); /* the resume command of an unfinished run */
    if (st != IE_OK) ie_error_clear();
    fprintf(out, "data:\n");
    const char *source = json_string(record, "data", "source"), *csv = json_string(record, "data", "dataset_csv");
    if (source) fprintf(out, "  %s\n", source);
    if (csv) fprintf(out, "  dataset: %s\n", csv);
    show_split(out, dir);
    show_config(out, cfg);
    show_last_epoch(out, dir);
    show_metrics(out, record);
    fprintf(out, "files in %s:\n", dir);
    file_line(out, dir, "config.resolved.json", "the complete config (innereye train --config it to repeat)");
    file_line(out, dir, "run.json", "provenance: code, plugin, data hashes, machine, status");
    file_line(out, dir, "train_log.csv", "one row per epoch");
    file_line(out, dir, "checkpoints/last.json", "the last checkpoint (checkpoints/epoch_NNNN.safetensors)");
    file_line(out, dir, "metrics.csv", "test metrics per subject");
    file_line(out, dir, "metrics_aggregates.csv", "test metrics per structure: mean, std, min, max");
    file_line(out, dir, "predictions", "test predictions (predictions/<subject>_segmentation.nii.gz)");
    file_line(out, dir, "predictions.csv", "test predictions, one row per subject and output");
    file_line(out, dir, "report.html", "the report: curves, box plots, worst subjects");
    cJSON_Delete(cfg);
    cJSON_Delete(record);
    return IE_OK;
}
