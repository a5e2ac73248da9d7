/* core/train - the training loop's settings (train.*, the loader's
 * settings, the device and dist.*), read once from a resolved, validated
 * config and checked together (train.micro_batch_size against
 * train.batch_size).  The loader's (core/data/loader_settings.h) and the
 * device's (core/run/device_settings.h) are read by their own layers, whose
 * other users (table inference, `infer`) do not take on the loop's checks.
 * The optimiser and schedule (core/train/optim_setup.h), the loss
 * (default_loss.h) and the data setup (data_setup.h) fill their own typed
 * structs. */
#ifndef IE_CORE_TRAIN_TRAIN_SETTINGS_H
#define IE_CORE_TRAIN_TRAIN_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/data/loader_settings.h"
#include "core/run/device_settings.h"
#include "innereye/config.h"

typedef struct ie_train_settings {
    int epochs;                /* train.epochs */
    ie_loader_settings loader; /* train.batch_size (samples per optimiser step), data.workers, prefetch, cache_mb */
    int micro_batch;           /* train.micro_batch_size, 0 taken as the batch size: samples per forward/backward */
    bool sync_batch_norm;      /* train.sync_batch_norm */
    bool deep_supervision;     /* train.deep_supervision */
    int checkpoint_every;      /* train.checkpoint_every (epochs) */
    int validate_every;        /* train.validate_every (epochs) */
    ie_device_settings device; /* train.device, train.precision */
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
