/* tools - `innereye report DIR [--compare OTHER]`: report.html of a run,
 * cross-validation, ensemble, sweep or comparison folder
 * (core/report/report.h); `innereye compare A B`: paired tests of two runs'
 * per-subject metrics (core/report/compare.h), written with a report of
 * their own. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/report/compare.h"
#include "core/report/report.h"
#include "core/task/task.h"
#include "core/util/path.h"
#include "tools/cmd_report.h"
#include "tools/commands.h"

int ie_cmd_report(int argc, char **argv) {
    const char *dir = NULL;
    ie_compare_opts o = {0};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--compare") && i + 1 < argc) {
            o.a = argv[++i];
        } else if (!strcmp(argv[i], "--metric") && i + 1 < argc) {
            o.metric = argv[++i];
        } else if (argv[i][0] == '-') {
            ie_cli_unknown_option("report", argv[i]);
            return 2;
        } else if (dir) {
            fprintf(stderr, "innereye report: one folder only; '%s' is a second\n", argv[i]);
            ie_cli_usage("report", stderr);
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir || (o.metric && !o.a)) {
        if (dir) fprintf(stderr, "innereye report: --metric goes with --compare OTHER\n");
        ie_cli_usage("report", stderr);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char path[4200], comparison[4200];
    if (o.a) {
        ie_report_kind kind;
        if (ie_report_kind_of(dir, &kind) != IE_OK) {
            fprintf(stderr, "innereye report: %s\n", ie_error_message());
            return 1;
        }
        if (kind == IE_REPORT_SWEEP || kind == IE_REPORT_COMPARISON) {
            fprintf(stderr, "innereye report: --compare takes a run, cross-validation or ensemble folder; %s is a "
                            "%s folder\n", dir, ie_report_kind_name(kind));
            return 2;
        }
        if (ie_path_join(comparison, sizeof comparison, dir, IE_REPORT_COMPARISON_DIR) != IE_OK) {
            fprintf(stderr, "innereye report: --compare %s\n", ie_error_message());
            return 2;
        }
        o.b = dir;
        o.out_dir = comparison;
        o.replace = true;
        if (ie_compare(&o, stdout) != IE_OK) {
            fprintf(stderr, "innereye report: --compare %s: %s\n", o.a, ie_error_message());
            return 1;
        }
    }
    if (ie_report_write(dir, ie_task_report_results, path, sizeof path) != IE_OK) {
        fprintf(stderr, "innereye report: %s\n", ie_error_message());
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("report: %s (%.2f s)\n", path, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    return 0;
}

int ie_cmd_compare(int argc, char **argv) {
    ie_compare_opts o = {0};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--metric") && i + 1 < argc) {
            o.metric = argv[++i];
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            o.out_dir = argv[++i];
        } else if (argv[i][0] == '-') {
            ie_cli_unknown_option("compare", argv[i]);
            return 2;
        } else if (!o.a) {
            o.a = argv[i];
        } else if (!o.b) {
            o.b = argv[i];
        } else {
            fprintf(stderr, "innereye compare: one A and one B, got a third: '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!o.b) {
        ie_cli_usage("compare", stderr);
        return 2;
    }
    char path[4200];
    /* a comparison folder shows no run's results: no task table needed */
    if (ie_compare(&o, stdout) != IE_OK ||
        (o.out_dir && ie_report_write(o.out_dir, NULL, path, sizeof path) != IE_OK)) {
        fprintf(stderr, "innereye compare: %s\n", ie_error_message());
        return 1;
    }
    if (o.out_dir) printf("written: %s/compare.csv, compare_subjects.csv, compare.json, report.html\n", o.out_dir);
    return 0;
}
