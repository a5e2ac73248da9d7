/* tools - `innereye report DIR`: report.html of a run, cross-validation,
 * ensemble or sweep folder (core/report/report.h); `innereye compare A B`:
 * paired tests of two runs' per-subject metrics (core/report/compare.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/report/compare.h"
#include "core/report/report.h"
#include "tools/cmd_report.h"
#include "tools/commands.h"

int ie_cmd_report(int argc, char **argv) {
    if (argc != 1) {
        ie_cli_usage("report", stderr);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char path[4200];
    if (ie_report_write(argv[0], path, sizeof path) != IE_OK) {
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
    if (ie_compare(&o, stdout) != IE_OK) {
        fprintf(stderr, "innereye compare: %s\n", ie_error_message());
        return 1;
    }
    if (o.out_dir) printf("written: %s/compare.csv, compare_subjects.csv, compare.html\n", o.out_dir);
    return 0;
}
