/* core/submit - Slurm: an array job with one task per fold or trial, and an
 * aggregation job that waits for the whole array (afterok).
 *
 * Files in the submission folder (<run>/slurm/, or <run>.slurm/ for one run):
 *   tasks.sbatch      the array job; task i runs fold_<i> / trial_<i>: it
 *                     skips a task already finished, resumes one that has a
 *                     checkpoint, else moves a broken attempt aside
 *                     (<task>.attempt_<time>, never deleted) and trains;
 *                     it records "<job id> <exit code>" in task_<i>.exit
 *   aggregate.sbatch  cv-aggregate (then `innereye ensemble` when this build
 *                     has it), or sweep-aggregate for a sweep
 *   submission.json   job ids, task names and every (re)submission
 * Task output goes to <run>/fold_<i>.log / trial_<i>.log (appended), as in
 * a local run; the aggregation's to <run>/aggregate.log. */
#ifndef IE_CORE_SUBMIT_SLURM_H
#define IE_CORE_SUBMIT_SLURM_H

#include <stdbool.h>
#include <stdio.h>

#include "core/submit/job_spec.h"

typedef struct ie_slurm_opts {
    const char *partition;  /* NULL: the cluster's default */
    int gpus_per_task;      /* 0: none requested */
    int cpus_per_task;      /* also each task's --threads; 0: 1 */
    const char *time;       /* --time, e.g. 04:00:00; NULL: the partition's default */
    const char *mem;        /* --mem, e.g. 16G; NULL: the default */
    /* Data-parallel training (docs/distributed.md): each run is one Slurm job
     * step of nodes * tasks_per_node MPI processes (srun --mpi=pmix); 0: 1. */
    int nodes, tasks_per_node;
    const char *innereye;   /* absolute path of the innereye the tasks run (shared filesystem) */
    const char *workdir;    /* the tasks' working folder (relative paths in the config) */
    bool dry_run;           /* write the scripts, do not call sbatch */
} ie_slurm_opts;

/* Writes the scripts and submits them (unless dry_run); prints what it did. */
ie_status ie_slurm_submit(const ie_job *job, const ie_slurm_opts *opts, FILE *out);

/* Submits task `task` of an earlier submission again (same script), and a new
 * aggregation job after it. */
ie_status ie_slurm_resubmit(const char *submit_dir, int task, FILE *out);

/* Prints each task's state (squeue/sacct when they answer, the task's exit
 * record, its run.json status) and, for failed tasks, the log and the
 * command that resubmits it.  *failed: how many tasks failed. */
ie_status ie_slurm_status(const char *submit_dir, FILE *out, int *failed);

#endif
