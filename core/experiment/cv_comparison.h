/* core/experiment - <cv>/ensemble_comparison.csv: the folds' ensemble on the
 * test set beside each fold and the folds' mean, one row per (what is
 * measured, metric).  One writer for every task (core/task/task.h,
 * cv_ensemble): they differ only in which file of a fold holds its test
 * metrics and how that file names its columns. */
#ifndef IE_CORE_EXPERIMENT_CV_COMPARISON_H
#define IE_CORE_EXPERIMENT_CV_COMPARISON_H

#include "innereye/status.h"

/* One row: a structure or target, a metric, and the ensemble's value. */
typedef struct ie_cv_comparison_row {
    const char *what;
    const char *metric;
    double ensemble;
} ie_cv_comparison_row;

typedef struct ie_cv_comparison {
    /* Each fold's metrics: <parent>/fold_<i>/<fold_file>; a fold without
     * the file (it failed) gets NaN. */
    const char *fold_file;
    /* The comparison's first two columns ("Structure", "Metric"), and the
     * columns of fold_file the rows are matched on. */
    const char *columns[2];
    /* The column of fold_file that holds a row's value ("mean"). */
    const char *value_column;
    /* NULL, or the only value of fold_file's "split" column read ("test"). */
    const char *split;
    int n_rows;
    const ie_cv_comparison_row *rows;
} ie_cv_comparison;

/* Writes <parent>/ensemble_comparison.csv atomically:
 * <columns[0]>,<columns[1]>,fold_0,..,fold_<folds-1>,folds_mean,ensemble
 * with the mean over the folds that have a value. */
ie_status ie_cv_comparison_write(const char *parent, int folds, const ie_cv_comparison *c);

#endif
