/* core/run - run folders and their provenance record.
 *
 * outputs/<run name>/ holds everything a run produced.  A run folder is
 * created exclusively: an existing folder is never reused or overwritten.
 * run.json records what is needed to reproduce or audit the run: code version,
 * config hash, plugin path and SHA-256, dataset file hashes, library versions,
 * machine, threads, seed, start and end time. */
#ifndef IE_CORE_RUN_RUN_DIR_H
#define IE_CORE_RUN_RUN_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/util/file_util.h" /* IE_RUN_DIR_MAX */
#include "innereye/status.h"

struct cJSON;

/* Creates <output_dir>/<name> (output_dir is created when missing).  An empty
 * name generates "<prefix>_<UTC yyyymmddThhmmss>" and adds a suffix on
 * collision; an explicit name that exists is an error.  A path that would be
 * longer than IE_RUN_DIR_MAX is refused (IE_ERR_CONFIG) before anything is
 * made. */
ie_status ie_run_dir_create(const char *output_dir, const char *name, const char *prefix, char *out,
                            size_t out_size);

/* A new training run is prepared in a staging folder beside its run folder,
 * <output_dir>/.<name or prefix>.staging.<pid>, and renamed into place only
 * when every check before training passed: a run that fails its checks
 * never creates, touches or removes anything at the run path.
 *
 * ie_run_dir_stage checks the name as ie_run_dir_create does (an explicit
 * name that exists is refused here, before any work), creates output_dir
 * when missing, removes staging folders that no process holds any more (a
 * process killed during its checks; a minute old at least), and creates the
 * staging folder
 * (`staging`, of at least IE_RUN_DIR_MAX + 64 bytes).
 *
 * ie_run_dir_commit renames it to <output_dir>/<name>, or to
 * "<prefix>_<UTC yyyymmddThhmmss>" with a suffix on collision, never over an
 * existing folder (renameat2 RENAME_NOREPLACE; where the file system lacks
 * it, an exclusive mkdir of the name and a rename onto that empty folder).
 * The run folder's path goes to `out`.  A flock on the staging folder
 * (ie_run_dir_lock) holds across the rename: it is the same folder. */
ie_status ie_run_dir_stage(const char *output_dir, const char *name, const char *prefix, char *staging,
                           size_t size);
ie_status ie_run_dir_commit(const char *staging, const char *output_dir, const char *name, const char *prefix,
                            char *out, size_t out_size);

/* Where a new run that fails its data check lists the problems, since it
 * has no run folder: <output_dir>/<name or prefix>.data_problems.txt. */
ie_status ie_run_dir_problems_path(const char *output_dir, const char *name, const char *prefix, char *out,
                                   size_t size);

/* One process at a time works in a run folder: the lock is flock() on the
 * folder itself (nothing is created in it), held until ie_run_dir_unlock or
 * the process ends, even by a crash or SIGKILL.  A folder locked by another
 * process is refused (IE_ERR_STATE) naming that process (pid and start
 * time from run.json) and what to do. */
ie_status ie_run_dir_lock(const char *run_dir, int *fd);
void ie_run_dir_unlock(int fd);
/* Whether some process holds the run folder's lock now. */
bool ie_run_dir_in_use(const char *run_dir);

/* `innereye status RUN` for a run folder: its status from run.json
 * (running, finished, failed, crashed, interrupted; "running" without a
 * process holding the lock reads "stopped"), where a crash happened (plugin,
 * function, epoch, step) and how to resume.  *ok: finished or running. */
ie_status ie_run_status_print(const char *run_dir, FILE *out, bool *ok);

/* Inference with a run's weights: `plugin` must be the one run.json records
 * (its name; and its SHA-256 unless allow_change, which only warns).  A run
 * without run.json is not checked.  IE_ERR_PLUGIN says what differs. */
struct ie_loaded_plugin;
ie_status ie_run_check_plugin(const char *run_dir, const struct ie_loaded_plugin *plugin, bool allow_change);

/* Adds code, library and machine facts to `record` ("code", "libraries",
 * "machine"). */
void ie_provenance_add(struct cJSON *record);

/* "2026-11-26T21:45:03Z" */
void ie_utc_now(char *out, size_t size);

/* Parses <run_dir>/run.json (cJSON_Delete the result). */
ie_status ie_run_record_read(const char *run_dir, struct cJSON **out);

/* Whether run.json says the run finished. */
bool ie_run_finished(const char *run_dir);

/* Writes the record as <run_dir>/run.json atomically. */
ie_status ie_run_record_write(const char *run_dir, const struct cJSON *record);

#endif
