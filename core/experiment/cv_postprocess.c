/* core/experiment - post-processing chosen on the folds' validation
 * predictions (cv_postprocess.h for the rule). */
#include "core/experiment/cv_postprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/data/data_settings.h"
#include "core/data/dataset.h"
#include "core/data/segmentation_hooks.h"
#include "core/data/split.h"
#include "core/inference/infer.h"
#include "core/inference/postprocess.h"
#include "core/metrics/segmentation_metrics.h"
#include "core/plugin/host.h"
#include "core/train/data_setup.h"
#include "core/run/run_dir.h"
#include "core/util/path.h"
#include "innereye/config.h"
#include "innereye/image_io.h"

#define MAX_FOLDS 100

const char *ie_pp_choice_name(ie_pp_choice choice) {
    static const char *const names[] = {"none", "largest_component", "small_components"};
    return names[choice];
}

/* Dice of class c, 1 when c is in neither map (see the header). */
static double dice_or_one(const ie_tensor *pred, const ie_tensor *truth, int c) {
    double d = ie_dice(pred, truth, c);
    return isnan(d) ? 1.0 : d;
}

/* Dice of class c after one removal applied to a copy of the prediction. */
static ie_status dice_after(const ie_pp_subject *s, int c, const ie_postprocess_opts *opts, double *dice) {
    ie_tensor *copy = NULL;
    IE_TRY(ie_tensor_clone(s->prediction, &copy));
    ie_status st = ie_segmentation_filter_components(copy, opts, s->voxel_mm3);
    if (st == IE_OK) *dice = dice_or_one(copy, s->truth, c);
    ie_tensor_release(copy);
    return st;
}

ie_status ie_pp_begin(ie_pp_state *st, int n_classes, int connectivity) {
    memset(st, 0, sizeof *st);
    if (n_classes < 2 || n_classes > IE_PP_MAX_CLASSES)
        return ie_error_set(IE_ERR_INVALID_ARG, "choosing post-processing: %d classes; 2 to %d", n_classes,
                            IE_PP_MAX_CLASSES);
    st->n_classes = n_classes;
    st->connectivity = connectivity;
    for (int c = 0; c < n_classes; c++) st->smallest_mm3[c] = INFINITY;
    return IE_OK;
}

ie_status ie_pp_add_truth(ie_pp_state *st, const ie_tensor *truth, double voxel_mm3) {
    if (st->scoring)
        return ie_error_set(IE_ERR_STATE, "choosing post-processing: a truth added after scoring began");
    for (int c = 1; c < st->n_classes; c++) {
        int64_t voxels = ie_label_count(truth, c);
        if (voxels) st->smallest_mm3[c] = fmin(st->smallest_mm3[c], (double)voxels * voxel_mm3);
    }
    return IE_OK;
}

/* The small option's threshold: half the smallest volume of c in any truth. */
static double threshold(const ie_pp_state *st, int c) {
    return isfinite(st->smallest_mm3[c]) ? st->smallest_mm3[c] / 2 : 0;
}

ie_status ie_pp_add_subject(ie_pp_state *st, const ie_pp_subject *s) {
    const ie_tensor *p = s->prediction, *t = s->truth;
    if (!p || !t || ie_tensor_numel(p) != ie_tensor_numel(t) || !(s->voxel_mm3 > 0))
        return ie_error_set(IE_ERR_SHAPE, "choosing post-processing: validation subject %d: the prediction and "
                                          "the truth differ in size, or the voxel volume is not positive",
                            st->subjects);
    st->scoring = true;
    for (int c = 1; c < st->n_classes; c++) {
        ie_postprocess_opts largest, small;
        ie_postprocess_opts_init(&largest);
        ie_postprocess_opts_init(&small);
        largest.connectivity = small.connectivity = st->connectivity;
        largest.largest_component[c] = true;
        small.class_min_component_mm3[c] = threshold(st, c);
        double none = dice_or_one(p, t, c), after_largest = none, after_small = none;
        if (ie_label_count(p, c) > 0) { /* else nothing to remove: labelling a volume per class costs */
            IE_TRY(dice_after(s, c, &largest, &after_largest));
            IE_TRY(dice_after(s, c, &small, &after_small));
        }
        st->sum[c][0] += none;
        st->sum[c][1] += after_largest;
        st->sum[c][2] += after_small;
    }
    st->subjects++;
    return IE_OK;
}

void ie_pp_end(const ie_pp_state *st, ie_pp_decision *decisions) {
    int n = st->subjects;
    for (int c = 1; c < st->n_classes; c++) {
        ie_pp_decision *d = &decisions[c];
        memset(d, 0, sizeof *d);
        d->subjects = n;
        d->threshold_mm3 = threshold(st, c);
        d->dice_none = n ? st->sum[c][0] / n : NAN;
        d->dice_largest = n ? st->sum[c][1] / n : NAN;
        d->dice_small = n ? st->sum[c][2] / n : NAN;
        /* Only what improves on "none"; the better of the two; a tie: largest. */
        d->choice = IE_PP_NONE;
        double best = d->dice_none;
        if (d->dice_largest > best) d->choice = IE_PP_LARGEST, best = d->dice_largest;
        if (d->threshold_mm3 > 0 && d->dice_small > best) d->choice = IE_PP_SMALL;
    }
}

ie_status ie_pp_decide(const ie_pp_subject *subjects, int n, int n_classes, int connectivity,
                       ie_pp_decision *decisions) {
    ie_pp_state st;
    IE_TRY(ie_pp_begin(&st, n_classes, connectivity));
    for (int i = 0; i < n; i++) IE_TRY(ie_pp_add_truth(&st, subjects[i].truth, subjects[i].voxel_mm3));
    for (int i = 0; i < n; i++) IE_TRY(ie_pp_add_subject(&st, &subjects[i]));
    ie_pp_end(&st, decisions);
    return IE_OK;
}

/* ------------------------------------------------ the cross-validation */

/* One fold: its config, dataset and validation subjects; the truth on the
 * files' own grid (where the predictions are written). */
typedef struct fold_files {
    char dir[4200];
    ie_config *cfg;
    ie_dataset *ds;
    ie_split split;
    ie_seg_setup setup;
    const char *names[IE_PP_MAX_CLASSES];
    int n_classes, connectivity;
} fold_files;

static void fold_close(fold_files *f) {
    ie_split_free(&f->split);
    ie_dataset_free(f->ds);
    ie_config_free(f->cfg);
}

static ie_status fold_open(fold_files *f) {
    char path[4300];
    cJSON *record = NULL;
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", f->dir));
    IE_TRY(ie_config_new(&f->cfg));
    IE_TRY(ie_config_add_file(f->cfg, path));
    IE_TRY(ie_config_resolve(f->cfg));
    ie_data_settings data;
    IE_TRY(ie_data_settings_read(f->cfg, &data));
    IE_TRY(ie_data_settings_check_count("data.classes", data.n_classes, IE_PP_MAX_CLASSES));
    f->n_classes = data.n_classes;
    memcpy(f->names, data.classes, (size_t)f->n_classes * sizeof *f->names);
    /* The fold's post-processing as its inference reads it (a segmentation
     * run's config passed this read before it trained). */
    ie_infer_settings infer;
    IE_TRY(ie_infer_settings_from_config(f->cfg, &infer));
    f->connectivity = infer.post.connectivity;
    IE_TRY(ie_run_record_read(f->dir, &record));
    const char *csv = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(record, "data"), "dataset_csv"));
    ie_status st = csv ? ie_dataset_load(csv, "subject", &f->ds)
                       : ie_error_set(IE_ERR_IO, "%s/run.json: no data.dataset_csv entry", f->dir);
    cJSON_Delete(record);
    IE_TRY(st);
    IE_TRY(ie_path_format(path, sizeof path, "%s/split.csv", f->dir));
    IE_TRY(ie_split_read_csv(f->ds, path, &f->split));
    IE_TRY(ie_seg_setup_from_config(f->cfg, f->n_classes, &f->setup));
    memset(f->setup.seg.target_spacing, 0, sizeof f->setup.seg.target_spacing);
    f->setup.seg.crop[0] = f->setup.seg.crop[1] = f->setup.seg.crop[2] = 0;
    return IE_OK;
}

/* Validation subject i of a fold: its truth, and its prediction when pred
 * is not NULL (with the voxel volume). */
static ie_status fold_subject(const fold_files *f, int i, ie_tensor **truth, ie_tensor **pred, double *voxel_mm3) {
    const ie_dataset_item *item = ie_dataset_item_at(f->ds, f->split.part[IE_SPLIT_VAL][i]);
    char path[4300];
    ie_image_geometry geom;
    IE_TRY(ie_path_format(path, sizeof path, "%s/val_predictions/%s_segmentation.nii.gz", f->dir, item->subject));
    ie_status st = ie_image_read(path, IE_U8, pred, &geom);
    if (st != IE_OK)
        return ie_error_wrap(st, "%s has no validation prediction of %s: train the folds with "
                                 "cv.choose_postprocessing on (the default), or set it to false", f->dir, item->subject);
    *voxel_mm3 = geom.spacing[0] * geom.spacing[1] * geom.spacing[2];
    ie_host host = ie_host_default(0, "");
    ie_sample sample = {.struct_size = sizeof sample};
    st = ie_seg_load(&f->setup.seg, item, &host, &sample);
    if (st == IE_OK) {
        *truth = sample.labels;
        sample.labels = NULL;
    } else {
        ie_tensor_release(*pred);
        *pred = NULL;
        ie_error_wrap(st, "%s: the truth of validation subject %s", f->dir, item->subject);
    }
    ie_sample_clear(&sample);
    return st;
}

/* Both passes over every validation subject of every fold, in fold order. */
static ie_status decide_folds(const fold_files *folds, int n_folds, ie_pp_state *state) {
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < n_folds; k++)
            for (int i = 0; i < folds[k].split.count[IE_SPLIT_VAL]; i++) {
                ie_tensor *truth = NULL, *pred = NULL;
                double voxel_mm3 = 0;
                IE_TRY(fold_subject(&folds[k], i, &truth, &pred, &voxel_mm3));
                ie_pp_subject s = {.prediction = pred, .truth = truth, .voxel_mm3 = voxel_mm3};
                ie_status st = pass == 0 ? ie_pp_add_truth(state, truth, voxel_mm3) : ie_pp_add_subject(state, &s);
                ie_tensor_release(truth);
                ie_tensor_release(pred);
                IE_TRY(st);
            }
    return IE_OK;
}

static ie_status write_outputs(const char *parent, const char *ens, const char *const *names, int n_classes,
                               const ie_pp_decision *d, FILE *out) {
    char path[4300], *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    fprintf(f, "Structure,subjects,dice_none,dice_largest_component,dice_small_components,small_threshold_mm3,"
               "chosen,dice_chosen\n");
    if (out) fprintf(out, "post-processing chosen on the folds' validation predictions (mean Dice):\n");
    cJSON *root = cJSON_CreateObject(), *post = cJSON_AddObjectToObject(root, "postprocess");
    cJSON *largest = cJSON_AddArrayToObject(post, "largest_component"),
          *small = cJSON_AddArrayToObject(post, "class_min_component_mm3");
    for (int c = 1; c < n_classes; c++) {
        const double chosen[3] = {d[c].dice_none, d[c].dice_largest, d[c].dice_small};
        ie_csv_write_field(f, names[c]);
        fprintf(f, ",%d,%.9g,%.9g,%.9g,%.9g,%s,%.9g\n", d[c].subjects, d[c].dice_none, d[c].dice_largest,
                d[c].dice_small, d[c].threshold_mm3, ie_pp_choice_name(d[c].choice), chosen[d[c].choice]);
        if (out)
            fprintf(out, "  %-16s none %.4f  largest component %.4f  small components (< %.4g mm3) %.4f  -> %s\n",
                    names[c], d[c].dice_none, d[c].dice_largest, d[c].threshold_mm3, d[c].dice_small,
                    ie_pp_choice_name(d[c].choice));
        if (d[c].choice == IE_PP_LARGEST) cJSON_AddItemToArray(largest, cJSON_CreateString(names[c]));
        if (d[c].choice == IE_PP_SMALL) {
            char rule[256];
            snprintf(rule, sizeof rule, "%s,%.9g", names[c], d[c].threshold_mm3);
            cJSON_AddItemToArray(small, cJSON_CreateString(rule));
        }
    }
    ie_status st = ie_path_format(path, sizeof path, "%s/postprocessing.csv", parent);
    if (st == IE_OK) st = ie_write_stream_atomic(f, &text, &size, path);
    else fclose(f), free(text);
    char *json = cJSON_Print(root);
    cJSON_Delete(root);
    if (st == IE_OK && !json) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/postprocess.json", ens);
    if (st == IE_OK) st = ie_write_file_atomic(path, json, strlen(json));
    free(json);
    return st;
}

ie_status ie_cv_choose_postprocessing(const char *parent, int folds, const char *ens, FILE *out) {
    if (folds > MAX_FOLDS) return ie_error_set(IE_ERR_INVALID_ARG, "%s: %d folds; at most %d", parent, folds, MAX_FOLDS);
    fold_files *f = calloc((size_t)folds + 1, sizeof *f);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    int n = 0;
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < folds; i++) {
        char done[4300];
        st = ie_path_format(f[n].dir, sizeof f[n].dir, "%s/fold_%d", parent, i);
        if (st == IE_OK) st = ie_path_format(done, sizeof done, "%s/checkpoints/last.json", f[n].dir);
        if (st != IE_OK) break;
        FILE *probe = fopen(done, "r");
        if (!probe) continue; /* a failed fold: not in the ensemble either */
        fclose(probe);
        st = fold_open(&f[n++]);
        if (st == IE_OK && f[n - 1].n_classes != f[0].n_classes)
            st = ie_error_set(IE_ERR_CONFIG, "%s has %d classes, %s %d", f[n - 1].dir, f[n - 1].n_classes, f[0].dir,
                              f[0].n_classes);
    }
    int subjects = 0;
    for (int k = 0; k < n; k++) subjects += f[k].split.count[IE_SPLIT_VAL];
    if (st == IE_OK && subjects == 0)
        st = ie_error_set(IE_ERR_STATE, "%s: no finished fold has validation subjects; nothing to choose the "
                                        "post-processing on", parent);
    ie_pp_state state;
    ie_pp_decision decisions[IE_PP_MAX_CLASSES];
    if (st == IE_OK) st = ie_pp_begin(&state, f[0].n_classes, f[0].connectivity);
    if (st == IE_OK) st = decide_folds(f, n, &state);
    if (st == IE_OK) {
        ie_pp_end(&state, decisions);
        st = write_outputs(parent, ens, f[0].names, f[0].n_classes, decisions, out);
    }
    for (int k = 0; k < n; k++) fold_close(&f[k]);
    free(f);
    return st;
}
