/* core/data - the table models' data settings, read once. */
#include "core/data/scalar_settings.h"

#include <stdlib.h>
#include <string.h>

static ie_status read_names(const ie_config *cfg, const char *key, const char **names, int *n) {
    return ie_config_get_string_array(cfg, key, names, IE_DATA_MAX_NAMES, n);
}

ie_status ie_scalar_settings_read(const ie_config *cfg, ie_scalar_settings *out) {
    ie_scalar_settings *s = calloc(1, sizeof *s); /* filled whole, so a failed read leaves *out as it was */
    if (!s) return ie_error_set(IE_ERR_NOMEM, "data.scalar settings: out of memory");
    ie_status st = read_names(cfg, "data.scalar.label_columns", s->label_columns, &s->n_label_columns);
    if (st == IE_OK) st = read_names(cfg, "data.scalar.image_columns", s->image_columns, &s->n_image_columns);
    if (st == IE_OK)
        st = read_names(cfg, "data.scalar.numerical_columns", s->numerical_columns, &s->n_numerical_columns);
    if (st == IE_OK)
        st = read_names(cfg, "data.scalar.categorical_columns", s->categorical_columns, &s->n_categorical_columns);
    if (st == IE_OK) st = ie_config_get_string(cfg, "data.scalar.target", &s->target);
    if (st == IE_OK) st = ie_config_get_int_array(cfg, "data.scalar.image_size", s->image_size, 3, &s->n_image_size);
    if (st == IE_OK) st = ie_config_get_bool(cfg, "data.scalar.impute_missing", &s->impute_missing);
    if (st == IE_OK) st = ie_config_get_bool(cfg, "data.scalar.standardize_targets", &s->standardize_targets);
    if (st == IE_OK) memcpy(out, s, sizeof *s);
    free(s);
    return st;
}
