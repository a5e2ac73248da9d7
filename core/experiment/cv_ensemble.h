/* core/experiment - the ensemble of a cross-validation's folds, evaluated on
 * the shared test set (segmentation): <cv>/ensemble/ is an ensemble folder
 * (ensemble.h) whose test predictions are test_predictions/<subject>/,
 * metrics metrics.csv and metrics_aggregates.csv; <cv>/ensemble_comparison.csv
 * puts the ensemble's mean of every structure and metric beside each fold's. */
#ifndef IE_CORE_EXPERIMENT_CV_ENSEMBLE_H
#define IE_CORE_EXPERIMENT_CV_ENSEMBLE_H

#include "innereye/status.h"

/* innereye: the command used to run the ensemble's inference. */
ie_status ie_cv_ensemble_evaluate(const char *parent, int folds, const char *innereye);

#endif
