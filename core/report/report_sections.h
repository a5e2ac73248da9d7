/* core/report - the results sections of report.html, one per task: the
 * task table (core/task/task.h, report_results) names the one a run's
 * report shows, so the report never guesses a run's task from its files.
 * The pages (report.c) get the entry of a folder's run from their caller
 * (ie_report_results_of), since the table sits above this layer. */
#ifndef IE_CORE_REPORT_REPORT_SECTIONS_H
#define IE_CORE_REPORT_REPORT_SECTIONS_H

#include <stdbool.h>

#include "core/report/html.h"

/* Where a segmentation's files are: the run's dataset and config, and how
 * prediction files are named. */
typedef struct ie_report_seg_files {
    const char *run_dir;     /* a run folder with run.json and config.resolved.json */
    const char *pred_dir;    /* folder of the predictions */
    bool pred_subfolders;    /* <pred_dir>/<subject>/segmentation.nii.gz, else <subject>_segmentation.nii.gz */
} ie_report_seg_files;

/* Box plots per structure, the table of test subjects, the 5 worst subjects
 * per structure with overlays (when files is not NULL and the images are
 * there). */
ie_status ie_report_segmentation(ie_html *h, const char *dir, const ie_report_seg_files *files);

/* Classification: ROC and precision-recall curves with AUROC / AUPRC, the
 * Youden point, the confusion matrix, calibration; regression: predicted
 * against true with the identity line, residuals.  From <dir>/predictions.csv,
 * metrics.csv and confusion_matrix.csv. */
ie_status ie_report_classification_regression(ie_html *h, const char *dir, const ie_report_seg_files *unused);

/* A results section: what a run (or the folds' ensemble) predicted, from
 * the files in dir; files: where a segmentation's images and predictions
 * are (NULL: not known), which other sections do not need. */
typedef ie_status (*ie_report_results_fn)(ie_html *h, const char *dir, const ie_report_seg_files *files);

/* The results section of the run in run_dir (a run or an ensemble folder):
 * *results NULL when the folder does not say which model it ran (no
 * config.resolved.json).  core/task's ie_task_report_results. */
typedef ie_status (*ie_report_results_of)(const char *run_dir, ie_report_results_fn *results);

#endif
