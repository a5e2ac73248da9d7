/* tools - `innereye eval --task classification|regression --predictions CSV
 * --out DIR`: the metrics a classification or regression run reports,
 * computed from any predictions CSV in the run's format (see
 * core/metrics/scalar_predictions.h and scalar_report.h).
 *
 *   innereye eval --task classification --predictions run/predictions.csv --out eval/
 *
 * Writes DIR/metrics.csv (and DIR/confusion_matrix.csv for multi-class
 * tables), creating DIR if needed, and prints a summary. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/metrics/scalar_report.h"
#include "tools/cmd_eval_scalar.h"
#include "tools/commands.h"

static void usage(FILE *out) { ie_cli_usage("eval", out); }

/* The value of --name VALUE or --name=VALUE at argv[*i], advancing *i. */
static const char *option(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) return "";
    return argv[++*i];
}

bool ie_cmd_eval_is_scalar(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        const char *v = option(argc, argv, &i, "--task");
        if (v) return !strcmp(v, "classification") || !strcmp(v, "regression");
    }
    return false;
}

static int make_dir(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int ie_cmd_eval_scalar(int argc, char **argv) {
    const char *task = NULL, *predictions = NULL, *out = NULL, *v;
    for (int i = 0; i < argc; i++) {
        if ((v = option(argc, argv, &i, "--task"))) task = v;
        else if ((v = option(argc, argv, &i, "--predictions"))) predictions = v;
        else if ((v = option(argc, argv, &i, "--out"))) out = v;
        else {
            ie_cli_unknown_option("eval", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!task || !predictions || !predictions[0] || !out || !out[0]) {
        fprintf(stderr, "innereye eval: --task, --predictions and --out are required\n");
        usage(stderr);
        return 2;
    }
    ie_scalar_kind kind = !strcmp(task, "regression") ? IE_SCALAR_REGRESSION : IE_SCALAR_CLASSIFICATION;
    ie_predictions *p = NULL;
    ie_scalar_report *r = NULL;
    ie_status st = ie_predictions_read_csv(predictions, &p);
    if (st == IE_OK) st = ie_scalar_report_compute(p, kind, &r);
    if (st == IE_OK && make_dir(out) != 0)
        st = ie_error_set(IE_ERR_IO, "%s: cannot create the output folder: %s", out, strerror(errno));
    if (st == IE_OK) st = ie_scalar_report_write(r, out);
    if (st == IE_OK) {
        ie_scalar_report_print(r, stdout);
        printf("metrics: %s/metrics.csv\n", out);
    } else {
        fprintf(stderr, "innereye eval: %s\n", ie_error_message());
    }
    ie_scalar_report_free(r);
    ie_predictions_free(p);
    return st == IE_OK ? 0 : 1;
}
