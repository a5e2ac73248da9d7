/* tools - `innereye train`: builds the config from files, the model's
 * built-in config and command-line overrides, then runs the trainer.
 *
 *   innereye train --model HelloWorld [--set train.epochs=3] [--threads N]
 *   innereye train --config my.json [--output-dir DIR]
 *   innereye train --resume outputs/HelloWorld_20261126T215300
 *   innereye --model=HelloWorld --num_epochs=3          (InnerEye's runner)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/experiment/cross_validation.h"
#include "core/report/report.h"
#include "core/train/trainer.h"
#include "innereye/config.h"
#include "tools/cli_config.h"
#include "tools/cmd_train.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: innereye train [--config FILE] [--model NAME] [--set KEY=VALUE ...] [--threads N]\n"
            "                      [--output-dir DIR] [InnerEye flags: --num_epochs, --random_seed, ...]\n"
            "       innereye train --resume RUN_DIR [--threads N]\n"
            "       innereye train ... --cv K [--parallel N]          (K-fold cross-validation)\n"
            "       innereye train ... --cv K --cross_validation_split_index I --set run.name=CV_RUN\n"
            "       innereye --model=NAME [...]      (the same as innereye train)\n"
            "\n"
            "Without --config, the model's built-in config configs/<model_name>.json is used.\n"
            "Keys and flags: docs/config.md.\n");
}

static int fail(const char *what) {
    fprintf(stderr, "innereye train: %s%s%s\n", what, what[0] ? ": " : "", ie_error_message());
    return 1;
}

int ie_cmd_train(int argc, char **argv) {
    ie_train_request req = {0};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0;
    ie_config *cfg = NULL;
    if (!rest || ie_config_new(&cfg) != IE_OK) return fail("out of memory");
    if (ie_cli_config(argc, argv, cfg, &n_rest, rest) != IE_OK) {
        usage(stderr);
        return fail("");
    }
    for (int i = 0; i < n_rest; i++) {
        const char *a = rest[i];
        if (!strcmp(a, "--resume") && i + 1 < n_rest) req.resume_dir = rest[++i];
        else if (!strncmp(a, "--resume=", 9)) req.resume_dir = a + 9;
        else if (!strcmp(a, "--stop-after-epochs") && i + 1 < n_rest) req.stop_after_epochs = atoi(rest[++i]);
        else if ((!strcmp(a, "--cv") || !strcmp(a, "--parallel")) && i + 1 < n_rest) {
            char assignment[128];
            snprintf(assignment, sizeof assignment, "%s=%s", !strcmp(a, "--cv") ? "cv.splits" : "cv.parallel",
                     rest[++i]);
            if (ie_config_set(cfg, assignment, a) != IE_OK) return fail("");
        }
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "innereye train: unknown argument '%s' (see innereye train --help)\n", a);
            return 2;
        }
    }
    if (!req.resume_dir) {
        if (ie_config_resolve(cfg) != IE_OK) {
            fprintf(stderr, "innereye train: the configuration has problems:\n%s", ie_config_problems(cfg));
            return 2;
        }
        req.config = cfg;
    } else {
        /* --threads is the one setting a resumed run takes from the command
         * line: the thread count never changes results. */
        if (ie_config_resolve(cfg) == IE_OK) {
            int64_t threads = 0;
            if (ie_config_get_int(cfg, "run.threads", &threads) == IE_OK) req.threads_override = (int)threads;
        }
    }
    char run_dir[4096] = "";
    int64_t folds = 0, fold = -1;
    if (!req.resume_dir) {
        ie_config_get_int(cfg, "cv.splits", &folds);
        ie_config_get_int(cfg, "cv.split_index", &fold);
    }
    ie_status st;
    if (folds >= 2 && fold < 0) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        st = ie_cv_run_all(cfg, self, run_dir, sizeof run_dir);
    } else if (folds >= 2) {
        st = ie_cv_run_fold(cfg, req.threads_override, run_dir, sizeof run_dir);
    } else {
        st = ie_train(&req, run_dir, sizeof run_dir);
    }
    ie_config_free(cfg);
    free(rest);
    /* report.html of the run, fold or cross-validation (core/report), also
     * after a failure once the folder exists: it shows how far it got. */
    if (run_dir[0]) ie_report_after(run_dir);
    if (st != IE_OK) {
        fprintf(stderr, "innereye train: %s\n", ie_error_message());
        if (run_dir[0]) fprintf(stderr, "innereye train: the run folder is %s\n", run_dir);
        return 1;
    }
    printf("done: %s\n", run_dir);
    return 0;
}
