/* core/data - where a run's data is and what it holds (the data.* keys that
 * several parts of the library need), read once from a resolved, validated
 * config.
 *
 * The data setup, the tasks' checks and inference, the folds' ensembles and
 * post-processing choice, and the report all need the class names and the
 * channels; they take them from here instead of each looking the keys up by
 * string with its own array size; segmentation and the table tasks take the
 * normalisation's name and the flips from here too.  Keys only one function
 * reads (the normalisation's parameters, the rest of the augmentation, ...)
 * are read there. */
#ifndef IE_CORE_DATA_DATA_SETTINGS_H
#define IE_CORE_DATA_DATA_SETTINGS_H

#include <stdbool.h>

#include "innereye/config.h"

/* The most names a list below may hold.  Each user checks its own, smaller
 * limit on the count, with its own message (256 is the most any of them takes:
 * classification's class names), so this one only stops absurd lists. */
#define IE_DATA_MAX_NAMES 1024

typedef struct ie_data_settings {
    /* Strings are borrowed from the config: valid while it lives (and until
     * it is resolved again). */
    /* (about 24 KB with the lists: users keep it on the stack for one call) */
    const char *dataset_csv;   /* data.dataset_csv: "" = <data.root>/dataset.csv or the folders below */
    const char *root;          /* data.root: the folder a dataset's relative file paths start at; "" = none */
    const char *images_dir;    /* data.images_dir: images paired by name with data.labels_dir */
    const char *labels_dir;    /* data.labels_dir */
    bool synthetic;            /* data.synthetic: generated volumes instead of the above */
    bool fallback_synthetic;   /* data.fallback_synthetic: generated volumes when data.images_dir is missing */
    const char *label_channel; /* data.label_channel: the dataset column of the label maps */
    const char *image_channels[IE_DATA_MAX_NAMES]; /* data.image_channels: the input channels' columns */
    int n_image_channels;
    const char *mask_channels[IE_DATA_MAX_NAMES];  /* data.mask_channels: one binary mask per structure */
    int n_mask_channels;
    const char *classes[IE_DATA_MAX_NAMES];        /* data.classes: class names (background first) */
    int n_classes;
    const char *normalization; /* data.normalization as written: each task parses the methods it offers */
    bool flip[3];              /* data.flip_axes: random flips along D, H, W (augmentation) */
} ie_data_settings;

/* Fills *out from a resolved config.  A missing key, one of the wrong type,
 * or a list longer than IE_DATA_MAX_NAMES is an IE_ERR_CONFIG naming the key;
 * *out is untouched then. */
ie_status ie_data_settings_read(const ie_config *cfg, ie_data_settings *out);

/* For a user that holds at most `capacity` names of list `key`: an
 * IE_ERR_CONFIG when the list has more (`n`), worded as the config's typed
 * getters word it. */
ie_status ie_data_settings_check_count(const char *key, int n, int capacity);

#endif
