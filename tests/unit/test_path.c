/* core/util/path.h: a path that fits is made exactly as snprintf would make
 * it; one that does not fit is an error naming the path and the limit, and
 * leaves "" behind, never a name cut short. */
#include <stdlib.h>

#include "core/util/path.h"
#include "test_util.h"

static void check_fits(void) {
    char out[16];
    CHECK_OK(ie_path_join(out, sizeof out, "runs/a", "x.csv"));
    CHECK(strcmp(out, "runs/a/x.csv") == 0, "join: got '%s'", out);
    /* A dir ending in '/' keeps it: names recorded in run folders must not change. */
    CHECK_OK(ie_path_join(out, sizeof out, "runs/", "x"));
    CHECK(strcmp(out, "runs//x") == 0, "join keeps the slash: got '%s'", out);
    CHECK_OK(ie_path_format(out, sizeof out, "%s/epoch_%04d", "ck", 7));
    CHECK(strcmp(out, "ck/epoch_0007") == 0, "format: got '%s'", out);
    /* Exactly cap - 1 bytes fit. */
    CHECK_OK(ie_path_join(out, sizeof out, "0123456789", "abcd"));
    CHECK(strlen(out) == 15, "15 bytes fit 16: got %zu", strlen(out));
}

static void check_too_long(void) {
    char out[16];
    ie_error_clear();
    ie_status st = ie_path_join(out, sizeof out, "0123456789", "abcde"); /* 16 bytes: one too many */
    CHECK(st == IE_ERR_IO, "16 bytes in 16: got %s", ie_status_name(st));
    CHECK(out[0] == '\0', "a path that does not fit leaves \"\", got '%s'", out);
    const char *m = ie_error_message();
    CHECK(strstr(m, "'0123456789/abcde'") != NULL, "the message names the whole short path: %s", m);
    CHECK(strstr(m, "16 bytes long") && strstr(m, "15 bytes allowed"), "the message gives length and limit: %s", m);
    CHECK(strstr(m, "shorter folder or file names") != NULL, "the message says what to do: %s", m);

    /* A long path is quoted by its start and its end, within the message's room. */
    size_t n = 5000;
    char *dir = malloc(n + 1);
    memset(dir, 'd', n);
    memcpy(dir, "/data/start", 11);
    dir[n] = '\0';
    char buf[4096];
    st = ie_path_format(buf, sizeof buf, "%s/subject_%d.nii.gz", dir, 42);
    CHECK(st == IE_ERR_IO, "5000-byte path: got %s", ie_status_name(st));
    CHECK(buf[0] == '\0', "nothing of the long path is left behind");
    m = ie_error_message();
    CHECK(strstr(m, "'/data/start") != NULL, "the start of the path is quoted: %.200s", m);
    CHECK(strstr(m, "subject_42.nii.gz'") != NULL, "the end of the path is quoted: %.200s", m);
    CHECK(strstr(m, "5018 bytes long") && strstr(m, "4095 bytes allowed"), "length and limit: %.400s", m);
    free(dir);
}

static void check_growable(void) {
    size_t n = 9000;
    char *dir = malloc(n + 1);
    memset(dir, 'x', n);
    dir[n] = '\0';
    char *p = ie_path_new("%s/%s", dir, "run.json");
    CHECK(p && strlen(p) == n + 9 && strcmp(p + n, "/run.json") == 0, "ie_path_new makes any length");
    free(p);
    free(dir);
}

int main(void) {
    check_fits();
    check_too_long();
    check_growable();
    return test_summary();
}
