/* core/data - the loader's settings (train.batch_size, data.workers,
 * data.prefetch, data.cache_mb), read once from a resolved, validated config.
 *
 * The trainer (through ie_train_settings) and the table models' inference
 * (core/inference, below the trainer) both feed batches through the loader;
 * they take its settings from here. */
#ifndef IE_CORE_DATA_LOADER_SETTINGS_H
#define IE_CORE_DATA_LOADER_SETTINGS_H

#include <stddef.h>

#include "innereye/config.h"

typedef struct ie_loader_settings {
    int batch_size;     /* train.batch_size: samples per optimiser step (the schema keeps it >= 1) */
    int workers;        /* data.workers: 0 loads on the calling thread */
    int prefetch;       /* data.prefetch: batches prepared ahead */
    size_t cache_bytes; /* data.cache_mb in bytes: the volume cache's budget */
} ie_loader_settings;

/* Fills *out from a resolved config.  A missing key or one of the wrong type
 * is an IE_ERR_CONFIG naming the key; *out is untouched then. */
ie_status ie_loader_settings_read(const ie_config *cfg, ie_loader_settings *out);

#endif
