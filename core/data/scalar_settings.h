/* core/data - the table models' data settings (data.scalar.*), read once
 * from a resolved, validated config.
 *
 * Classification and regression (core/task) read them all; the trainer
 * hashes the files of the image columns into run.json, and the task table
 * picks classification or regression by the target: they take them from
 * here.  Each user checks its own limit on a list's length, with the message
 * it always gave. */
#ifndef IE_CORE_DATA_SCALAR_SETTINGS_H
#define IE_CORE_DATA_SCALAR_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/data/data_settings.h"
#include "innereye/config.h"

typedef struct ie_scalar_settings {
    /* Strings are borrowed from the config: valid while it lives.  (About
     * 32 KB with the lists: users keep it for one call.) */
    const char *label_columns[IE_DATA_MAX_NAMES];       /* data.scalar.label_columns: the targets */
    int n_label_columns;
    const char *image_columns[IE_DATA_MAX_NAMES];       /* data.scalar.image_columns: columns of image files */
    int n_image_columns;
    const char *numerical_columns[IE_DATA_MAX_NAMES];   /* data.scalar.numerical_columns */
    int n_numerical_columns;
    const char *categorical_columns[IE_DATA_MAX_NAMES]; /* data.scalar.categorical_columns */
    int n_categorical_columns;
    const char *target;       /* data.scalar.target: "auto", "binary", "multiclass" or "regression" */
    int64_t image_size[3];    /* data.scalar.image_size (D, H, W) */
    int n_image_size;         /* 0: images as read */
    bool impute_missing;      /* data.scalar.impute_missing */
    bool standardize_targets; /* data.scalar.standardize_targets */
} ie_scalar_settings;

/* Fills *out from a resolved config.  A missing key, one of the wrong type,
 * or a list longer than IE_DATA_MAX_NAMES is an IE_ERR_CONFIG naming the key;
 * *out is untouched then. */
ie_status ie_scalar_settings_read(const ie_config *cfg, ie_scalar_settings *out);

#endif
