/* core/task - the segmentation entry of the task table: voxel classes named
 * by data.classes (background first), images and label maps from the
 * dataset CSV (core/data/segmentation_hooks.h), Dice per class every epoch
 * on whole validation volumes, and after training the held-out splits
 * through inference (core/inference: sliding windows, post-processing) with
 * their segmentations, metrics.csv and metrics_aggregates.csv.
 *
 * Plugins of task kind "other" train with this entry too: they bring their
 * own load_item and collate, and their outputs are scored per voxel. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/data/data_settings.h"
#include "core/data/dataset.h"
#include "core/data/sample_util.h"
#include "core/experiment/cv_ensemble.h"
#include "core/inference/infer.h"
#include "core/metrics/metrics_csv.h"
#include "core/metrics/segmentation_metrics.h"
#include "core/plugin/guard.h"
#include "core/report/report_sections.h"
#include "core/task/task.h"
#include "core/tensor/tensor_impl.h"
#include "core/train/data_setup.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "core/util/progress.h"
#include "innereye/autograd.h"
#include "innereye/image_io.h"
#include "innereye/ops.h"

#define MAX_CLASSES 64

typedef struct seg_task {
    ie_seg_setup seg;
    int n_classes;
    const char *class_names[MAX_CLASSES]; /* borrowed from the run's config */
    ie_infer_settings infer;              /* held-out splits: sliding windows and post-processing */
    ie_plugin_hooks_ctx hooks_ctx;        /* the plugin's data hooks, guarded */
} seg_task;

/* ------------------------------------------------------------- settings */

static ie_status read_classes(const ie_config *cfg, const char **names, int *n) {
    ie_data_settings data;
    IE_TRY(ie_data_settings_read(cfg, &data));
    if (data.n_classes < 2 || data.n_classes > MAX_CLASSES)
        return ie_error_set(IE_ERR_CONFIG, "data.classes must name the %s classes, background first (2 to %d "
                                           "names); it lists %d",
                            "segmentation", MAX_CLASSES, data.n_classes);
    memcpy(names, data.classes, (size_t)data.n_classes * sizeof *names);
    *n = data.n_classes;
    return IE_OK;
}

static ie_status check_config(const ie_config *cfg) {
    const char *names[MAX_CLASSES];
    int n = 0;
    ie_infer_settings infer;
    ie_seg_setup probe;
    IE_TRY(read_classes(cfg, names, &n));
    IE_TRY(ie_infer_settings_from_config(cfg, &infer));
    return ie_seg_setup_from_config(cfg, n, &probe);
}

static ie_status check_data(const ie_task_env *env) {
    /* Segmentations are written under the subjects' names. */
    IE_TRY(ie_dataset_check_names(env->ds));
    if (env->plugin->table.load_item || env->follower) return IE_OK; /* the plugin reads its own files */
    int n = 0;
    const char *names[MAX_CLASSES];
    IE_TRY(read_classes(env->cfg, names, &n));
    return ie_data_validate(env->cfg, env->ds, n, env->problems_path);
}

static void destroy(void *state) { free(state); }

static ie_status setup(const ie_task_env *env, void **state) {
    seg_task *s = calloc(1, sizeof *s);
    if (!s) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = read_classes(env->cfg, s->class_names, &s->n_classes);
    if (st == IE_OK) st = ie_infer_settings_from_config(env->cfg, &s->infer);
    if (st == IE_OK) st = ie_seg_setup_from_config(env->cfg, s->n_classes, &s->seg);
    if (st != IE_OK) {
        destroy(s);
        return st;
    }
    *state = s;
    return IE_OK;
}

static ie_data_hooks hooks(void *state) { return ie_seg_hooks(&((seg_task *)state)->seg.seg); }

static int label_classes(void *state) { return ((seg_task *)state)->n_classes; }

/* The data hooks the model trains with: the plugin's own, or the defaults. */
static ie_data_hooks data_hooks(seg_task *s, const ie_task_env *env) {
    return ie_plugin_data_hooks(env->plugin, env->model, hooks(s), &s->hooks_ctx);
}

/* ------------------------------------------------------------ evaluation */

/* Whole-volume forward of one subject: padded logits cut back to the
 * original size. */
static ie_status predict_subject(seg_task *s, const ie_task_env *env, const ie_dataset_item *item, ie_sample *sample,
                                 ie_tensor **logits) {
    int64_t m = s->seg.geometry.pad_multiple, multiple[3] = {m, m, m}; /* data.pad_multiple */
    ie_seg_padding pad;
    IE_TRY(ie_seg_load_whole(&s->seg.seg, item, env->host, multiple, sample, &pad));
    ie_tensor *padded = NULL, *image = NULL, *labels = NULL;
    int64_t shape[5] = {1}; /* a batch of one: [1, C, D, H, W] */
    for (int i = 0; i < 4; i++) shape[i + 1] = ie_tensor_dim(sample->image, i);
    ie_status st = ie_reshape(sample->image, 5, shape, &image);
    /* On a device the volume goes there and its logits come back: the
     * evaluation (loss, argmax, metrics) runs on the CPU. */
    ie_tensor *on_device = NULL, *host_logits = NULL;
    if (st == IE_OK) st = ie_tensor_to(image, env->train->device.device, &on_device);
    const char *subjects[1] = {item->subject};
    ie_batch batch = {.struct_size = sizeof batch, .count = 1, .subjects = subjects, .image = on_device};
    if (st == IE_OK) st = ie_plugin_forward(env->plugin, env->model, &batch, false, &padded);
    ie_tensor_release(on_device);
    if (st == IE_OK) st = ie_tensor_to(padded, IE_CPU, &host_logits);
    ie_tensor_release(padded);
    padded = host_logits;
    if (st == IE_OK) st = ie_seg_unpad(padded, &pad, logits);
    if (st == IE_OK && sample->labels) st = ie_seg_unpad(sample->labels, &pad, &labels);
    if (st == IE_OK && labels) {
        ie_tensor_release(sample->labels);
        sample->labels = labels;
        labels = NULL;
    }
    ie_tensor_release(padded);
    ie_tensor_release(image);
    ie_tensor_release(labels);
    return st;
}

/* A test subject through core/inference (sliding windows, post-processing).
 * *log_post receives log posteriors [1, K, D, H, W], which stand in for the
 * logits (softmax(log p) = p, so the configured loss measures the posteriors
 * inference produced), *pred the post-processed segmentation [1, D, H, W]. */
static ie_status infer_test_subject(seg_task *s, const ie_task_env *env, const ie_dataset_item *item,
                                    ie_sample *sample, ie_tensor **log_post, ie_tensor **pred) {
    ie_data_hooks h = data_hooks(s, env);
    ie_infer_net net = {.plugin = env->plugin, .model = env->model, .device = env->train->device.device};
    ie_infer_subject subject;
    IE_TRY(ie_infer_item(&s->infer, h.load_item, h.load_item_ctx, s->seg.seg.image_channels[0], item, env->host, &net,
                         &subject));
    sample->image = subject.sample.image;
    sample->labels = subject.sample.labels;
    sample->features = subject.sample.features;
    subject.sample.image = subject.sample.labels = subject.sample.features = NULL;
    ie_status st = IE_OK;
    if (s->infer.target_spacing[0] > 0) {
        /* The posteriors are on the file's grid (ie_infer_item): so must the
         * truth be, for the loss and the metrics (nnU-Net scores there too). */
        ie_seg_config original = s->seg.seg;
        original.target_spacing[0] = original.target_spacing[1] = original.target_spacing[2] = 0;
        ie_sample truth = {.struct_size = sizeof truth};
        st = ie_seg_load(&original, item, env->host, &truth);
        if (st == IE_OK) {
            ie_tensor_release(sample->labels);
            sample->labels = truth.labels;
            truth.labels = NULL;
        }
        ie_sample_clear(&truth);
    }
    int64_t shape[5] = {1};
    for (int i = 0; i < 4; i++) shape[i + 1] = ie_tensor_dim(subject.posteriors, i);
    if (st == IE_OK) st = ie_tensor_empty(IE_F32, 5, shape, IE_CPU, log_post);
    if (st == IE_OK) {
        const float *p = ie_f32(subject.posteriors);
        float *o = ie_f32(*log_post);
        for (int64_t i = 0, n = ie_tensor_numel(subject.posteriors); i < n; i++)
            o[i] = logf(p[i] > FLT_MIN ? p[i] : FLT_MIN);
    }
    int64_t pshape[4] = {1, shape[2], shape[3], shape[4]};
    if (st == IE_OK) st = ie_reshape(subject.segmentation, 4, pshape, pred);
    ie_infer_subject_clear(&subject);
    return st;
}

/* The image grid of a subject's first channel (geometry for outputs), and the
 * grid its predictions live on (different when data.target_spacing
 * resamples). */
static ie_status subject_grids(const seg_task *s, const ie_dataset_item *item, ie_image_geometry *file_grid,
                               ie_image_geometry *work_grid) {
    const char *image_path = ie_dataset_item_value(item, 0, "filePath");
    char full[4200] = "";
    if (image_path) IE_TRY(ie_dataset_item_file(item, image_path, full, sizeof full));
    IE_TRY(ie_image_read_geometry(full, file_grid));
    *work_grid = *file_grid;
    if (s->seg.seg.target_spacing[0] > 0)
        IE_TRY(ie_image_resampled_geometry(file_grid, s->seg.seg.target_spacing, work_grid));
    return IE_OK;
}

/* Loss and Dice per class over a list of subjects; optionally writes
 * per-subject metrics, and with predictions_dir (a folder of the run) the
 * subjects go through inference and their segmentations are written there.
 * progress_label names the work on the progress bar. */
static ie_status evaluate(seg_task *s, const ie_task_env *env, const int *items, int count, double *mean_loss,
                          double *mean_dice, ie_metrics_writer *metrics, const char *predictions_dir,
                          const char *progress_label) {
    bool write_segmentations = predictions_dir != NULL;
    double loss_sum = 0, dice_sum[MAX_CLASSES] = {0};
    int dice_count[MAX_CLASSES] = {0};
    bool was = ie_grad_set_enabled(false);
    ie_status st = IE_OK;
    ie_progress bar;
    ie_progress_begin(&bar, progress_label, "subjects", count, 10);
    for (int i = 0; st == IE_OK && i < count; i++) {
        const ie_dataset_item *item = ie_dataset_item_at(env->ds, items[i]);
        ie_sample sample = {.struct_size = sizeof sample};
        ie_tensor *logits = NULL, *pred = NULL, *loss = NULL, *labels = NULL;
        /* The splits inferred after training go through inference (on the
         * files' grid); validation during training through one forward (on
         * the loader's grid). */
        bool inferred = write_segmentations && env->plugin->table.task == IE_TASK_SEGMENTATION;
        st = inferred ? infer_test_subject(s, env, item, &sample, &logits, &pred)
                      : predict_subject(s, env, item, &sample, &logits);
        if (st == IE_OK) {
            int64_t shape[4] = {1};
            for (int k = 0; k < 3; k++) shape[k + 1] = ie_tensor_dim(sample.labels, k);
            st = ie_reshape(sample.labels, 4, shape, &labels);
        }
        ie_batch batch = {.struct_size = sizeof batch, .count = 1, .labels = labels};
        if (st == IE_OK)
            st = env->plugin->table.loss
                     ? IE_GUARDED(env->plugin, "loss", env->plugin->table.loss(env->model, logits, &batch, &loss))
                     : ie_loss_compute(env->loss, logits, &batch, &loss);
        if (st == IE_OK) loss_sum += ie_tensor_item(loss);
        if (st == IE_OK && !pred) st = ie_argmax_channels(logits, &pred);
        ie_image_geometry geom, work_geom;
        if (st == IE_OK && (metrics || write_segmentations)) st = subject_grids(s, item, &geom, &work_geom);
        if (st == IE_OK && metrics) {
            /* Dice, Hausdorff, HD95 and mean surface distance in mm. */
            ie_seg_metrics m[MAX_CLASSES];
            st = ie_metrics_writer_add_subject(metrics, item->subject, pred, labels, inferred ? &geom : &work_geom,
                                               s->n_classes, s->class_names, m);
            for (int c = 1; st == IE_OK && c < s->n_classes; c++)
                if (!isnan(m[c - 1].dice)) dice_sum[c] += m[c - 1].dice, dice_count[c]++;
        }
        for (int c = 1; st == IE_OK && !metrics && c < s->n_classes; c++) {
            double d = ie_dice(pred, labels, c);
            if (!isnan(d)) {
                dice_sum[c] += d;
                dice_count[c]++;
            }
        }
        if (st == IE_OK && write_segmentations) {
            char dir[4200], path[4400];
            st = ie_path_join(dir, sizeof dir, env->run_dir, predictions_dir);
            if (st == IE_OK) st = ie_make_dirs(dir);
            if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/%s_segmentation.nii.gz", dir, item->subject);
            ie_tensor *volume = NULL;
            const int64_t vshape[3] = {ie_tensor_dim(pred, 1), ie_tensor_dim(pred, 2), ie_tensor_dim(pred, 3)};
            if (st == IE_OK) st = ie_reshape(pred, 3, vshape, &volume);
            if (st == IE_OK && !inferred) /* data.target_spacing: back to the file's grid */
                st = ie_seg_to_original_grid(&s->seg.seg, &geom, &volume);
            if (st == IE_OK) st = ie_image_write(path, volume, &geom);
            ie_tensor_release(volume);
        }
        if (st != IE_OK) ie_error_wrap(st, "evaluating subject %s", item->subject);
        ie_sample_clear(&sample);
        ie_tensor_release(logits);
        ie_tensor_release(pred);
        ie_tensor_release(loss);
        ie_tensor_release(labels);
        if (st == IE_OK) ie_progress_tick(&bar);
    }
    ie_progress_end(&bar);
    ie_grad_set_enabled(was);
    *mean_loss = count ? loss_sum / count : NAN;
    for (int c = 0; c < s->n_classes; c++) mean_dice[c] = dice_count[c] ? dice_sum[c] / dice_count[c] : NAN;
    return st;
}

/* Inference and metrics on one held-out split after training: the test split
 * into metrics.csv, metrics_aggregates.csv and predictions/ (the files every
 * tool reads), the validation split (run.infer_val) into val_metrics.csv,
 * val_metrics_aggregates.csv and val_predictions/ beside them, so test
 * results never mix with validation ones. */
static ie_status infer_split(seg_task *s, const ie_task_env *env, int split, const char *prefix, const char *name,
                             cJSON *record) {
    char path[4200], aggregates[4200], predictions[64];
    IE_TRY(ie_path_format(path, sizeof path, "%s/%smetrics.csv", env->run_dir, prefix));
    IE_TRY(ie_path_format(aggregates, sizeof aggregates, "%s/%smetrics_aggregates.csv", env->run_dir, prefix));
    IE_TRY(ie_path_format(predictions, sizeof predictions, "%spredictions", prefix));
    ie_metrics_writer *writer = NULL;
    /* A resumed run that failed during inference redoes it. */
    IE_TRY(ie_metrics_writer_open(path, true, &writer));
    double loss, dice[MAX_CLASSES];
    char label[64];
    snprintf(label, sizeof label, "%s inference", split == IE_SPLIT_TEST ? "test" : "validation");
    ie_status st = evaluate(s, env, env->split->part[split], env->split->count[split], &loss, dice, writer, predictions,
                            label);
    if (st != IE_OK) {
        ie_metrics_writer_discard(writer);
        return st;
    }
    IE_TRY(ie_metrics_writer_commit(writer));
    IE_TRY(ie_metrics_aggregates_write(path, aggregates, true));
    printf("%s (%d subjects): loss %.4f", name, env->split->count[split], loss);
    for (int c = 1; c < s->n_classes; c++) printf("  dice %s %.3f", s->class_names[c], dice[c]);
    printf("\nmetrics: %s (aggregates: %s)\n", path, aggregates);
    char key[64];
    snprintf(key, sizeof key, "%s_metrics", name);
    cJSON_DeleteItemFromObjectCaseSensitive(record, key);
    cJSON *m = cJSON_AddObjectToObject(record, key);
    for (int c = 1; c < s->n_classes; c++) /* NaN (no subject scored) is null, never a number */
        if (isfinite(dice[c])) cJSON_AddNumberToObject(m, s->class_names[c], dice[c]);
        else cJSON_AddNullToObject(m, s->class_names[c]);
    return IE_OK;
}

static ie_status test_inference(seg_task *s, const ie_task_env *env, cJSON *record) {
    bool on_test = env->run->infer_test, on_val = env->run->infer_val;
    /* A cross-validation fold's validation predictions are what the folds'
     * ensemble chooses its post-processing on (core/experiment/cv_postprocess.h). */
    on_val = on_val || (env->cv->split_index >= 0 && env->cv->choose_postprocessing);
    if (on_val && env->split->count[IE_SPLIT_VAL] > 0) IE_TRY(infer_split(s, env, IE_SPLIT_VAL, "val_", "val", record));
    if (on_test && env->split->count[IE_SPLIT_TEST] > 0) IE_TRY(infer_split(s, env, IE_SPLIT_TEST, "", "test", record));
    return IE_OK;
}

/* ------------------------------------------------------------ the entry */

static void metric_names(void *state, ie_task_metrics *m) {
    seg_task *s = state;
    m->count = 0;
    for (int c = 1; c < s->n_classes && m->count < IE_TASK_MAX_METRICS; c++, m->count++) {
        snprintf(m->column[m->count], sizeof m->column[0], "val_dice_%s", s->class_names[c]);
        snprintf(m->label[m->count], sizeof m->label[0], "dice %s", s->class_names[c]);
        m->value[m->count] = NAN;
    }
}

static ie_status validate(void *state, const ie_task_env *env, int epoch, double *loss, ie_task_metrics *m) {
    (void)epoch;
    seg_task *s = state;
    double dice[MAX_CLASSES];
    metric_names(s, m);
    IE_TRY(evaluate(s, env, env->split->part[IE_SPLIT_VAL], env->split->count[IE_SPLIT_VAL], loss, dice, NULL, NULL,
                    "validation"));
    for (int c = 1; c < s->n_classes && c - 1 < m->count; c++) m->value[c - 1] = dice[c];
    return IE_OK;
}

static ie_status infer(void *state, const ie_task_env *env, int epoch, cJSON *record) {
    (void)epoch;
    return test_inference(state, env, record);
}

const ie_task ie_task_segmentation = {
    .name = "segmentation",
    .check_config = check_config,
    .check_data = check_data,
    .setup = setup,
    .destroy = destroy,
    .hooks = hooks,
    .label_classes = label_classes,
    .metric_names = metric_names,
    .validate = validate,
    .infer = infer,
    .predictions = "predictions",
    .cv_ensemble = ie_cv_ensemble_infer,
    .cv_ensemble_reads_data = true,
    .report_results = ie_report_segmentation,
};
