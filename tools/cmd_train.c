/* tools - `innereye train`: builds the config from files, the model's
 * built-in config and command-line overrides, then runs the trainer.
 *
 *   innereye train --model HelloWorld [--set train.epochs=3] [--threads N]
 *   innereye train --config my.json [--output-dir DIR]
 *   innereye train --resume outputs/HelloWorld_20261126T215300
 *   innereye --model=HelloWorld --num_epochs=3          (InnerEye's runner)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/cv_settings.h"
#include "core/dist/comm.h"
#include "core/experiment/cross_validation.h"
#include "core/report/report.h"
#include "core/task/task.h"
#include "core/train/resume.h"
#include "core/train/trainer.h"
#include "core/util/path.h"
#include "innereye/config.h"
#include "tools/cli_config.h"
#include "tools/cmd_train.h"
#include "tools/train_launch.h"
#include "tools/commands.h"

/* Exit codes (docs/errors.md): 2 when the command line or the configuration
 * is wrong and nothing was run, 1 when the work failed. */
static int fail(const char *what, int code) {
    fprintf(stderr, "innereye train: %s%s%s\n", what, what[0] ? ": " : "", ie_error_message());
    return code;
}

/* The end of a training, resumed or new: report.html of the run, fold or
 * cross-validation (core/report) after a success (a failed run's folder
 * keeps only what docs/errors.md lists; "innereye report DIR" still shows
 * how far it got), else the error and the exit code. */
static int finish(ie_status st, const char *run_dir, const ie_comm *comm) {
    if (st == IE_OK && run_dir[0] && ie_comm_rank(comm) == 0) ie_report_after(run_dir, ie_task_report_results);
    if (st != IE_OK) {
        fprintf(stderr, "innereye train: %s\n", ie_error_message());
        if (run_dir[0] && access(run_dir, F_OK) == 0) /* a run that failed its checks has no folder */
            fprintf(stderr, "innereye train: the run folder is %s\n", run_dir);
        /* A setting found wrong before the run staged its folder is a
         * configuration error like those the schema finds. */
        return st == IE_ERR_CONFIG && !run_dir[0] ? 2 : 1;
    }
    printf("done: %s\n", run_dir);
    return 0;
}

/* innereye train --resume RUN [--threads N] [--set KEY=VALUE ...]: a resumed
 * run keeps its own config.resolved.json, so anything else that would change
 * it is refused rather than silently ignored; the keys that never change
 * results may be set (core/train/resume.h). */
static int resume(int argc, char **argv, ie_comm *comm) {
    ie_train_request req = {.comm = comm, .tasks = &ie_all_tasks};
    const char **set = calloc((size_t)argc + 1, sizeof *set);
    if (!set) return fail("out of memory", 1);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--resume") && v) req.resume_dir = argv[++i];
        else if (!strncmp(a, "--resume=", 9)) req.resume_dir = a + 9;
        else if (!strcmp(a, "--stop-after-epochs") && v) req.stop_after_epochs = atoi(argv[++i]);
        else if (!strcmp(a, "--threads") && v) req.threads_override = atoi(argv[++i]);
        else if (!strncmp(a, "--threads=", 10)) req.threads_override = atoi(a + 10);
        else if ((!strcmp(a, "--set") && v) || !strncmp(a, "--set=", 6)) {
            const char *assignment = a[5] == '=' ? a + 6 : argv[++i], *eq = strchr(assignment, '=');
            char key[256];
            snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - assignment) : (int)strlen(assignment), assignment);
            if (!eq || !ie_resume_key_allowed(key)) {
                fprintf(stderr, "innereye train: --set %s cannot be given with --resume: a resumed run keeps its "
                        "configuration (config.resolved.json), so that it ends as if never stopped. Only %s may be "
                        "set on resume (they never change results); to train with other settings, start a new run "
                        "(--set model.init_checkpoint=RUN/checkpoints/epoch_NNNN.safetensors starts from its "
                        "weights)\n", assignment, IE_RESUME_KEYS);
                free(set);
                return 2;
            }
            set[req.n_resume_set++] = assignment;
        } else {
            fprintf(stderr, "innereye train: '%s' cannot be given with --resume: a resumed run keeps its "
                    "configuration (config.resolved.json); only --threads N and --set of %s may be given\n", a,
                    IE_RESUME_KEYS);
            free(set);
            return 2;
        }
    }
    char path[4200];
    struct stat sb;
    if (ie_path_format(path, sizeof path, "%s/config.resolved.json", req.resume_dir) != IE_OK) {
        fprintf(stderr, "innereye train: --resume %s\n", ie_error_message());
        free(set);
        return 2;
    }
    if (stat(req.resume_dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || stat(path, &sb) != 0) {
        fprintf(stderr, "innereye train: --resume %s: %s; give the folder of a run that innereye train made\n",
                req.resume_dir, stat(req.resume_dir, &sb) != 0 ? "no such folder"
                                 : !S_ISDIR(sb.st_mode) ? "not a folder"
                                                        : "not a run folder (it has no config.resolved.json)");
        free(set);
        return 2;
    }
    req.resume_set = set;
    char run_dir[4096] = "";
    ie_status st = ie_train(&req, run_dir, sizeof run_dir);
    free(set);
    return finish(st, run_dir, comm);
}

static bool has_resume(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--resume") || !strncmp(argv[i], "--resume=", 9)) return true;
    return false;
}

/* The command on a new config and argument list, which ie_cmd_train frees
 * whichever way it returns. */
static int train(int argc, char **argv, ie_config *cfg, char **rest, ie_comm *comm) {
    ie_train_request req = {.comm = comm, .tasks = &ie_all_tasks};
    int n_rest = 0;
    /* A config that cannot be read is one message (the file, what is wrong),
     * not the usage text: the command line itself was understood.  One that
     * names nothing to train gets the usage too. */
    if (ie_cli_config(argc, argv, cfg, &n_rest, rest) != IE_OK) {
        int rc = fail("", 2);
        if (!ie_cli_names_config(argc, argv)) ie_cli_usage("train", stderr);
        return rc;
    }
    for (int i = 0; i < n_rest; i++) {
        const char *a = rest[i];
        if (!strcmp(a, "--stop-after-epochs") && i + 1 < n_rest) req.stop_after_epochs = atoi(rest[++i]);
        else if ((!strcmp(a, "--cv") || !strcmp(a, "--parallel") || !strcmp(a, "--device") ||
                  !strcmp(a, "--precision")) &&
                 i + 1 < n_rest) {
            char assignment[128];
            const char *key = !strcmp(a, "--cv")       ? "cv.splits"
                              : !strcmp(a, "--parallel") ? "cv.parallel"
                              : !strcmp(a, "--device")   ? "train.device"
                                                         : "train.precision";
            snprintf(assignment, sizeof assignment, "%s=%s", key, rest[++i]);
            if (ie_config_set(cfg, assignment, a) != IE_OK) return fail("", 2);
        }
        else {
            ie_cli_unknown_option("train", a);
            return 2;
        }
    }
    if (ie_config_resolve(cfg) != IE_OK) {
        fprintf(stderr, "innereye train: the configuration has problems:\n%s", ie_config_problems(cfg));
        return 2;
    }
    req.config = cfg;
    char run_dir[4096] = "";
    ie_cv_settings cv = {.splits = 0, .split_index = -1};
    ie_cv_settings_read(cfg, &cv); /* resolved just above: it cannot fail */
    int folds = cv.splits, fold = cv.split_index;
    ie_status st;
    if (folds >= 2 && fold < 0 && ie_comm_size(comm) > 1) {
        fprintf(stderr, "innereye train: --cv K with several processes: run the folds in parallel instead (--cv K "
                "--parallel N), or one fold on several processes (--cross_validation_split_index I)\n");
        return 2;
    }
    if (folds >= 2 && fold < 0) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        st = ie_cv_run_all(cfg, &ie_all_tasks, self, run_dir, sizeof run_dir);
    } else if (folds >= 2) {
        st = ie_cv_run_fold_on(cfg, req.tasks, req.threads_override, comm, run_dir, sizeof run_dir);
    } else {
        st = ie_train(&req, run_dir, sizeof run_dir);
    }
    return finish(st, run_dir, comm);
}

/* Under mpirun or srun every process runs this; rank 0 alone prints
 * progress (the others' stdout goes to /dev/null, their errors still show).
 * A failure with several processes ends the whole job (MPI_Abort): the
 * others may be waiting for this one, and must not hang. */
static int train_ranks(int argc, char **argv) {
    ie_comm *comm = NULL;
    if (ie_comm_open(&comm) != IE_OK) return fail("", 1);
    if (ie_comm_rank(comm) != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "innereye train: rank %d: cannot silence its output\n", ie_comm_rank(comm));
    int rc;
    if (has_resume(argc, argv)) {
        rc = resume(argc, argv, comm);
    } else {
        char **rest = calloc((size_t)argc + 1, sizeof *rest);
        ie_config *cfg = NULL;
        rc = rest && ie_config_new(&cfg) == IE_OK ? train(argc, argv, cfg, rest, comm) : fail("out of memory", 1);
        ie_config_free(cfg);
        free(rest);
    }
    if (rc != 0 && ie_comm_size(comm) > 1) {
        fflush(stdout);
        fflush(stderr);
        ie_comm_abort(comm, rc);
    }
    ie_comm_close(comm);
    return rc;
}

int ie_cmd_train(int argc, char **argv) {
    int processes = ie_train_processes_arg(argc, argv);
    if (processes < 0) return 2;
    if (processes > 0) return ie_train_launch(argc, argv, processes);
    return train_ranks(argc, argv);
}
