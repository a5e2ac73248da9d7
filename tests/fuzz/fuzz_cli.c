/* tests/fuzz - the command line: the input is split at NUL bytes and line
 * ends into arguments, given to what `innereye train` does with them
 * (tools/cli_config.c: --model's built-in config, --config files, --set,
 * InnerEye's flags) and the config is resolved.  Runs in a scratch folder so
 * that relative --config names and output paths stay there. */
#include "tests/fuzz/fuzz_util.h"

#include "innereye/config.h"
#include "tools/cli_config.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int moved;
    if (!moved) {
        if (chdir(fuzz_dir()) != 0) abort();
        moved = 1;
    }
    char *text = fuzz_text(data, size);
    char *argv[MAX_ARGS + 1], *rest[MAX_ARGS + 1];
    int argc = 0;
    char *p = text, *end = text + size;
    while (p <= end && argc < MAX_ARGS) {
        char *q = p;
        while (q < end && *q != '\0' && *q != '\n') q++;
        *q = '\0';
        argv[argc++] = p;
        p = q + 1;
    }
    argv[argc] = NULL;
    ie_config *cfg = NULL;
    if (ie_config_new(&cfg) != IE_OK) abort();
    int n_rest = 0;
    ie_status st = ie_cli_config(argc, argv, cfg, &n_rest, rest);
    fuzz_check_message(st, NULL);
    if (st == IE_OK) {
        if (n_rest < 0 || n_rest > argc) abort();
        for (int i = 0; i < n_rest; i++) /* pointers into argv */
            if (rest[i] < text || rest[i] > end) abort();
        fuzz_check_message(ie_config_resolve(cfg), NULL);
    }
    ie_config_free(cfg);
    free(text);
    return 0;
}
