/* tests/fuzz - helpers shared by the libFuzzer harnesses.
 *
 * Each harness defines LLVMFuzzerTestOneInput.  Built with
 * -fsanitize=fuzzer it is a fuzzer (make fuzz); linked with replay.c it is a
 * plain program that feeds it the seed corpus and the crashers kept in
 * tests/fuzz/regressions/ (a ctest test of `make test`).
 *
 * Besides "no crash, no leak, no undefined behaviour", the harnesses check
 * the team's rule for bad input: a refusal comes with a message, and where
 * the API promises it, the message names the file.  A broken rule aborts, so
 * the fuzzer reports it like a crash. */
#ifndef IE_TESTS_FUZZ_UTIL_H
#define IE_TESTS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "innereye/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One scratch folder per process for harnesses whose API takes paths; the
 * same files are overwritten by every input.  Removed at exit. */
static char fuzz_dir_path[64];

static void fuzz_dir_remove(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_path);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_path);
}

static inline const char *fuzz_dir(void) {
    if (!fuzz_dir_path[0]) {
        /* Memory (/dev/shm) when there is one: a file rewritten a million
         * times must not reach the disk. */
        const char *tmp = getenv("TMPDIR");
        if (!tmp || strlen(tmp) >= 40) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/ie_fuzz_XXXXXX", tmp);
        if (!mkdtemp(fuzz_dir_path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* Writes data to <fuzz_dir>/<name> into `path` (room for 256 bytes). */
static inline void fuzz_write(const char *name, const uint8_t *data, size_t size, char path[256]) {
    snprintf(path, 256, "%s/%s", fuzz_dir(), name);
    unlink(path); /* a new file: rewriting one in place makes ext4 flush it on close */
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* NUL-terminated copy of the input (free it). */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A refusal must say why, and (need != NULL) name `need`. */
static inline void fuzz_check_message(ie_status st, const char *need) {
    if (st == IE_OK) return;
    const char *msg = ie_error_message();
    if (!msg || !msg[0]) {
        fprintf(stderr, "fuzz: status %s without a message\n", ie_status_name(st));
        abort();
    }
    if (need && !strstr(msg, need)) {
        fprintf(stderr, "fuzz: the message does not name '%s': %s\n", need, msg);
        abort();
    }
}

#endif
