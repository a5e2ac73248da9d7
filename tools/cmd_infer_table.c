/* tools - `innereye infer` for a run or ensemble whose task predicts a
 * table, classification and regression so far (docs/classification.md,
 * "Predicting new data"):
 *
 *   innereye infer --run RUN_DIR --dataset CSV --out DIR [--checkpoint FILE] [--threads N]
 *
 * cmd_infer.c hands over here when RUN_DIR's task has an infer_table entry
 * (core/task/task.h), which does the work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/task/task.h"
#include "core/plugin/guard.h"
#include "core/util/path.h"
#include "innereye/threads.h"
#include "tools/cmd_infer.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: innereye infer --run RUN_DIR --dataset CSV --out DIR [--checkpoint FILE] [--threads N]\n"
            "\n"
            "RUN_DIR is a classification or regression run, or an ensemble of such runs (innereye ensemble).\n"
            "Every subject of the CSV (one row per subject, the columns the run was trained on; the label\n"
            "columns are optional) is prepared with the run's training statistics (data_statistics.json) and\n"
            "predicted.  Writes DIR/predictions.csv, DIR/metrics.csv when the CSV has the labels, and\n"
            "DIR/inference.json; DIR must not exist.  An ensemble averages its members' probabilities\n"
            "(classification) or values (regression).  --checkpoint: other weights of the run than its last\n"
            "(a file, or a name in RUN_DIR/checkpoints).\n");
}

static int refuse(const char *message) {
    usage(stderr);
    fprintf(stderr, "innereye infer: %s\n", message);
    return 2;
}

int ie_cmd_infer_table(const ie_task *task, int argc, char **argv) {
    ie_task_infer_request r = {0};
    const char **slots[] = {&r.run, &r.dataset, &r.out, &r.checkpoint};
    static const char *const flags[] = {"--run", "--dataset", "--out", "--checkpoint"};
    int threads = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        bool known = false;
        for (int f = 0; f < 5 && !known; f++) {
            const char *flag = f < 4 ? flags[f] : "--threads";
            size_t n = strlen(flag);
            if (strncmp(a, flag, n) != 0 || (a[n] != '\0' && a[n] != '=')) continue;
            known = true;
            const char *v = a[n] == '=' ? a + n + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || !v[0]) {
                fprintf(stderr, "innereye infer: %s needs a value\n", flag);
                return 2;
            }
            if (f == 4) {
                char *end = NULL;
                long t = strtol(v, &end, 10);
                if (*end || t < 0 || t > 4096) {
                    fprintf(stderr, "innereye infer: --threads %s: give a number of threads (0: every core)\n", v);
                    return 2;
                }
                threads = (int)t;
            } else if (*slots[f] && strcmp(*slots[f], v) != 0) {
                fprintf(stderr, "innereye infer: %s is given twice ('%s' and '%s')\n", flag, *slots[f], v);
                return 2;
            } else {
                *slots[f] = v;
            }
        }
        if (known) continue;
        char message[512];
        if (!strncmp(a, "--image", 7) || !strncmp(a, "--mask", 6) || !strncmp(a, "--subject", 9))
            snprintf(message, sizeof message, "%s is for segmentation models; a classification or regression "
                     "model predicts the subjects of a --dataset CSV", a);
        else if (!strncmp(a, "--set", 5) || !strncmp(a, "--config", 8))
            snprintf(message, sizeof message, "%s: a classification or regression run predicts with the settings "
                     "and statistics it was trained with; nothing can be changed", a);
        else
            snprintf(message, sizeof message, "unknown argument '%s'", a);
        return refuse(message);
    }
    if (!r.run) return refuse("give --run RUN_DIR");
    if (!r.dataset) return refuse("give --dataset CSV (one row per subject, with the columns the run was trained on)");
    if (!r.out) return refuse("give --out DIR (a folder that does not exist yet)");
    /* "predicted/" names the folder "predicted": the output is built beside
     * it under a temporary name and renamed. */
    char out[4096];
    if (ie_path_format(out, sizeof out, "%s", r.out) != IE_OK) {
        fprintf(stderr, "innereye infer: --out %s\n", ie_error_message());
        return 2;
    }
    ie_path_trim_slashes(out);
    r.out = out;
    ie_threads_set(threads);
    /* A plugin's crash or exit() is reported, never an exit status 0. */
    ie_guard_begin("inference", NULL);
    ie_status st = task->infer_table(&r);
    ie_guard_end();
    if (st != IE_OK) {
        fprintf(stderr, "innereye infer: %s\n", ie_error_message());
        return 1;
    }
    return 0;
}
