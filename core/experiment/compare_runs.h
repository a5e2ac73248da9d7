/* core/experiment - byte-for-byte comparison of two run folders: final
 * weights and buffers, optimiser state, the per-epoch log (all columns but
 * the timings) and metrics.csv.  What repro-check and rerun report. */
#ifndef IE_CORE_EXPERIMENT_COMPARE_RUNS_H
#define IE_CORE_EXPERIMENT_COMPARE_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/status.h"

/* *same is true when everything matched; otherwise `difference` names the
 * first difference (file, tensor or column, epoch or subject, values). */
ie_status ie_compare_runs(const char *run_a, const char *run_b, bool *same, char *difference, size_t size);

#endif
