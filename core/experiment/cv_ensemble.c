/* core/experiment - evaluating the ensemble of cross-validation folds. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/util/file_util.h"
#include "core/util/csv.h"
#include "core/data/cv_settings.h"
#include "core/data/data_settings.h"
#include "core/data/dataset.h"
#include "core/data/split.h"
#include "core/experiment/child_runs.h"
#include "core/experiment/cv_comparison.h"
#include "core/experiment/cv_ensemble.h"
#include "core/experiment/cv_postprocess.h"
#include "core/run/ensemble.h"
#include "core/metrics/metrics_csv.h"
#include "core/plugin/host.h"
#include "core/train/data_setup.h"
#include "core/run/run_dir.h"
#include "core/util/path.h"
#include "innereye/config.h"
#include "innereye/image_io.h"
#include "innereye/plugin.h"

#define MAX_FOLDS 100

static bool exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0;
}

/* The dataset CSV a run trained from (run.json records it). */
static ie_status run_dataset_path(const char *run, char *out, size_t size) {
    cJSON *j = NULL;
    IE_TRY(ie_run_record_read(run, &j));
    cJSON *csv = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "dataset_csv");
    ie_status st = cJSON_IsString(csv) ? IE_OK : ie_error_set(IE_ERR_IO, "%s/run.json: no data.dataset_csv entry", run);
    if (st == IE_OK) st = ie_path_format(out, size, "%s", csv->valuestring);
    cJSON_Delete(j);
    return st;
}

/* Every row of the test subjects, with absolute file paths. */
static ie_status write_test_csv(const ie_dataset *ds, const ie_split *split, const char *path) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size); /* then written atomically */
    if (!f) return ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    const char *const *cols = ie_dataset_columns(ds);
    int nc = ie_dataset_column_count(ds), path_col = ie_dataset_column(ds, "filePath");
    for (int c = 0; c < nc; c++) {
        if (c) fputc(',', f);
        ie_csv_write_field(f, cols[c]);
    }
    fputc('\n', f);
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < split->count[IE_SPLIT_TEST]; i++) {
        const ie_dataset_item *item = ie_dataset_item_at(ds, split->part[IE_SPLIT_TEST][i]);
        for (int r = 0; st == IE_OK && r < item->n_rows; r++)
            for (int c = 0; st == IE_OK && c < nc; c++) {
                const char *v = item->values[(size_t)r * (size_t)nc + (size_t)c];
                char full[8400];
                if (c == path_col) st = ie_dataset_item_file(item, v, full, sizeof full);
                if (c) fputc(',', f);
                ie_csv_write_field(f, c == path_col ? full : v);
                if (c == nc - 1) fputc('\n', f);
            }
    }
    if (st != IE_OK) {
        fclose(f);
        free(text);
        return st;
    }
    return ie_write_stream_atomic(f, &text, &size, path);
}

/* Metrics of the ensemble's predictions against each test subject's truth. */
static ie_status score(const ie_config *cfg, const ie_dataset *ds, const ie_split *split, const char *ens) {
    ie_data_settings data;
    IE_TRY(ie_data_settings_read(cfg, &data));
    IE_TRY(ie_data_settings_check_count("data.classes", data.n_classes, 64));
    int n_classes = data.n_classes;
    ie_seg_setup setup;
    IE_TRY(ie_seg_setup_from_config(cfg, n_classes, &setup));
    /* Truth on the files' own grid: predictions are written there. */
    memset(setup.seg.target_spacing, 0, sizeof setup.seg.target_spacing);
    setup.seg.crop[0] = setup.seg.crop[1] = setup.seg.crop[2] = 0;
    ie_host host = ie_host_default(0, "");
    char path[4400], aggregates[4400];
    IE_TRY(ie_path_format(path, sizeof path, "%s/metrics.csv", ens));
    IE_TRY(ie_path_format(aggregates, sizeof aggregates, "%s/metrics_aggregates.csv", ens));
    ie_metrics_writer *w = NULL;
    IE_TRY(ie_metrics_writer_open(path, true, &w));
    ie_status st = IE_OK;
    for (int i = 0; st == IE_OK && i < split->count[IE_SPLIT_TEST]; i++) {
        const ie_dataset_item *item = ie_dataset_item_at(ds, split->part[IE_SPLIT_TEST][i]);
        ie_sample truth = {.struct_size = sizeof truth};
        ie_tensor *pred = NULL;
        ie_image_geometry geom;
        char pred_path[4400];
        st = ie_path_format(pred_path, sizeof pred_path, "%s/test_predictions/%s/segmentation.nii.gz", ens,
                            item->subject);
        if (st == IE_OK) st = ie_seg_load(&setup.seg, item, &host, &truth);
        if (st == IE_OK) st = ie_image_read(pred_path, IE_I64, &pred, &geom);
        if (st == IE_OK)
            st = ie_metrics_writer_add_subject(w, item->subject, pred, truth.labels, &geom, n_classes, data.classes,
                                               NULL);
        ie_sample_clear(&truth);
        ie_tensor_release(pred);
    }
    if (st != IE_OK) {
        ie_metrics_writer_discard(w);
        return st;
    }
    IE_TRY(ie_metrics_writer_commit(w));
    return ie_metrics_aggregates_write(path, aggregates, true);
}

/* ensemble_comparison.csv: the mean of every structure and metric over the
 * ensemble's test subjects beside each fold's (metrics_aggregates.csv). */
static ie_status compare(const char *parent, int folds, const char *ens) {
    char path[4400];
    IE_TRY(ie_path_format(path, sizeof path, "%s/metrics_aggregates.csv", ens));
    ie_csv *ensemble = NULL;
    IE_TRY(ie_csv_read(path, &ensemble));
    int cs = ie_csv_column(ensemble, "Structure"), cm = ie_csv_column(ensemble, "Metric"),
        cv = ie_csv_column(ensemble, "mean");
    ie_cv_comparison_row *rows = calloc(ensemble->n_rows ? (size_t)ensemble->n_rows : 1, sizeof *rows);
    ie_status st = rows ? IE_OK : ie_error_set(IE_ERR_NOMEM, "%s: out of memory", path);
    if (st == IE_OK && (cs < 0 || cm < 0 || cv < 0))
        st = ie_error_set(IE_ERR_IO, "%s has no Structure, Metric or mean column", path);
    for (int r = 0; st == IE_OK && r < ensemble->n_rows; r++)
        rows[r] = (ie_cv_comparison_row){ie_csv_cell(ensemble, r, cs), ie_csv_cell(ensemble, r, cm),
                                         strtod(ie_csv_cell(ensemble, r, cv), NULL)};
    ie_cv_comparison c = {.fold_file = "metrics_aggregates.csv", .columns = {"Structure", "Metric"},
                          .value_column = "mean", .split = NULL, .n_rows = ensemble->n_rows, .rows = rows};
    if (st == IE_OK) st = ie_cv_comparison_write(parent, folds, &c);
    free(rows);
    ie_csv_free(ensemble);
    return st;
}

ie_status ie_cv_ensemble_folder(const char *parent, const char *const *runs, int n, char *ens, size_t size) {
    IE_TRY(ie_path_format(ens, size, "%s/ensemble", parent));
    if (exists(ens) && !ie_ensemble_matches(ens, runs, n)) {
        /* Folds finished or were retrained since: keep the old one aside,
         * never delete it. */
        char now[32], stamp[32], aside[4400];
        ie_utc_now(now, sizeof now);
        size_t k = 0;
        for (const char *p = now; *p && k + 1 < sizeof stamp; p++)
            if (*p != ':' && *p != '-') stamp[k++] = *p;
        stamp[k] = '\0';
        IE_TRY(ie_path_format(aside, sizeof aside, "%s.before_%s", ens, stamp));
        if (rename(ens, aside) != 0)
            return ie_error_set(IE_ERR_IO, "cannot move the older ensemble %s aside: %s", ens, strerror(errno));
        printf("the folds' ensemble from before (other folds or weights) is kept as %s\n", aside);
    }
    if (!exists(ens)) IE_TRY(ie_ensemble_create(runs, n, ens));
    return IE_OK;
}

static ie_status evaluate(const char *parent, int folds, const char *innereye) {
    char ens[4200], path[4300], dataset_csv[4200];
    const char *runs[MAX_FOLDS];
    char run_paths[MAX_FOLDS][4200];
    int n = 0;
    for (int i = 0; i < folds && i < MAX_FOLDS; i++) {
        IE_TRY(ie_path_format(run_paths[n], sizeof run_paths[n], "%s/fold_%d", parent, i));
        IE_TRY(ie_path_format(path, sizeof path, "%s/checkpoints/last.json", run_paths[n]));
        if (exists(path)) runs[n] = run_paths[n], n++;
    }
    if (n < 2) return ie_error_set(IE_ERR_STATE, "%s: fewer than 2 folds finished; no ensemble", parent);
    IE_TRY(ie_cv_ensemble_folder(parent, runs, n, ens, sizeof ens));

    /* The shared test set, from the first fold's dataset and split. */
    ie_config *cfg = NULL;
    ie_dataset *ds = NULL;
    ie_split split = {0};
    IE_TRY(ie_path_format(path, sizeof path, "%s/config.resolved.json", runs[0]));
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_file(cfg, path);
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st == IE_OK) st = run_dataset_path(runs[0], dataset_csv, sizeof dataset_csv);
    if (st == IE_OK) st = ie_dataset_load(dataset_csv, "subject", &ds);
    if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/split.csv", runs[0]);
    if (st == IE_OK) st = ie_split_read_csv(ds, path, &split);
    if (st == IE_OK && split.count[IE_SPLIT_TEST] == 0)
        st = ie_error_set(IE_ERR_STATE, "%s: the test split is empty; nothing to evaluate the ensemble on", path);
    char test_csv[4300], predictions[4300], log[4300];
    if (st == IE_OK) st = ie_path_format(test_csv, sizeof test_csv, "%s/test_dataset.csv", ens);
    if (st == IE_OK) st = ie_path_format(predictions, sizeof predictions, "%s/test_predictions", ens);
    if (st == IE_OK) st = ie_path_format(log, sizeof log, "%s/test_inference.log", ens);
    if (st == IE_OK) st = write_test_csv(ds, &split, test_csv);
    /* Post-processing chosen on the folds' validation predictions, into the
     * ensemble's config before it predicts (cv_postprocess.h).  Kept
     * predictions were made with the same choice: the same folds' weights
     * give the same validation predictions. */
    ie_cv_settings cv = {.choose_postprocessing = true};
    if (st == IE_OK) st = ie_cv_settings_read(cfg, &cv);
    if (st == IE_OK && cv.choose_postprocessing) st = ie_cv_choose_postprocessing(parent, folds, ens, stdout);
    if (st == IE_OK && !exists(predictions)) {
        char *argv[] = {(char *)innereye, "infer", "--run", ens, "--dataset", test_csv, "--out", predictions, NULL};
        ie_child_run run = {.argv = argv, .log = log, .label = "ensemble inference on the test set"};
        st = ie_child_runs(&run, 1, 1);
        if (st == IE_OK && run.exit_code != 0)
            st = ie_error_set(IE_ERR_STATE, "ensemble inference failed (exit %d); see %s", run.exit_code, log);
    }
    if (st == IE_OK) st = score(cfg, ds, &split, ens);
    if (st == IE_OK) st = compare(parent, folds, ens);
    ie_split_free(&split);
    ie_dataset_free(ds);
    ie_config_free(cfg);
    return st;
}

ie_status ie_cv_ensemble_infer(const ie_config *cfg, const char *parent, int folds, const char *innereye) {
    ie_split_settings split;
    IE_TRY(ie_split_settings_read(cfg, &split));
    if (split.fraction[IE_SPLIT_TEST] <= 0) return IE_OK;
    IE_TRY(evaluate(parent, folds, innereye));
    printf("ensemble of the folds: %s/ensemble (metrics.csv), compared with each fold in "
           "%s/ensemble_comparison.csv\n", parent, parent);
    return IE_OK;
}
