/* core/experiment - child training runs as separate `innereye` processes,
 * `parallel` at a time: a failing child never takes its siblings down, and a
 * child executes exactly what the same command run by hand executes. */
#ifndef IE_CORE_EXPERIMENT_CHILD_RUNS_H
#define IE_CORE_EXPERIMENT_CHILD_RUNS_H

#include "innereye/status.h"

typedef struct ie_child_run {
    char *const *argv; /* NULL-terminated; argv[0] is the program */
    const char *log;   /* stdout and stderr go here */
    const char *label; /* "fold 1", "trial 3" */
    int exit_code;     /* out: 0 ok; 128 + signal when killed; -1 not started */
} ie_child_run;

ie_status ie_child_runs(ie_child_run *runs, int count, int parallel);

/* The path of the running `innereye` executable. */
void ie_self_path(char *out, size_t size);

#endif
