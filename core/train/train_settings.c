/* core/train - the training loop's settings, read once. */
#include "core/train/train_settings.h"

#include "core/config/config_int.h"

#include <stdint.h>

ie_status ie_train_settings_read(const ie_config *cfg, ie_train_settings *out) {
    ie_train_settings s = {0};
    int micro = 0;
    IE_TRY(ie_config_get_int32(cfg, "train.epochs", &s.epochs));
    IE_TRY(ie_loader_settings_read(cfg, &s.loader));
    int batch = s.loader.batch_size;
    IE_TRY(ie_config_get_int32(cfg, "train.micro_batch_size", &micro));
    s.micro_batch = micro ? micro : batch;
    if (s.micro_batch > batch || batch % s.micro_batch != 0)
        return ie_error_set(IE_ERR_CONFIG, "train.micro_batch_size %d must divide train.batch_size %d (a step is "
                            "a whole number of micro-batches); use a divisor of it, or 0 for the batch size",
                            s.micro_batch, batch);
    IE_TRY(ie_config_get_bool(cfg, "train.sync_batch_norm", &s.sync_batch_norm));
    IE_TRY(ie_config_get_bool(cfg, "train.deep_supervision", &s.deep_supervision));
    IE_TRY(ie_config_get_number(cfg, "dist.timeout_s", &s.dist_timeout_s));
    IE_TRY(ie_config_get_number(cfg, "dist.bucket_mb", &s.dist_bucket_mb));
    IE_TRY(ie_config_get_bool(cfg, "dist.overlap", &s.dist_overlap));
    IE_TRY(ie_config_get_int32(cfg, "train.checkpoint_every", &s.checkpoint_every));
    IE_TRY(ie_config_get_int32(cfg, "train.validate_every", &s.validate_every));
    IE_TRY(ie_device_settings_read(cfg, &s.device));
    *out = s;
    return IE_OK;
}
