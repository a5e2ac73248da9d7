/* core/data - the cross-validation settings (cv.*), read once from a
 * resolved, validated config.
 *
 * They live with the splits because the trainer, below the experiments that
 * run the folds, picks its fold's subjects and seed from them; the
 * cross-validation runner, its ensemble, the segmentation task's
 * post-processing choice, cluster job specs and the command read them here
 * too instead of each looking the keys up by string. */
#ifndef IE_CORE_DATA_CV_SETTINGS_H
#define IE_CORE_DATA_CV_SETTINGS_H

#include <stdbool.h>

#include "innereye/config.h"

typedef struct ie_cv_settings {
    int splits;                 /* cv.splits: K folds; 0 = no cross-validation (the schema allows 0, 2 to 64) */
    int split_index;            /* cv.split_index: the one fold this run trains; -1 = all (or none) */
    int parallel;               /* cv.parallel: folds trained at once (1 to 64) */
    bool choose_postprocessing; /* cv.choose_postprocessing: pick post-processing on the folds' val sets */
} ie_cv_settings;

/* Fills *out from a resolved config.  A missing key or one of the wrong type
 * is an IE_ERR_CONFIG naming the key; *out is untouched then. */
ie_status ie_cv_settings_read(const ie_config *cfg, ie_cv_settings *out);

#endif
