/* core/experiment - child processes for folds and trials. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/experiment/child_runs.h"
#include "core/submit/mlflow_rest.h"

extern char **environ;

void ie_self_path(char *out, size_t size) {
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    out[n > 0 ? n : 0] = '\0';
}

ie_status ie_child_runs(ie_child_run *runs, int count, int parallel) {
    pid_t pids[1024];
    if (count > 1024) return ie_error_set(IE_ERR_INVALID_ARG, "at most 1024 child runs, got %d", count);
    if (parallel < 1) parallel = 1;
    for (int i = 0; i < count; i++) runs[i].exit_code = -1, pids[i] = 0;
    int next = 0, running = 0, finished = 0;
    /* Folds and trials are runs of their own in MLflow, nested under the
     * run the environment names (core/submit/mlflow_rest.h), not all in it. */
    bool nested_before = getenv(IE_MLFLOW_NESTED_ENV) != NULL;
    setenv(IE_MLFLOW_NESTED_ENV, "1", 1);
    ie_status st = IE_OK;
    while (finished < count) {
        while (st == IE_OK && running < parallel && next < count) {
            posix_spawn_file_actions_t actions;
            posix_spawn_file_actions_init(&actions);
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, runs[next].log, O_WRONLY | O_CREAT | O_TRUNC,
                                             0644);
            posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
            int rc = posix_spawn(&pids[next], runs[next].argv[0], &actions, NULL, runs[next].argv, environ);
            posix_spawn_file_actions_destroy(&actions);
            if (rc != 0) {
                st = ie_error_set(IE_ERR_IO, "cannot start %s (%s): %s", runs[next].label, runs[next].argv[0],
                                  strerror(rc));
                break;
            }
            printf("%s started (log: %s)\n", runs[next].label, runs[next].log);
            fflush(stdout);
            next++;
            running++;
        }
        if (running == 0) break;
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < next; i++) {
            if (pids[i] != pid) continue;
            runs[i].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            running--;
            finished++;
            printf("%s %s\n", runs[i].label, runs[i].exit_code == 0 ? "finished" : "FAILED (see its log)");
            fflush(stdout);
        }
    }
    if (!nested_before) unsetenv(IE_MLFLOW_NESTED_ENV);
    return st;
}
