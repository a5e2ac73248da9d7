/* core/run - the median stopping rule's settings (train.median_stop.metric,
 * goal, min_epochs and siblings), read once from a resolved, validated config.
 *
 * The rule itself is the trainer's (core/train/median_stop.h); the trainer,
 * sweeps, their aggregation, cluster job specs and the experiment report's
 * ranking of trials (core/report, below the trainer) take its settings from
 * here instead of looking the keys up each. */
#ifndef IE_CORE_RUN_MEDIAN_STOP_SETTINGS_H
#define IE_CORE_RUN_MEDIAN_STOP_SETTINGS_H

#include <stdbool.h>

#include "innereye/config.h"

typedef struct ie_median_stop_settings {
    const char *metric; /* train.median_stop.metric; borrowed from the config: valid while it lives */
    bool maximize;      /* train.median_stop.goal "max" (the schema allows only "min" and "max") */
    int min_epochs;     /* train.median_stop.min_epochs */
    const char *siblings; /* train.median_stop.siblings: the sweep folder of the other trials; "" = off */
} ie_median_stop_settings;

/* A missing key or one of the wrong type is an IE_ERR_CONFIG naming the key;
 * *out is untouched then. */
ie_status ie_median_stop_settings_read(const ie_config *cfg, ie_median_stop_settings *out);

#endif
