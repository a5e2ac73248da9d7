/* core/report - the sections the report pages are made of, and the helpers
 * they share (inside core/report only). */
#ifndef IE_CORE_REPORT_REPORT_IMPL_H
#define IE_CORE_REPORT_REPORT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util/csv.h"
#include "core/report/html.h"
#include "core/report/plot.h"
#include "core/report/report_sections.h"

struct cJSON;

/* ---- helpers (report_util.c) */

/* A number as the run's files spell it: "nan", "inf", "-inf" and "" (NaN)
 * included. */
double ie_report_number(const char *text);
/* <dir>/<name> exists (a file or a folder). */
bool ie_report_has(const char *dir, const char *name);
/* Reads <dir>/<name> as CSV; *csv NULL (and IE_OK) when the file is absent. */
ie_status ie_report_csv(const char *dir, const char *name, ie_csv **csv);
/* Parses <dir>/<name> as JSON; NULL when absent or not JSON. */
struct cJSON *ie_report_json(const char *dir, const char *name);
/* A table of the CSV's rows (all when rows is NULL) with every cell as the
 * file spells it; data-file names the file for tests. */
void ie_report_csv_table(ie_html *h, const ie_csv *csv, const char *file, const int *rows, int n_rows);
/* Numeric cells of a column (NaN where not a number); free() the result. */
double *ie_report_column(const ie_csv *csv, int column, const int *rows, int n_rows);
/* A string member of a JSON object by dotted path, or `fallback`. */
const char *ie_report_json_string(const struct cJSON *j, const char *path, const char *fallback);

/* ---- sections */

/* What ran: model, plugin, config (collapsible, with its differences from
 * the defaults), commit, data, machine, threads and CPU path, seed, times.
 * record: run.json (NULL: only the config); config_dir: where
 * config.resolved.json is. */
void ie_report_what_ran(ie_html *h, const struct cJSON *record, const char *config_dir);
/* Losses, learning rate and validation metrics per epoch of
 * <dir>/train_log.csv (nothing when absent). */
ie_status ie_report_curves(ie_html *h, const char *dir);

/* Overlay thumbnails of one subject and structure (class index `label`):
 * three orthogonal slices through the structure's centre with the truth's and
 * the prediction's contours, in physical proportions. */
ie_status ie_report_overlay(ie_html *h, const char *image, const char *truth, bool truth_is_mask, const char *pred,
                            int label, const char *caption);

/* Cross-validation: fold status, each fold beside the mean and the
 * ensemble (ensemble_comparison.csv, cv_summary.csv). */
ie_status ie_report_cross_validation(ie_html *h, const char *dir);
/* An ensemble folder's members (manifest.json). */
ie_status ie_report_ensemble_members(ie_html *h, const char *dir);
/* B against A (innereye compare): compare.csv as a table, the subjects that
 * got worse, B against A per subject, from <dir>/<sub>/ (sub "" or a
 * subfolder such as "comparison/"); nothing when there is no compare.csv. */
ie_status ie_report_comparison(ie_html *h, const char *dir, const char *sub);
/* A sweep: trials ranked (sweep.csv), the objective against each swept key,
 * each trial's objective per epoch. */
ie_status ie_report_sweep(ie_html *h, const char *dir);

#endif
