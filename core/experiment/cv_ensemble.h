/* core/experiment - the ensemble of a cross-validation's folds, evaluated on
 * the shared test set.  Segmentation: <cv>/ensemble/ is an ensemble folder
 * (ensemble.h) whose test predictions are test_predictions/<subject>/,
 * metrics metrics.csv and metrics_aggregates.csv; <cv>/ensemble_comparison.csv
 * puts the ensemble's mean of every structure and metric beside each fold's. */
#ifndef IE_CORE_EXPERIMENT_CV_ENSEMBLE_H
#define IE_CORE_EXPERIMENT_CV_ENSEMBLE_H

#include "innereye/status.h"

/* <parent>/ensemble as the ensemble of exactly these fold runs: kept when it
 * is one (ie_ensemble_matches), else an older one is moved aside to
 * ensemble.before_<time>/ and a new one built.  ens receives its path. */
ie_status ie_cv_ensemble_folder(const char *parent, const char *const *runs, int n, char *ens, size_t size);

/* innereye: the command used to run the ensemble's inference. */
ie_status ie_cv_ensemble_evaluate(const char *parent, int folds, const char *innereye);

/* Classification and regression (cv_ensemble_scalar.c): <cv>/ensemble/ is an
 * ensemble folder whose predictions.csv holds, per test subject and target,
 * the mean of the folds' test predictions (probabilities, or values), with
 * metrics.csv (and confusion_matrix.csv) from it as a run writes them;
 * <cv>/ensemble_comparison.csv has target,metric,fold_0..,folds_mean,ensemble
 * for the test split. */
ie_status ie_cv_ensemble_scalar_evaluate(const char *parent, int folds);

#endif
