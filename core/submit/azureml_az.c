/* core/submit - running az for status, collect and resubmission. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/submit/azureml_az.h"
#include "core/submit/cmdline.h"

/* `az ml job list` of a large sweep answers with a few MB of JSON. */
#define AZ_OUT_MAX (16u << 20)

bool ie_az_ready(char *why, size_t size) {
    char out[4096], err[4096];
    int rc = 0;
    char *argv[] = {"az", "extension", "show", "--name", "ml", NULL};
    if (ie_run_capture(argv, out, sizeof out, err, sizeof err, &rc) != IE_OK || rc == 127) {
        snprintf(why, size, "the Azure CLI (az) is not on PATH");
        return false;
    }
    if (rc != 0) {
        snprintf(why, size, "the Azure CLI has no ml extension (az extension add --name ml)");
        return false;
    }
    return true;
}

static const char *field(const cJSON *record, const char *key) {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(record, key));
    return v && v[0] ? v : NULL;
}

/* Shell-quoted: the flags go into commands printed for copying. */
void ie_az_flags(const cJSON *record, char *out, size_t size) {
    const char *rg = field(record, "resource_group"), *ws = field(record, "workspace");
    char qrg[1100] = "", qws[1100] = "";
    if (rg) ie_shell_quote(rg, qrg, sizeof qrg);
    if (ws) ie_shell_quote(ws, qws, sizeof qws);
    snprintf(out, size, "%s%s%s%s", rg ? " --resource-group " : "", qrg, ws ? " --workspace-name " : "", qws);
}

/* The first lines of az's complaint, on one line. */
static void first_lines(char *err) {
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == '\r' || err[n - 1] == ' ')) err[--n] = '\0';
    if (n > 600) strcpy(err + 597, "...");
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
}

ie_status ie_az_run(const cJSON *record, const char *const words[], char **out) {
    const char *argv[48];
    int n = 0;
    argv[n++] = "az";
    for (int i = 0; words[i] && n < 40; i++) argv[n++] = words[i];
    const char *rg = field(record, "resource_group"), *ws = field(record, "workspace");
    if (rg) argv[n++] = "--resource-group", argv[n++] = rg;
    if (ws) argv[n++] = "--workspace-name", argv[n++] = ws;
    argv[n] = NULL;
    char *text = malloc(AZ_OUT_MAX), err[8192];
    if (!text) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    int rc = 0;
    ie_status st = ie_run_capture((char *const *)argv, text, AZ_OUT_MAX, err, sizeof err, &rc);
    char cmd[1024] = "az";
    for (int i = 1; argv[i] && i < 8; i++) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", argv[i]);
    if (st == IE_OK && rc == 127) st = ie_error_set(IE_ERR_IO, "%s: the Azure CLI (az) is not on PATH", cmd);
    else if (st == IE_OK && rc != 0) {
        first_lines(err);
        st = ie_error_set(IE_ERR_IO, "%s failed (exit %d): %s", cmd, rc, err[0] ? err : "(no message)");
    } else if (st == IE_OK && strlen(text) >= AZ_OUT_MAX - 1)
        st = ie_error_set(IE_ERR_IO, "%s: the answer is larger than %u MB", cmd, AZ_OUT_MAX >> 20);
    if (st != IE_OK) {
        free(text);
        return st;
    }
    *out = text;
    return IE_OK;
}

ie_status ie_az_json(const cJSON *record, const char *const words[], cJSON **json) {
    const char *with[48];
    int n = 0;
    for (; words[n] && n < 40; n++) with[n] = words[n];
    with[n++] = "--output";
    with[n++] = "json";
    with[n] = NULL;
    char *text = NULL;
    IE_TRY(ie_az_run(record, with, &text));
    *json = cJSON_Parse(text);
    free(text);
    if (!*json) return ie_error_set(IE_ERR_IO, "az %s %s %s: the answer is not JSON", words[0], words[1], words[2]);
    return IE_OK;
}
