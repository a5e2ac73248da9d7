/* core/submit - `innereye submit azureml --resubmit RUN --task I`: one task
 * of a submission again, alone, as a command job that runs exactly what the
 * sweep trial (or the fold's or run's command job) ran: the same command with
 * the fold index, or a sweep trial's values as AzureML drew them, the same
 * code snapshot, environment, config and data inputs, and a `run` output.
 * It is recorded in submission.json ("resubmissions"), so status and collect
 * take it as the task's job from then on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/file_util.h"
#include "core/submit/cmdline.h"
#include "core/submit/azureml.h"
#include "core/submit/azureml_az.h"
#include "core/submit/azureml_jobs.h"
#include "core/run/run_dir.h"

/* Whether the task may run again: only a failed (or never run) one. */
static ie_status check_state(const ie_azureml_view *v, const ie_azureml_task *t, int task, const char *flags) {
    switch (t->state) {
    case IE_AZ_FINISHED:
        return ie_error_set(IE_ERR_STATE, "task %d finished (job %s); nothing to resubmit (innereye collect %s "
                                          "downloads it)", task, t->job, v->run_dir);
    case IE_AZ_ACTIVE:
        if (!t->job[0])
            return ie_error_set(IE_ERR_STATE, "the sweep job %s has not started task %d yet; wait for it, or cancel the "
                                              "sweep first (az ml job cancel --name %s%s)",
                                v->parent_job, task, v->parent_job, flags);
        return ie_error_set(IE_ERR_STATE, "task %d is %s (job %s): cancel it first (az ml job cancel --name %s%s)",
                            task, t->status, t->job, t->job, flags);
    default: return IE_OK;
    }
}

ie_status ie_azureml_resubmit(const char *submit_dir, int task, bool dry_run, FILE *out) {
    ie_azureml_view v;
    ie_status st = ie_azureml_view_load(submit_dir, true, &v);
    char flags[1024] = "", name[300] = "";
    if (st == IE_OK) ie_az_flags(v.record, flags, sizeof flags);
    if (st == IE_OK && !dry_run && !v.asked)
        st = ie_error_set(IE_ERR_IO, "cannot ask AzureML about %s's jobs: %s", v.run_dir, v.why);
    if (st == IE_OK && (task < 0 || task >= v.n_tasks))
        st = ie_error_set(IE_ERR_INVALID_ARG, "%s has tasks 0 to %d; there is no task %d", v.run_dir, v.n_tasks - 1,
                          task);
    ie_azureml_task *t = st == IE_OK ? &v.tasks[task] : NULL;
    if (st == IE_OK) st = check_state(&v, t, task, flags);
    /* A sweep trial runs again with the values AzureML drew for it. */
    const cJSON *keys = st == IE_OK ? cJSON_GetObjectItem(v.record, "sweep_keys") : NULL, *key;
    static char texts[IE_SWEEP_MAX_KEYS][1024];
    const char *values[IE_SWEEP_MAX_KEYS] = {0};
    bool sweep = st == IE_OK && !strcmp(v.kind, "sweep");
    int n = 0;
    const cJSON *swept = sweep ? keys : NULL;
    cJSON_ArrayForEach(key, swept) {
        if (n == IE_SWEEP_MAX_KEYS) break;
        if (!ie_azureml_param_text(t->params, cJSON_GetStringValue(key), texts[n], sizeof texts[n])) {
            st = ie_error_set(IE_ERR_STATE, "trial %d: AzureML has no record of the value of %s it drew (%s); a "
                                            "sweep's trial runs again only with its own values",
                              task, cJSON_GetStringValue(key), t->job[0] ? "no hyperparameters tag" : "never run");
            break;
        }
        values[n] = texts[n];
        n++;
    }
    char *yaml = NULL, file[400], path[4700];
    if (st == IE_OK) {
        ie_azureml_task_name(&v, task, name, sizeof name);
        st = ie_azureml_task_job(v.record, task, sweep ? values : NULL, &yaml);
    }
    if (st == IE_OK) {
        snprintf(file, sizeof file, "resubmit_%s.yml", !strcmp(v.kind, "single") ? "run" : name);
        snprintf(path, sizeof path, "%s/%s", v.submit_dir, file);
        st = ie_write_file_atomic(path, yaml, strlen(yaml));
    }
    free(yaml);
    if (st != IE_OK) {
        ie_azureml_view_free(&v);
        return st;
    }
    fprintf(out, "task %d (%s): %s%s%s; resubmitting it alone as a command job\n", task, name,
            t->status[0] ? t->status : "state not asked (--dry-run)", t->job[0] ? ", job " : "", t->job);
    fprintf(out, "azureml: wrote %s\n", path);
    if (dry_run) {
        char quoted[8400];
        ie_shell_quote(path, quoted, sizeof quoted);
        fprintf(out, "not submitted (--dry-run). To submit, run:\n  az ml job create --file %s%s\n", quoted, flags);
        ie_azureml_view_free(&v);
        return IE_OK;
    }
    const char *create[] = {"ml", "job", "create", "--file", path, "--query", "name", "--output", "tsv", NULL};
    char *created = NULL;
    st = ie_az_run(v.record, create, &created);
    if (st == IE_OK) {
        created[strcspn(created, "\r\n")] = '\0';
        if (!created[0]) st = ie_error_set(IE_ERR_IO, "az ml job create --file %s answered no job name", path);
    }
    if (st == IE_OK) {
        fprintf(out, "azureml: created job %s\n", created);
        cJSON *list = cJSON_GetObjectItem(v.record, "resubmissions");
        if (!list) list = cJSON_AddArrayToObject(v.record, "resubmissions");
        cJSON *entry = cJSON_CreateObject();
        char now[32];
        ie_utc_now(now, sizeof now);
        cJSON_AddNumberToObject(entry, "task", task);
        cJSON_AddStringToObject(entry, "name", created);
        cJSON_AddStringToObject(entry, "file", path);
        cJSON_AddStringToObject(entry, "time", now);
        if (t->job[0]) cJSON_AddStringToObject(entry, "replaces", t->job);
        if (sweep && t->params) cJSON_AddItemToObject(entry, "params", cJSON_Duplicate(t->params, 1));
        cJSON_AddItemToArray(list, entry);
        st = ie_azureml_record_save(&v);
    }
    free(created);
    ie_azureml_view_free(&v);
    return st;
}
