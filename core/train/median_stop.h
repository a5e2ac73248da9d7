/* core/train - the median stopping rule for hyperparameter sweeps (as in
 * Google Vizier / AzureML's MedianStoppingPolicy): after epoch e a trial stops
 * when its best value so far of the ranking metric is worse than the median,
 * over the finished sibling trials, of their best values up to epoch e. */
#ifndef IE_CORE_TRAIN_MEDIAN_STOP_H
#define IE_CORE_TRAIN_MEDIAN_STOP_H

#include <stdbool.h>

#include "core/run/median_stop_settings.h"
#include "innereye/config.h"

typedef struct ie_median_stop {
    char siblings[4096]; /* "" = off */
    char metric[128];
    bool maximize;
    int min_epochs;
    char own_name[256];  /* this run's folder name, skipped among siblings */
    double best;         /* this run's best so far */
} ie_median_stop;

ie_status ie_median_stop_from_config(const ie_config *cfg, const char *run_dir, ie_median_stop *out);

/* Records this run's value for `epoch` (1-based) and says whether to stop. */
bool ie_median_stop_check(ie_median_stop *rule, int epoch, double value, double *median);

/* The best value of `metric` in a train_log.csv up to `epoch` (all epochs when
 * epoch <= 0); NaN when unavailable. */
double ie_train_log_best(const char *log_path, const char *metric, bool maximize, int epoch, int *epochs_seen);

#endif
