/* models/common - reading model.params and checking crop sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/common/model_params.h"

ie_status ie_model_config_open(const char *config_json, ie_config **out) {
    ie_config *cfg = NULL;
    ie_status st = ie_config_new(&cfg);
    if (st == IE_OK) st = ie_config_add_text(cfg, config_json, "resolved config");
    if (st == IE_OK) st = ie_config_resolve(cfg);
    if (st != IE_OK) {
        ie_config_free(cfg);
        return st;
    }
    *out = cfg;
    return IE_OK;
}

ie_status ie_model_param_int(const ie_config *cfg, const char *model, const char *key, int64_t fallback, int64_t lo,
                             int64_t hi, int *out) {
    char path[128];
    snprintf(path, sizeof path, "model.params.%s", key);
    int64_t v = fallback;
    if (ie_config_has(cfg, path) && ie_config_get_int(cfg, path, &v) != IE_OK)
        return ie_error_set(IE_ERR_CONFIG, "%s: %s must be an integer", model, path);
    if (v < lo || v > hi)
        return ie_error_set(IE_ERR_CONFIG, "%s: %s is %lld; it must be between %lld and %lld", model, path,
                            (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return IE_OK;
}

ie_status ie_model_param_ints(const ie_config *cfg, const char *model, const char *key, const int *fallback,
                              int count, int64_t lo, int64_t hi, int *out) {
    char path[128];
    snprintf(path, sizeof path, "model.params.%s", key);
    if (!ie_config_has(cfg, path)) {
        memcpy(out, fallback, (size_t)count * sizeof *out);
        return IE_OK;
    }
    int64_t v[64];
    int n = 0;
    if (count > 64 || ie_config_get_int_array(cfg, path, v, 64, &n) != IE_OK || n != count)
        return ie_error_set(IE_ERR_CONFIG, "%s: %s must be a list of %d integers", model, path, count);
    for (int i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > hi)
            return ie_error_set(IE_ERR_CONFIG, "%s: %s[%d] is %lld; it must be between %lld and %lld", model, path, i,
                                (long long)v[i], (long long)lo, (long long)hi);
        out[i] = (int)v[i];
    }
    return IE_OK;
}

/* The next top-level key of a canonical JSON object after *pos (just past
 * '{' or a value's ','), copied into key; false at the end.  Values are
 * skipped by tracking brackets and strings. */
static bool next_key(const char *json, size_t *pos, char *key, size_t size) {
    size_t i = *pos;
    if (json[i] != '"') return false;
    size_t n = 0;
    for (i++; json[i] && json[i] != '"'; i++) {
        if (json[i] == '\\' && json[i + 1]) i++;
        if (n + 1 < size) key[n++] = json[i];
    }
    key[n] = '\0';
    int depth = 0;
    bool in_string = false;
    for (i++; json[i]; i++) { /* past ':' and the value, to the ',' or '}' that ends it */
        char c = json[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth-- == 0) break;
        } else if (c == ',' && depth == 0) {
            i++;
            break;
        }
    }
    *pos = i;
    return true;
}

ie_status ie_model_params_check_known(const ie_config *cfg, const char *model, const char *const *known) {
    char *json = NULL;
    if (!ie_config_has(cfg, "model.params")) return IE_OK;
    IE_TRY(ie_config_get_json(cfg, "model.params", &json));
    ie_status st = IE_OK;
    size_t pos = json[0] == '{' ? 1 : 0;
    char key[128];
    while (st == IE_OK && next_key(json, &pos, key, sizeof key)) {
        bool found = false;
        for (int i = 0; known[i]; i++) found = found || strcmp(key, known[i]) == 0;
        if (found) continue;
        char list[512] = "";
        for (int i = 0; known[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", known[i]);
        st = ie_error_set(IE_ERR_CONFIG, "%s: model.params.%s is not a parameter of this model; it has: %s", model,
                          key, list);
    }
    ie_config_string_free(json);
    return st;
}

ie_status ie_model_param_from_data(const ie_config *cfg, const char *model, const char *key, const char *data_key,
                                   const char *what, int lo, int *out) {
    char path[128];
    snprintf(path, sizeof path, "model.params.%s", key);
    int names = 0;
    IE_TRY(ie_config_get_array_length(cfg, data_key, &names));
    if (!ie_config_has(cfg, path)) {
        if (names < lo)
            return ie_error_set(IE_ERR_CONFIG, "%s: %s lists %d %s; list at least %d (or set %s)", model, data_key,
                                names, what, lo, path);
        *out = names;
        return IE_OK;
    }
    IE_TRY(ie_model_param_int(cfg, model, key, 0, lo, 4096, out));
    if (names > 0 && names != *out)
        return ie_error_set(IE_ERR_CONFIG, "%s: %s is %d but %s lists %d %s; they must agree (or leave %s out)",
                            model, path, *out, data_key, names, what, path);
    return IE_OK;
}

static ie_status read_crop(const ie_config *cfg, const char *key, int64_t crop[3], bool *present) {
    int n = 0;
    *present = false;
    if (!ie_config_has(cfg, key)) return IE_OK;
    IE_TRY(ie_config_get_int_array(cfg, key, crop, 3, &n));
    *present = n == 3;
    return IE_OK;
}

ie_status ie_model_check_crop_multiple(const ie_config *cfg, const char *model, const int64_t multiple[3],
                                       const char *why) {
    static const char *const keys[] = {"data.crop_size", "data.test_crop_size"};
    static const char axes[] = "DHW";
    for (int k = 0; k < 2; k++) {
        int64_t crop[3];
        bool present;
        IE_TRY(read_crop(cfg, keys[k], crop, &present));
        if (!present) continue;
        for (int a = 0; a < 3; a++) {
            if (crop[a] % multiple[a] == 0) continue;
            int64_t fixed[3];
            for (int b = 0; b < 3; b++) fixed[b] = (crop[b] + multiple[b] - 1) / multiple[b] * multiple[b];
            return ie_error_set(IE_ERR_CONFIG,
                                "%s: %s is [%lld, %lld, %lld]; along %c it must be a multiple of %lld (%s), and "
                                "%lld is not. Try [%lld, %lld, %lld]",
                                model, keys[k], (long long)crop[0], (long long)crop[1], (long long)crop[2], axes[a],
                                (long long)multiple[a], why, (long long)crop[a], (long long)fixed[0],
                                (long long)fixed[1], (long long)fixed[2]);
        }
    }
    return IE_OK;
}

ie_status ie_model_check_crop_minimum(const ie_config *cfg, const char *model, int64_t minimum, const char *why) {
    static const char axes[] = "DHW";
    int64_t crop[3];
    bool present;
    IE_TRY(read_crop(cfg, "data.crop_size", crop, &present));
    for (int a = 0; present && a < 3; a++)
        if (crop[a] < minimum)
            return ie_error_set(IE_ERR_CONFIG,
                                "%s: data.crop_size is [%lld, %lld, %lld]; along %c it must be at least %lld (%s)",
                                model, (long long)crop[0], (long long)crop[1], (long long)crop[2], axes[a],
                                (long long)minimum, why);
    return IE_OK;
}
