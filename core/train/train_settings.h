/* core/train - the training loop's settings (train.*, the loader's data.*
 * keys and dist.*), read once from a resolved, validated config and checked
 * together (train.micro_batch_size against train.batch_size, the precision's
 * name).  The optimiser and schedule (core/train/optim_setup.h), the loss
 * (default_loss.h) and the data setup (data_setup.h) fill their own typed
 * structs. */
#ifndef IE_CORE_TRAIN_TRAIN_SETTINGS_H
#define IE_CORE_TRAIN_TRAIN_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/backend/backend.h"
#include "innereye/config.h"

typedef struct ie_train_settings {
    int epochs;             /* train.epochs */
    int batch_size;         /* train.batch_size: samples per optimiser step */
    int micro_batch;        /* train.micro_batch_size, 0 taken as batch_size: samples per forward/backward */
    bool sync_batch_norm;   /* train.sync_batch_norm */
    bool deep_supervision;  /* train.deep_supervision */
    int checkpoint_every;   /* train.checkpoint_every (epochs) */
    int validate_every;     /* train.validate_every (epochs) */
    const char *device_name;   /* train.device as written ("cpu", "cuda"), for messages; borrowed from the config */
    ie_device device;          /* ... as a device */
    ie_precision precision;    /* train.precision */
    int workers, prefetch;     /* data.workers, data.prefetch: the loader */
    size_t cache_bytes;        /* data.cache_mb in bytes */
    int pad_multiple;          /* data.pad_multiple */
    double dist_timeout_s;     /* dist.timeout_s */
    double dist_bucket_mb;     /* dist.bucket_mb: 0 = the cost model's size */
    bool dist_overlap;         /* dist.overlap */
} ie_train_settings;

/* Fills *out from a resolved config.  A missing key or one of the wrong type
 * is an IE_ERR_CONFIG naming the key, as is a train.micro_batch_size that
 * does not divide train.batch_size or an unknown train.precision; *out is
 * untouched then. */
ie_status ie_train_settings_read(const ie_config *cfg, ie_train_settings *out);

#endif
