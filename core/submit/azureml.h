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
 *   submission.json what was written and, once submitted, the job names
 * Every job reads the run's config.resolved.json as an input (uri_file), the
 * data as a read-only mounted uri_folder input, and writes the run folder to
 * its `run` output (--output-dir ${{outputs.run}}). */
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
} ie_azureml_opts;

/* Writes the job specifications (and the code snapshot), then creates the
 * jobs with az when `az extension show --name ml` succeeds, else prints the
 * commands.  cfg: the submission's resolved config (its data.* keys are
 * mapped onto the data input). */
ie_status ie_azureml_submit(const ie_job *job, const ie_config *cfg, const ie_azureml_opts *opts, FILE *out);

/* Each job's status from `az ml job show`, when az is available. */
ie_status ie_azureml_status(const char *submit_dir, FILE *out, int *failed);

/* Inside an AzureML job (AZUREML_RUN_ID is set): the run's id, else NULL. */
const char *ie_azureml_run_id(void);

#endif
