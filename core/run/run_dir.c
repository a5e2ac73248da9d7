/* core/run - run folders and provenance. */
#define _GNU_SOURCE /* renameat2 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <cjson/cJSON.h>

#include "core/backend/cpu/cpu_conv.h"
#include "core/backend/cpu/cpu_path.h"
#include "core/plugin/loader.h"
#include "core/run/run_dir.h"
#include "core/util/file_util.h"
#include "core/util/path.h"
#include "innereye/image_io.h"
#include "ie_version.h"
#include "innereye/threads.h"

void ie_utc_now(char *out, size_t size) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* run.name must be a plain folder name, and the run folder's path short
 * enough for the files inside it. */
static ie_status check_name(const char *output_dir, const char *name, const char *prefix, size_t out_size) {
    if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return ie_error_set(IE_ERR_CONFIG, "run.name '%s' must be a plain folder name (no '/')", name);
    /* The generated name is at most prefix + "_yyyymmddThhmmss_999". */
    size_t length = strlen(output_dir) + 1 + (name[0] ? strlen(name) : strlen(prefix) + 20);
    if (length > IE_RUN_DIR_MAX || length >= out_size)
        return ie_error_set(IE_ERR_CONFIG, "the run folder %.60s...%s/%s would be a path of %zu bytes; a run "
                            "folder's path may have at most %d (the files inside must fit a path's 4096): choose a "
                            "shorter output.dir (--output-dir)%s", output_dir,
                            output_dir + (strlen(output_dir) > 100 ? strlen(output_dir) - 40 : strlen(output_dir)),
                            name[0] ? name : "<model>_<time>", length, IE_RUN_DIR_MAX, name[0] ? " or run.name" : "");
    return IE_OK;
}

static ie_status exists_error(const char *path) {
    return ie_error_set(IE_ERR_IO, "run folder %s already exists; runs are never overwritten: choose another "
                        "run.name, or resume it with --resume %s", path, path);
}

/* "<prefix>_yyyymmddThhmmss" of now, "_N" added for attempt N > 1. */
static ie_status generated_name(const char *output_dir, const char *prefix, int attempt, char *out, size_t size) {
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    return attempt == 1 ? ie_path_format(out, size, "%s/%s_%s", output_dir, prefix, stamp)
                        : ie_path_format(out, size, "%s/%s_%s_%d", output_dir, prefix, stamp, attempt);
}

ie_status ie_run_dir_create(const char *output_dir, const char *name, const char *prefix, char *out,
                            size_t out_size) {
    IE_TRY(check_name(output_dir, name, prefix, out_size));
    IE_TRY(ie_make_dirs(output_dir));
    if (name[0]) {
        IE_TRY(ie_path_join(out, out_size, output_dir, name));
        if (mkdir(out, 0755) != 0) {
            if (errno == EEXIST) return exists_error(out);
            return ie_error_set(IE_ERR_IO, "%s: cannot create the run folder: %s", out, strerror(errno));
        }
        return IE_OK;
    }
    for (int attempt = 1; attempt < 1000; attempt++) {
        IE_TRY(generated_name(output_dir, prefix, attempt, out, out_size));
        if (mkdir(out, 0755) == 0) return IE_OK;
        if (errno != EEXIST) return ie_error_set(IE_ERR_IO, "%s: cannot create the run folder: %s", out, strerror(errno));
    }
    return ie_error_set(IE_ERR_IO, "%s: could not find a free run folder name", output_dir);
}

#define STAGING_MARK ".staging."

/* Staging folders whose process is gone (killed during its checks: nothing
 * could remove them) are removed; one whose process lives, that some
 * process holds locked, or that changed in the last minute (made by a
 * process of another machine sharing the folder, between its mkdir and its
 * lock) is left alone. */
static void remove_abandoned_staging(const char *output_dir) {
    DIR *d = opendir(output_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *mark = e->d_name[0] == '.' ? strstr(e->d_name, STAGING_MARK) : NULL;
        if (!mark) continue;
        char *end = NULL;
        long pid = strtol(mark + strlen(STAGING_MARK), &end, 10);
        if (pid <= 0 || *end || (kill((pid_t)pid, 0) == 0 || errno == EPERM)) continue;
        char path[4200];
        struct stat sb;
        if (ie_path_join(path, sizeof path, output_dir, e->d_name) == IE_OK && lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && time(NULL) - sb.st_mtime > 60 &&
            !ie_run_dir_in_use(path))
            ie_remove_tree(path);
    }
    closedir(d);
}

ie_status ie_run_dir_stage(const char *output_dir, const char *name, const char *prefix, char *staging,
                           size_t size) {
    IE_TRY(check_name(output_dir, name, prefix, size));
    IE_TRY(ie_make_dirs(output_dir));
    char final[4200];
    struct stat sb;
    IE_TRY(ie_path_join(final, sizeof final, output_dir, name));
    if (name[0] && lstat(final, &sb) == 0) return exists_error(final);
    remove_abandoned_staging(output_dir);
    IE_TRY(ie_path_format(staging, size, "%s/.%s" STAGING_MARK "%ld", output_dir, name[0] ? name : prefix,
                          (long)getpid()));
    /* Left by an earlier process of this pid (pids are reused). */
    if (lstat(staging, &sb) == 0 && S_ISDIR(sb.st_mode) && !ie_run_dir_in_use(staging)) ie_remove_tree(staging);
    if (mkdir(staging, 0755) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot create the run's staging folder: %s", staging, strerror(errno));
    return IE_OK;
}

/* rename(from, to) that never replaces an existing `to`: 0 or an errno. */
static int rename_no_replace(const char *from, const char *to) {
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno == ENOTEMPTY ? EEXIST : errno;
    /* No RENAME_NOREPLACE here: claim the name with an exclusive mkdir, then
     * rename onto that empty folder (which rename may replace). */
    if (mkdir(to, 0755) != 0) return errno;
    if (rename(from, to) == 0) return 0;
    int err = errno;
    rmdir(to);
    return err;
}

ie_status ie_run_dir_commit(const char *staging, const char *output_dir, const char *name, const char *prefix,
                            char *out, size_t out_size) {
    if (name[0]) {
        IE_TRY(ie_path_join(out, out_size, output_dir, name));
        int err = rename_no_replace(staging, out);
        if (err == EEXIST) return exists_error(out); /* made while this run checked its data */
        if (err) return ie_error_set(IE_ERR_IO, "%s: cannot rename %s to the run folder: %s", out, staging,
                                     strerror(err));
        return IE_OK;
    }
    for (int attempt = 1; attempt < 1000; attempt++) {
        IE_TRY(generated_name(output_dir, prefix, attempt, out, out_size));
        int err = rename_no_replace(staging, out);
        if (!err) return IE_OK;
        if (err != EEXIST)
            return ie_error_set(IE_ERR_IO, "%s: cannot rename %s to the run folder: %s", out, staging, strerror(err));
    }
    return ie_error_set(IE_ERR_IO, "%s: could not find a free run folder name", output_dir);
}

ie_status ie_run_dir_problems_path(const char *output_dir, const char *name, const char *prefix, char *out,
                                   size_t size) {
    return ie_path_format(out, size, "%s/%s.data_problems.txt", output_dir, name[0] ? name : prefix);
}

static void cpu_model(char *out, size_t size) {
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *colon = strchr(line, ':');
        if (colon) {
            snprintf(out, size, "%s", colon + 2);
            out[strcspn(out, "\n")] = '\0';
        }
        break;
    }
    fclose(f);
}

void ie_provenance_add(cJSON *record) {
    cJSON *code = cJSON_AddObjectToObject(record, "code");
    cJSON_AddStringToObject(code, "git_commit", IE_GIT_COMMIT);
    cJSON_AddStringToObject(code, "innereye_version", IE_VERSION_STRING);

    cJSON *libs = cJSON_AddObjectToObject(record, "libraries");
    cJSON_AddStringToObject(libs, "openblas", openblas_get_config());
    cJSON_AddStringToObject(libs, "cjson", cJSON_Version());
    cJSON_AddStringToObject(libs, "image_io", ie_image_io_version());
    cJSON_AddStringToObject(libs, "cuda", "not built");

    cJSON *machine = cJSON_AddObjectToObject(record, "machine");
    char host[256] = "unknown", cpu[256];
    gethostname(host, sizeof host - 1);
    struct utsname u;
    cJSON_AddStringToObject(machine, "host", host);
    if (uname(&u) == 0) {
        char os[600];
        snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
        cJSON_AddStringToObject(machine, "os", os);
    }
    cpu_model(cpu, sizeof cpu);
    cJSON_AddStringToObject(machine, "cpu", cpu);
    cJSON_AddNumberToObject(machine, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddNumberToObject(machine, "threads", ie_threads_get());
    /* What decides the bytes: the CPU path gives the same ones on every CPU,
     * OpenBLAS (run.blas) does not. */
    cJSON_AddStringToObject(machine, "cpu_path", ie_cpu_path_name(ie_cpu_path_get()));
    cJSON_AddStringToObject(machine, "blas", ie_cpu_conv_get_mode() == IE_CPU_CONV_BLAS
                                                 ? "openblas (results depend on the CPU model)"
                                                 : "none");
}

ie_status ie_run_record_write(const char *run_dir, const cJSON *record) {
    char path[4200];
    IE_TRY(ie_path_format(path, sizeof path, "%s/run.json", run_dir));
    char *text = cJSON_Print(record);
    if (!text) return ie_error_set(IE_ERR_NOMEM, "run.json: out of memory");
    ie_status st = ie_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

ie_status ie_run_record_read(const char *run_dir, cJSON **out) {
    char path[4200], *text = NULL;
    IE_TRY(ie_path_format(path, sizeof path, "%s/run.json", run_dir));
    IE_TRY(ie_read_file(path, &text, NULL));
    *out = cJSON_Parse(text);
    free(text);
    return *out ? IE_OK : ie_error_set(IE_ERR_IO, "%s: not valid JSON", path);
}

bool ie_run_finished(const char *run_dir) {
    cJSON *record = NULL;
    if (ie_run_record_read(run_dir, &record) != IE_OK) return false;
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(record, "status"));
    bool finished = status && !strcmp(status, "finished");
    cJSON_Delete(record);
    return finished;
}

ie_status ie_run_dir_lock(const char *run_dir, int *fd) {
    *fd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return ie_error_set(IE_ERR_IO, "%s: cannot open the run folder: %s", run_dir, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return IE_OK;
    int err = errno;
    close(*fd);
    *fd = -1;
    if (err != EWOULDBLOCK)
        return ie_error_set(IE_ERR_IO, "%s: cannot lock the run folder: %s", run_dir, strerror(err));
    char who[160] = "another process";
    cJSON *record = NULL;
    if (ie_run_record_read(run_dir, &record) == IE_OK) {
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(record, "pid");
        const char *host = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "host"));
        const char *since = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "running_since"));
        if (cJSON_IsNumber(pid))
            snprintf(who, sizeof who, "process %d%s%s%s%s", pid->valueint, host ? " on " : "", host ? host : "",
                     since ? ", running since " : "", since ? since : "");
        cJSON_Delete(record);
    }
    return ie_error_set(IE_ERR_STATE, "run folder %s is in use by %s; two processes must not work in one run: wait "
                        "for it to finish (innereye status %s), or stop it first", run_dir, who, run_dir);
}

void ie_run_dir_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing releases the flock */
}

bool ie_run_dir_in_use(const char *run_dir) {
    int fd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    bool busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return busy;
}

/* The run recorded the plugin it trained with; another one (a different
 * model, or a rebuilt file) would give other results without a word. */
ie_status ie_run_check_plugin(const char *run, const ie_loaded_plugin *p, bool allow_change) {
    cJSON *record = NULL;
    if (ie_run_record_read(run, &record) != IE_OK) return IE_OK; /* older runs; the checkpoint still must fit */
    const cJSON *plugin = cJSON_GetObjectItemCaseSensitive(record, "plugin");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plugin, "name"));
    const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plugin, "sha256"));
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plugin, "path"));
    ie_status st = IE_OK;
    if (name && strcmp(name, p->table.name) != 0)
        st = ie_error_set(IE_ERR_PLUGIN, "%s was trained with plugin %s, but %s provides %s; load the run's plugin "
                          "(model.plugin, INNEREYE_PLUGIN_PATH)", run, name, p->path, p->table.name);
    else if (sha && strcmp(sha, p->sha256) != 0 && !allow_change)
        st = ie_error_set(IE_ERR_PLUGIN, "%s was trained with plugin %s of SHA-256 %.12s... (%s), but %s has SHA-256 "
                          "%.12s...: the plugin file changed since. Use the plugin the run was trained with; if it was "
                          "rebuilt from the same source on purpose, add --allow-plugin-change", run, p->table.name, sha,
                          path ? path : "?", p->path, p->sha256);
    else if (sha && strcmp(sha, p->sha256) != 0)
        fprintf(stderr, "warning: plugin %s (%s) is not the file %s was trained with (SHA-256 %.12s... then, %.12s... "
                "now); using it as --allow-plugin-change asks\n", p->table.name, p->path, run, sha, p->sha256);
    cJSON_Delete(record);
    return st;
}

/* The epoch of <run>/checkpoints/last.json, or 0. */
static int last_checkpoint_epoch(const char *run_dir) {
    char path[4200], *text = NULL;
    if (ie_path_format(path, sizeof path, "%s/checkpoints/last.json", run_dir) != IE_OK ||
        ie_read_file(path, &text, NULL) != IE_OK)
        return 0;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "epoch");
    int epoch = cJSON_IsNumber(e) ? e->valueint : 0;
    cJSON_Delete(j);
    return epoch;
}

static void print_resume_advice(const char *run_dir, FILE *out) {
    int epoch = last_checkpoint_epoch(run_dir);
    if (epoch > 0)
        fprintf(out, "  innereye train --resume %s continues it from its last checkpoint (epoch %d)\n", run_dir, epoch);
    else
        fprintf(out, "  it has no checkpoint: start it again\n");
}

ie_status ie_run_status_print(const char *run_dir, FILE *out, bool *ok) {
    *ok = false;
    cJSON *record = NULL;
    IE_TRY(ie_run_record_read(run_dir, &record));
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "status"));
    const cJSON *plugin = cJSON_GetObjectItemCaseSensitive(record, "plugin");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plugin, "name"));
    if (!status) status = "unknown";
    bool busy = ie_run_dir_in_use(run_dir);
    fprintf(out, "run %s (model %s)\n", run_dir, name ? name : "?");
    if (!strcmp(status, "running") && busy) {
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(record, "pid");
        const char *since = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "running_since"));
        fprintf(out, "  status: running (process %d, since %s)\n", cJSON_IsNumber(pid) ? pid->valueint : 0,
                since ? since : "?");
        *ok = true;
    } else if (!strcmp(status, "running")) {
        fprintf(out, "  status: stopped: run.json says running, but no process works in it (it was killed, or the "
                     "machine stopped)\n");
        print_resume_advice(run_dir, out);
    } else if (!strcmp(status, "crashed") || !strcmp(status, "interrupted")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(record, status);
        const char *cause = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "cause"));
        const char *by = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "plugin"));
        const char *by_path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "plugin_path"));
        const char *function = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "function"));
        const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(c, "epoch");
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(c, "step");
        fprintf(out, "  status: %s: %s\n", status, cause ? cause : "?");
        if (by)
            fprintf(out, "  in plugin %s (%s), function %s\n", by, by_path ? by_path : "?", function ? function : "?");
        else fprintf(out, "  in the host, not in a plugin\n");
        if (cJSON_IsNumber(epoch) && cJSON_IsNumber(step))
            fprintf(out, "  at epoch %d, step %.0f\n", epoch->valueint, step->valuedouble);
        print_resume_advice(run_dir, out);
    } else if (!strcmp(status, "failed")) {
        const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "error"));
        fprintf(out, "  status: failed: %s\n", error ? error : "?");
        print_resume_advice(run_dir, out);
    } else if (!strcmp(status, "finished")) {
        const char *end = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(record, "end_time"));
        fprintf(out, "  status: finished at %s (last checkpoint: epoch %d)\n", end ? end : "?",
                last_checkpoint_epoch(run_dir));
        *ok = true;
    } else {
        fprintf(out, "  status: %s\n", status);
    }
    if (busy && strcmp(status, "running") != 0) fprintf(out, "  a process works in it now\n");
    cJSON_Delete(record);
    return IE_OK;
}
