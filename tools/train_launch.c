/* tools - `innereye train ... --processes P` (train_launch.h).
 *
 * mpirun starts P copies of this command without --processes; each finds
 * MPI's world (core/dist/comm.c), rank 0 sets up the run folder and writes
 * everything, every rank trains its share of each step.  The options:
 * --oversubscribe so P may exceed the cores (tests, a laptop), --bind-to none
 * so each rank's compute threads are not pinned to one core, and
 * --allow-run-as-root when root (containers, CI).  Each rank gets
 * max(1, cores / P) compute threads unless --threads is given: the results
 * do not depend on it (docs/engine.md), only the speed. */
#define _GNU_SOURCE
#include "tools/train_launch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse(const char *text) {
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || !*text || *end || v < 1 || v > 4096) {
        fprintf(stderr, "innereye train: --processes %s: give the number of processes, a whole number from 1 to "
                "4096\n", text ? text : "(missing)");
        return -1;
    }
    return (int)v;
}

int ie_train_processes_arg(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--processes")) return parse(i + 1 < argc ? argv[i + 1] : NULL);
        if (!strncmp(argv[i], "--processes=", 12)) return parse(argv[i] + 12);
    }
    return 0;
}

static bool has_threads(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--threads") || !strncmp(argv[i], "--threads=", 10) ||
            !strncmp(argv[i], "run.threads=", 12) || strstr(argv[i], "=run.threads=") ||
            (!strcmp(argv[i], "--set") && i + 1 < argc && !strncmp(argv[i + 1], "run.threads=", 12)))
            return true;
    return false;
}

int ie_train_launch(int argc, char **argv, int processes) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "innereye train: cannot find this program's own path (/proc/self/exe): %s\n", strerror(errno));
        return 1;
    }
    self[n] = '\0';
    char np[16], threads[32];
    snprintf(np, sizeof np, "%d", processes);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(threads, sizeof threads, "%ld", cores / processes > 1 ? cores / processes : 1);
    const char **args = calloc((size_t)argc + 16, sizeof *args);
    if (!args) {
        fprintf(stderr, "innereye train: out of memory\n");
        return 1;
    }
    int k = 0;
    args[k++] = "mpirun";
    args[k++] = "-np";
    args[k++] = np;
    args[k++] = "--oversubscribe";
    args[k++] = "--bind-to";
    args[k++] = "none";
    if (geteuid() == 0) args[k++] = "--allow-run-as-root";
    args[k++] = self;
    args[k++] = "train";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--processes")) {
            i++;
            continue;
        }
        if (!strncmp(argv[i], "--processes=", 12)) continue;
        args[k++] = argv[i];
    }
    if (!has_threads(argc, argv)) {
        args[k++] = "--threads";
        args[k++] = threads;
    }
    args[k] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execvp("mpirun", (char *const *)args);
        fprintf(stderr, "innereye train: --processes %d needs mpirun (Open MPI: apt-get install openmpi-bin): %s\n",
                processes, strerror(errno));
        _exit(127);
    }
    free(args);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        fprintf(stderr, "innereye train: cannot start mpirun: %s\n", strerror(errno));
        return 1;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (code != 0 && code != 127 && code != 2)
        fprintf(stderr, "innereye train: the %d processes stopped (mpirun exit code %d); the messages above name the "
                "rank that failed. The run resumes from its last checkpoint with any number of processes: "
                "innereye train --resume RUN_DIR [--processes N]\n", processes, code);
    return code;
}
