/* core/submit - `innereye collect`: the finished AzureML tasks' `run`
 * outputs downloaded into the local run folder, in the local layout.
 *
 * Each finished task's output is downloaded to a temporary folder inside the
 * submission folder (`az ml job download --output-name run`: it lands in
 * <tmp>/named-outputs/run/), and its fold_<i>/ (trial/, or the run folder)
 * is renamed into place.  A folder already in place is never overwritten:
 * identical content is accepted, anything else refused.  What came from
 * which job is recorded in <submission>/collected.json, so collecting again
 * downloads only what is new. */
#define _GNU_SOURCE /* open_memstream */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/csv.h"
#include "core/submit/azureml.h"
#include "core/submit/azureml_az.h"
#include "core/submit/azureml_jobs.h"
#include "core/run/run_dir.h"
#include "core/util/file_util.h"
#include "core/util/path.h"

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

/* Only ever called on a temporary folder this file made. */
static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char child[4600];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static bool same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    char ba[65536], bb[65536];
    while (same) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0) same = false;
        if (na < sizeof ba) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

/* Whether two trees hold the same names and bytes; else the first difference
 * (relative to the roots) in diff. */
static bool same_tree(const char *a, const char *b, const char *rel, char *diff, size_t size) {
    struct stat sa, sb;
    if (lstat(a, &sa) != 0 || lstat(b, &sb) != 0) {
        snprintf(diff, size, "%s is missing on one side", rel[0] ? rel : ".");
        return false;
    }
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
        snprintf(diff, size, "%s is a folder on one side only", rel);
        return false;
    }
    if (!S_ISDIR(sa.st_mode)) {
        if (S_ISREG(sa.st_mode) && sa.st_size == sb.st_size && same_file(a, b)) return true;
        if (S_ISLNK(sa.st_mode)) {
            char la[4096] = "", lb[4096] = "";
            ssize_t na = readlink(a, la, sizeof la - 1), nb = readlink(b, lb, sizeof lb - 1);
            if (na == nb && na >= 0 && !memcmp(la, lb, (size_t)na)) return true;
        }
        snprintf(diff, size, "%s differs", rel);
        return false;
    }
    if (count_entries(a) != count_entries(b)) {
        snprintf(diff, size, "%s/ has %d entries here, %d in the job's output", rel[0] ? rel : ".", count_entries(b),
                 count_entries(a));
        return false;
    }
    DIR *d = opendir(a);
    struct dirent *e;
    bool same = d != NULL;
    while (same && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char ca[4600], cb[4600], cr[1200];
        snprintf(ca, sizeof ca, "%s/%s", a, e->d_name);
        snprintf(cb, sizeof cb, "%s/%s", b, e->d_name);
        snprintf(cr, sizeof cr, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        same = same_tree(ca, cb, cr, diff, size);
    }
    if (d) closedir(d);
    return same;
}

/* The one fold_<i> folder under dir (a child whose fold is not tagged). */
static int only_fold(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int fold = -1, n = 0;
    while (d && (e = readdir(d))) {
        int i;
        char tail;
        if (sscanf(e->d_name, "fold_%d%c", &i, &tail) == 1 && i >= 0) fold = i, n++;
    }
    if (d) closedir(d);
    return n == 1 ? fold : -1;
}

typedef struct ctx {
    ie_azureml_view *v;
    cJSON *collected; /* local folder name -> job */
    FILE *out;
    ie_azureml_collected *r;
    bool *present;    /* per task: in place from a finished job */
} ctx;

/* Downloads one finished job's output and puts its folder in place.
 * *task: the task (-1: find out from the output).  Returns false, with the
 * reason printed, when nothing was placed. */
static bool collect_job(ctx *c, const char *job, int *task) {
    ie_azureml_view *v = c->v;
    char tmp[4600], root[4700], src[5100], target[4800], name[300], diff[1400];
    /* The name becomes part of a path: AzureML's are letters, digits, '_' and '-'. */
    if (!job[0] || job[0] == '.' || strspn(job, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                                        strlen(job)) {
        fprintf(c->out, "job '%s': not a job name this collect downloads; skipped\n", job);
        return false;
    }
    snprintf(tmp, sizeof tmp, "%s/download_%s.tmp", v->submit_dir, job);
    remove_tree(tmp); /* a download interrupted earlier */
    if (mkdir(tmp, 0755) != 0) {
        fprintf(c->out, "job %s: cannot create %s: %s\n", job, tmp, strerror(errno));
        return false;
    }
    const char *words[] = {"ml", "job", "download", "--name", job, "--output-name", "run", "--download-path", tmp, NULL};
    char *text = NULL;
    if (ie_az_run(v->record, words, &text) != IE_OK) {
        fprintf(c->out, "job %s: download failed: %s\n", job, ie_error_message());
        remove_tree(tmp);
        return false;
    }
    free(text);
    snprintf(root, sizeof root, "%s/named-outputs/run", tmp);
    if (!strcmp(v->kind, "cv")) {
        char folds[5000];
        snprintf(folds, sizeof folds, "%s/%s", root, v->run_name);
        if (*task < 0) *task = only_fold(folds);
        snprintf(src, sizeof src, "%s/fold_%d", folds, *task);
    } else if (!strcmp(v->kind, "sweep")) {
        snprintf(src, sizeof src, "%s/trial", root);
    } else {
        snprintf(src, sizeof src, "%s/%s", root, v->run_name);
    }
    if (*task < 0 || *task >= v->n_tasks || !is_dir(src)) {
        fprintf(c->out, "job %s: its output `run` has no %s (looked in %s); not collected\n", job,
                *task < 0 ? "single fold_<i> folder" : src + strlen(root) + 1, root);
        remove_tree(tmp);
        return false;
    }
    ie_azureml_task_name(v, *task, name, sizeof name);
    if (!strcmp(v->kind, "single")) snprintf(target, sizeof target, "%s", v->run_dir);
    else snprintf(target, sizeof target, "%s/%s", v->run_dir, name);
    bool placed = false;
    if (exists(target)) {
        if (same_tree(src, target, "", diff, sizeof diff)) {
            fprintf(c->out, "%s: %s already holds job %s's output (identical)\n", name, target, job);
            placed = true;
        } else {
            fprintf(c->out, "%s: REFUSED: %s exists and differs from job %s's output (%s); nothing was "
                            "overwritten. Move it aside (mv %s %s.old) and collect again\n",
                    name, target, job, diff, target, target);
            c->r->refused++;
        }
    } else if (rename(src, target) != 0) {
        fprintf(c->out, "%s: cannot move the download into %s: %s\n", name, target, strerror(errno));
    } else {
        fprintf(c->out, "%s: collected from job %s into %s\n", name, job, target);
        c->r->placed++;
        placed = true;
    }
    remove_tree(tmp);
    if (placed) {
        cJSON_DeleteItemFromObject(c->collected, name);
        cJSON_AddStringToObject(c->collected, name, job);
    }
    return placed;
}

/* trials.csv with the values AzureML drew for each trial (its own sampler,
 * not ours); the values a local sweep would have drawn stay in
 * <submission>/trials.submitted.csv. */
static ie_status write_trials(ie_azureml_view *v) {
    char path[4600], kept[4600];
    IE_TRY(ie_path_format(path, sizeof path, "%s/trials.csv", v->run_dir));
    IE_TRY(ie_path_format(kept, sizeof kept, "%s/trials.submitted.csv", v->submit_dir));
    const cJSON *keys = cJSON_GetObjectItem(v->record, "sweep_keys");
    if (!cJSON_IsArray(keys) || cJSON_GetArraySize(keys) == 0) return IE_OK;
    if (!exists(kept) && exists(path) && rename(path, kept) != 0)
        return ie_error_set(IE_ERR_IO, "%s: cannot keep it as %s: %s", path, kept, strerror(errno));
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    fprintf(f, "trial");
    const cJSON *key;
    cJSON_ArrayForEach(key, keys) fprintf(f, ",%s", cJSON_GetStringValue(key));
    fprintf(f, "\n");
    for (int k = 0; k < v->n_tasks; k++) {
        fprintf(f, "%d", k);
        cJSON_ArrayForEach(key, keys) {
            char value[1024];
            fputc(',', f);
            if (ie_azureml_param_text(v->tasks[k].params, cJSON_GetStringValue(key), value, sizeof value))
                ie_csv_write_field(f, value);
        }
        fprintf(f, "\n");
    }
    return ie_write_stream_atomic(f, &text, &size, path);
}

/* cv_status.csv as a local cross-validation writes it. */
static ie_status write_cv_status(ie_azureml_view *v, const bool *present) {
    char path[4600], *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    fprintf(f, "fold,status,exit_code,run_dir\n");
    for (int i = 0; i < v->n_tasks; i++) {
        ie_az_state s = v->tasks[i].state;
        const char *word = present[i]              ? "finished"
                           : s == IE_AZ_FAILED      ? "failed"
                           : s == IE_AZ_FINISHED    ? "finished-not-collected" /* download failed or refused */
                           : s == IE_AZ_UNKNOWN     ? "unknown"
                                                    : "running";
        fprintf(f, "%d,%s,%s,%s/fold_%d\n", i, word, present[i] ? "0" : s == IE_AZ_FAILED ? "1" : "", v->run_dir, i);
    }
    snprintf(path, sizeof path, "%s/cv_status.csv", v->run_dir);
    return ie_write_stream_atomic(f, &text, &size, path);
}

static cJSON *read_collected(const char *submit_dir) {
    char path[4600], *text = NULL;
    snprintf(path, sizeof path, "%s/collected.json", submit_dir);
    cJSON *j = ie_read_file(path, &text, NULL) == IE_OK ? cJSON_Parse(text) : NULL;
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = cJSON_CreateObject();
    }
    return j;
}

ie_status ie_azureml_collect(const char *submit_dir, FILE *out, ie_azureml_collected *r) {
    memset(r, 0, sizeof *r);
    ie_azureml_view v;
    ie_status st = ie_azureml_view_load(submit_dir, true, &v);
    if (st == IE_OK && !v.asked)
        st = ie_error_set(IE_ERR_IO, "cannot ask AzureML about %s's jobs: %s", v.run_dir, v.why);
    if (st != IE_OK) {
        ie_azureml_view_free(&v);
        return st;
    }
    const cJSON *written;
    cJSON_ArrayForEach(written, cJSON_GetObjectItem(v.record, "jobs")) {
        const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(written, "file"));
        if (st == IE_OK && !cJSON_GetStringValue(cJSON_GetObjectItem(written, "name")))
            st = ie_error_set(IE_ERR_STATE, "%s was written but not submitted (submission.json has no job name for "
                                            "%s): run %s/commands.sh first", v.run_dir, file ? file : "a job",
                              v.submit_dir);
    }
    if (st != IE_OK) {
        ie_azureml_view_free(&v);
        return st;
    }
    snprintf(r->kind, sizeof r->kind, "%s", v.kind);
    snprintf(r->run_dir, sizeof r->run_dir, "%s", v.run_dir);
    r->tasks = v.n_tasks;
    if (strcmp(v.kind, "single") != 0 && !is_dir(v.run_dir)) {
        ie_azureml_view_free(&v);
        return ie_error_set(IE_ERR_IO, "%s: the run folder made at submission is gone", v.run_dir);
    }
    bool *present = calloc((size_t)v.n_tasks, sizeof *present);
    if (!present) {
        ie_azureml_view_free(&v);
        return ie_error_set(IE_ERR_NOMEM, "out of memory");
    }
    ctx c = {.v = &v, .collected = read_collected(submit_dir), .out = out, .r = r, .present = present};
    for (int i = 0; i < v.n_tasks; i++) {
        ie_azureml_task *t = &v.tasks[i];
        char name[300], target[4800];
        ie_azureml_task_name(&v, i, name, sizeof name);
        if (!strcmp(v.kind, "single")) snprintf(target, sizeof target, "%s", v.run_dir);
        else snprintf(target, sizeof target, "%s/%s", v.run_dir, name);
        const char *from = cJSON_GetStringValue(cJSON_GetObjectItem(c.collected, name));
        if (t->state == IE_AZ_FINISHED && from && !strcmp(from, t->job) && is_dir(target)) {
            fprintf(out, "%s: collected before from job %s\n", name, t->job);
            present[i] = true;
        } else if (t->state == IE_AZ_FINISHED) {
            int task = i;
            present[i] = collect_job(&c, t->job, &task);
        } else if (t->state == IE_AZ_FAILED) {
            if (t->job[0])
                fprintf(out, "%s: job %s %s; not collected (its log: innereye status %s)\n", name, t->job,
                        t->status, v.run_dir);
            else
                fprintf(out, "%s: the sweep ended without running it\n", name);
            r->failed++;
        } else {
            fprintf(out, "%s: %s %s; collect again when it has finished\n", name, t->job[0] ? t->job : "not created yet",
                    t->status);
            r->pending++;
        }
    }
    /* A finished child whose fold is not tagged: its output names the fold. */
    for (int s = 0; !strcmp(v.kind, "cv") && s < v.n_strays; s++) {
        if (v.strays[s].state != IE_AZ_FINISHED) continue;
        int task = -1;
        if (collect_job(&c, v.strays[s].job, &task) && task >= 0 && task < v.n_tasks && !present[task]) {
            present[task] = true;
            if (v.tasks[task].state == IE_AZ_FAILED) r->failed--;
            else if (v.tasks[task].state == IE_AZ_ACTIVE) r->pending--;
        }
    }
    for (int i = 0; i < v.n_tasks; i++) r->collected += present[i];
    char path[4600];
    snprintf(path, sizeof path, "%s/collected.json", submit_dir);
    char *json = cJSON_Print(c.collected);
    st = json ? ie_write_file_atomic(path, json, strlen(json)) : ie_error_set(IE_ERR_NOMEM, "out of memory");
    free(json);
    if (st == IE_OK && !strcmp(v.kind, "cv")) st = write_cv_status(&v, present);
    if (st == IE_OK && !strcmp(v.kind, "sweep")) st = write_trials(&v);
    /* New folds make the folds' ensemble out of date: the aggregation moves
     * it aside (ie_cv_ensemble_folder) and builds the new one. */
    fprintf(out, "collected %d of %d %s%s", r->collected, r->tasks,
            !strcmp(v.kind, "cv") ? "folds" : !strcmp(v.kind, "sweep") ? "trials" : "runs",
            r->failed || r->pending || r->refused ? " (" : "");
    const char *sep = "";
    if (r->failed) fprintf(out, "%s%d failed", sep, r->failed), sep = ", ";
    if (r->pending) fprintf(out, "%s%d not finished", sep, r->pending), sep = ", ";
    if (r->refused) fprintf(out, "%s%d refused", sep, r->refused), sep = ", ";
    fprintf(out, "%s\n", r->failed || r->pending || r->refused ? ")" : "");
    if (r->failed && strcmp(v.kind, "single") != 0)
        fprintf(out, "resubmit a failed one alone: innereye submit azureml --resubmit %s --task I\n", v.run_dir);
    free(present);
    cJSON_Delete(c.collected);
    ie_azureml_view_free(&v);
    return st;
}

bool ie_azureml_data_elsewhere(const char *run_dir, int folds, char *where, size_t size) {
    for (int i = 0; i < folds; i++) {
        char fold[4600];
        snprintf(fold, sizeof fold, "%s/fold_%d", run_dir, i);
        cJSON *rec = NULL;
        if (ie_run_record_read(fold, &rec) != IE_OK) continue;
        const char *csv = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "data"), "dataset_csv"));
        bool missing = csv && access(csv, R_OK) != 0;
        if (missing) snprintf(where, size, "%s", csv);
        cJSON_Delete(rec);
        return missing;
    }
    return false;
}
