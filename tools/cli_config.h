/* tools - building a config from a command line, shared by the commands that
 * train (train, repro-check, sweep). */
#ifndef IE_TOOLS_CLI_CONFIG_H
#define IE_TOOLS_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/config.h"

/* Adds the configs/ search folder, the model's built-in config
 * configs/<model_name>.json when --model is given without --config (nothing
 * when --resume is given), then the config flags of argv; the other arguments
 * go to rest (room for argc pointers).  Fails with IE_ERR_INVALID_ARG and the
 * message "give --config FILE or --model NAME" when neither is there. */
ie_status ie_cli_config(int argc, char **argv, ie_config *cfg, int *n_rest, char **rest);

/* Whether argv names what to train: --config, --model or --resume. */
bool ie_cli_names_config(int argc, char **argv);

/* The config of the model --model names in argv: configs/<model_name>.json
 * of a built-in model (nothing when there is none), or the config beside a
 * plugin file (--model build/libbrainseg.so: brainseg.json there or one
 * folder up; an error naming both when neither exists). */
ie_status ie_cli_model_config(ie_config *cfg, int argc, char **argv);

/* The project's configs/ folder: $INNEREYE_CONFIG_DIR, next to an installed
 * innereye (../share/innereye/configs), or this source tree's. */
ie_status ie_cli_config_dir(char *out, size_t size);

#endif
