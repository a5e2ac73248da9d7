/* core/train - what makes `innereye train --resume` safe: a resumed run must
 * continue the run that stopped, on the same data, split and settings, or be
 * refused with the reason.
 *
 *  - Settings: the run's own config.resolved.json; only keys that never
 *    change results may be set on the command line (ie_resume_key_allowed),
 *    and those are recorded in run.json.
 *  - Data: run.json holds the SHA-256 of the dataset CSV, of every file it
 *    lists and of split.csv (ie_data_hash_files at the start); a resume
 *    compares them all (ie_resume_check_data) and names the first that
 *    changed.
 *  - Files: temporary files of a process that died mid-write are removed
 *    (ie_resume_remove_temporaries), once the run folder's lock is held. */
#ifndef IE_CORE_TRAIN_RESUME_H
#define IE_CORE_TRAIN_RESUME_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "core/data/dataset.h"

/* The keys a resumed run may take from --set, as the messages list them. */
#define IE_RESUME_KEYS "run.threads, data.workers, data.prefetch, data.cache_mb, dist.timeout_s, dist.bucket_mb, dist.overlap"
bool ie_resume_key_allowed(const char *key);

/* Into `files` (a JSON object): the SHA-256 of every file the dataset
 * names in `columns` (relative paths start at each item's root), keyed by
 * the path as the CSV gives it.  A folder (a DICOM series) hashes its files
 * (core/util/sha256.h). */
ie_status ie_data_hash_files(const ie_dataset *ds, const char *const *columns, int n_columns, cJSON *files);

/* Compares the dataset CSV, every data file and <run_dir>/split.csv with
 * what `record` (the run's run.json) says they were.  IE_ERR_STATE names the
 * first difference and what to do; hashes the record does not have (runs
 * made by older versions) are not checked. */
ie_status ie_resume_check_data(const cJSON *record, const ie_dataset *ds, const char *const *columns, int n_columns,
                               const char *run_dir);

/* Removes the temporary files in run_dir, run_dir/checkpoints and
 * run_dir/predictions that an interrupted writer left (names holding ".tmp."
 * or ".tmp-": ie_write_file_atomic's "*.tmp.<pid>", the image writer's
 * ".*.tmp-<pid>-<n>.*").  Only call it
 * while holding the run's lock: then no other process is writing them.
 * Returns how many were removed. */
int ie_resume_remove_temporaries(const char *run_dir);

#endif
