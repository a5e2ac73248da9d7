/* core/submit - `innereye status` of an AzureML submission: every task's job
 * and state, where its results are, and for failed tasks how to read the log
 * and resubmit. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/submit/azureml.h"
#include "core/submit/azureml_az.h"
#include "core/submit/azureml_jobs.h"

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *shown_state(const ie_azureml_task *t) {
    if (t->status[0]) return t->status;
    return t->job[0] ? "?" : "-";
}

ie_status ie_azureml_status(const char *submit_dir, FILE *out, int *failed) {
    ie_azureml_view v;
    ie_status st = ie_azureml_view_load(submit_dir, true, &v);
    if (st != IE_OK) {
        ie_azureml_view_free(&v);
        return st;
    }
    *failed = 0;
    char flags[1024];
    ie_az_flags(v.record, flags, sizeof flags);
    fprintf(out, "%s: AzureML %s", v.run_dir, v.kind);
    if (v.sweep_job)
        fprintf(out, ", sweep job %s%s%s", v.parent_job[0] ? v.parent_job : "(not submitted: run commands.sh)",
                v.parent_status[0] ? " " : "", v.parent_status);
    fprintf(out, "\n");
    if (v.parent_studio[0]) fprintf(out, "  studio: %s\n", v.parent_studio);
    if (!v.asked) fprintf(out, "  (states unknown: %s)\n", v.why);

    int finished = 0, active = 0, collected = 0;
    fprintf(out, "%-5s %-24s %-13s %-10s %s\n", "task", "run", "state", "local", "job");
    for (int i = 0; i < v.n_tasks; i++) {
        ie_azureml_task *t = &v.tasks[i];
        char name[300], local[4800];
        ie_azureml_task_name(&v, i, name, sizeof name);
        if (!strcmp(v.kind, "single")) snprintf(local, sizeof local, "%s", v.run_dir);
        else snprintf(local, sizeof local, "%s/%s", v.run_dir, name);
        bool here = is_dir(local);
        collected += here;
        finished += t->state == IE_AZ_FINISHED;
        active += t->state == IE_AZ_ACTIVE;
        *failed += t->state == IE_AZ_FAILED;
        fprintf(out, "%-5d %-24s %-13s %-10s %s%s\n", i, name, shown_state(t), here ? "collected" : "-",
                t->job[0] ? t->job : "-", t->resubmitted ? " (resubmitted)" : "");
    }
    for (int i = 0; i < v.n_strays; i++)
        fprintf(out, "?     %-24s %-13s %-10s %s (its %s is not known: no hyperparameters tag)\n", "?",
                v.strays[i].status, "-", v.strays[i].job, !strcmp(v.kind, "cv") ? "fold" : "trial");
    if (v.asked) {
        fprintf(out, "%d of %d tasks finished, %d failed", finished, v.n_tasks, *failed);
        if (active) fprintf(out, ", %d queued or running", active);
        fprintf(out, "; %d collected here\n", collected);
    }
    if (*failed) {
        fprintf(out, "failed:\n");
        for (int i = 0; i < v.n_tasks; i++) {
            ie_azureml_task *t = &v.tasks[i];
            if (t->state != IE_AZ_FAILED) continue;
            char name[300];
            ie_azureml_task_name(&v, i, name, sizeof name);
            if (!t->job[0]) {
                fprintf(out, "  task %d (%s): the sweep ended without running it\n", i, name);
                continue;
            }
            fprintf(out, "  task %d (%s) %s: job %s\n", i, name, t->status, t->job);
            fprintf(out, "    log:    az ml job stream --name %s%s\n", t->job, flags);
            fprintf(out, "    files:  az ml job download --name %s --all --download-path DIR%s  (the log is "
                         "user_logs/std_log.txt)\n", t->job, flags);
            if (t->studio[0]) fprintf(out, "    studio: %s\n", t->studio);
        }
        if (strcmp(v.kind, "single") != 0)
            fprintf(out, "resubmit one alone: innereye submit azureml --resubmit %s --task I\n", v.run_dir);
        else
            fprintf(out, "run it again: innereye submit azureml --resubmit %s --task 0\n", v.run_dir);
    }
    if (finished > 0)
        fprintf(out, "download the finished %s%s: innereye collect %s\n", !strcmp(v.kind, "single") ? "run" : "tasks",
                strcmp(v.kind, "single") ? " and aggregate them" : "", v.run_dir);
    ie_azureml_view_free(&v);
    return IE_OK;
}
