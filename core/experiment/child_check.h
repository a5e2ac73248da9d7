/* core/experiment - an experiment's checks before its folder exists.
 *
 * A cross-validation, sweep or repro-check makes a parent folder that holds
 * its child runs.  The children check their config, data, split, model and
 * starting weights before their own run folders exist (core/run/run_dir.h);
 * the experiment runs the same checks for its first child, in this process,
 * before it makes the parent, so that one which would fail them leaves
 * nothing behind but the data check's list of problems,
 * OUTPUT_DIR/<name or prefix>.data_problems.txt, as a single run does. */
#ifndef IE_CORE_EXPERIMENT_CHILD_CHECK_H
#define IE_CORE_EXPERIMENT_CHILD_CHECK_H

#include <stddef.h>

#include "innereye/config.h"

#include "core/train/task_interface.h"

/* Checks the child run that `cfg` with `assignments` ("KEY=VALUE", applied
 * in order, then resolved) describes, as ie_train checks a new run, with
 * `threads` compute threads (0: the config's).  Its staging folder is named
 * after cfg's output.dir and run.name (or `prefix`: "HelloWorld_cv"), so an
 * explicit run.name that exists is refused here.  Makes nothing that stays;
 * the error message is the child's.  `staged` gets the staging folder's
 * path, removed by then ("" when a check failed before it was made: a
 * setting, as innereye train's exit code 2 tells apart). */
ie_status ie_child_check(const ie_config *cfg, const ie_task_table *tasks, const char *const *assignments,
                         int n_assignments, const char *prefix, int threads, char *staged, size_t size);

#endif
