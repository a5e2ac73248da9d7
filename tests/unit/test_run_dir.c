/* Run folders made only after every check passed (core/run/run_dir.h): a new
 * run is staged beside its folder and renamed into place; the rename never
 * replaces a folder that appeared meanwhile, a generated name takes the next
 * free suffix, staging folders of dead processes are cleared, and nothing is
 * ever made at the run path before the commit. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/run/run_dir.h"
#include "core/util/file_util.h"
#include "test_util.h"

static char root[] = "/tmp/ie_test_run_dir_XXXXXX";

static bool exists(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "%s: created", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static bool holds(const char *path, const char *text) {
    char *got = NULL;
    if (ie_read_file(path, &got, NULL) != IE_OK) return false;
    bool same = !strcmp(got, text);
    free(got);
    return same;
}

/* An explicit name: nothing at the run path until the commit. */
static void test_explicit_name(void) {
    char out[256], staging[4096], final[4096], path[8600];
    snprintf(out, sizeof out, "%s/outputs", root);
    CHECK_OK(ie_run_dir_stage(out, "mine", "HelloWorld", staging, sizeof staging));
    snprintf(path, sizeof path, "%s/outputs/mine", root);
    CHECK(!exists(path), "staging made nothing at the run path");
    CHECK(strstr(staging, "/outputs/.mine.staging.") != NULL, "the staging folder %s is a hidden sibling", staging);
    snprintf(path, sizeof path, "%s/dataset.csv", staging);
    put(path, "subject\n");
    CHECK_OK(ie_run_dir_commit(staging, out, "mine", "HelloWorld", final, sizeof final));
    snprintf(path, sizeof path, "%s/outputs/mine", root);
    CHECK(!strcmp(final, path), "the run folder is %s, got %s", path, final);
    snprintf(path, sizeof path, "%s/dataset.csv", final);
    CHECK(holds(path, "subject\n"), "the staged files are in the run folder");
    CHECK(!exists(staging), "the staging folder is gone");
    /* The name is taken now: a second run of it is refused before it stages. */
    CHECK_FAILS(ie_run_dir_stage(out, "mine", "HelloWorld", staging, sizeof staging), IE_ERR_IO, "already exists");
}

/* A folder made at the run path while the run checked its data is never
 * replaced; the staging folder stays for the caller to remove. */
static void test_folder_appears_meanwhile(void) {
    char out[256], staging[4096], final[4096], path[8600], other[4300];
    snprintf(out, sizeof out, "%s/outputs", root);
    CHECK_OK(ie_run_dir_stage(out, "race", "HelloWorld", staging, sizeof staging));
    snprintf(other, sizeof other, "%s/outputs/race", root);
    CHECK(mkdir(other, 0755) == 0, "another process makes %s", other);
    snprintf(path, sizeof path, "%s/theirs.txt", other);
    put(path, "theirs\n");
    snprintf(path, sizeof path, "%s/mine.txt", staging);
    put(path, "mine\n");
    CHECK_FAILS(ie_run_dir_commit(staging, out, "race", "HelloWorld", final, sizeof final), IE_ERR_IO,
                "already exists");
    snprintf(path, sizeof path, "%s/theirs.txt", other);
    CHECK(holds(path, "theirs\n"), "the other folder keeps its file");
    snprintf(path, sizeof path, "%s/mine.txt", other);
    CHECK(!exists(path), "and gets none of the run's");
    snprintf(path, sizeof path, "%s/mine.txt", staging);
    CHECK(holds(path, "mine\n"), "the staging folder is left to its run");
    ie_remove_tree(staging);
}

/* A generated name takes the next free suffix, never an existing folder. */
static void test_generated_name(void) {
    char out[256], staging[4096], first[4096], second[4096];
    snprintf(out, sizeof out, "%s/generated", root);
    CHECK_OK(ie_run_dir_stage(out, "", "Model", staging, sizeof staging));
    CHECK(strstr(staging, "/generated/.Model.staging.") != NULL, "staged as %s", staging);
    CHECK_OK(ie_run_dir_commit(staging, out, "", "Model", first, sizeof first));
    CHECK_OK(ie_run_dir_stage(out, "", "Model", staging, sizeof staging));
    CHECK_OK(ie_run_dir_commit(staging, out, "", "Model", second, sizeof second));
    CHECK(strcmp(first, second) != 0 && exists(first) && exists(second), "two runs, two folders: %s, %s", first,
          second);
    CHECK(strstr(first, "/generated/Model_20") != NULL, "named <prefix>_<time>: %s", first);
}

/* A pid that no process has now (a child that exited). */
static long dead_pid(void) {
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    return (long)child;
}

/* Staging folders of processes killed during their checks are removed by
 * the next run; a live process's is left alone. */
static void test_abandoned_staging(void) {
    char out[256], dead[4200], live[4200], staging[4096], path[8600];
    snprintf(out, sizeof out, "%s/abandoned", root);
    CHECK_OK(ie_make_dirs(out));
    snprintf(dead, sizeof dead, "%s/.old.staging.%ld", out, dead_pid());
    snprintf(live, sizeof live, "%s/.busy.staging.%ld", out, (long)getppid());
    CHECK(mkdir(dead, 0755) == 0 && mkdir(live, 0755) == 0, "two staging folders");
    snprintf(path, sizeof path, "%s/split.csv", dead);
    put(path, "subject,split\n");
    snprintf(path, sizeof path, "%s/notes.txt", out);
    put(path, "a file of the user's\n");
    CHECK_OK(ie_run_dir_stage(out, "next", "Model", staging, sizeof staging));
    CHECK(exists(dead), "a staging folder changed in the last minute is left alone (another machine's, maybe)");
    ie_remove_tree(staging);
    struct timeval old[2] = {{.tv_sec = time(NULL) - 120}, {.tv_sec = time(NULL) - 120}};
    CHECK(utimes(dead, old) == 0 && utimes(live, old) == 0, "both staging folders made two minutes old");
    CHECK_OK(ie_run_dir_stage(out, "next", "Model", staging, sizeof staging));
    CHECK(!exists(dead), "the dead process's staging folder is removed");
    CHECK(exists(live), "the live process's is kept");
    CHECK(holds(path, "a file of the user's\n"), "other files are left alone");
    ie_remove_tree(staging);
}

static void test_problems_path(void) {
    char path[256];
    ie_run_dir_problems_path("outputs", "mine", "HelloWorld", path, sizeof path);
    CHECK(!strcmp(path, "outputs/mine.data_problems.txt"), "named by run.name: %s", path);
    ie_run_dir_problems_path("outputs", "", "HelloWorld", path, sizeof path);
    CHECK(!strcmp(path, "outputs/HelloWorld.data_problems.txt"), "else by the model: %s", path);
}

int main(void) {
    CHECK(mkdtemp(root) != NULL, "temporary folder");
    test_explicit_name();
    test_folder_appears_meanwhile();
    test_generated_name();
    test_abandoned_staging();
    test_problems_path();
    ie_remove_tree(root);
    return test_summary();
}
