/* models/common - what the built-in segmentation models read from the
 * resolved config: their model.params (integers with defaults and ranges,
 * integer lists, a refusal of unknown keys so that a typo never passes
 * silently), and the checks of data.crop_size / data.test_crop_size.
 *
 * Built into each model plugin (only against the SDK).  Every message starts
 * with the model's name and names the key, its value and what would be
 * accepted. */
#ifndef IE_MODELS_COMMON_MODEL_PARAMS_H
#define IE_MODELS_COMMON_MODEL_PARAMS_H

#include <stdint.h>

#include "innereye/config.h"

/* Parses and resolves the config text a plugin receives. */
ie_status ie_model_config_open(const char *config_json, ie_config **out);

/* model.params.<key>, or `fallback` when absent; must lie in [lo, hi]. */
ie_status ie_model_param_int(const ie_config *cfg, const char *model, const char *key, int64_t fallback, int64_t lo,
                             int64_t hi, int *out);

/* model.params.<key> as a list of exactly `count` integers in [lo, hi];
 * `fallback` (count values) when absent. */
ie_status ie_model_param_ints(const ie_config *cfg, const char *model, const char *key, const int *fallback,
                              int count, int64_t lo, int64_t hi, int *out);

/* Refuses any key of model.params not in `known` (NULL-terminated), with the
 * list of known keys. */
ie_status ie_model_params_check_known(const ie_config *cfg, const char *model, const char *const *known);

/* A size that the data fixes: model.params.<key> when given must equal the
 * number of entries of `data_key` (an array), which is the default; `what`
 * says what the entries are ("image channels").  Zero entries and no
 * model.params.<key> is an error asking for either. */
ie_status ie_model_param_from_data(const ie_config *cfg, const char *model, const char *key, const char *data_key,
                                   const char *what, int lo, int *out);

/* data.crop_size and data.test_crop_size (when set): each axis a must be a
 * multiple of multiple[a]; `why` explains the rule ("2^depth, depth 4"). */
ie_status ie_model_check_crop_multiple(const ie_config *cfg, const char *model, const int64_t multiple[3],
                                       const char *why);

/* data.crop_size at least `minimum` along every axis. */
ie_status ie_model_check_crop_minimum(const ie_config *cfg, const char *model, int64_t minimum, const char *why);

#endif
