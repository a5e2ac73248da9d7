/* core/run - where a run computes: train.device and train.precision, read
 * once from a resolved, validated config.
 *
 * The trainer (through ie_train_settings) and `innereye infer`'s session
 * (tools/infer_session.c), which moves a trained model to the device, take
 * them from here; inference does not take on the loop's other settings. */
#ifndef IE_CORE_RUN_DEVICE_SETTINGS_H
#define IE_CORE_RUN_DEVICE_SETTINGS_H

#include "core/backend/backend.h"
#include "innereye/config.h"

typedef struct ie_device_settings {
    const char *name;       /* train.device as written ("cpu", "cuda"), for messages; borrowed from the config */
    ie_device device;       /* ... as a device */
    ie_precision precision; /* train.precision */
} ie_device_settings;

/* Fills *out from a resolved config.  A missing key or one of the wrong type
 * is an IE_ERR_CONFIG naming the key, as is an unknown train.precision; *out
 * is untouched then. */
ie_status ie_device_settings_read(const ie_config *cfg, ie_device_settings *out);

#endif
