/* core/report - report.html: what a person looks at before trusting a
 * model.  One self-contained page per folder (docs/reports.md):
 *   a run            what ran, training curves, segmentation box plots, the
 *                    test subjects and the worst ones with overlays, or
 *                    classification / regression curves and tables;
 *   a cross-validation  each fold beside the folds' mean and the ensemble,
 *                    then the ensemble's results as a run's;
 *   an ensemble      its members, and its results when it was evaluated;
 *   a sweep          the trials ranked, the objective against each key;
 *   a comparison     B against A (innereye compare --out DIR).
 * A run, cross-validation or ensemble folder with a comparison/ subfolder
 * (innereye report DIR --compare OTHER) shows it as a section too.
 * Everything shown is read from the folder's own CSV and JSON files. */
#ifndef IE_CORE_REPORT_REPORT_H
#define IE_CORE_REPORT_REPORT_H

#include <stddef.h>

#include "core/report/report_sections.h"
#include "innereye/status.h"

typedef enum ie_report_kind {
    IE_REPORT_RUN,
    IE_REPORT_CROSS_VALIDATION,
    IE_REPORT_ENSEMBLE,
    IE_REPORT_SWEEP,
    IE_REPORT_COMPARISON
} ie_report_kind;

/* What kind of folder `dir` is; an error names what is missing. */
ie_status ie_report_kind_of(const char *dir, ie_report_kind *kind);
const char *ie_report_kind_name(ie_report_kind kind);

/* Writes <dir>/report.html (atomically, replacing an older report); the
 * file's path goes to path_out (may be NULL).  results_of gives the results
 * section of a run's task (core/task: ie_task_report_results); NULL is
 * enough for a sweep or a comparison, which show no run's results. */
ie_status ie_report_write(const char *dir, ie_report_results_of results_of, char *path_out, size_t size);

/* The folder a run's comparison with another is kept in, inside the run
 * folder (innereye report DIR --compare OTHER). */
#define IE_REPORT_COMPARISON_DIR "comparison"

/* At the end of train, a cross-validation or a sweep: writes the report
 * unless the folder's config.resolved.json sets run.report to false.  Never
 * fails the work that ran: a problem is printed as a warning saying how to
 * write the report later (innereye report DIR). */
void ie_report_after(const char *dir, ie_report_results_of results_of);

#endif
