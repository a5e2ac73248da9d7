/* core/submit - the Azure CLI as the AzureML back end uses it after
 * submission: `az ml job show / list / download / create` with the
 * submission's workspace (submission.json's resource_group and workspace,
 * when it names them), answers read as JSON.
 *
 * Tests put a fake `az` on PATH (tests/cli/test_azureml.sh). */
#ifndef IE_CORE_SUBMIT_AZUREML_AZ_H
#define IE_CORE_SUBMIT_AZUREML_AZ_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "innereye/status.h"

/* Whether `az` and its ml extension answer; else why not, in words. */
bool ie_az_ready(char *why, size_t size);

/* Runs `az WORDS... [--resource-group RG] [--workspace-name WS]` (NULL-
 * terminated words; RG, WS from `record` when it has them).  A non-zero exit
 * is an error whose message holds az's own (first lines of stderr). */
ie_status ie_az_run(const cJSON *record, const char *const words[], char **out);

/* The same with `--output json`, parsed. */
ie_status ie_az_json(const cJSON *record, const char *const words[], cJSON **json);

/* " --resource-group RG --workspace-name WS" (or less) for commands printed
 * for the user to run. */
void ie_az_flags(const cJSON *record, char *out, size_t size);

#endif
