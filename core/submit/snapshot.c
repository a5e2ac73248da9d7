/* core/submit - code snapshot by git archive. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/file_util.h"
#include "core/submit/cmdline.h"
#include "core/submit/snapshot.h"
#include "core/util/path.h"

ie_status ie_code_snapshot(const char *repo, const char *dest, char *commit, size_t size, int *uncommitted) {
    char out[1 << 14], err[2048];
    int rc = 0;
    char *head[] = {"git", "-C", (char *)repo, "rev-parse", "HEAD", NULL};
    IE_TRY(ie_run_capture(head, out, sizeof out, err, sizeof err, &rc));
    if (rc != 0)
        return ie_error_set(IE_ERR_IO, "%s: not a git checkout with a commit (the code snapshot is `git archive HEAD`): "
                                       "%s; give the repository with --repo DIR",
                            repo, rc == 127 ? "git is not installed" : err);
    out[strcspn(out, "\n")] = '\0';
    snprintf(commit, size, "%s", out);
    char *dirty[] = {"git", "-C", (char *)repo, "status", "--porcelain", "--untracked-files=no", NULL};
    IE_TRY(ie_run_capture(dirty, out, sizeof out, err, sizeof err, &rc));
    *uncommitted = 0;
    for (const char *p = out; rc == 0 && *p; p++) *uncommitted += *p == '\n';

    if (mkdir(dest, 0755) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the code snapshot folder: %s", dest, strerror(errno));
    char tar_path[4200];
    IE_TRY(ie_path_format(tar_path, sizeof tar_path, "%s.tar", dest));
    char *archive[] = {"git", "-C", (char *)repo, "archive", "--format=tar", "-o", tar_path, "HEAD", NULL};
    IE_TRY(ie_run_capture(archive, out, sizeof out, err, sizeof err, &rc));
    if (rc != 0) return ie_error_set(IE_ERR_IO, "git archive HEAD of %s failed: %s", repo, err);
    char *extract[] = {"tar", "-x", "-f", tar_path, "-C", (char *)dest, NULL};
    IE_TRY(ie_run_capture(extract, out, sizeof out, err, sizeof err, &rc));
    unlink(tar_path);
    if (rc != 0) return ie_error_set(IE_ERR_IO, "extracting the code snapshot into %s failed: %s", dest, err);
    char path[4200], text[128];
    IE_TRY(ie_path_format(path, sizeof path, "%s/SOURCE_COMMIT", dest));
    snprintf(text, sizeof text, "%s\n", commit);
    return ie_write_file_atomic(path, text, strlen(text));
}
