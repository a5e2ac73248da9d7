/* core/submit - what a cluster job runs, shared by the back ends (Slurm,
 * AzureML).
 *
 * A submission is a list of tasks: the folds of a cross-validation, the
 * trials of a sweep, or one training run.  Each task runs the very
 * `innereye train` command a local fold or trial runs (see
 * core/experiment/cross_validation.c and sweep.c), into the same run layout:
 * <output.dir>/<run>/fold_<i>/ or trial_<k>/, or <output.dir>/<run>/ for one
 * run.  The parent folder and its config.resolved.json (and trials.csv for a
 * sweep) are made at submission, exactly as a local run makes them.  The
 * engine's own files go to <parent>/<engine>/ (folds, trials) or, for one
 * run, beside it in <output.dir>/<run>.<engine>/ (the run folder itself is
 * created by the job, never before).
 *
 * Every check comes before anything is written, as for a local run
 * (core/experiment/child_check.h): ie_job_plan checks the submission and
 * writes nothing, ie_job_check_first_task runs the first task's own checks
 * (config, data, split, model, starting weights), the engine checks its
 * options, and only then ie_job_create makes the folders.  A submission
 * that fails a check leaves nothing at the job's path (the data check's
 * list of problems goes to OUTPUT_DIR/<name>.data_problems.txt, as for a
 * local run). */
#ifndef IE_CORE_SUBMIT_JOB_SPEC_H
#define IE_CORE_SUBMIT_JOB_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/experiment/sweep.h"
#include "core/submit/cmdline.h"
#include "core/train/task_interface.h"
#include "innereye/config.h"

typedef enum ie_job_kind { IE_JOB_SINGLE, IE_JOB_CV, IE_JOB_SWEEP } ie_job_kind;

typedef struct ie_job {
    ie_job_kind kind;
    int tasks;              /* folds, trials, or 1 */
    char name[256];         /* the run's folder name */
    char output_dir[4096];  /* absolute output.dir */
    char parent[4400];      /* absolute <output_dir>/<name> */
    char submit_dir[4500];  /* the engine's files */
    char config[4600];      /* absolute path of the config every task starts from */
    ie_sweep_spec sweep;    /* IE_JOB_SWEEP */
    uint64_t seed;
    char metric[128];       /* ranking metric (train.median_stop.metric) */
    bool maximize;
    int min_epochs;         /* train.median_stop.min_epochs */
    int parallel;           /* at most this many tasks at once; 0: no limit */
    char engine[16];        /* "slurm", "azureml": the engine's folder */
    char made[4500];        /* the folder ie_job_create made ("" none): removed by ie_job_discard */
} ie_job;

/* Plans a submission from a resolved config and checks it, writing nothing:
 * the kind (cv.splits >= 2 -> folds; sweep != NULL -> trials), the tasks,
 * and that an explicit run.name is free (for one run, <name>.<engine> too).
 * `engine` names the engine's folder ("slurm", "azureml"). */
ie_status ie_job_plan(ie_config *cfg, const ie_sweep_spec *sweep, int parallel, const char *engine, ie_job *job);

/* The checks of the job's first task (fold 0, trial 0 or the run), in this
 * process, exactly as a local cross-validation, sweep or run makes them
 * before its folder exists (ie_child_check), with the model on the CPU
 * whatever train.device says (the job's device is the cluster's) and the
 * `extra` assignments ("KEY=VALUE") last: where the job's data is on this
 * machine.  Makes nothing that stays but a failed data check's list of
 * problems, OUTPUT_DIR/<name or prefix>.data_problems.txt. */
ie_status ie_job_check_first_task(const ie_config *cfg, const ie_job *job, const ie_task_table *tasks,
                                  const char *const *extra, int n_extra);

/* Makes the planned job's folders: the parent folder with its
 * config.resolved.json (and trials.csv), and submit_dir; fills in the
 * names and absolute paths (a generated name is chosen here).  On failure
 * what it made is removed again. */
ie_status ie_job_create(ie_config *cfg, ie_job *job);

/* Removes the folder ie_job_create made (the parent, or <run>.<engine>),
 * for a submission that failed before anything was submitted. */
void ie_job_discard(ie_job *job);

/* ie_job_plan, then ie_job_create. */
ie_status ie_job_prepare(ie_config *cfg, const ie_sweep_spec *sweep, int parallel, const char *engine, ie_job *job);

/* "fold_3", "trial_2", or the run's name. */
void ie_job_task_name(const ie_job *job, int task, char *out, size_t size);

/* The words of a task's command that differ between engines.  Raw tokens are
 * written unquoted (the engine or the job script expands them). */
typedef struct ie_task_tokens {
    const char *program;      /* the innereye to run, as a shell word (raw) */
    const char *config;       /* NULL: job->config */
    bool config_raw;
    const char *output_dir;   /* NULL: job->output_dir (folds, one run) or job->parent (trials) */
    bool output_dir_raw;
    const char *fold;         /* folds: raw token of the fold index */
    const char *trial_name;   /* trials: raw token of the trial's run.name */
    bool median_siblings;     /* trials: the local median stopping rule over the parent's trials */
    const char *values[IE_SWEEP_MAX_KEYS]; /* trials: raw token of each swept key's value */
    int threads;              /* > 0: --threads N */
    const char *const *sets;  /* more --set KEY=VALUE words (quoted) */
    int n_sets;
} ie_task_tokens;

/* `<program> train ...` for a task, as the local run would start it. */
ie_status ie_job_train_command(const ie_job *job, const ie_task_tokens *t, ie_cmdline *cl);

/* Writes text to <job->submit_dir>/<file> atomically, with `mode` (e.g.
 * 0755 for scripts); the full path goes to path_out when not NULL. */
ie_status ie_job_write_file(const ie_job *job, const char *file, const char *text, int mode, char *path_out,
                            size_t size);

#endif
