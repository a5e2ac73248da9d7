/* core/submit - the tasks of an AzureML submission and the jobs that run
 * them, from submission.json and az.
 *
 * A task is a fold of a cross-validation, a trial of a sweep, or the one run.
 * Its job is, in order of preference: the newest resubmission of that task
 * (submission.json "resubmissions", a command job tagged innereye_task), the
 * command job created for it (job.yml, fold_<i>.yml), or the child of the
 * sweep job (cv.yml, sweep.yml) that ran it.  A sweep's children are listed
 * with `az ml job list --parent-job-name`; AzureML names them <sweep>_<n>
 * and tags each with `hyperparameters`, the JSON of the values it drew
 * ({"fold": 2}): a cross-validation's child runs the fold in that tag, a
 * sweep's child is trial <n>. */
#ifndef IE_CORE_SUBMIT_AZUREML_JOBS_H
#define IE_CORE_SUBMIT_AZUREML_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "innereye/status.h"

typedef enum ie_az_state {
    IE_AZ_UNKNOWN,  /* az not asked or not answering */
    IE_AZ_ACTIVE,   /* queued, preparing, running, finalizing, or not created yet */
    IE_AZ_FINISHED, /* Completed */
    IE_AZ_FAILED    /* Failed, Canceled, NotResponding, or never run by a finished sweep */
} ie_az_state;

typedef struct ie_azureml_task {
    int index;           /* fold or trial; -1: not known (a child without the tag) */
    char job[256];       /* "" when no job has been created for it */
    char status[64];     /* AzureML's word ("Completed"), "NotCreated", or "" (not asked) */
    ie_az_state state;
    char studio[1024];   /* the job's page in AzureML studio, when az gave it */
    cJSON *params;       /* sweep children: the values AzureML drew (object), or NULL */
    bool resubmitted;
} ie_azureml_task;

typedef struct ie_azureml_view {
    cJSON *record;              /* submission.json */
    char submit_dir[4200];
    char run_dir[4400];         /* the parent folder (folds, trials) or the run folder */
    char run_name[256];
    char kind[16];              /* "cv", "sweep", "single" */
    bool sweep_job;             /* the tasks are children of one sweep job */
    char parent_job[256], parent_status[64], parent_studio[1024];
    int n_tasks;
    ie_azureml_task *tasks;     /* n_tasks */
    ie_azureml_task *strays;    /* children whose task is unknown or taken twice */
    int n_strays;
    bool asked;                 /* az answered */
    char why[512];              /* else why not */
} ie_azureml_view;

/* Reads the submission in submit_dir and, when ask is true and az answers,
 * each job's state.  A failing az call is reported in why, not as an error;
 * errors are a missing or malformed submission.json. */
ie_status ie_azureml_view_load(const char *submit_dir, bool ask, ie_azureml_view *v);
void ie_azureml_view_free(ie_azureml_view *v);

/* "fold_3", "trial_2", or the run's name. */
void ie_azureml_task_name(const ie_azureml_view *v, int task, char *out, size_t size);

ie_az_state ie_azureml_state(const char *status);

/* A sweep trial's value of config key `key` among the values AzureML drew
 * (its search-space name: the key with '.' -> '_'), as text: numbers in the
 * shortest form that reads back the same.  False when it is not there. */
bool ie_azureml_param_text(const cJSON *params, const char *key, char *out, size_t size);

/* Writes v->record back to submission.json (atomically). */
ie_status ie_azureml_record_save(const ie_azureml_view *v);

/* The command job (YAML text, malloc'ed) that runs task `task` of the
 * submission alone: the sweep trial's or the fold's very command, code,
 * environment, inputs and outputs.  values: a sweep trial's value of each
 * swept key (sweep_keys order), else NULL.  In azureml.c. */
ie_status ie_azureml_task_job(const cJSON *record, int task, const char *const values[], char **yaml);

#endif
