/* tools - `innereye dataset fingerprint` (see cmd_plan.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util/file_util.h"
#include "core/plan/fingerprint.h"
#include "innereye/threads.h"
#include "tools/cmd_plan.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: innereye dataset fingerprint --dataset CSV --out fingerprint.json\n"
            "           [--channels A,B] [--modality CT,MR] [--label-channel NAME] [--threads N] [--quiet]\n"
            "\n"
            "Measures every case of a segmentation dataset (docs/planning.md): size, spacing,\n"
            "orientation, foreground intensity statistics per channel, class volumes and\n"
            "connected components, and checks for anisotropy, mixed orientations and outliers.\n"
            "The result is the same bytes for any --threads.\n"
            "  --channels A,B        image channels (default: the first subject's, but the label)\n"
            "  --modality CT,MR      one per channel: CT or MR (default: CT when the channel is\n"
            "                        named ct, else MR)\n"
            "  --label-channel NAME  the label map's channel (default: label)\n"
            "  --threads N           cases read in parallel (default: every core)\n"
            "  --quiet               no progress\n");
}

/* Splits "a,b,c" in place into at most max parts. */
static int split_list(char *s, const char **out, int max) {
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ",")) out[n++] = tok;
    return n;
}

int ie_cmd_dataset_fingerprint(int argc, char **argv) {
    const char *out = NULL, *channels = NULL, *modality = NULL;
    ie_fp_options o = {.label_channel = "label", .progress = true, .tty = isatty(STDERR_FILENO)};
    int threads = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) {
            o.progress = false;
            continue;
        }
        const char **slot = !strcmp(a, "--dataset")         ? &o.dataset_csv
                            : !strcmp(a, "--out")           ? &out
                            : !strcmp(a, "--channels")      ? &channels
                            : !strcmp(a, "--modality")      ? &modality
                            : !strcmp(a, "--label-channel") ? &o.label_channel
                            : !strcmp(a, "--threads")       ? (const char **)&v
                                                            : NULL;
        if (!slot) {
            fprintf(stderr, "innereye dataset fingerprint: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "innereye dataset fingerprint: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--threads")) {
            char *end;
            long t = strtol(v, &end, 10);
            if (*end || t < 0 || t > 4096) {
                fprintf(stderr, "innereye dataset fingerprint: --threads needs an integer 0..4096, got '%s'\n", v);
                return 2;
            }
            threads = (int)t;
        } else {
            *slot = v;
        }
    }
    if (!o.dataset_csv || !out) {
        fprintf(stderr, "innereye dataset fingerprint: --dataset and --out are required\n");
        usage(stderr);
        return 2;
    }
    char ch_buf[4096] = "", mod_buf[1024] = "";
    if (channels) {
        snprintf(ch_buf, sizeof ch_buf, "%s", channels);
        o.n_channels = split_list(ch_buf, o.channels, IE_FP_MAX_CHANNELS);
    }
    if (modality) {
        snprintf(mod_buf, sizeof mod_buf, "%s", modality);
        const char *mods[IE_FP_MAX_CHANNELS];
        int n = split_list(mod_buf, mods, IE_FP_MAX_CHANNELS);
        for (int k = 0; k < n; k++) {
            if (strcmp(mods[k], "CT") && strcmp(mods[k], "MR")) {
                fprintf(stderr, "innereye dataset fingerprint: --modality: '%s' is neither CT nor MR\n", mods[k]);
                return 2;
            }
            o.modalities[k] = mods[k];
        }
        if (!channels || n != o.n_channels) {
            fprintf(stderr, "innereye dataset fingerprint: --modality needs --channels and one modality per channel "
                            "(%d given for %d channels)\n", n, o.n_channels);
            return 2;
        }
    }
    ie_threads_set(threads);
    char *json = NULL;
    if (ie_fingerprint_run(&o, &json) != IE_OK) {
        fprintf(stderr, "innereye dataset fingerprint: %s\n", ie_error_message());
        return 1;
    }
    ie_status st = ie_write_file_atomic(out, json, strlen(json));
    free(json);
    if (st != IE_OK) {
        fprintf(stderr, "innereye dataset fingerprint: %s\n", ie_error_message());
        return 1;
    }
    printf("wrote %s\n", out);
    return 0;
}
