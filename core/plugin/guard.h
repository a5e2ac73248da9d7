/* core/plugin - what the host says when a plugin breaks the rules by ending
 * the process: a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), an
 * interrupt (SIGINT, SIGTERM, SIGHUP) or an exit() from plugin code.
 *
 * The host records what it is doing: the operation ("training",
 * "inference"), its run folder, the epoch and step, and per thread which
 * plugin function is running (ie_guard_enter / ie_guard_leave around every
 * call into a plugin).  When the process is about to die, the handlers
 *   - print which plugin (name and file) and what it was doing, or that the
 *     host itself crashed, and for a run, how to resume it;
 *   - mark the run in its run.json: status "crashed" (a signal) or
 *     "interrupted" (an interrupt, or exit() while the operation was not
 *     finished), with the plugin, function, epoch and step;
 *   - end the process unsuccessfully: a signal is raised again with its
 *     default action (exit status 128 + N), an exit() becomes exit status 1,
 *     so an unfinished run or an inference that did not write its results
 *     never reports success.
 * The signal handlers use only async-signal-safe calls (open, write, fsync,
 * close, rename, sigaction, raise): everything they write is prepared
 * beforehand in static buffers (ie_guard_set_record).
 *
 * One operation at a time per process (the innereye command runs one). */
#ifndef IE_CORE_PLUGIN_GUARD_H
#define IE_CORE_PLUGIN_GUARD_H

#include <stdint.h>

#include "core/data/loader.h"
#include "core/plugin/loader.h"

/* Starts an operation: installs the handlers (once per operation) and
 * remembers `operation` (a static string: "training", "inference") and
 * `run_dir` (copied; NULL or "" when there is no run folder). */
void ie_guard_begin(const char *operation, const char *run_dir);
/* The operation finished (successfully or with an error reported the normal
 * way): an exit() is ordinary again and the handlers are removed. */
void ie_guard_end(void);

/* run.json as it should read if the process dies now, less its status: the
 * record's JSON text without "status", "error" and "end_time" (copied; the
 * handler adds the status fields).  NULL forgets it (nothing is written). */
void ie_guard_set_record(const char *record_json);

/* Progress of a training: epoch (1-based, the one running), optimiser step,
 * and the epoch of the last checkpoint on disk (0: none yet). */
void ie_guard_progress(int epoch, int64_t step, int checkpoint_epoch);

/* A checkpoint of `epoch` is on disk (last.json names it): said at once, so
 * that a stop before the next step's ie_guard_progress names it too. */
void ie_guard_checkpoint(int epoch);
/* The subject being processed (borrowed; NULL for none), for inference. */
void ie_guard_subject(const char *subject);

/* The calling thread enters / leaves `function` ("forward (training)",
 * "load_item", ...: a static string) of `plugin`.  Calls nest: the outermost
 * is reported. */
void ie_guard_enter(const ie_loaded_plugin *plugin, const char *function);
void ie_guard_leave(void);

/* ie_guard_leave, returning st: IE_GUARDED(plugin, "loss", p->table.loss(...)). */
ie_status ie_guard_leave_status(ie_status st);
#define IE_GUARDED(plugin, function, call) (ie_guard_enter((plugin), (function)), ie_guard_leave_status(call))

/* The data hooks a loader calls, with the plugin's own load_item, augment
 * and collate (where it has them) in place of `defaults`, each called
 * through ie_guard_enter/leave: they run on loader threads too.  `ctx` holds
 * what they need and must outlive the hooks. */
typedef struct ie_plugin_hooks_ctx {
    const ie_loaded_plugin *plugin;
    ie_model *model;
} ie_plugin_hooks_ctx;
ie_data_hooks ie_plugin_data_hooks(const ie_loaded_plugin *plugin, ie_model *model, ie_data_hooks defaults,
                                   ie_plugin_hooks_ctx *ctx);

#endif
