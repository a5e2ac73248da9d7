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
#include "core/tracking/mlflow_rest.h"
#include "core/util/progress.h"

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
     * run the environment names (core/tracking/mlflow_rest.h), not all in it. */
    bool nested_before = getenv(IE_MLFLOW_NESTED_ENV) != NULL;
    setenv(IE_MLFLOW_NESTED_ENV, "1", 1);
    /* Folds or trials finished, with an ETA (one line each when not on a
     * terminal: they are long). */
    bool folds = count > 0 && runs[0].label && !strncmp(runs[0].label, "fold", 4),
         trials = count > 0 && runs[0].label && !strncmp(runs[0].label, "trial", 5);
    ie_progress bar;
    ie_progress_begin(&bar, folds ? "cross-validation" : trials ? "sweep" : "child runs",
                      folds ? "folds" : trials ? "trials" : "runs", count > 1 ? count : 0, 0); /* one: its own lines say it */
    /* A child's output is a log file: its progress as plain lines there,
     * never a terminal's escapes, even when IE_PROGRESS=tty forced ours. */
    const char *forced = getenv("IE_PROGRESS");
    bool forced_tty = forced && !strcmp(forced, "tty");
    if (forced_tty) setenv("IE_PROGRESS", "plain", 1);
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
            ie_progress_clear(&bar);
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
            ie_progress_clear(&bar);
            printf("%s %s\n", runs[i].label, runs[i].exit_code == 0 ? "finished" : "FAILED (see its log)");
            fflush(stdout);
            ie_progress_tick(&bar);
        }
    }
    ie_progress_end(&bar);
    if (forced_tty) setenv("IE_PROGRESS", "tty", 1);
    if (!nested_before) unsetenv(IE_MLFLOW_NESTED_ENV);
    return st;
}
