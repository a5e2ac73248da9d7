/* core/submit - an AzureML submission's tasks and their jobs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/csv.h"
#include "core/submit/azureml_az.h"
#include "core/submit/azureml_jobs.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

/* More tasks than any submission makes (folds <= 100, trials <= 128 jobs). */
#define MAX_TASKS 1000

ie_az_state ie_azureml_state(const char *s) {
    if (!s || !*s || !strcmp(s, "Unknown")) return IE_AZ_UNKNOWN;
    if (!strcmp(s, "Completed")) return IE_AZ_FINISHED;
    if (!strcmp(s, "Failed") || !strcmp(s, "Canceled") || !strcmp(s, "NotResponding")) return IE_AZ_FAILED;
    return IE_AZ_ACTIVE;
}

static const char *str(const cJSON *o, const char *key) {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    return v ? v : "";
}

void ie_azureml_task_name(const ie_azureml_view *v, int task, char *out, size_t size) {
    if (!strcmp(v->kind, "cv")) snprintf(out, size, "fold_%d", task);
    else if (!strcmp(v->kind, "sweep")) snprintf(out, size, "trial_%d", task);
    else snprintf(out, size, "%s", v->run_name);
}

/* A whole number written as a JSON number or string, else -1. */
static int whole(const cJSON *item) {
    if (cJSON_IsNumber(item) && item->valuedouble >= 0 && item->valuedouble == (double)(int)item->valuedouble)
        return (int)item->valuedouble;
    const char *s = cJSON_GetStringValue(item);
    if (!s || !*s) return -1;
    char *end;
    long n = strtol(s, &end, 10);
    return *end || n < 0 || n > MAX_TASKS ? -1 : (int)n;
}

/* A job's name, status, studio page and (sweep children) drawn values. */
static void fill(ie_azureml_task *t, const cJSON *job) {
    snprintf(t->job, sizeof t->job, "%s", str(job, "name"));
    snprintf(t->status, sizeof t->status, "%s", str(job, "status"));
    t->state = ie_azureml_state(t->status);
    const cJSON *studio = cJSON_GetObjectItem(cJSON_GetObjectItem(job, "services"), "Studio");
    snprintf(t->studio, sizeof t->studio, "%s", str(studio, "endpoint"));
    const cJSON *tags = cJSON_GetObjectItem(job, "tags"), *hp = cJSON_GetObjectItem(tags, "hyperparameters");
    cJSON *params = cJSON_IsString(hp) ? cJSON_Parse(hp->valuestring) : cJSON_IsObject(hp) ? cJSON_Duplicate(hp, 1) : NULL;
    if (params && !cJSON_IsObject(params)) cJSON_Delete(params), params = NULL;
    if (params) {
        cJSON_Delete(t->params);
        t->params = params;
    }
}

/* Which task a sweep child ran (-1: cannot tell). */
static int child_task(const ie_azureml_view *v, const cJSON *child, const cJSON *params) {
    if (!strcmp(v->kind, "cv")) {
        int fold = whole(cJSON_GetObjectItem(params, "fold"));
        if (fold < 0) fold = whole(cJSON_GetObjectItem(params, "--fold"));
        if (fold < 0) fold = whole(cJSON_GetObjectItem(cJSON_GetObjectItem(child, "tags"), "innereye_task"));
        return fold;
    }
    /* A sweep's trial number is AzureML's: the child is <sweep>_<n>. */
    const char *name = str(child, "name");
    size_t n = strlen(v->parent_job);
    if (strncmp(name, v->parent_job, n) != 0 || name[n] != '_') return -1;
    char *end;
    long k = strtol(name + n + 1, &end, 10);
    return *end || end == name + n + 1 || k < 0 ? -1 : (int)k;
}

static void add_stray(ie_azureml_view *v, const cJSON *child) {
    ie_azureml_task *grown = realloc(v->strays, (size_t)(v->n_strays + 1) * sizeof *grown);
    if (!grown) return;
    v->strays = grown;
    ie_azureml_task *t = &v->strays[v->n_strays++];
    memset(t, 0, sizeof *t);
    t->index = -1;
    fill(t, child);
}

static ie_status ask_sweep(ie_azureml_view *v) {
    const char *show[] = {"ml", "job", "show", "--name", v->parent_job, NULL};
    cJSON *parent = NULL;
    IE_TRY(ie_az_json(v->record, show, &parent));
    ie_azureml_task p = {0};
    fill(&p, parent);
    snprintf(v->parent_status, sizeof v->parent_status, "%s", p.status);
    snprintf(v->parent_studio, sizeof v->parent_studio, "%s", p.studio);
    cJSON_Delete(p.params);
    cJSON_Delete(parent);
    /* --max-results: az lists 50 jobs unless told otherwise. */
    char max[32];
    snprintf(max, sizeof max, "%d", 2 * v->n_tasks + 50);
    const char *list[] = {"ml", "job", "list", "--parent-job-name", v->parent_job, "--max-results", max, NULL};
    cJSON *children = NULL;
    IE_TRY(ie_az_json(v->record, list, &children));
    if (!cJSON_IsArray(children)) {
        cJSON_Delete(children);
        return ie_error_set(IE_ERR_IO, "az ml job list --parent-job-name %s: not a list of jobs", v->parent_job);
    }
    const cJSON *child;
    cJSON_ArrayForEach(child, children) {
        ie_azureml_task probe = {0};
        fill(&probe, child);
        int k = child_task(v, child, probe.params);
        bool in_range = k >= 0 && k < v->n_tasks;
        if (in_range && v->tasks[k].resubmitted) {
            /* The task's job is its resubmission; the old child is history. */
            if (!v->tasks[k].params) v->tasks[k].params = probe.params, probe.params = NULL;
        } else if (!in_range || v->tasks[k].job[0]) {
            add_stray(v, child);
        } else {
            fill(&v->tasks[k], child);
        }
        cJSON_Delete(probe.params);
    }
    cJSON_Delete(children);
    /* Tasks without a child: not created yet, or never (the sweep has ended). */
    bool ended = ie_azureml_state(v->parent_status) == IE_AZ_FINISHED || ie_azureml_state(v->parent_status) == IE_AZ_FAILED;
    for (int i = 0; i < v->n_tasks; i++)
        if (!v->tasks[i].job[0]) {
            snprintf(v->tasks[i].status, sizeof v->tasks[i].status, "NotCreated");
            v->tasks[i].state = ended ? IE_AZ_FAILED : IE_AZ_ACTIVE;
        }
    return IE_OK;
}

static ie_status ask_job(ie_azureml_view *v, ie_azureml_task *t) {
    const char *show[] = {"ml", "job", "show", "--name", t->job, NULL};
    cJSON *job = NULL;
    IE_TRY(ie_az_json(v->record, show, &job));
    cJSON *keep = t->params;
    t->params = NULL;
    fill(t, job);
    if (!t->params) t->params = keep;
    else cJSON_Delete(keep);
    cJSON_Delete(job);
    return IE_OK;
}

/* Submissions recorded before "tasks" was: from the config or trials.csv. */
static int count_tasks(const ie_azureml_view *v) {
    const cJSON *tasks = cJSON_GetObjectItem(v->record, "tasks");
    if (cJSON_IsNumber(tasks)) return tasks->valueint;
    char path[4600];
    if (!strcmp(v->kind, "sweep")) {
        ie_csv *csv = NULL;
        snprintf(path, sizeof path, "%s/trials.csv", v->run_dir);
        if (ie_csv_read(path, &csv) != IE_OK) return 0;
        int n = csv->n_rows;
        ie_csv_free(csv);
        return n;
    }
    if (!strcmp(v->kind, "cv")) {
        const cJSON *jobs = cJSON_GetObjectItem(v->record, "jobs");
        if (cJSON_GetArraySize(jobs) > 1) return cJSON_GetArraySize(jobs);
        char *text = NULL;
        snprintf(path, sizeof path, "%s/config.resolved.json", v->run_dir);
        if (ie_read_file(path, &text, NULL) != IE_OK) return 0;
        cJSON *cfg = cJSON_Parse(text);
        free(text);
        int n = whole(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "cv"), "splits"));
        cJSON_Delete(cfg);
        return n;
    }
    return 1;
}

static bool ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

ie_status ie_azureml_view_load(const char *submit_dir, bool ask, ie_azureml_view *v) {
    memset(v, 0, sizeof *v);
    /* Absolute: the paths written into records and messages hold from anywhere. */
    char real[PATH_MAX];
    snprintf(v->submit_dir, sizeof v->submit_dir, "%s", realpath(submit_dir, real) ? real : submit_dir);
    char path[4600], *text = NULL;
    IE_TRY(ie_path_format(path, sizeof path, "%s/submission.json", submit_dir));
    IE_TRY(ie_read_file(path, &text, NULL));
    v->record = cJSON_Parse(text);
    free(text);
    if (!v->record || strcmp(str(v->record, "engine"), "azureml") != 0)
        return ie_error_set(IE_ERR_IO, "%s: not a submission record of innereye submit azureml", path);
    snprintf(v->kind, sizeof v->kind, "%s", str(v->record, "kind"));
    snprintf(v->run_dir, sizeof v->run_dir, "%s", str(v->record, "run_dir"));
    const char *slash = strrchr(v->run_dir, '/');
    snprintf(v->run_name, sizeof v->run_name, "%.255s", str(v->record, "run_name")[0] ? str(v->record, "run_name")
                                                     : slash ? slash + 1 : v->run_dir);
    v->n_tasks = count_tasks(v);
    if (v->n_tasks < 1 || v->n_tasks > MAX_TASKS)
        return ie_error_set(IE_ERR_IO, "%s: cannot tell how many tasks the submission has", path);
    v->tasks = calloc((size_t)v->n_tasks, sizeof *v->tasks);
    if (!v->tasks) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    for (int i = 0; i < v->n_tasks; i++) v->tasks[i].index = i;

    const cJSON *jobs = cJSON_GetObjectItem(v->record, "jobs"), *j;
    int n_jobs = cJSON_GetArraySize(jobs);
    if (n_jobs == 1 && (ends_with(str(cJSON_GetArrayItem(jobs, 0), "file"), "/cv.yml") ||
                        ends_with(str(cJSON_GetArrayItem(jobs, 0), "file"), "/sweep.yml"))) {
        v->sweep_job = true;
        snprintf(v->parent_job, sizeof v->parent_job, "%s", str(cJSON_GetArrayItem(jobs, 0), "name"));
    } else {
        int i = 0;
        cJSON_ArrayForEach(j, jobs) {
            if (i < v->n_tasks) snprintf(v->tasks[i].job, sizeof v->tasks[i].job, "%s", str(j, "name"));
            i++;
        }
    }
    /* The newest resubmission of a task is its job. */
    cJSON_ArrayForEach(j, cJSON_GetObjectItem(v->record, "resubmissions")) {
        int k = whole(cJSON_GetObjectItem(j, "task"));
        if (k < 0 || k >= v->n_tasks || !str(j, "name")[0]) continue;
        ie_azureml_task *t = &v->tasks[k];
        snprintf(t->job, sizeof t->job, "%s", str(j, "name"));
        t->resubmitted = true;
        cJSON_Delete(t->params);
        const cJSON *params = cJSON_GetObjectItem(j, "params");
        t->params = cJSON_IsObject(params) ? cJSON_Duplicate(params, 1) : NULL;
    }
    if (!ask) return IE_OK;
    if (!ie_az_ready(v->why, sizeof v->why)) return IE_OK;
    ie_status st = IE_OK;
    if (v->sweep_job && v->parent_job[0]) st = ask_sweep(v);
    for (int i = 0; st == IE_OK && i < v->n_tasks; i++)
        if (v->tasks[i].job[0] && (!v->sweep_job || v->tasks[i].resubmitted)) st = ask_job(v, &v->tasks[i]);
    if (st != IE_OK) {
        snprintf(v->why, sizeof v->why, "%s", ie_error_message());
        for (int i = 0; i < v->n_tasks; i++) v->tasks[i].status[0] = '\0', v->tasks[i].state = IE_AZ_UNKNOWN;
        return IE_OK;
    }
    v->asked = true;
    return IE_OK;
}

void ie_azureml_view_free(ie_azureml_view *v) {
    for (int i = 0; v->tasks && i < v->n_tasks; i++) cJSON_Delete(v->tasks[i].params);
    for (int i = 0; i < v->n_strays; i++) cJSON_Delete(v->strays[i].params);
    free(v->tasks);
    free(v->strays);
    cJSON_Delete(v->record);
    memset(v, 0, sizeof *v);
}

bool ie_azureml_param_text(const cJSON *params, const char *key, char *out, size_t size) {
    if (!key) return false;
    char space[256];
    snprintf(space, sizeof space, "%s", key);
    for (char *p = space; *p; p++)
        if (*p == '.') *p = '_';
    const cJSON *item = cJSON_GetObjectItem(params, space);
    if (cJSON_IsString(item)) {
        snprintf(out, size, "%s", item->valuestring);
        return true;
    }
    if (!cJSON_IsNumber(item)) return false;
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(out, size, "%.*g", digits, item->valuedouble);
        if (strtod(out, NULL) == item->valuedouble) break;
    }
    return true;
}

ie_status ie_azureml_record_save(const ie_azureml_view *v) {
    char path[4600];
    IE_TRY(ie_path_format(path, sizeof path, "%s/submission.json", v->submit_dir));
    char *json = cJSON_Print(v->record);
    if (!json) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = ie_write_file_atomic(path, json, strlen(json));
    free(json);
    return st;
}
