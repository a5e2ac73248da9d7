/* core/experiment - ensembles of trained runs.
 *
 * An ensemble is a folder that `innereye infer` takes like a single run:
 *   manifest.json         task, model, classes, and per member: its source
 *                         run, config SHA-256, weights file and SHA-256
 *   members/<i>/config.resolved.json, members/<i>/weights.safetensors
 * Members must be compatible: the same plugin (name), task, classes and
 * image channels; otherwise creation fails naming the first mismatch. */
#ifndef IE_CORE_EXPERIMENT_ENSEMBLE_H
#define IE_CORE_EXPERIMENT_ENSEMBLE_H

#include <stdbool.h>
#include <stddef.h>

#include "innereye/status.h"

#define IE_ENSEMBLE_MAX_MEMBERS 64

/* Builds an ensemble folder `out` (which must not exist) from finished runs. */
ie_status ie_ensemble_create(const char *const *runs, int count, const char *out);

/* True when dir holds an ensemble manifest. */
bool ie_ensemble_is(const char *dir);

/* Member i's config and weights paths (for inference). */
ie_status ie_ensemble_members(const char *dir, int *count, char configs[][4200], char weights[][4200], int capacity);

#endif
