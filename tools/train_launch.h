/* tools - `innereye train ... --processes P`: the same command as P MPI
 * processes (docs/distributed.md). */
#ifndef IE_TOOLS_TRAIN_LAUNCH_H
#define IE_TOOLS_TRAIN_LAUNCH_H

/* The value of --processes in argv, 0 when absent, -1 (after a message) when
 * it is not a whole number >= 1. */
int ie_train_processes_arg(int argc, char **argv);
/* Runs `mpirun -np P ... innereye train ARGS` (ARGS: argv without
 * --processes) and returns its exit code. */
int ie_train_launch(int argc, char **argv, int processes);

#endif
