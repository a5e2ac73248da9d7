/* core/train - the training loop's settings, read once. */
#include "core/train/train_settings.h"

#include <stdint.h>
#include <string.h>

static ie_status get_int(const ie_config *cfg, const char *key, int *out) {
    int64_t v = 0;
    IE_TRY(ie_config_get_int(cfg, key, &v));
    *out = (int)v; /* as the trainer has always taken them; the schema gives most only a lower bound */
    return IE_OK;
}

ie_status ie_train_settings_read(const ie_config *cfg, ie_train_settings *out) {
    ie_train_settings s = {0};
    int micro = 0;
    int64_t cache_mb = 0;
    const char *precision = "fp32";
    IE_TRY(get_int(cfg, "train.epochs", &s.epochs));
    IE_TRY(get_int(cfg, "train.batch_size", &s.batch_size));
    IE_TRY(get_int(cfg, "train.micro_batch_size", &micro));
    s.micro_batch = micro ? micro : s.batch_size;
    if (s.micro_batch > s.batch_size || s.batch_size % s.micro_batch != 0)
        return ie_error_set(IE_ERR_CONFIG, "train.micro_batch_size %d must divide train.batch_size %d (a step is "
                            "a whole number of micro-batches); use a divisor of it, or 0 for the batch size",
                            s.micro_batch, s.batch_size);
    IE_TRY(ie_config_get_bool(cfg, "train.sync_batch_norm", &s.sync_batch_norm));
    IE_TRY(ie_config_get_bool(cfg, "train.deep_supervision", &s.deep_supervision));
    IE_TRY(ie_config_get_number(cfg, "dist.timeout_s", &s.dist_timeout_s));
    IE_TRY(ie_config_get_number(cfg, "dist.bucket_mb", &s.dist_bucket_mb));
    IE_TRY(ie_config_get_bool(cfg, "dist.overlap", &s.dist_overlap));
    IE_TRY(get_int(cfg, "data.workers", &s.workers));
    IE_TRY(get_int(cfg, "data.prefetch", &s.prefetch));
    IE_TRY(ie_config_get_int(cfg, "data.cache_mb", &cache_mb));
    s.cache_bytes = (size_t)cache_mb << 20;
    IE_TRY(get_int(cfg, "train.checkpoint_every", &s.checkpoint_every));
    IE_TRY(get_int(cfg, "train.validate_every", &s.validate_every));
    IE_TRY(get_int(cfg, "data.pad_multiple", &s.pad_multiple));
    IE_TRY(ie_config_get_string(cfg, "train.device", &s.device_name));
    IE_TRY(ie_config_get_string(cfg, "train.precision", &precision));
    s.device = strcmp(s.device_name, "cuda") == 0 ? IE_CUDA : IE_CPU;
    if (!ie_precision_parse(precision, &s.precision))
        return ie_error_set(IE_ERR_CONFIG, "train.precision: unknown value '%s' (fp32, tf32 or bf16)", precision);
    *out = s;
    return IE_OK;
}
