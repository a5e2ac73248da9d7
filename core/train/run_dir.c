/* core/train - run folders and provenance. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <cjson/cJSON.h>

#include "core/checkpoint/checkpoint.h"
#include "core/backend/cpu/cpu_conv.h"
#include "core/backend/cpu/cpu_path.h"
#include "core/train/run_dir.h"
#include "core/util/file_util.h"
#include "innereye/image_io.h"
#include "ie_version.h"
#include "innereye/threads.h"

void ie_utc_now(char *out, size_t size) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

ie_status ie_run_dir_create(const char *output_dir, const char *name, const char *prefix, char *out,
                            size_t out_size) {
    if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return ie_error_set(IE_ERR_CONFIG, "run.name '%s' must be a plain folder name (no '/')", name);
    IE_TRY(ie_make_dirs(output_dir));
    if (name[0]) {
        if ((size_t)snprintf(out, out_size, "%s/%s", output_dir, name) >= out_size)
            return ie_error_set(IE_ERR_IO, "run folder path too long");
        if (mkdir(out, 0755) != 0) {
            if (errno == EEXIST)
                return ie_error_set(IE_ERR_IO, "run folder %s already exists; runs are never overwritten: choose "
                                               "another run.name, or resume it with --resume %s",
                                    out, out);
            return ie_error_set(IE_ERR_IO, "%s: cannot create the run folder: %s", out, strerror(errno));
        }
        return IE_OK;
    }
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    for (int attempt = 1; attempt < 1000; attempt++) {
        int n = attempt == 1 ? snprintf(out, out_size, "%s/%s_%s", output_dir, prefix, stamp)
                             : snprintf(out, out_size, "%s/%s_%s_%d", output_dir, prefix, stamp, attempt);
        if (n < 0 || (size_t)n >= out_size) return ie_error_set(IE_ERR_IO, "run folder path too long");
        if (mkdir(out, 0755) == 0) return IE_OK;
        if (errno != EEXIST) return ie_error_set(IE_ERR_IO, "%s: cannot create the run folder: %s", out, strerror(errno));
    }
    return ie_error_set(IE_ERR_IO, "%s: could not find a free run folder name", output_dir);
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
    snprintf(path, sizeof path, "%s/run.json", run_dir);
    char *text = cJSON_Print(record);
    if (!text) return ie_error_set(IE_ERR_NOMEM, "run.json: out of memory");
    ie_status st = ie_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

ie_status ie_run_record_read(const char *run_dir, cJSON **out) {
    char path[4200], *text = NULL;
    snprintf(path, sizeof path, "%s/run.json", run_dir);
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
