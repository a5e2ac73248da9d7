/* tests/fuzz - the config parser and schema: JSON text as a config file
 * (extends looked up in the repository's configs/), resolved against the
 * schema with its cross-key checks, then read back as a run reads it
 * (canonical text, hash, the inference settings). */
#include "tests/fuzz/fuzz_util.h"

#include "core/inference/infer.h"
#include "innereye/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    ie_config *cfg = NULL;
    if (ie_config_new(&cfg) != IE_OK) abort();
    if (ie_config_add_search_dir(cfg, IE_FUZZ_CONFIG_DIR) != IE_OK) abort();
    ie_status st = ie_config_add_text(cfg, text, "fuzz.json");
    fuzz_check_message(st, NULL);
    if (st == IE_OK) {
        st = ie_config_resolve(cfg);
        fuzz_check_message(st, NULL);
    }
    if (st == IE_OK) {
        char hex[65];
        const char *canonical = ie_config_text(cfg);
        if (!canonical || ie_config_sha256(cfg, hex) != IE_OK || !ie_config_text_pretty(cfg)) abort();
        /* The canonical text is a config too, and resolves to itself. */
        ie_config *again = NULL;
        if (ie_config_new(&again) != IE_OK) abort();
        if (ie_config_add_text(again, canonical, "canonical.json") != IE_OK || ie_config_resolve(again) != IE_OK ||
            strcmp(ie_config_text(again), canonical) != 0) {
            fprintf(stderr, "fuzz: the canonical text does not resolve to itself: %s\n", ie_error_message());
            abort();
        }
        ie_config_free(again);
        ie_infer_settings settings;
        fuzz_check_message(ie_infer_settings_from_config(cfg, &settings), NULL);
        char *json = NULL;
        if (ie_config_get_json(cfg, "data", &json) == IE_OK) ie_config_string_free(json);
    }
    ie_config_free(cfg);
    free(text);
    return 0;
}
