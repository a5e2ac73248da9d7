/* core/submit - AzureML: CLI v2 job specifications (YAML) and `az ml job
 * create`.
 *
 * Files in the submission folder (<run>/azureml/, or <run>.azureml/ for one
 * run):
 *   code/           a snapshot of the repository at HEAD (git archive: no
 *                   build outputs, nothing ignored), with SOURCE_COMMIT;
 *                   uploaded as the job's code and used as the Docker build
 *                   context of its environment (docker/Dockerfile, or
 *                   docker/Dockerfile.cuda for GPU clusters)
 *   job.yml         one run: a command job
 *   cv.yml          cross-validation: a sweep job over the fold index (grid,
 *                   at most --parallel folds at once); or, with
 *                   jobs_per_fold, fold_<i>.yml command jobs
 *   sweep.yml       hyperparameter sweep: a sweep job (search space,
 *                   objective, limits, median stopping policy)
 *   commands.sh     the exact az commands (run here when az and its ml
 *                   extension are available)
 *   submission.json what was written and, once submitted, the job names;
 *                   resubmissions
 *   resubmit_<task>.yml  a task resubmitted alone (command job)
 *   collected.json  which job each collected fold_<i>/ trial_<k> came from
 * Every job reads the run's config.resolved.json as an input (uri_file), the
 * data as a read-only mounted uri_folder input, and writes the run folder to
 * its `run` output: it runs from inside it (cd ${{outputs.run}}) with
 * --output-dir ., so the output holds <run>/fold_<i>/ (trial/, <run>/) with
 * relative paths, exactly as a local run writes outputs/<run>/fold_<i>/. */
#ifndef IE_CORE_SUBMIT_AZUREML_H
#define IE_CORE_SUBMIT_AZUREML_H

#include <stdbool.h>
#include <stdio.h>

#include "core/submit/job_spec.h"

typedef struct ie_azureml_opts {
    const char *compute;        /* required: the compute cluster's name */
    const char *data_asset;     /* "azureml:NAME@latest" or "azureml:NAME:VERSION" */
    const char *data_path;      /* a local folder, uploaded at submission */
    const char *experiment;     /* NULL: "innereye" */
    const char *repo;           /* the repository to snapshot */
    bool cuda;                  /* docker/Dockerfile.cuda */
    bool jobs_per_fold;         /* CV: one command job per fold */
    const char *resource_group; /* passed to az when given */
    const char *workspace;
    bool dry_run;               /* write everything, never call az */
    /* Data-parallel command jobs (docs/distributed.md): `distribution: type:
     * mpi` with this many processes per node on instance_count nodes; 0: 1. */
    int instance_count, processes_per_instance;
} ie_azureml_opts;

/* Writes the job specifications (and the code snapshot), then creates the
 * jobs with az when `az extension show --name ml` succeeds, else prints the
 * commands.  cfg: the submission's resolved config (its data.* keys are
 * mapped onto the data input). */
ie_status ie_azureml_submit(const ie_job *job, const ie_config *cfg, const ie_azureml_opts *opts, FILE *out);

/* The checks of ie_azureml_submit, run before anything is written (job from
 * ie_job_plan): the options, the data input, the sweep's search space, and
 * a code snapshot that can be made (a git checkout whose HEAD has the
 * Dockerfile).  For the first task's checks (ie_job_check_first_task),
 * `sets` gets the assignments that point the config at the job's data as it
 * is on this machine (the folder uploaded, or --data-path); *data_here is
 * false when the data is a registered asset (--data), not here to check. */
#define IE_AZUREML_MAX_SETS 8
#define IE_AZUREML_SET_SIZE 4400
ie_status ie_azureml_check(const ie_job *job, const ie_config *cfg, const ie_azureml_opts *opts,
                           char sets[IE_AZUREML_MAX_SETS][IE_AZUREML_SET_SIZE], int *n_sets, bool *data_here);

/* Every task's job and state (az ml job show / list --parent-job-name), its
 * studio page, whether it is collected here, and for failed ones how to read
 * the log and resubmit.  *failed: how many failed.  (azureml_status.c) */
ie_status ie_azureml_status(const char *submit_dir, FILE *out, int *failed);

/* Downloads every finished task's `run` output into the run folder, in the
 * local layout (fold_<i>/, trial_<k>/ or the run folder), never over a
 * folder with other content; writes cv_status.csv (folds) or trials.csv with
 * AzureML's values (trials).  The aggregation is the caller's (innereye
 * collect runs cv-aggregate or sweep-aggregate).  (azureml_collect.c) */
typedef struct ie_azureml_collected {
    char kind[16];      /* "cv", "sweep", "single" */
    char run_dir[4400];
    int tasks;          /* folds, trials, or 1 */
    int collected;      /* in place from a finished job */
    int placed;         /* of those, placed by this call */
    int failed, pending, refused;
} ie_azureml_collected;
ie_status ie_azureml_collect(const char *submit_dir, FILE *out, ie_azureml_collected *result);

/* Whether the first collected fold's data (run.json data.dataset_csv, read
 * relative to the current folder) is not readable here, e.g. the job's data
 * input mount; then `where` is that path.  The folds' ensemble needs it. */
bool ie_azureml_data_elsewhere(const char *run_dir, int folds, char *where, size_t size);

/* Creates one command job that runs task `task` (a failed fold or trial)
 * exactly as before, and records it as that task's job.  dry_run: write
 * resubmit_<task>.yml, print the az command.  (azureml_resubmit.c) */
ie_status ie_azureml_resubmit(const char *submit_dir, int task, bool dry_run, FILE *out);

#endif
