/* core/submit - the code a cluster job runs: a snapshot of the repository at
 * HEAD (`git archive`, so nothing ignored and no build output), with the
 * commit written to SOURCE_COMMIT (cmake/git_version.cmake reads it where
 * there is no .git, so runs built from the snapshot record the commit). */
#ifndef IE_CORE_SUBMIT_SNAPSHOT_H
#define IE_CORE_SUBMIT_SNAPSHOT_H

#include <stddef.h>

#include "innereye/status.h"

/* Extracts HEAD of the git checkout `repo` into `dest` (created; must not
 * exist).  commit: HEAD's hash; *uncommitted: how many tracked files differ
 * from HEAD (they are NOT in the snapshot). */
ie_status ie_code_snapshot(const char *repo, const char *dest, char *commit, size_t size, int *uncommitted);

#endif
