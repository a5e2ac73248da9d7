/* core/submit - Slurm back end. */
#define _GNU_SOURCE /* open_memstream */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util/file_util.h"
#include "core/tracking/mlflow_rest.h"
#include "core/submit/slurm.h"
#include "core/run/run_dir.h"
#include "core/util/path.h"

static const char *kind_name(ie_job_kind k) { return k == IE_JOB_CV ? "cv" : k == IE_JOB_SWEEP ? "sweep" : "single"; }

/* MPI processes per run: the batch script runs once, on the first node;
 * its training command runs as one job step of this many tasks. */
static int processes(const ie_slurm_opts *o) {
    return (o->nodes > 0 ? o->nodes : 1) * (o->tasks_per_node > 0 ? o->tasks_per_node : 1);
}

/* #SBATCH lines shared by both scripts. */
static void resources(FILE *f, const ie_slurm_opts *o, bool task) {
    if (o->partition) fprintf(f, "#SBATCH --partition=%s\n", o->partition);
    if (o->time) fprintf(f, "#SBATCH --time=%s\n", o->time);
    if (task) {
        fprintf(f, "#SBATCH --cpus-per-task=%d\n", o->cpus_per_task > 0 ? o->cpus_per_task : 1);
        if (o->gpus_per_task > 0) fprintf(f, "#SBATCH --gpus-per-task=%d\n", o->gpus_per_task);
        if (o->mem) fprintf(f, "#SBATCH --mem=%s\n", o->mem);
        if (processes(o) > 1) {
            fprintf(f, "#SBATCH --nodes=%d\n", o->nodes > 0 ? o->nodes : 1);
            fprintf(f, "#SBATCH --ntasks-per-node=%d\n", o->tasks_per_node > 0 ? o->tasks_per_node : 1);
        }
    } else {
        fprintf(f, "#SBATCH --cpus-per-task=1\n");
    }
}

static void q(const char *word, char *out, size_t size) { ie_shell_quote(word, out, size); }

static ie_status tasks_script(const ie_job *job, const ie_slurm_opts *o, char **text) {
    size_t size = 0;
    FILE *f = open_memstream(text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory writing the Slurm script");
    char a[4800], b[4800];
    int threads = o->cpus_per_task > 0 ? o->cpus_per_task : 1;
    const char *what = job->kind == IE_JOB_CV ? "fold" : job->kind == IE_JOB_SWEEP ? "trial" : "run";
    fprintf(f, "#!/bin/bash\n");
    fprintf(f, "# Written by `innereye submit slurm`: %d %s%s of %s, one array task each.\n", job->tasks, what,
            job->tasks == 1 ? "" : "s", job->parent);
    fprintf(f, "# Submit: sbatch --array=0-%d tasks.sbatch   (one task again: --array=I)\n", job->tasks - 1);
    fprintf(f, "#SBATCH --job-name=%s\n", job->name);
    if (job->kind == IE_JOB_SINGLE)
        fprintf(f, "#SBATCH --output=%s/run.log\n", job->submit_dir);
    else
        fprintf(f, "#SBATCH --output=%s/%s_%%a.log\n", job->parent, what);
    fprintf(f, "#SBATCH --open-mode=append\n");
    fprintf(f, "#SBATCH --chdir=%s\n", o->workdir);
    resources(f, o, true);
    fprintf(f, "set -u\n");
    fprintf(f, "task=${SLURM_ARRAY_TASK_ID:?submit this script with sbatch --array}\n");
    fprintf(f, "job=\"${SLURM_ARRAY_JOB_ID}_${task}\"\n");
    if (job->kind != IE_JOB_SINGLE) /* folds and trials: MLflow runs of their own, under an exported MLFLOW_RUN_ID */
        fprintf(f, "export " IE_MLFLOW_NESTED_ENV "=1\n");
    q(o->innereye, a, sizeof a);
    fprintf(f, "innereye=%s\n", a);
    q(job->parent, a, sizeof a);
    if (job->kind == IE_JOB_SINGLE) fprintf(f, "run=%s\n", a);
    else fprintf(f, "run=%s/%s_$task\n", a, what);
    q(job->submit_dir, b, sizeof b);
    fprintf(f, "records=%s\n", b);
    /* Several processes: srun starts them with PMIx, and each joins the run
     * as under mpirun (core/dist/comm.c); rank 0 writes the run folder. */
    const char *launch = processes(o) > 1 ? "srun --mpi=pmix --kill-on-bad-exit=1 " : "";
    ie_cmdline cl = {0};
    ie_task_tokens t = {.program = "\"$innereye\"", .fold = "\"$task\"", .trial_name = "\"trial_$task\"",
                        .median_siblings = job->sweep.early_stop, .threads = threads};
    static const char *value_tokens[IE_SWEEP_MAX_KEYS] = {
        "\"${values[0]}\"", "\"${values[1]}\"", "\"${values[2]}\"", "\"${values[3]}\"", "\"${values[4]}\"",
        "\"${values[5]}\"", "\"${values[6]}\"", "\"${values[7]}\"", "\"${values[8]}\"", "\"${values[9]}\"",
        "\"${values[10]}\"", "\"${values[11]}\"", "\"${values[12]}\"", "\"${values[13]}\"", "\"${values[14]}\"",
        "\"${values[15]}\""};
    if (job->kind == IE_JOB_SWEEP) {
        /* Each trial's values, drawn at submission exactly as a local sweep draws them. */
        fprintf(f, "case \"$task\" in\n");
        for (int k = 0; k < job->tasks; k++) {
            char assignments[IE_SWEEP_MAX_KEYS][256];
            int count = 0;
            ie_sweep_trial(&job->sweep, job->seed, k, assignments, &count);
            fprintf(f, "  %d) values=(", k);
            for (int i = 0; i < count; i++) {
                q(strchr(assignments[i], '=') + 1, a, sizeof a);
                fprintf(f, "%s%s", i ? " " : "", a);
            }
            fprintf(f, ") ;;\n");
        }
        fprintf(f, "  *) echo \"no trial $task in this sweep\" >&2; exit 2 ;;\nesac\n");
        memcpy(t.values, value_tokens, sizeof t.values);
    }
    ie_status st = ie_job_train_command(job, &t, &cl);
    char *command = st == IE_OK ? ie_cmdline_string(&cl) : NULL;
    ie_cmdline_free(&cl);
    if (st != IE_OK || !command) {
        fclose(f);
        free(*text);
        return st != IE_OK ? st : ie_error_set(IE_ERR_NOMEM, "out of memory");
    }
    fprintf(f, "echo \"== $(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ) Slurm job $job on $(hostname): $run\"\n");
    fprintf(f, "if [ -f \"$run/run.json\" ] && grep -Eq '\"status\":[[:space:]]*\"finished\"' \"$run/run.json\"; then\n");
    fprintf(f, "  echo \"$run has finished already; nothing to do\"\n  rc=0\n");
    fprintf(f, "elif [ -f \"$run/checkpoints/last.json\" ]; then\n");
    fprintf(f, "  echo \"resuming $run from its last checkpoint\"\n");
    fprintf(f, "  %s\"$innereye\" train --resume \"$run\" --threads %d\n  rc=$?\n", launch, threads);
    fprintf(f, "else\n");
    fprintf(f, "  if [ -e \"$run\" ]; then\n");
    fprintf(f, "    aside=\"$run.attempt_$(date -u +%%Y%%m%%dT%%H%%M%%S)\"\n");
    fprintf(f, "    echo \"moving the earlier attempt (no checkpoint) aside to $aside\"\n");
    fprintf(f, "    mv \"$run\" \"$aside\" || exit 1\n  fi\n");
    fprintf(f, "  %s%s\n  rc=$?\nfi\n", launch, command);
    fprintf(f, "printf '%%s %%d\\n' \"$job\" \"$rc\" > \"$records/task_$task.exit.tmp\" && "
               "mv -f \"$records/task_$task.exit.tmp\" \"$records/task_$task.exit\"\n");
    fprintf(f, "exit \"$rc\"\n");
    free(command);
    fclose(f);
    return IE_OK;
}

static ie_status aggregate_script(const ie_job *job, const ie_slurm_opts *o, char **text) {
    size_t size = 0;
    FILE *f = open_memstream(text, &size);
    if (!f) return ie_error_set(IE_ERR_NOMEM, "out of memory writing the Slurm script");
    char a[4800];
    fprintf(f, "#!/bin/bash\n");
    fprintf(f, "# Written by `innereye submit slurm`: runs after every task of tasks.sbatch succeeded\n");
    fprintf(f, "# (sbatch --dependency=afterok:<array job> aggregate.sbatch).\n");
    fprintf(f, "#SBATCH --job-name=%s-aggregate\n", job->name);
    fprintf(f, "#SBATCH --output=%s/aggregate.log\n", job->parent);
    fprintf(f, "#SBATCH --open-mode=append\n");
    fprintf(f, "#SBATCH --chdir=%s\n", o->workdir);
    resources(f, o, false);
    fprintf(f, "set -u\n");
    q(o->innereye, a, sizeof a);
    fprintf(f, "innereye=%s\n", a);
    q(job->parent, a, sizeof a);
    fprintf(f, "parent=%s\n", a);
    fprintf(f, "echo \"== $(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ) Slurm job ${SLURM_JOB_ID:-?} on $(hostname): aggregating $parent\"\n");
    if (job->kind == IE_JOB_SWEEP) {
        fprintf(f, "\"$innereye\" sweep-aggregate \"$parent\" || exit 1\n");
    } else {
        /* Aggregates the folds and, for segmentation, builds the folds'
         * ensemble and evaluates it on the test set. */
        fprintf(f, "\"$innereye\" cv-aggregate \"$parent\" || exit 1\n");
    }
    fclose(f);
    return IE_OK;
}

/* "Submitted batch job 123" or (--parsable) "123" / "123;cluster". */
static bool parse_job_id(const char *text, char *id, size_t size) {
    const char *p = strstr(text, "Submitted batch job ");
    p = p ? p + 20 : text;
    while (*p == ' ' || *p == '\n') p++;
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n >= size) return false;
    snprintf(id, size, "%.*s", (int)n, p);
    return true;
}

static ie_status sbatch(char *const argv[], char *id, size_t size, FILE *out) {
    char text[4096], err[4096], line[8192] = "";
    for (int i = 0; argv[i]; i++) {
        char w[4800];
        q(argv[i], w, sizeof w);
        strncat(line, i ? " " : "", sizeof line - strlen(line) - 1);
        strncat(line, w, sizeof line - strlen(line) - 1);
    }
    int rc = 0;
    IE_TRY(ie_run_capture(argv, text, sizeof text, err, sizeof err, &rc));
    if (rc == 127 && !err[0])
        return ie_error_set(IE_ERR_IO, "sbatch is not on PATH: run this on a Slurm login node, or submit by hand:\n  %s",
                            line);
    if (rc != 0 || !parse_job_id(text, id, size))
        return ie_error_set(IE_ERR_IO, "%s failed (exit %d): %s%s", line, rc, err[0] ? err : text,
                            err[0] || text[0] ? "" : "no output");
    fprintf(out, "%s\n  -> job %s\n", line, id);
    return IE_OK;
}

static void add_history(cJSON *record, const char *action, const char *job, int task) {
    cJSON *h = cJSON_GetObjectItem(record, "history");
    if (!h) h = cJSON_AddArrayToObject(record, "history");
    cJSON *e = cJSON_CreateObject();
    char now[32];
    ie_utc_now(now, sizeof now);
    cJSON_AddStringToObject(e, "time", now);
    cJSON_AddStringToObject(e, "action", action);
    if (task >= 0) cJSON_AddNumberToObject(e, "task", task);
    cJSON_AddStringToObject(e, "job", job);
    cJSON_AddItemToArray(h, e);
}

static ie_status write_record(const char *submit_dir, const cJSON *record) {
    char path[4600];
    IE_TRY(ie_path_format(path, sizeof path, "%s/submission.json", submit_dir));
    char *text = cJSON_Print(record);
    if (!text) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    ie_status st = ie_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

ie_status ie_slurm_submit(const ie_job *job, const ie_slurm_opts *o, FILE *out) {
    char *tasks = NULL, *aggregate = NULL, tasks_path[4800], aggregate_path[4800] = "";
    IE_TRY(tasks_script(job, o, &tasks));
    ie_status st = ie_job_write_file(job, "tasks.sbatch", tasks, 0755, tasks_path, sizeof tasks_path);
    free(tasks);
    IE_TRY(st);
    if (job->kind != IE_JOB_SINGLE) {
        IE_TRY(aggregate_script(job, o, &aggregate));
        st = ie_job_write_file(job, "aggregate.sbatch", aggregate, 0755, aggregate_path, sizeof aggregate_path);
        free(aggregate);
        IE_TRY(st);
    }
    cJSON *record = cJSON_CreateObject();
    cJSON_AddStringToObject(record, "engine", "slurm");
    cJSON_AddStringToObject(record, "kind", kind_name(job->kind));
    cJSON_AddStringToObject(record, "run_dir", job->parent);
    cJSON_AddStringToObject(record, "innereye", o->innereye);
    cJSON_AddStringToObject(record, "tasks_script", tasks_path);
    if (aggregate_path[0]) cJSON_AddStringToObject(record, "aggregate_script", aggregate_path);
    cJSON *list = cJSON_AddArrayToObject(record, "tasks");
    for (int i = 0; i < job->tasks; i++) {
        char name[256], path[4800];
        ie_job_task_name(job, i, name, sizeof name);
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "index", i);
        cJSON_AddStringToObject(t, "name", name);
        snprintf(path, sizeof path, "%s%s%s", job->parent, job->kind == IE_JOB_SINGLE ? "" : "/",
                 job->kind == IE_JOB_SINGLE ? "" : name);
        cJSON_AddStringToObject(t, "run_dir", path);
        if (job->kind == IE_JOB_SINGLE) snprintf(path, sizeof path, "%s/run.log", job->submit_dir);
        else snprintf(path, sizeof path, "%s/%s.log", job->parent, name);
        cJSON_AddStringToObject(t, "log", path);
        cJSON_AddStringToObject(t, "job", "");
        cJSON_AddItemToArray(list, t);
    }
    fprintf(out, "slurm: %d task%s of %s; scripts in %s\n", job->tasks, job->tasks == 1 ? "" : "s", job->parent,
            job->submit_dir);
    char array[64], array_id[64], agg_id[64] = "", dependency[128];
    if (job->parallel) snprintf(array, sizeof array, "--array=0-%d%%%d", job->tasks - 1, job->parallel);
    else snprintf(array, sizeof array, "--array=0-%d", job->tasks - 1);
    if (o->dry_run) {
        st = write_record(job->submit_dir, record);
        cJSON_Delete(record);
        fprintf(out, "not submitted (--dry-run); to submit:\n  sbatch %s %s\n", array, tasks_path);
        if (aggregate_path[0])
            fprintf(out, "  sbatch --dependency=afterok:<the array's job id> --kill-on-invalid-dep=yes %s\n",
                    aggregate_path);
        return st;
    }
    /* Written before anything is submitted: a submission that fails from
     * here on keeps its folder (to submit by hand, for innereye status). */
    st = write_record(job->submit_dir, record);
    if (st != IE_OK) {
        cJSON_Delete(record);
        return st;
    }
    char *argv1[] = {"sbatch", "--parsable", array, tasks_path, NULL};
    st = sbatch(argv1, array_id, sizeof array_id, out);
    if (st == IE_OK) {
        cJSON_AddStringToObject(record, "array_job", array_id);
        add_history(record, "submit tasks", array_id, -1);
        cJSON *t;
        int i = 0;
        cJSON_ArrayForEach(t, list) {
            char id[96];
            snprintf(id, sizeof id, "%s_%d", array_id, i++);
            cJSON_ReplaceItemInObject(t, "job", cJSON_CreateString(id));
        }
    }
    if (st == IE_OK && aggregate_path[0]) {
        snprintf(dependency, sizeof dependency, "--dependency=afterok:%s", array_id);
        char *argv2[] = {"sbatch", "--parsable", dependency, "--kill-on-invalid-dep=yes", aggregate_path, NULL};
        st = sbatch(argv2, agg_id, sizeof agg_id, out);
        if (st == IE_OK) {
            cJSON_AddStringToObject(record, "aggregate_job", agg_id);
            add_history(record, "submit aggregation", agg_id, -1);
        }
    }
    ie_status w = write_record(job->submit_dir, record);
    cJSON_Delete(record);
    IE_TRY(st);
    IE_TRY(w);
    fprintf(out, "submitted: array job %s", array_id);
    if (agg_id[0]) fprintf(out, ", aggregation job %s after it", agg_id);
    fprintf(out, "\nfollow it with: innereye status %s\n", job->parent);
    return IE_OK;
}

/* ------------------------------------------------------------------ status */

static ie_status read_record(const char *submit_dir, cJSON **out) {
    char path[4600];
    IE_TRY(ie_path_format(path, sizeof path, "%s/submission.json", submit_dir));
    FILE *f = fopen(path, "rb");
    if (!f) return ie_error_set(IE_ERR_IO, "%s: %s (not a submission folder?)", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!text) return ie_error_set(IE_ERR_NOMEM, "out of memory");
    text[got] = '\0';
    *out = cJSON_Parse(text);
    free(text);
    if (!*out || !cJSON_IsArray(cJSON_GetObjectItem(*out, "tasks"))) {
        cJSON_Delete(*out);
        return ie_error_set(IE_ERR_IO, "%s: not a submission record written by innereye submit", path);
    }
    return IE_OK;
}

static const char *str(const cJSON *o, const char *key) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    return s ? s : "";
}

typedef struct queue_state {
    char text[1 << 15]; /* "id|STATE\n" lines from squeue and sacct */
    bool squeue, sacct;
} queue_state;

/* What Slurm says about the jobs (both tools are optional: squeue forgets a
 * job MinJobAge after it ends, sacct needs accounting). */
static void query_queue(const cJSON *record, queue_state *qs) {
    char ids[2048] = "";
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(record, "tasks")) {
        char base[96];
        snprintf(base, sizeof base, "%s", str(t, "job"));
        char *u = strchr(base, '_');
        if (u) *u = '\0';
        if (!base[0] || strstr(ids, base)) continue;
        if (ids[0]) strncat(ids, ",", sizeof ids - strlen(ids) - 1);
        strncat(ids, base, sizeof ids - strlen(ids) - 1);
    }
    const char *agg = str(record, "aggregate_job");
    if (agg[0]) {
        if (ids[0]) strncat(ids, ",", sizeof ids - strlen(ids) - 1);
        strncat(ids, agg, sizeof ids - strlen(ids) - 1);
    }
    qs->text[0] = '\0';
    if (!ids[0]) return;
    char out[1 << 14], err[1024];
    int rc = 0;
    char *squeue[] = {"squeue", "--noheader", "--array", "--states=all", "--format=%i|%T", "--jobs", ids, NULL};
    if (ie_run_capture(squeue, out, sizeof out, err, sizeof err, &rc) == IE_OK && rc != 127) {
        qs->squeue = rc == 0;
        if (rc == 0) strncat(qs->text, out, sizeof qs->text - strlen(qs->text) - 1);
    }
    char *sacct[] = {"sacct", "--noheader", "--parsable2", "--allocations", "--format=JobID,State", "--jobs", ids, NULL};
    if (ie_run_capture(sacct, out, sizeof out, err, sizeof err, &rc) == IE_OK && rc == 0) {
        qs->sacct = true;
        strncat(qs->text, out, sizeof qs->text - strlen(qs->text) - 1);
    }
}

/* The first state reported for job id `id` ("123_4" or "124"), or "". */
static void queue_lookup(const queue_state *qs, const char *id, char *state, size_t size) {
    state[0] = '\0';
    if (!id[0]) return;
    size_t n = strlen(id);
    for (const char *line = qs->text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && !strncmp(line, id, n) && line[n] == '|') {
            size_t sl = len - n - 1;
            snprintf(state, size, "%.*s", (int)sl, line + n + 1);
            char *space = strchr(state, ' '); /* "CANCELLED by 0" */
            if (space) *space = '\0';
            return;
        }
        line = end ? end + 1 : line + len;
    }
}

static bool active(const char *state) {
    static const char *const states[] = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED",
                                         "RESIZING", "SUSPENDED", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING",
                                         "STAGE_OUT", "STOPPED"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (!strcmp(state, states[i])) return true;
    return false;
}

static void run_status(const char *run_dir, char *out, size_t size) {
    char path[4800], text[1 << 16];
    snprintf(path, sizeof path, "%s/run.json", run_dir);
    snprintf(out, size, "-");
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *r = cJSON_Parse(text);
    const char *s = r ? cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")) : NULL;
    if (s) snprintf(out, size, "%s", s);
    cJSON_Delete(r);
}

/* Whether job `job` started: the task script's first line in the task's
 * log names it ("== <time> Slurm job <job> on <host>: <run>"); Slurm makes
 * the log only when the job starts, and an earlier or later attempt's lines
 * name other jobs. */
static bool job_started(const char *log, const char *job) {
    char needle[160], line[8192];
    snprintf(needle, sizeof needle, " Slurm job %s on ", job);
    FILE *f = fopen(log, "r");
    if (!f) return false;
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) found = !strncmp(line, "== ", 3) && strstr(line, needle);
    fclose(f);
    return found;
}

typedef struct task_state {
    char state[64];
    int exit_code; /* -1: unknown */
    bool failed, finished, busy;
} task_state;

static void task_state_of(const char *submit_dir, const cJSON *t, int index, const queue_state *qs, bool queried,
                          task_state *ts) {
    const char *job = str(t, "job");
    char queue[64], path[4700], line[256] = "", exit_job[128] = "";
    queue_lookup(qs, job, queue, sizeof queue);
    snprintf(path, sizeof path, "%s/task_%d.exit", submit_dir, index);
    int rc = -1;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(line, sizeof line, f) && sscanf(line, "%127s %d", exit_job, &rc) != 2) rc = -1;
        fclose(f);
    }
    bool exit_current = rc >= 0 && !strcmp(exit_job, job);
    memset(ts, 0, sizeof *ts);
    ts->exit_code = exit_current ? rc : -1;
    if (!job[0]) {
        snprintf(ts->state, sizeof ts->state, "NOT_SUBMITTED");
        ts->failed = true;
    } else if (active(queue)) {
        snprintf(ts->state, sizeof ts->state, "%s", queue);
        ts->busy = true;
    } else if (exit_current) {
        snprintf(ts->state, sizeof ts->state, "%s", rc == 0 ? "COMPLETED" : "FAILED");
        ts->finished = rc == 0;
        ts->failed = rc != 0;
    } else if (!strcmp(queue, "CANCELLED") && !job_started(str(t, "log"), job)) {
        /* Cancelled before it started.  Whether Slurm still lists it depends
         * on timing: a pending element still inside its array's record
         * leaves no trace when cancelled, one the scheduler had already made
         * a job of (the array's last pending element, or one split off to
         * start) stays CANCELLED for MinJobAge.  Both read as the branch
         * below does for a task that left no trace. */
        snprintf(ts->state, sizeof ts->state, "NOT_RUN");
        ts->failed = true;
    } else if (queue[0]) {
        /* Ended without an exit record: killed (time limit, memory, node). */
        snprintf(ts->state, sizeof ts->state, "%s", queue);
        ts->finished = !strcmp(queue, "COMPLETED");
        ts->failed = !ts->finished;
    } else if (queried) {
        /* Slurm no longer knows it and it left no exit record: cancelled
         * before it started (a pending array element leaves no trace), or
         * it started and died with its node. */
        struct stat st;
        snprintf(ts->state, sizeof ts->state, "%s", stat(str(t, "run_dir"), &st) == 0 ? "LOST" : "NOT_RUN");
        ts->failed = true;
    } else {
        snprintf(ts->state, sizeof ts->state, "UNKNOWN");
    }
}

ie_status ie_slurm_status(const char *submit_dir, FILE *out, int *failed) {
    cJSON *record = NULL;
    IE_TRY(read_record(submit_dir, &record));
    queue_state *qs = calloc(1, sizeof *qs);
    if (!qs) {
        cJSON_Delete(record);
        return ie_error_set(IE_ERR_NOMEM, "out of memory");
    }
    query_queue(record, qs);
    bool queried = qs->squeue || qs->sacct;
    const char *run_dir = str(record, "run_dir");
    fprintf(out, "%s: Slurm %s, array job %s", run_dir, str(record, "kind"),
            str(record, "array_job")[0] ? str(record, "array_job") : "(not submitted)");
    if (str(record, "aggregate_job")[0]) fprintf(out, ", aggregation job %s", str(record, "aggregate_job"));
    fprintf(out, "\n");
    if (!queried)
        fprintf(out, "(squeue/sacct did not answer: states come from the tasks' exit records and run.json)\n");
    fprintf(out, "%-5s %-24s %-12s %-5s %-9s %s\n", "task", "run", "state", "exit", "run.json", "job");
    *failed = 0;
    int finished = 0, n = 0;
    const cJSON *t;
    char failed_lines[8192] = "";
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(record, "tasks")) {
        task_state ts;
        task_state_of(submit_dir, t, n, qs, queried, &ts);
        char rs[32], ex[16] = "-";
        run_status(str(t, "run_dir"), rs, sizeof rs);
        if (ts.exit_code >= 0) snprintf(ex, sizeof ex, "%d", ts.exit_code);
        fprintf(out, "%-5d %-24s %-12s %-5s %-9s %s\n", n, str(t, "name"), ts.state, ex, rs, str(t, "job"));
        if (ts.failed) {
            (*failed)++;
            char l[1200];
            snprintf(l, sizeof l, "  task %d (%s) %s: see %s\n", n, str(t, "name"), ts.state, str(t, "log"));
            strncat(failed_lines, l, sizeof failed_lines - strlen(failed_lines) - 1);
        }
        finished += ts.finished;
        n++;
    }
    const char *agg = str(record, "aggregate_job");
    if (agg[0]) {
        char state[64];
        queue_lookup(qs, agg, state, sizeof state);
        fprintf(out, "aggregation (job %s): %s; log %s/aggregate.log\n", agg,
                state[0] ? state : (queried ? "no longer in the queue" : "unknown"), run_dir);
    }
    fprintf(out, "%d of %d tasks finished, %d failed\n", finished, n, *failed);
    if (*failed) {
        fprintf(out, "failed:\n%s", failed_lines);
        fprintf(out, "resubmit one alone (it resumes from its last checkpoint when it has one):\n");
        fprintf(out, "  innereye submit slurm --resubmit %s --task I\n", run_dir);
    }
    free(qs);
    cJSON_Delete(record);
    return IE_OK;
}

ie_status ie_slurm_resubmit(const char *submit_dir, int task, FILE *out) {
    cJSON *record = NULL;
    IE_TRY(read_record(submit_dir, &record));
    cJSON *tasks = cJSON_GetObjectItem(record, "tasks");
    int n = cJSON_GetArraySize(tasks);
    ie_status st = IE_OK;
    queue_state *qs = calloc(1, sizeof *qs);
    if (!qs) st = ie_error_set(IE_ERR_NOMEM, "out of memory");
    if (st == IE_OK && (task < 0 || task >= n))
        st = ie_error_set(IE_ERR_INVALID_ARG, "--task %d: this submission has tasks 0 to %d", task, n - 1);
    task_state ts = {0};
    if (st == IE_OK) {
        query_queue(record, qs);
        task_state_of(submit_dir, cJSON_GetArrayItem(tasks, task), task, qs, qs->squeue || qs->sacct, &ts);
        if (ts.busy)
            st = ie_error_set(IE_ERR_STATE, "task %d is %s (job %s): cancel it first (scancel) or wait", task, ts.state,
                              str(cJSON_GetArrayItem(tasks, task), "job"));
        else if (ts.finished)
            st = ie_error_set(IE_ERR_STATE, "task %d finished (job %s); nothing to resubmit", task,
                              str(cJSON_GetArrayItem(tasks, task), "job"));
    }
    /* The new aggregation waits for this task and for every task still queued. */
    char dependency[4096] = "", new_id[64] = "", agg_id[64] = "";
    if (st == IE_OK) {
        char array[64];
        snprintf(array, sizeof array, "--array=%d", task);
        char *argv1[] = {"sbatch", "--parsable", array, (char *)str(record, "tasks_script"), NULL};
        fprintf(out, "task %d (%s): %s; submitting it again\n", task, str(cJSON_GetArrayItem(tasks, task), "name"),
                ts.state);
        st = sbatch(argv1, new_id, sizeof new_id, out);
    }
    if (st == IE_OK) {
        char id[96];
        snprintf(id, sizeof id, "%s_%d", new_id, task);
        cJSON_ReplaceItemInObject(cJSON_GetArrayItem(tasks, task), "job", cJSON_CreateString(id));
        add_history(record, "resubmit task", id, task);
        snprintf(dependency, sizeof dependency, "--dependency=afterok:%s", id);
        for (int i = 0; i < n; i++) {
            task_state other;
            if (i == task) continue;
            task_state_of(submit_dir, cJSON_GetArrayItem(tasks, i), i, qs, true, &other);
            if (!other.busy) continue;
            strncat(dependency, ":", sizeof dependency - strlen(dependency) - 1);
            strncat(dependency, str(cJSON_GetArrayItem(tasks, i), "job"), sizeof dependency - strlen(dependency) - 1);
        }
    }
    const char *aggregate = str(record, "aggregate_script");
    if (st == IE_OK && aggregate[0]) {
        char *argv2[] = {"sbatch", "--parsable", dependency, "--kill-on-invalid-dep=yes", (char *)aggregate, NULL};
        st = sbatch(argv2, agg_id, sizeof agg_id, out);
        if (st == IE_OK) {
            cJSON_DeleteItemFromObject(record, "aggregate_job");
            cJSON_AddStringToObject(record, "aggregate_job", agg_id);
            add_history(record, "submit aggregation", agg_id, -1);
        }
    }
    if (new_id[0]) {
        ie_status w = write_record(submit_dir, record);
        if (st == IE_OK) st = w;
    }
    free(qs);
    cJSON_Delete(record);
    return st;
}
