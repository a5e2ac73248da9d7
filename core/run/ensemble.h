/* core/run - ensembles of trained runs.
 *
 * An ensemble is a folder that `innereye infer` takes like a single run:
 *   manifest.json         task, model, classes, and per member: its source
 *                         run, config SHA-256, weights file and SHA-256
 *   members/<i>/config.resolved.json, members/<i>/weights.safetensors
 *   members/<i>/data_statistics.json   classification / regression members:
 *                         the run's training statistics (SHA-256 in the
 *                         manifest), with which the member prepares new data
 * Members must be compatible: the same plugin (name), task, classes, image
 * channels and (classification, regression) label columns; otherwise
 * creation fails naming the first mismatch. */
#ifndef IE_CORE_RUN_ENSEMBLE_H
#define IE_CORE_RUN_ENSEMBLE_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/status.h"

#define IE_ENSEMBLE_MAX_MEMBERS 64

/* Builds an ensemble folder `out` (which must not exist) from finished runs,
 * under a temporary name renamed at the end (complete or absent). */
ie_status ie_ensemble_create(const char *const *runs, int count, const char *out);

/* The same folder for one run (an export bundle carries a run in this
 * layout, so `infer` reads bundles, ensembles and runs through one path). */
ie_status ie_ensemble_create_single(const char *run, const char *out);

/* True when dir is an ensemble of exactly these runs, in this order, with
 * the runs' current final weights (their SHA-256 equal the manifest's). */
bool ie_ensemble_matches(const char *dir, const char *const *runs, int count);

/* True when dir holds an ensemble manifest. */
bool ie_ensemble_is(const char *dir);

/* Where one member's files are. */
typedef struct ie_ensemble_paths {
    char config[4200], weights[4200];
} ie_ensemble_paths;

/* Every member's config and weights paths (for inference), each weights
 * file checked against the manifest's SHA-256; *members is malloc'd (free
 * it).  More than IE_ENSEMBLE_MAX_MEMBERS members is an error naming the
 * manifest, never a silently smaller ensemble. */
ie_status ie_ensemble_members(const char *dir, ie_ensemble_paths **members, int *count);

/* What the manifest says of member i, and its statistics file. */
typedef struct ie_ensemble_member {
    char source_run[4096];
    char statistics[4200]; /* members/<i>/data_statistics.json (checked against the manifest's SHA-256), else
                            * the source run's for an ensemble made before members kept it; "" if neither */
    int epoch;
} ie_ensemble_member;
ie_status ie_ensemble_member_info(const char *dir, int i, ie_ensemble_member *out);

#endif
