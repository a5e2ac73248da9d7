/* core/plugin - which model a config names (model.name, model.plugin,
 * model.init_checkpoint, model.init_strict), read once from a resolved, validated config.
 *
 * The trainer, inference, export, ensembles, the task lookup and job specs
 * all find the model's plugin the same way; they take the keys from here
 * instead of each looking them up by string. */
#ifndef IE_CORE_PLUGIN_MODEL_SETTINGS_H
#define IE_CORE_PLUGIN_MODEL_SETTINGS_H

#include "innereye/config.h"

typedef struct ie_model_settings {
    /* Borrowed from the config: valid while it lives (and until it is
     * resolved again). */
    const char *name;            /* model.name: a built-in model or a plugin's model name */
    const char *plugin;          /* model.plugin: a plugin file or name; "" = look model.name up */
    const char *init_checkpoint; /* model.init_checkpoint: safetensors to start from; "" = none */
    bool init_strict;            /* model.init_strict: the file holds exactly the model's tensors */
} ie_model_settings;

/* Fills *out from a resolved config.  A missing key or one of the wrong type
 * is an IE_ERR_CONFIG naming the key; *out is untouched then. */
ie_status ie_model_settings_read(const ie_config *cfg, ie_model_settings *out);

/* What ie_plugin_find looks for: model.plugin when given, else model.name. */
const char *ie_model_settings_plugin_spec(const ie_model_settings *model);

#endif
