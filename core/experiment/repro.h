/* core/experiment - reproducibility checks a user can run.
 *
 * repro-check trains one short run twice with the same settings, then once
 * per other (threads, loader workers) combination asked for, and compares
 * every run with the first byte for byte (ie_compare_runs).  rerun repeats a
 * finished run from its own config.resolved.json and compares. */
#ifndef IE_CORE_EXPERIMENT_REPRO_H
#define IE_CORE_EXPERIMENT_REPRO_H

#include <stdbool.h>

#include "core/train/task_interface.h"
#include "innereye/config.h"

/* tasks: the task table (core/task/task.h: &ie_all_tasks), which the runs
 * train with.  threads/workers: the counts to try (the first of each is the
 * baseline). */
ie_status ie_repro_check(ie_config *cfg, const ie_task_table *tasks, const int *threads, int n_threads,
                         const int *workers, int n_workers, bool *passed);

ie_status ie_rerun(const char *run_dir, const ie_task_table *tasks, bool *matched);

#endif
