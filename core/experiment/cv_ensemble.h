/* core/experiment - the ensemble of a cross-validation's folds, evaluated on
 * the shared test set; each task of core/task/task.h names its way
 * (cv_ensemble).  Segmentation: <cv>/ensemble/ is an ensemble folder
 * (ensemble.h) whose test predictions are test_predictions/<subject>/,
 * metrics metrics.csv and metrics_aggregates.csv; <cv>/ensemble_comparison.csv
 * puts the ensemble's mean of every structure and metric beside each fold's. */
#ifndef IE_CORE_EXPERIMENT_CV_ENSEMBLE_H
#define IE_CORE_EXPERIMENT_CV_ENSEMBLE_H

#include <stddef.h>

#include "innereye/config.h"
#include "innereye/status.h"

/* <parent>/ensemble as the ensemble of exactly these fold runs: kept when it
 * is one (ie_ensemble_matches), else an older one is moved aside to
 * ensemble.before_<time>/ and a new one built.  ens receives its path. */
ie_status ie_cv_ensemble_folder(const char *parent, const char *const *runs, int n, char *ens, size_t size);

/* The segmentation task's ensemble (core/task/task.h, cv_ensemble): the
 * ensemble folder predicts the test images again (`innereye infer`, the
 * command innereye); nothing when data.split.test is 0. */
ie_status ie_cv_ensemble_infer(const ie_config *cfg, const char *parent, int folds, const char *innereye);

/* The classification and regression tasks' ensemble (cv_ensemble_average.c):
 * <cv>/ensemble/ is an ensemble folder whose predictions.csv holds, per test
 * subject and target, the mean of the folds' test predictions
 * (probabilities, or values), with metrics.csv (and confusion_matrix.csv)
 * from it as a run writes them; <cv>/ensemble_comparison.csv has
 * target,metric,fold_0..,folds_mean,ensemble for the test split.  Nothing
 * when the first fold with a predictions.csv has no test rows (run.infer_test
 * off, or no test subjects).  cfg and innereye are not needed. */
ie_status ie_cv_ensemble_average(const ie_config *cfg, const char *parent, int folds, const char *innereye);

#endif
