/* core/task - what the classification and regression entries of the task
 * table share (classification.c, regression.c differ only in their default
 * target): the scalar dataset (core/data/classification_regression_hooks.h) as default data, per-epoch
 * validation metrics, and after training the per-subject predictions CSV and
 * its metrics (core/metrics/classification_regression_report.h).
 *
 * Predictions: classification outputs are logits, mapped to probabilities by
 * a sigmoid (binary, multi-label) or a softmax (multi-class) unless the
 * plugin has a postprocess; regression outputs are mapped back from
 * standardised units when data.scalar.standardize_targets is on (one
 * definition with `innereye infer`: ie_scalar_outputs_map).
 *
 * The training statistics go to <run>/data_statistics.json at setup, so
 * that `innereye infer` prepares new data exactly as this run's
 * (core/data/classification_regression_statistics.h).
 *
 * After training, <run>/predictions.csv holds one row per held-out subject
 * and output (splits per run.infer_val / run.infer_test); the metrics are then
 * computed from that file as written, so `innereye eval` on it reproduces
 * <run>/metrics.csv exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugin/guard.h"
#include "core/data/classification_regression_hooks.h"
#include "core/data/data_settings.h"
#include "core/data/scalar_settings.h"
#include "core/data/classification_regression_statistics.h"
#include "core/inference/classification_regression_infer.h"
#include "core/metrics/classification_regression_report.h"
#include "core/tensor/tensor_impl.h"
#include "core/util/file_util.h"
#include "core/task/classification_regression.h"
#include "core/task/task.h"
#include "core/util/path.h"
#include "innereye/autograd.h"
#include "innereye/ops.h"

#define MAX_COLUMNS 256

typedef struct scalar_task {
    ie_scalar_config cfg;
    ie_scalar_settings settings; /* data.scalar.*: the columns cfg points into */
    const char *classes[MAX_COLUMNS];
    ie_scalar_data *data;
    int64_t image_shape[4]; /* C, D, H, W of the first training subject; C = 0: no image */
    ie_loader *val_loader;  /* kept for the run: its cache serves every epoch */
} scalar_task;

static ie_status check_count(const char *key, int n, int capacity) {
    if (n > capacity) return ie_error_set(IE_ERR_CONFIG, "%s: at most %d entries, it lists %d", key, capacity, n);
    return IE_OK;
}

static ie_status read_config(scalar_task *s, const ie_task_env *env, ie_scalar_target default_target) {
    const ie_config *cfg = env->cfg;
    ie_scalar_config *c = &s->cfg;
    ie_scalar_settings *in = &s->settings;
    IE_TRY(ie_scalar_settings_read(cfg, in));
    IE_TRY(check_count("data.scalar.label_columns", in->n_label_columns, MAX_COLUMNS));
    IE_TRY(check_count("data.scalar.image_columns", in->n_image_columns, 16));
    IE_TRY(check_count("data.scalar.numerical_columns", in->n_numerical_columns, MAX_COLUMNS));
    IE_TRY(check_count("data.scalar.categorical_columns", in->n_categorical_columns, MAX_COLUMNS));
    c->n_labels = in->n_label_columns;
    c->n_images = in->n_image_columns;
    c->n_numerical = in->n_numerical_columns;
    c->n_categorical = in->n_categorical_columns;
    ie_data_settings data;
    IE_TRY(ie_data_settings_read(cfg, &data));
    if (data.n_classes > MAX_COLUMNS)
        return ie_error_set(IE_ERR_CONFIG, "%s: at most %d entries, it lists %d", "data.classes", MAX_COLUMNS,
                            data.n_classes);
    memcpy(s->classes, data.classes, (size_t)data.n_classes * sizeof *s->classes);
    c->n_classes = data.n_classes;
    c->label_columns = in->label_columns;
    c->image_columns = in->image_columns;
    c->numerical_columns = in->numerical_columns;
    c->categorical_columns = in->categorical_columns;
    c->class_names = s->classes;
    const char *target = in->target, *norm = data.normalization;
    if (!strcmp(target, "binary")) c->target = IE_TARGET_BINARY;
    else if (!strcmp(target, "multiclass")) c->target = IE_TARGET_MULTICLASS;
    else if (!strcmp(target, "regression")) c->target = IE_TARGET_REGRESSION;
    else if (default_target == IE_TARGET_REGRESSION) c->target = IE_TARGET_REGRESSION;
    else c->target = c->n_classes > 0 ? IE_TARGET_MULTICLASS : IE_TARGET_BINARY;
    if (!strcmp(norm, "None")) c->norm = IE_SEG_NORM_NONE;
    else if (!strcmp(norm, "SimpleNorm")) c->norm = IE_SEG_NORM_SIMPLE;
    else
        return ie_error_set(IE_ERR_UNSUPPORTED, "data.normalization \"%s\" is not available for classification and "
                                                "regression images; use \"SimpleNorm\" or \"None\"",
                            norm);
    for (int a = 0; a < in->n_image_size; a++) c->image_size[a] = in->image_size[a];
    for (int a = 0; a < 3; a++) c->flip[a] = data.flip[a];
    c->impute_missing = in->impute_missing;
    c->standardize_targets = in->standardize_targets;
    /* The default loss must fit the targets (a plugin's own loss is its business). */
    if (env->plugin->table.loss) return IE_OK;
    /* "Auto": the loss of the targets, said once so the log shows it. */
    if (env->loss->automatic) {
        env->loss->kind = c->target == IE_TARGET_BINARY       ? IE_LOSS_BCE
                          : c->target == IE_TARGET_MULTICLASS ? IE_LOSS_CROSS_ENTROPY
                                                              : IE_LOSS_MSE;
        printf("train.loss.name Auto: %s for %s targets\n",
               env->loss->kind == IE_LOSS_BCE ? "BCE" : env->loss->kind == IE_LOSS_MSE ? "MSE" : "CrossEntropy",
               ie_scalar_target_name(c->target));
        return IE_OK;
    }
    ie_loss_kind k = env->loss->kind;
    bool fits = c->target == IE_TARGET_BINARY       ? k == IE_LOSS_BCE
                : c->target == IE_TARGET_MULTICLASS ? k == IE_LOSS_CROSS_ENTROPY || k == IE_LOSS_FOCAL
                                                    : k == IE_LOSS_MSE || k == IE_LOSS_L1;
    if (!fits)
        return ie_error_set(IE_ERR_CONFIG, "train.loss.name \"%s\" does not fit %s targets; use %s", env->loss->name,
                            ie_scalar_target_name(c->target),
                            c->target == IE_TARGET_BINARY       ? "\"BCE\""
                            : c->target == IE_TARGET_MULTICLASS ? "\"CrossEntropy\" or \"Focal\""
                                                                : "\"MSE\" or \"L1\"");
    return IE_OK;
}

void ie_scalar_task_destroy(void *state) {
    scalar_task *s = state;
    if (!s) return;
    ie_loader_free(s->val_loader);
    ie_scalar_data_free(s->data);
    free(s);
}

ie_status ie_scalar_task_setup(const ie_task_env *env, ie_scalar_target default_target, void **state) {
    scalar_task *s = calloc(1, sizeof *s);
    if (!s) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = read_config(s, env, default_target);
    if (st == IE_OK)
        st = ie_scalar_data_prepare(&s->cfg, env->ds, env->split->part[IE_SPLIT_TRAIN],
                                    env->split->count[IE_SPLIT_TRAIN], &s->data);
    /* The model needs the image size: take it from the first training subject. */
    if (st == IE_OK && s->cfg.n_images > 0 && env->split->count[IE_SPLIT_TRAIN] > 0) {
        ie_sample sample = {.struct_size = sizeof sample};
        st = ie_scalar_load(s->data, ie_dataset_item_at(env->ds, env->split->part[IE_SPLIT_TRAIN][0]), env->host,
                            &sample);
        for (int i = 0; st == IE_OK && i < 4; i++) s->image_shape[i] = ie_tensor_dim(sample.image, i);
        ie_sample_clear(&sample);
    }
    /* What new data will be prepared with (innereye infer). */
    if (st == IE_OK && !env->follower) {
        char path[4200];
        st = ie_path_format(path, sizeof path, "%s/" IE_SCALAR_STATISTICS_FILE, env->run_dir);
        if (st == IE_OK)
            st = ie_scalar_statistics_write(s->data, s->image_shape, env->split->count[IE_SPLIT_TRAIN], path);
    }
    if (st != IE_OK) {
        ie_scalar_task_destroy(s);
        return st;
    }
    printf("%s targets: %d output%s (", ie_scalar_target_name(s->cfg.target), ie_scalar_data_output_count(s->data),
           ie_scalar_data_output_count(s->data) > 1 ? "s" : "");
    for (int k = 0; k < ie_scalar_data_output_count(s->data) && k < 12; k++)
        printf("%s%s", k ? ", " : "", ie_scalar_data_output_name(s->data, k));
    printf("%s); %d non-image features", ie_scalar_data_output_count(s->data) > 12 ? ", ..." : "",
           ie_scalar_data_feature_count(s->data));
    if (s->image_shape[0])
        printf("; images [%lld, %lld, %lld, %lld]", (long long)s->image_shape[0], (long long)s->image_shape[1],
               (long long)s->image_shape[2], (long long)s->image_shape[3]);
    printf("\n");
    *state = s;
    return IE_OK;
}

ie_data_hooks ie_scalar_task_hooks(void *state) { return ie_scalar_hooks(((scalar_task *)state)->data); }

int ie_scalar_task_label_classes(void *state) {
    (void)state;
    return 0; /* the scalar data checks its targets when it reads the CSV */
}

ie_status ie_scalar_task_describe_inputs(void *state, cJSON *params) {
    scalar_task *s = state;
    return ie_scalar_describe_inputs(s->data, s->image_shape, params);
}

/* ---- metrics logged every epoch ---- */

static const char *epoch_metric(const scalar_task *s) {
    return s->cfg.target == IE_TARGET_BINARY ? "area_under_roc_curve"
           : s->cfg.target == IE_TARGET_REGRESSION ? "mean_absolute_error"
                                                   : "accuracy";
}

void ie_scalar_task_metric_names(void *state, ie_task_metrics *m) {
    scalar_task *s = state;
    m->count = 0;
    if (s->cfg.target == IE_TARGET_MULTICLASS) {
        snprintf(m->column[0], sizeof m->column[0], "val_accuracy");
        snprintf(m->label[0], sizeof m->label[0], "accuracy");
        m->value[0] = NAN;
        m->count = 1;
        return;
    }
    const char *prefix = s->cfg.target == IE_TARGET_BINARY ? "auroc" : "mae";
    for (int k = 0; k < ie_scalar_data_output_count(s->data) && k < IE_TASK_MAX_METRICS; k++) {
        snprintf(m->column[k], sizeof m->column[k], "val_%s_%s", prefix, ie_scalar_data_output_name(s->data, k));
        snprintf(m->label[k], sizeof m->label[k], "%s %s", prefix, ie_scalar_data_output_name(s->data, k));
        m->value[k] = NAN;
        m->count = k + 1;
    }
}

/* ---- predicting a split ---- */

/* Predicts the subjects of one split: rows into p (when not NULL), mean loss. */
static ie_status predict_split(scalar_task *s, const ie_task_env *env, int part, ie_loader **keep, int epoch,
                               ie_predictions *p, double *mean_loss) {
    *mean_loss = NAN;
    if (env->split->count[part] == 0) return IE_OK;
    ie_loader *loader = keep ? *keep : NULL;
    if (!loader) {
        ie_data_hooks h = ie_scalar_hooks(s->data);
        h.augment = NULL; /* no augmentation outside training */
        ie_loader_opts lo = {.dataset = env->ds, .items = env->split->part[part], .n_items = env->split->count[part],
                             .batch_size = env->train->loader.batch_size, .shuffle = false, .seed = env->seed,
                             .workers = env->train->loader.workers, .prefetch = env->train->loader.prefetch,
                             .cache_bytes = keep ? env->train->loader.cache_bytes : 0,
                             .host = env->host, .hooks = h};
        IE_TRY(ie_loader_create(&lo, &loader));
        if (keep) *keep = loader;
    }
    bool was = ie_grad_set_enabled(false);
    ie_status st = ie_loader_begin_epoch(loader, 0);
    double loss_sum = 0;
    int count = 0, K = ie_scalar_data_output_count(s->data);
    while (st == IE_OK) {
        ie_batch batch = {.struct_size = sizeof batch};
        bool got = false;
        st = ie_loader_next(loader, &batch, &got);
        if (st != IE_OK || !got) break;
        ie_tensor *output = NULL, *loss = NULL, *pred = NULL;
        st = ie_plugin_forward(env->plugin, env->model, &batch, false, &output);
        if (st == IE_OK) st = ie_scalar_outputs_check(s->data, output, batch.count);
        if (st == IE_OK)
            st = env->plugin->table.loss
                     ? IE_GUARDED(env->plugin, "loss", env->plugin->table.loss(env->model, output, &batch, &loss))
                     : ie_loss_compute(env->loss, output, &batch, &loss);
        if (st == IE_OK) {
            loss_sum += ie_tensor_item(loss) * batch.count;
            count += batch.count;
        }
        if (st == IE_OK && p) st = ie_scalar_outputs_map(env->plugin, env->model, s->data, output, &pred);
        for (int n = 0; st == IE_OK && p && n < batch.count; n++) {
            int index = ie_dataset_find(env->ds, batch.subjects[n]);
            for (int k = 0; st == IE_OK && k < K; k++)
                st = ie_predictions_add(p, batch.subjects[n], ie_scalar_data_output_name(s->data, k),
                                        ie_scalar_data_label(s->data, index, k), ie_tensor_data_f32(pred)[n * K + k],
                                        ie_split_part_name(part), epoch);
        }
        ie_tensor_release(output);
        ie_tensor_release(loss);
        ie_tensor_release(pred);
        ie_batch_clear(&batch);
    }
    ie_loader_end_epoch(loader);
    if (!keep) ie_loader_free(loader);
    ie_grad_set_enabled(was);
    if (st != IE_OK) return ie_error_wrap(st, "predicting the %s split", ie_split_part_name(part));
    *mean_loss = count ? loss_sum / count : NAN;
    return IE_OK;
}

static ie_scalar_kind report_kind(const scalar_task *s) {
    return s->cfg.target == IE_TARGET_REGRESSION ? IE_SCALAR_REGRESSION : IE_SCALAR_CLASSIFICATION;
}

ie_status ie_scalar_task_validate(void *state, const ie_task_env *env, int epoch, double *loss, ie_task_metrics *m) {
    scalar_task *s = state;
    ie_scalar_task_metric_names(s, m);
    ie_predictions *p = NULL;
    ie_scalar_report *r = NULL;
    IE_TRY(ie_predictions_new(&p));
    ie_status st = predict_split(s, env, IE_SPLIT_VAL, &s->val_loader, epoch, p, loss);
    if (st == IE_OK && ie_predictions_count(p) > 0) st = ie_scalar_report_compute(p, report_kind(s), &r);
    const char *metric = epoch_metric(s);
    for (int k = 0; st == IE_OK && r && k < m->count; k++)
        m->value[k] = ie_scalar_report_find(r, "val",
                                            s->cfg.target == IE_TARGET_MULTICLASS ? IE_MULTICLASS_TARGET
                                                                                  : ie_scalar_data_output_name(s->data, k),
                                            metric);
    ie_scalar_report_free(r);
    ie_predictions_free(p);
    return st;
}

/* ---- after training ---- */

static void record_metrics(const ie_scalar_report *r, cJSON *record) {
    cJSON_DeleteItemFromObject(record, "test_metrics");
    cJSON *m = cJSON_AddObjectToObject(record, "test_metrics");
    for (int i = 0; m && i < ie_scalar_report_count(r); i++) {
        const ie_metric_entry *e = ie_scalar_report_entry(r, i);
        if (strcmp(e->split, "test") != 0) continue;
        cJSON *t = cJSON_GetObjectItemCaseSensitive(m, e->target);
        if (!t) t = cJSON_AddObjectToObject(m, e->target);
        /* Undefined metrics (one class only) are null, never a number. */
        if (t && isfinite(e->value)) cJSON_AddNumberToObject(t, e->metric, e->value);
        else if (t) cJSON_AddNullToObject(t, e->metric);
    }
}

/* What predictions.csv holds, for readers of the run (the cross-validation
 * ensemble averages the folds' files as probabilities or as values). */
static void record_predictions(const scalar_task *s, cJSON *record) {
    cJSON_DeleteItemFromObject(record, "predictions");
    cJSON *p = cJSON_AddObjectToObject(record, "predictions");
    if (!p) return;
    cJSON_AddStringToObject(p, "file", "predictions.csv");
    cJSON_AddStringToObject(p, "kind", report_kind(s) == IE_SCALAR_REGRESSION ? "regression" : "classification");
    cJSON_AddStringToObject(p, "target", ie_scalar_target_name(s->cfg.target));
}

/* Regression: what predicting the training split's mean would score on the
 * test split (the trivial baseline a model must beat), printed and recorded. */
static void regression_baseline(const scalar_task *s, const ie_task_env *env, cJSON *record) {
    const ie_split *sp = env->split;
    if (s->cfg.target != IE_TARGET_REGRESSION || !sp->count[IE_SPLIT_TRAIN] || !sp->count[IE_SPLIT_TEST]) return;
    cJSON_DeleteItemFromObject(record, "test_baseline_training_mean");
    cJSON *b = cJSON_AddObjectToObject(record, "test_baseline_training_mean");
    for (int k = 0; k < ie_scalar_data_output_count(s->data); k++) {
        double mean = 0, ae = 0, se = 0;
        for (int i = 0; i < sp->count[IE_SPLIT_TRAIN]; i++) mean += ie_scalar_data_label(s->data, sp->part[IE_SPLIT_TRAIN][i], k);
        mean /= sp->count[IE_SPLIT_TRAIN];
        for (int i = 0; i < sp->count[IE_SPLIT_TEST]; i++) {
            double d = ie_scalar_data_label(s->data, sp->part[IE_SPLIT_TEST][i], k) - mean;
            ae += fabs(d);
            se += d * d;
        }
        ae /= sp->count[IE_SPLIT_TEST];
        se /= sp->count[IE_SPLIT_TEST];
        printf("baseline, test: %s = training mean %.6g: mae %.4g mse %.4g\n", ie_scalar_data_output_name(s->data, k),
               mean, ae, se);
        cJSON *t = b ? cJSON_AddObjectToObject(b, ie_scalar_data_output_name(s->data, k)) : NULL;
        if (t) {
            cJSON_AddNumberToObject(t, "training_mean", mean);
            cJSON_AddNumberToObject(t, "mean_absolute_error", ae);
            cJSON_AddNumberToObject(t, "mean_squared_error", se);
        }
    }
}

ie_status ie_scalar_task_infer(void *state, const ie_task_env *env, int epoch, cJSON *record) {
    scalar_task *s = state;
    bool on_test = env->run->infer_test, on_val = env->run->infer_val;
    on_test = on_test && env->split->count[IE_SPLIT_TEST] > 0;
    on_val = on_val && env->split->count[IE_SPLIT_VAL] > 0;
    if (!on_test && !on_val) return IE_OK;
    ie_predictions *p = NULL, *written = NULL;
    ie_scalar_report *r = NULL;
    IE_TRY(ie_predictions_new(&p));
    double val_loss = NAN, test_loss = NAN;
    ie_status st = on_val ? predict_split(s, env, IE_SPLIT_VAL, &s->val_loader, epoch, p, &val_loss) : IE_OK;
    if (st == IE_OK && on_test) st = predict_split(s, env, IE_SPLIT_TEST, NULL, epoch, p, &test_loss);
    char path[4200];
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/predictions.csv", env->run_dir);
    if (st == IE_OK) st = ie_predictions_write_csv(p, path);
    /* Metrics from the file as written: the numbers `innereye eval` gets. */
    if (st == IE_OK) st = ie_predictions_read_csv(path, &written);
    if (st == IE_OK) st = ie_scalar_report_compute(written, report_kind(s), &r);
    if (st == IE_OK) st = ie_scalar_report_write(r, env->run_dir);
    if (st == IE_OK) {
        if (on_test) printf("test (%d subjects): loss %.4f", env->split->count[IE_SPLIT_TEST], test_loss);
        if (on_test && s->cfg.target == IE_TARGET_MULTICLASS)
            printf("  accuracy %.4f", ie_scalar_report_find(r, "test", IE_MULTICLASS_TARGET, "accuracy"));
        if (on_test) printf("\n");
        ie_scalar_report_print(r, stdout);
        if (on_test) regression_baseline(s, env, record);
        printf("predictions: %s\nmetrics: %s/metrics.csv\n", path, env->run_dir);
        record_metrics(r, record);
        record_predictions(s, record);
    }
    ie_scalar_report_free(r);
    ie_predictions_free(written);
    ie_predictions_free(p);
    return st;
}

/* ---- the commands ---- */

ie_status ie_scalar_task_infer_table(const ie_task_infer_request *r) {
    ie_scalar_infer_request q = {.run = r->run, .checkpoint = r->checkpoint, .dataset = r->dataset, .out = r->out};
    return ie_scalar_infer(&q);
}

ie_status ie_scalar_task_eval(const char *predictions, ie_scalar_kind kind, const char *out) {
    ie_predictions *p = NULL;
    ie_scalar_report *r = NULL;
    ie_status st = ie_predictions_read_csv(predictions, &p);
    if (st == IE_OK) st = ie_scalar_report_compute(p, kind, &r);
    if (st == IE_OK) st = ie_make_dirs(out); /* only once the predictions are good */
    if (st == IE_OK) st = ie_scalar_report_write(r, out);
    if (st == IE_OK) {
        ie_scalar_report_print(r, stdout);
        printf("metrics: %s/metrics.csv\n", out);
    }
    ie_scalar_report_free(r);
    ie_predictions_free(p);
    return st;
}
