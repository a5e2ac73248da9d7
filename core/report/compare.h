/* core/report - `innereye compare A B`: is model B better than model A on
 * the same subjects?  For every structure and metric of two segmentation
 * metrics.csv files (runs, ensembles or cross-validations: their ensemble's):
 * the paired Wilcoxon signed-rank test (core/metrics/wilcoxon.h), the mean
 * difference B - A with its 95% confidence interval, and the subjects that
 * got worse.  Written as compare.csv, compare_subjects.csv and compare.json
 * into an output folder, from which a report's comparison section is drawn
 * (section_compare.c; docs/reports.md). */
#ifndef IE_CORE_REPORT_COMPARE_H
#define IE_CORE_REPORT_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "innereye/status.h"

typedef struct ie_compare_opts {
    const char *a, *b;   /* run, ensemble or cross-validation folders, or metrics.csv files */
    const char *metric;  /* "dice", "hd95", ...; NULL: every metric */
    const char *out_dir; /* NULL: only the summary printed */
    bool replace;        /* false: refuse an out_dir that holds a comparison or a report already */
} ie_compare_opts;

/* Refuses runs evaluated on different subjects, naming them.  The summary
 * (one line per structure and metric) goes to `summary`. */
ie_status ie_compare(const ie_compare_opts *opts, FILE *summary);

#endif
