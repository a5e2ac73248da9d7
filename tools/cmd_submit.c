/* tools - running at scale: cluster submission (docs/cluster.md).
 *
 *   innereye submit slurm   (--model NAME | --config FILE) [--cv K | --grid ... --random ...] [--parallel N]
 *                           [--partition P] [--gpus-per-task N] [--cpus-per-task N] [--time HH:MM:SS] [--mem M]
 *   innereye submit slurm   --resubmit RUN_DIR --task I
 *   innereye submit azureml (--model NAME | --config FILE) [--cv K | --grid ...] --compute CLUSTER
 *                           [--data azureml:NAME@latest | --data-path PATH] [--experiment NAME]
 *   innereye submit azureml --resubmit RUN_DIR --task I [--dry-run]
 *   innereye status RUN_DIR
 *   innereye collect RUN_DIR
 *   innereye sweep-aggregate SWEEP_RUN_DIR
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "core/experiment/child_runs.h"
#include "core/experiment/cross_validation.h"
#include "core/experiment/sweep.h"
#include "core/submit/azureml.h"
#include "core/submit/cmdline.h"
#include "core/submit/job_spec.h"
#include "core/submit/slurm.h"
#include "core/run/run_dir.h"
#include "core/run/run_settings.h"
#include "core/task/task.h"
#include "core/util/path.h"
#include "innereye/config.h"
#include "tools/cli_config.h"
#include "tools/cmd_submit.h"
#include "tools/commands.h"

static void usage(FILE *f) { ie_cli_usage("submit", f); }

static int parse_count(const char *flag, const char *v, int lo, int *out) {
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || n < lo || n > 100000) {
        fprintf(stderr, "innereye submit: %s needs a whole number >= %d, got '%s'\n", flag, lo, v ? v : "");
        return 0;
    }
    *out = (int)n;
    return 1;
}

/* HH:MM:SS, MM:SS, MM, D-HH[:MM[:SS]]: Slurm's --time forms, checked loosely. */
static bool valid_time(const char *t) {
    if (!*t) return false;
    for (const char *p = t; *p; p++)
        if (!strchr("0123456789:-", *p)) return false;
    return true;
}

/* Every trial's values must make a valid config before anything is submitted. */
static int check_trials(const ie_config *cfg, const ie_sweep_spec *spec) {
    ie_run_settings run = {0};
    ie_run_settings_read(cfg, &run); /* cfg is resolved: it cannot fail */
    uint64_t seed = run.seed;
    for (int k = 0; k < ie_sweep_trial_count(spec); k++) {
        char assignments[IE_SWEEP_MAX_KEYS][256];
        int count = 0;
        ie_config *trial = NULL;
        ie_sweep_trial(spec, seed, k, assignments, &count);
        ie_status st = ie_config_new(&trial);
        if (st == IE_OK) st = ie_config_add_text(trial, ie_config_text(cfg), "sweep");
        for (int i = 0; st == IE_OK && i < count; i++) st = ie_config_set(trial, assignments[i], "--grid/--random");
        if (st != IE_OK || ie_config_resolve(trial) != IE_OK) {
            fprintf(stderr, "innereye submit: trial %d's values make an invalid config:\n%s", k,
                    st != IE_OK ? ie_error_message() : ie_config_problems(trial));
            ie_config_free(trial);
            return 0;
        }
        ie_config_free(trial);
    }
    return 1;
}

/* The repository to snapshot: --repo, the git checkout around the current
 * folder, or the source tree this innereye was built from. */
static ie_status repo_root(const char *given, char *out, size_t size) {
    if (given) return ie_path_format(out, size, "%s", given);
    char *argv[] = {"git", "rev-parse", "--show-toplevel", NULL};
    int rc = 0;
    char text[4096], err[512];
    if (ie_run_capture(argv, text, sizeof text, err, sizeof err, &rc) == IE_OK && rc == 0 && text[0]) {
        text[strcspn(text, "\n")] = '\0';
        char probe[4200];
        if (ie_path_format(probe, sizeof probe, "%s/docker/Dockerfile", text) == IE_OK && access(probe, R_OK) == 0)
            return ie_path_format(out, size, "%s", text);
    }
    return ie_path_format(out, size, "%s", IE_SOURCE_DIR);
}

static int resubmit(const char *engine, int argc, char **argv) {
    const char *run = NULL;
    int task = -1;
    bool dry_run = false, slurm = !strcmp(engine, "slurm");
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resubmit") && i + 1 < argc) run = argv[++i];
        else if (!strcmp(argv[i], "--task") && i + 1 < argc) {
            if (!parse_count("--task", argv[++i], 0, &task)) return 2;
        } else if (!slurm && !strcmp(argv[i], "--dry-run")) {
            dry_run = true;
        } else {
            fprintf(stderr, "innereye submit %s --resubmit: unexpected '%s' (give --resubmit RUN_DIR --task I)\n",
                    engine, argv[i]);
            return 2;
        }
    }
    if (!run || task < 0) {
        fprintf(stderr, "innereye submit %s: give --resubmit RUN_DIR --task I\n", engine);
        return 2;
    }
    char dir[4200];
    struct stat st;
    if (ie_path_format(dir, sizeof dir, "%s/%s", run, engine) != IE_OK) {
        fprintf(stderr, "innereye submit %s --resubmit: %s\n", engine, ie_error_message());
        return 2;
    }
    if (stat(dir, &st) != 0 && ie_path_format(dir, sizeof dir, "%s.%s", run, engine) != IE_OK) dir[0] = '\0';
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "innereye submit %s: %s was not submitted with innereye submit %s (no %s/%s or %s.%s)\n",
                engine, run, engine, run, engine, run, engine);
        return 2;
    }
    ie_status rc = slurm ? ie_slurm_resubmit(dir, task, stdout) : ie_azureml_resubmit(dir, task, dry_run, stdout);
    if (rc != IE_OK) {
        fprintf(stderr, "innereye submit %s: %s\n", engine, ie_error_message());
        return 1;
    }
    if (!dry_run) printf("follow it with: innereye status %s\n", run);
    return 0;
}

static int submit(const char *engine, bool slurm, bool azureml, int argc, char **argv, char **config_args,
                  char **rest, ie_config *cfg);

int ie_cmd_submit(int argc, char **argv) {
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    const char *engine = argv[0];
    bool slurm = !strcmp(engine, "slurm"), azureml = !strcmp(engine, "azureml");
    if (!slurm && !azureml) {
        fprintf(stderr, "innereye submit: unknown engine '%s'; use slurm or azureml\n", engine);
        usage(stderr);
        return 2;
    }
    argc--, argv++;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--resubmit")) return resubmit(engine, argc, argv);
    char **config_args = calloc((size_t)argc + 8, sizeof *config_args), **rest = calloc((size_t)argc + 8, sizeof *rest);
    ie_config *cfg = NULL;
    int rc = 1;
    if (!config_args || !rest || ie_config_new(&cfg) != IE_OK) fprintf(stderr, "innereye submit: out of memory\n");
    else rc = submit(engine, slurm, azureml, argc, argv, config_args, rest, cfg);
    ie_config_free(cfg);
    free(config_args);
    free(rest);
    return rc;
}

/* A new submission: the arguments after the engine's name.  config_args and
 * rest have room for argc + 8 pointers; ie_cmd_submit frees them and cfg
 * whichever way this returns. */
static int submit(const char *engine, bool slurm, bool azureml, int argc, char **argv, char **config_args,
                  char **rest, ie_config *cfg) {
    ie_sweep_spec spec = {.early_stop = true};
    ie_slurm_opts so = {0};
    ie_azureml_opts ao = {0};
    int parallel = 0;
    const char *innereye = NULL, *repo = NULL;
    bool dry_run = false;
    static char sets[4][256];
    int n_config = 0, n_rest = 0, n_sets = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        static const char *const valued[] = {"--grid", "--random", "--trials", "--parallel", "--metric", "--goal",
                                             "--cv", "--partition", "--gpus-per-task", "--cpus-per-task", "--time",
                                             "--mem", "--innereye", "--compute", "--data", "--data-path",
                                             "--experiment", "--resource-group", "--workspace", "--repo",
                                             "--nodes", "--tasks-per-node", "--instance-count",
                                             "--processes-per-instance"};
        bool takes = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) takes |= !strcmp(a, valued[k]);
        if (takes && !v) {
            fprintf(stderr, "innereye submit: %s needs a value\n", a);
            return 2;
        }
        bool slurm_only = !strcmp(a, "--partition") || !strcmp(a, "--gpus-per-task") ||
                          !strcmp(a, "--cpus-per-task") || !strcmp(a, "--time") || !strcmp(a, "--mem") ||
                          !strcmp(a, "--nodes") || !strcmp(a, "--tasks-per-node");
        bool azure_only = !strcmp(a, "--compute") || !strcmp(a, "--data") || !strcmp(a, "--data-path") ||
                          !strcmp(a, "--experiment") || !strcmp(a, "--resource-group") || !strcmp(a, "--workspace") ||
                          !strcmp(a, "--repo") || !strcmp(a, "--cuda") || !strcmp(a, "--jobs-per-fold") ||
                          !strcmp(a, "--instance-count") || !strcmp(a, "--processes-per-instance");
        if ((slurm_only && !slurm) || (azure_only && !azureml)) {
            fprintf(stderr, "innereye submit %s: %s is an option of innereye submit %s\n", engine, a,
                    slurm ? "azureml" : "slurm");
            return 2;
        }
        if (!strcmp(a, "--grid") || !strcmp(a, "--random")) {
            if (ie_sweep_add(&spec, v, !strcmp(a, "--random")) != IE_OK) {
                fprintf(stderr, "innereye submit: %s\n", ie_error_message());
                return 2;
            }
        } else if (!strcmp(a, "--trials")) {
            if (!parse_count(a, v, 1, &spec.trials)) return 2;
        } else if (!strcmp(a, "--parallel")) {
            if (!parse_count(a, v, 1, &parallel)) return 2;
        } else if (!strcmp(a, "--cpus-per-task")) {
            if (!parse_count(a, v, 1, &so.cpus_per_task)) return 2;
        } else if (!strcmp(a, "--instance-count")) {
            if (!parse_count(a, v, 1, &ao.instance_count)) return 2;
        } else if (!strcmp(a, "--processes-per-instance")) {
            if (!parse_count(a, v, 1, &ao.processes_per_instance)) return 2;
        } else if (!strcmp(a, "--nodes")) {
            if (!parse_count(a, v, 1, &so.nodes)) return 2;
        } else if (!strcmp(a, "--tasks-per-node")) {
            if (!parse_count(a, v, 1, &so.tasks_per_node)) return 2;
        } else if (!strcmp(a, "--gpus-per-task")) {
            if (!parse_count(a, v, 0, &so.gpus_per_task)) return 2;
        } else if (!strcmp(a, "--time")) {
            if (!valid_time(v)) {
                fprintf(stderr, "innereye submit: --time takes Slurm's form HH:MM:SS (or D-HH:MM:SS), got '%s'\n", v);
                return 2;
            }
            so.time = v;
        } else if (!strcmp(a, "--metric") || !strcmp(a, "--goal") || !strcmp(a, "--cv")) {
            if (n_sets == 4) return 2;
            snprintf(sets[n_sets], sizeof sets[0], "%s=%s",
                     !strcmp(a, "--metric") ? "train.median_stop.metric"
                     : !strcmp(a, "--goal") ? "train.median_stop.goal"
                                            : "cv.splits",
                     v);
            config_args[n_config++] = "--set";
            config_args[n_config++] = sets[n_sets++];
        } else if (!strcmp(a, "--partition")) so.partition = v;
        else if (!strcmp(a, "--mem")) so.mem = v;
        else if (!strcmp(a, "--innereye")) innereye = v;
        else if (!strcmp(a, "--compute")) ao.compute = v;
        else if (!strcmp(a, "--data")) ao.data_asset = v;
        else if (!strcmp(a, "--data-path")) ao.data_path = v;
        else if (!strcmp(a, "--experiment")) ao.experiment = v;
        else if (!strcmp(a, "--resource-group")) ao.resource_group = v;
        else if (!strcmp(a, "--workspace")) ao.workspace = v;
        else if (!strcmp(a, "--repo")) repo = v;
        else {
            if (!strcmp(a, "--no-early-stop")) spec.early_stop = false;
            else if (!strcmp(a, "--dry-run")) dry_run = true;
            else if (!strcmp(a, "--cuda")) ao.cuda = true;
            else if (!strcmp(a, "--jobs-per-fold")) ao.jobs_per_fold = true;
            else if (strcmp(a, "--sweep") != 0) config_args[n_config++] = argv[i];
            continue;
        }
        i++;
    }
    if (azureml && !ao.compute) {
        fprintf(stderr, "innereye submit azureml: give --compute CLUSTER (the AzureML compute cluster's name)\n");
        return 2;
    }
    if (ao.data_asset && ao.data_path) {
        fprintf(stderr, "innereye submit azureml: give --data or --data-path, not both\n");
        return 2;
    }
    if (ao.data_asset && strncmp(ao.data_asset, "azureml:", 8) != 0) {
        fprintf(stderr, "innereye submit azureml: --data takes a registered data asset, azureml:NAME@latest or "
                        "azureml:NAME:VERSION (a local folder: --data-path), got '%s'\n", ao.data_asset);
        return 2;
    }
    if (ie_cli_config(n_config, config_args, cfg, &n_rest, rest) != IE_OK) {
        fprintf(stderr, "innereye submit: %s\n", ie_error_message());
        return 2;
    }
    if (n_rest) {
        ie_cli_unknown_option("submit", rest[0]);
        return 2;
    }
    if (ie_config_resolve(cfg) != IE_OK) {
        fprintf(stderr, "innereye submit: the configuration has problems:\n%s", ie_config_problems(cfg));
        return 2;
    }
    if (spec.n_params && !check_trials(cfg, &spec)) return 2;

    /* Every check before anything is written (core/submit/job_spec.h): the
     * submission's, the engine's, then the first task's own. */
    ie_job job;
    if (ie_job_plan(cfg, spec.n_params ? &spec : NULL, parallel, engine, &job) != IE_OK) {
        fprintf(stderr, "innereye submit: %s\n", ie_error_message());
        return 1;
    }
    ie_status st = IE_OK;
    char self[4096], cwd[4096], root[4096];
    static char data_words[IE_AZUREML_MAX_SETS][IE_AZUREML_SET_SIZE];
    const char *data_sets[IE_AZUREML_MAX_SETS];
    int n_data = 0;
    bool data_here = true;
    if (azureml) {
        st = repo_root(repo, root, sizeof root);
        ao.repo = root;
        ao.dry_run = dry_run;
        if (st == IE_OK) st = ie_azureml_check(&job, cfg, &ao, data_words, &n_data, &data_here);
        if (st != IE_OK) {
            fprintf(stderr, "innereye submit %s: %s\n", engine, ie_error_message());
            return 1;
        }
        for (int i = 0; i < n_data; i++) data_sets[i] = data_words[i];
    }
    if (data_here) st = ie_job_check_first_task(cfg, &job, &ie_all_tasks, data_sets, n_data);
    else printf("data: %s is a registered data asset, not on this machine: the job checks it\n", ao.data_asset);
    if (st == IE_OK) st = ie_job_create(cfg, &job);
    if (st != IE_OK) {
        fprintf(stderr, "innereye submit: %s\n", ie_error_message());
        return 1;
    }
    if (slurm) {
        ie_self_path(self, sizeof self);
        if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
        so.innereye = innereye ? innereye : self;
        so.workdir = cwd;
        so.dry_run = dry_run;
        st = ie_slurm_submit(&job, &so, stdout);
    } else {
        st = ie_azureml_submit(&job, cfg, &ao, stdout);
    }
    if (st != IE_OK) {
        /* The engines write submission.json before they submit anything:
         * without it nothing was submitted, and the folder goes again. */
        char record[4700];
        struct stat sb;
        if (ie_path_format(record, sizeof record, "%s/submission.json", job.submit_dir) == IE_OK &&
            stat(record, &sb) != 0)
            ie_job_discard(&job);
        fprintf(stderr, "innereye submit %s: %s\n", engine, ie_error_message());
        return 1;
    }
    return 0;
}

/* The submission folder of RUN_DIR: RUN_DIR/<engine>, RUN_DIR.<engine>, or
 * RUN_DIR itself. */
static bool find_submission(const char *run, char *dir, size_t size, char *engine, size_t engine_size) {
    static const char *const engines[] = {"slurm", "azureml"};
    for (int form = 0; form < 3; form++)
        for (int e = 0; e < 2; e++) {
            ie_status st = form == 0   ? ie_path_format(dir, size, "%s/%s", run, engines[e])
                           : form == 1 ? ie_path_format(dir, size, "%s.%s", run, engines[e])
                                       : ie_path_format(dir, size, "%s", run);
            char path[4400], text[256] = "";
            if (st == IE_OK) st = ie_path_format(path, sizeof path, "%s/submission.json", dir);
            if (st != IE_OK) return false; /* the callers checked RUN_DIR/run.json fits, and this is no longer */
            FILE *f = fopen(path, "r");
            if (!f) continue;
            size_t n = fread(text, 1, sizeof text - 1, f);
            text[n] = '\0';
            fclose(f);
            snprintf(engine, engine_size, "%s", strstr(text, "\"azureml\"") ? "azureml" : "slurm");
            return true;
        }
    return false;
}

int ie_cmd_status(int argc, char **argv) {
    if (argc != 1) {
        ie_cli_usage("status", stderr);
        return 2;
    }
    char dir[4200], engine[32], record[4300];
    struct stat sb;
    if (ie_path_format(record, sizeof record, "%s/run.json", argv[0]) != IE_OK) {
        fprintf(stderr, "innereye status: %s\n", ie_error_message());
        return 2;
    }
    if (!find_submission(argv[0], dir, sizeof dir, engine, sizeof engine) && stat(record, &sb) == 0) {
        bool ok = false; /* a run of innereye train on this machine */
        if (ie_run_status_print(argv[0], stdout, &ok) != IE_OK) {
            fprintf(stderr, "innereye status: %s\n", ie_error_message());
            return 1;
        }
        return ok ? 0 : 1;
    }
    if (!find_submission(argv[0], dir, sizeof dir, engine, sizeof engine)) {
        fprintf(stderr, "innereye status: %s has no run.json and no submission record (submission.json in %s/slurm, "
                        "%s/azureml, %s.slurm or %s.azureml); was it made by innereye train or innereye submit?\n",
                argv[0], argv[0], argv[0], argv[0], argv[0]);
        return 2;
    }
    int failed = 0;
    ie_status st = !strcmp(engine, "slurm") ? ie_slurm_status(dir, stdout, &failed)
                                            : ie_azureml_status(dir, stdout, &failed);
    if (st != IE_OK) {
        fprintf(stderr, "innereye status: %s\n", ie_error_message());
        return 2;
    }
    return failed ? 1 : 0;
}

/* The aggregation a local cross-validation ends with (cv-aggregate), run
 * from the output folder: the folds record their paths (e.g. generated data)
 * relative to where they ran, the job's output folder, which is the run's
 * parent here. */
static int aggregate_cv(const char *run_dir) {
    char cwd[4096], parent[4400], where[4096];
    if (ie_path_format(parent, sizeof parent, "%s", run_dir) != IE_OK) {
        fprintf(stderr, "innereye collect: %s\n", ie_error_message());
        return 2;
    }
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) *slash = '\0';
    if (!getcwd(cwd, sizeof cwd) || chdir(parent) != 0) {
        fprintf(stderr, "innereye collect: cannot enter %s\n", parent);
        return 1;
    }
    ie_config *cfg = NULL;
    int folds = 0;
    ie_status st = ie_cv_read_config(run_dir, &cfg, &folds);
    if (st == IE_OK) st = ie_cv_aggregate(run_dir, folds);
    if (st == IE_OK) printf("aggregated: %s/cv_metrics.csv, %s/cv_summary.csv\n", run_dir, run_dir);
    /* Some tasks' ensembles read the test subjects' files again, others
     * combine the folds' predictions (core/task/task.h). */
    const ie_task *task = st == IE_OK ? ie_cv_task(&ie_all_tasks, run_dir, folds) : NULL;
    bool reads_data = !task || task->cv_ensemble_reads_data;
    if (st == IE_OK && reads_data && ie_azureml_data_elsewhere(run_dir, folds, where, sizeof where)) {
        printf("the folds' ensemble is not evaluated here: the folds read their data from %s (the job's data "
               "input), which is not on this machine; build it with innereye ensemble --runs %s/fold_0 ... and "
               "evaluate it with innereye infer on the test subjects (docs/cluster.md)\n", where, run_dir);
    } else if (st == IE_OK) {
        char self[4096];
        ie_self_path(self, sizeof self);
        st = ie_cv_ensemble_folds(cfg, &ie_all_tasks, run_dir, folds, self);
    }
    ie_config_free(cfg);
    if (chdir(cwd) != 0) fprintf(stderr, "innereye collect: cannot return to %s\n", cwd);
    if (st != IE_OK) {
        fprintf(stderr, "innereye collect: %s\n", ie_error_message());
        return 1;
    }
    return 0;
}

int ie_cmd_collect(int argc, char **argv) {
    if (argc != 1 || argv[0][0] == '-') {
        ie_cli_usage("collect", stderr);
        return 2;
    }
    char dir[4200], engine[32], record[4300];
    struct stat sb;
    if (ie_path_format(record, sizeof record, "%s/run.json", argv[0]) != IE_OK) {
        fprintf(stderr, "innereye collect: %s\n", ie_error_message());
        return 2;
    }
    if (!find_submission(argv[0], dir, sizeof dir, engine, sizeof engine) && stat(record, &sb) == 0) {
        bool ok = false; /* a run of innereye train on this machine */
        if (ie_run_status_print(argv[0], stdout, &ok) != IE_OK) {
            fprintf(stderr, "innereye status: %s\n", ie_error_message());
            return 1;
        }
        return ok ? 0 : 1;
    }
    if (!find_submission(argv[0], dir, sizeof dir, engine, sizeof engine)) {
        fprintf(stderr, "innereye collect: %s has no submission record (submission.json in %s/azureml or "
                        "%s.azureml); was it submitted with innereye submit azureml?\n",
                argv[0], argv[0], argv[0]);
        return 2;
    }
    if (strcmp(engine, "azureml") != 0) {
        fprintf(stderr, "innereye collect: %s ran on Slurm, whose tasks write into it on the shared filesystem: "
                        "nothing to download (its aggregation job runs innereye cv-aggregate or sweep-aggregate)\n",
                argv[0]);
        return 2;
    }
    ie_azureml_collected r;
    if (ie_azureml_collect(dir, stdout, &r) != IE_OK) {
        fprintf(stderr, "innereye collect: %s\n", ie_error_message());
        return 1;
    }
    int rc = r.collected == r.tasks && r.refused == 0 ? 0 : 1;
    if (r.refused) {
        fprintf(stderr, "innereye collect: %d folder%s refused (see above); not aggregated\n", r.refused,
                r.refused == 1 ? "" : "s");
        return 1;
    }
    if (!strcmp(r.kind, "single") || r.collected == 0) return rc;
    /* As a local run: what finished is aggregated, what failed is reported. */
    if (!strcmp(r.kind, "cv")) {
        if (aggregate_cv(r.run_dir) != 0) rc = 1;
    } else if (ie_sweep_aggregate(r.run_dir) != IE_OK) {
        fprintf(stderr, "innereye collect: %s\n", ie_error_message());
        rc = 1;
    }
    return rc;
}

int ie_cmd_sweep_aggregate(int argc, char **argv) {
    if (argc != 1) {
        ie_cli_usage("sweep-aggregate", stderr);
        return 2;
    }
    if (ie_sweep_aggregate(argv[0]) != IE_OK) {
        fprintf(stderr, "innereye sweep-aggregate: %s\n", ie_error_message());
        return 1;
    }
    return 0;
}
