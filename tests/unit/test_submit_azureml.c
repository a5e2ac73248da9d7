/* tests - `innereye submit azureml`: the CLI v2 job specifications it writes,
 * parsed back (tests/yaml_subset.h) and checked for every field the command
 * and sweep job schemas require (type, command, code, environment, compute,
 * inputs, outputs; sweep: sampling_algorithm, search_space, objective,
 * limits, early_termination, trial), with the fold index and the sweep
 * parameters reaching the command line; and the az calls, through a fake
 * `az` on PATH that records its arguments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/submit/azureml.h"
#include "core/submit/azureml_jobs.h"
#include "core/submit/job_spec.h"
#include "test_util.h"
#include "yaml_subset.h"

static char root[1024];

static void sh(const char *fmt, const char *arg) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, arg);
    if (system(cmd) != 0) {
        fprintf(stderr, "FAIL: %s\n", cmd);
        exit(1);
    }
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static cJSON *load_yaml(const char *dir, const char *file) {
    char path[8192], err[256] = "";
    snprintf(path, sizeof path, "%s/%s", dir, file);
    const char *text = read_file(path);
    CHECK(text != NULL, "%s was not written", path);
    if (!text) return cJSON_CreateObject();
    cJSON *y = yaml_parse(text, err, sizeof err);
    CHECK(y != NULL, "%s: %s", path, err);
    return y ? y : cJSON_CreateObject();
}

static ie_config *config(const char *json, const char *const *sets, int n) {
    ie_config *cfg = NULL;
    CHECK_OK(ie_config_new(&cfg));
    CHECK_OK(ie_config_add_text(cfg, json, "test"));
    for (int i = 0; i < n; i++) CHECK_OK(ie_config_set(cfg, sets[i], "test"));
    if (ie_config_resolve(cfg) != IE_OK) {
        fprintf(stderr, "FAIL: config problems:\n%s", ie_config_problems(cfg));
        exit(1);
    }
    return cfg;
}

static ie_azureml_opts opts(void) {
    static char repo[1100];
    snprintf(repo, sizeof repo, "%s/repo", root);
    return (ie_azureml_opts){.compute = "gpu-cluster", .repo = repo, .dry_run = true};
}

/* Fields every job (command or sweep trial) needs, under `at` ("" or "trial."). */
static void check_runnable(const cJSON *y, const char *at, const char *dir, bool cuda) {
    char key[128];
    snprintf(key, sizeof key, "%scode", at);
    CHECK(!strcmp(yaml_str(y, key), "code"), "%s: %s", key, yaml_str(y, key));
    char path[8192];
    snprintf(path, sizeof path, "%s/code/%s", dir, cuda ? "docker/Dockerfile.cuda" : "docker/Dockerfile");
    CHECK(access(path, R_OK) == 0, "the code snapshot has no Dockerfile at %s", path);
    snprintf(key, sizeof key, "%senvironment.build.path", at);
    CHECK(!strcmp(yaml_str(y, key), "code"), "%s", key);
    snprintf(key, sizeof key, "%senvironment.build.dockerfile_path", at);
    CHECK(!strcmp(yaml_str(y, key), cuda ? "docker/Dockerfile.cuda" : "docker/Dockerfile"), "%s: %s", key,
          yaml_str(y, key));
    snprintf(key, sizeof key, "%scommand", at);
    /* Run from inside the output, as a local fold runs from the project
     * folder: the paths the run records hold after download too. */
    const char *start = "cd ${{outputs.run}} && innereye train --config ${{inputs.config}} ";
    CHECK(!strncmp(yaml_str(y, key), start, strlen(start)), "%s: %s", key, yaml_str(y, key));
    CHECK(strstr(yaml_str(y, key), " --output-dir . ") != NULL, "the run folder goes to the output: %s",
          yaml_str(y, key));
}

/* submission.json of a submission folder. */
static cJSON *load_record(const char *dir) {
    char path[8192];
    snprintf(path, sizeof path, "%s/submission.json", dir);
    const char *text = read_file(path);
    cJSON *r = text ? cJSON_Parse(text) : NULL;
    CHECK(r != NULL, "%s: not JSON", path);
    return r ? r : cJSON_CreateObject();
}

/* `text` with every `from` replaced by `to` (static buffer). */
static const char *replace(const char *text, const char *from, const char *to) {
    static char out[8192];
    size_t n = 0, lf = strlen(from), lt = strlen(to);
    for (const char *p = text; *p && n + lt + 1 < sizeof out;) {
        if (!strncmp(p, from, lf)) {
            memcpy(out + n, to, lt);
            n += lt;
            p += lf;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

/* A resubmitted task's command job has the sweep trial's code, environment,
 * compute, inputs and outputs, and its command with the values filled in. */
static void check_task_job(const cJSON *sweep, const cJSON *task_job, const char *want_command, int task) {
    static const char *const same[] = {"compute", "experiment_name", "tags.innereye_run", "tags.innereye_commit",
                                       "inputs.config.type", "inputs.config.path", "inputs.data.type",
                                       "inputs.data.path", "inputs.data.mode", "outputs.run.type", "outputs.run.mode"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        CHECK(!strcmp(yaml_str(sweep, same[i]), yaml_str(task_job, same[i])), "%s: sweep %s, task job %s", same[i],
              yaml_str(sweep, same[i]), yaml_str(task_job, same[i]));
    static const char *const runnable[] = {"code", "environment.build.path", "environment.build.dockerfile_path"};
    for (size_t i = 0; i < sizeof runnable / sizeof runnable[0]; i++) {
        char key[128];
        snprintf(key, sizeof key, "trial.%s", runnable[i]);
        CHECK(!strcmp(yaml_str(sweep, key), yaml_str(task_job, runnable[i])), "%s: sweep %s, task job %s",
              runnable[i], yaml_str(sweep, key), yaml_str(task_job, runnable[i]));
    }
    CHECK(!strcmp(yaml_str(task_job, "type"), "command"), "a command job: %s", yaml_str(task_job, "type"));
    CHECK(!strcmp(yaml_str(task_job, "command"), want_command), "command:\n  %s\nwanted:\n  %s",
          yaml_str(task_job, "command"), want_command);
    char index[16];
    snprintf(index, sizeof index, "%d", task);
    CHECK(!strcmp(yaml_str(task_job, "tags.innereye_task"), index), "tags.innereye_task: %s",
          yaml_str(task_job, "tags.innereye_task"));
}

static void check_io(const cJSON *y, const char *dir, const char *data) {
    CHECK(!strcmp(yaml_str(y, "compute"), "azureml:gpu-cluster"), "compute: %s", yaml_str(y, "compute"));
    CHECK(!strcmp(yaml_str(y, "inputs.config.type"), "uri_file"), "inputs.config.type");
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, yaml_str(y, "inputs.config.path"));
    CHECK(access(path, R_OK) == 0, "inputs.config.path %s does not lead to the config", path);
    CHECK(!strcmp(yaml_str(y, "outputs.run.type"), "uri_folder"), "outputs.run.type");
    CHECK(!strcmp(yaml_str(y, "outputs.run.mode"), "rw_mount"), "outputs.run.mode");
    if (data) {
        CHECK(!strcmp(yaml_str(y, "inputs.data.type"), "uri_folder"), "inputs.data.type");
        CHECK(!strcmp(yaml_str(y, "inputs.data.mode"), "ro_mount"), "inputs.data.mode");
        CHECK(!strcmp(yaml_str(y, "inputs.data.path"), data), "inputs.data.path %s", yaml_str(y, "inputs.data.path"));
    } else {
        CHECK(yaml_get(y, "inputs.data") == NULL, "no data input expected");
    }
    CHECK(strlen(yaml_str(y, "tags.innereye_commit")) == 40, "tags.innereye_commit: %s",
          yaml_str(y, "tags.innereye_commit"));
}

static const char *base = "{\"model\": {\"name\": \"HelloWorld\"}, \"data\": {\"synthetic\": true}}";

static void test_single(void) {
    const char *sets[] = {"run.name=one", "train.epochs=3"};
    ie_config *cfg = config(base, sets, 2);
    ie_job job;
    CHECK_OK(ie_job_prepare(cfg, NULL, 0, "azureml", &job));
    ie_azureml_opts o = opts();
    FILE *out = tmpfile();
    CHECK_OK(ie_azureml_submit(&job, cfg, &o, out));
    fclose(out);
    CHECK(strstr(job.submit_dir, "/outputs/one.azureml") != NULL, "one run: files beside the run: %s", job.submit_dir);
    cJSON *y = load_yaml(job.submit_dir, "job.yml");
    CHECK(!strcmp(yaml_str(y, "type"), "command"), "type: %s", yaml_str(y, "type"));
    CHECK(strstr(yaml_str(y, "$schema"), "commandJob.schema.json") != NULL, "$schema");
    check_runnable(y, "", job.submit_dir, false);
    check_io(y, job.submit_dir, NULL);
    CHECK(strstr(yaml_str(y, "command"), "--set run.name=one") != NULL, "command: %s", yaml_str(y, "command"));
    CHECK(!strcmp(yaml_str(y, "experiment_name"), "innereye"), "experiment_name");
    char path[8192];
    snprintf(path, sizeof path, "%s/code/SOURCE_COMMIT", job.submit_dir);
    CHECK(read_file(path) && strlen(read_file(path)) == 41, "the snapshot records its commit");
    snprintf(path, sizeof path, "%s/code/untracked.txt", job.submit_dir);
    CHECK(access(path, F_OK) != 0, "the snapshot holds HEAD only, not untracked files");
    snprintf(path, sizeof path, "%s/commands.sh", job.submit_dir);
    CHECK(read_file(path) && strstr(read_file(path), "az ml job create --file job.yml\n"), "commands.sh");
    cJSON_Delete(y);
    ie_config_free(cfg);
}

static void test_cv(void) {
    /* Real-looking data: images and labels folders under one dataset folder. */
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/data/hippo", root);
    sh("mkdir -p %s/images", dir);
    sh("mkdir -p %s/labels", dir);
    const char *json = "{\"model\": {\"name\": \"HelloWorld\"}, \"data\": {\"images_dir\": \"data/hippo/images\", "
                       "\"labels_dir\": \"data/hippo/labels\"}}";
    const char *sets[] = {"run.name=cv", "cv.splits=3"};
    ie_config *cfg = config(json, sets, 2);
    ie_job job;
    CHECK_OK(ie_job_prepare(cfg, NULL, 2, "azureml", &job));
    ie_azureml_opts o = opts();
    o.data_asset = "azureml:hippocampus@latest";
    o.experiment = "hippo";
    o.cuda = true;
    FILE *out = tmpfile();
    CHECK_OK(ie_azureml_submit(&job, cfg, &o, out));
    fclose(out);
    CHECK(strstr(job.submit_dir, "/outputs/cv/azureml") != NULL, "folds: files in the parent: %s", job.submit_dir);
    cJSON *y = load_yaml(job.submit_dir, "cv.yml");
    CHECK(!strcmp(yaml_str(y, "type"), "sweep"), "a sweep over the fold index: %s", yaml_str(y, "type"));
    CHECK(strstr(yaml_str(y, "$schema"), "sweepJob.schema.json") != NULL, "$schema");
    CHECK(!strcmp(yaml_str(y, "experiment_name"), "hippo"), "experiment_name");
    const cJSON *folds = yaml_get(y, "search_space.fold.values");
    CHECK(!strcmp(yaml_str(y, "search_space.fold.type"), "choice"), "fold: choice");
    CHECK(cJSON_GetArraySize(folds) == 3 && cJSON_GetArrayItem(folds, 2)->valuedouble == 2, "fold values 0, 1, 2");
    CHECK(!strcmp(yaml_str(y, "sampling_algorithm.type"), "grid"), "every fold once: grid");
    CHECK(!strcmp(yaml_str(y, "objective.primary_metric"), "val_loss"), "objective.primary_metric");
    CHECK(!strcmp(yaml_str(y, "objective.goal"), "minimize"), "objective.goal");
    CHECK(yaml_num(y, "limits.max_total_trials") == 3, "limits.max_total_trials");
    CHECK(yaml_num(y, "limits.max_concurrent_trials") == 2, "at most --parallel folds at once");
    CHECK(yaml_get(y, "early_termination") == NULL, "folds are never stopped early");
    check_runnable(y, "trial.", job.submit_dir, true);
    check_io(y, job.submit_dir, "azureml:hippocampus@latest");
    const char *cmd = yaml_str(y, "trial.command");
    CHECK(strstr(cmd, " --cross_validation_split_index ${{search_space.fold}} ") != NULL, "fold index: %s", cmd);
    CHECK(strstr(cmd, "--set run.name=cv") != NULL, "all folds in one parent: %s", cmd);
    CHECK(strstr(cmd, "--set 'data.images_dir=${{inputs.data}}/images' --set 'data.labels_dir=${{inputs.data}}/labels'"),
          "the data input replaces the dataset folder: %s", cmd);
    /* Fold 1 alone (--resubmit): the trial's command with the fold filled in. */
    cJSON *record = load_record(job.submit_dir);
    CHECK(yaml_num(record, "tasks") == 3 && !strcmp(yaml_str(record, "run_name"), "cv"), "the record: tasks, run_name");
    char *text = NULL;
    CHECK_OK(ie_azureml_task_job(record, 1, NULL, &text));
    char err[256] = "";
    cJSON *one = text ? yaml_parse(text, err, sizeof err) : NULL;
    CHECK(one != NULL, "the task job does not parse: %s", err);
    if (one) check_task_job(y, one, replace(cmd, "${{search_space.fold}}", "1"), 1);
    cJSON_Delete(one);
    free(text);
    cJSON_Delete(record);
    cJSON_Delete(y);

    /* --jobs-per-fold: one command job per fold, the index literal. */
    const char *sets2[] = {"run.name=cv_each", "cv.splits=2", "data.synthetic=true"};
    ie_config *cfg2 = config(json, sets2, 3);
    CHECK_OK(ie_job_prepare(cfg2, NULL, 0, "azureml", &job));
    o = opts();
    o.jobs_per_fold = true;
    out = tmpfile();
    CHECK_OK(ie_azureml_submit(&job, cfg2, &o, out));
    fclose(out);
    for (int i = 0; i < 2; i++) {
        char file[32], want[64];
        snprintf(file, sizeof file, "fold_%d.yml", i);
        snprintf(want, sizeof want, " --cross_validation_split_index %d ", i);
        y = load_yaml(job.submit_dir, file);
        CHECK(!strcmp(yaml_str(y, "type"), "command"), "%s: type", file);
        CHECK(strstr(yaml_str(y, "command"), want) != NULL, "%s: %s", file, yaml_str(y, "command"));
        check_runnable(y, "", job.submit_dir, false);
        check_io(y, job.submit_dir, NULL);
        CHECK(!strcmp(yaml_str(y, "tags.innereye_task"), i ? "1" : "0"), "%s: tags.innereye_task", file);
        cJSON_Delete(y);
    }
    ie_config_free(cfg);
    ie_config_free(cfg2);
}

static void test_sweep(void) {
    const char *sets[] = {"run.name=sw", "train.median_stop.min_epochs=3"};
    ie_config *cfg = config(base, sets, 2);
    ie_sweep_spec spec = {.early_stop = true, .trials = 6};
    CHECK_OK(ie_sweep_add(&spec, "train.batch_size=2,4", false));
    CHECK_OK(ie_sweep_add(&spec, "train.optimizer.lr=loguniform(0.001,0.1)", true));
    CHECK_OK(ie_sweep_add(&spec, "train.optimizer.momentum=uniform(0.5,0.99)", true));
    CHECK_OK(ie_sweep_add(&spec, "model.params.depth=randint(2,4)", true));
    CHECK_OK(ie_sweep_add(&spec, "train.optimizer.kind=choice(adam,sgd)", true));
    ie_job job;
    CHECK_OK(ie_job_prepare(cfg, &spec, 3, "azureml", &job));
    ie_azureml_opts o = opts();
    FILE *out = tmpfile();
    CHECK_OK(ie_azureml_submit(&job, cfg, &o, out));
    fclose(out);
    cJSON *y = load_yaml(job.submit_dir, "sweep.yml");
    CHECK(!strcmp(yaml_str(y, "type"), "sweep"), "type");
    CHECK(!strcmp(yaml_str(y, "sampling_algorithm.type"), "random"), "random keys: random sampling");
    CHECK(cJSON_IsNumber(yaml_get(y, "sampling_algorithm.seed")), "seeded from the run seed");
    const cJSON *bs = yaml_get(y, "search_space.train_batch_size.values");
    CHECK(!strcmp(yaml_str(y, "search_space.train_batch_size.type"), "choice") && cJSON_GetArraySize(bs) == 2 &&
              cJSON_GetArrayItem(bs, 1)->valuedouble == 4,
          "grid values -> choice [2, 4]");
    /* AzureML's loguniform draws exp(uniform(min_value, max_value)). */
    CHECK(!strcmp(yaml_str(y, "search_space.train_optimizer_lr.type"), "loguniform"), "loguniform");
    CHECK(fabs(yaml_num(y, "search_space.train_optimizer_lr.min_value") - log(0.001)) < 1e-12 &&
              fabs(yaml_num(y, "search_space.train_optimizer_lr.max_value") - log(0.1)) < 1e-12,
          "loguniform bounds are logarithms");
    CHECK(!strcmp(yaml_str(y, "search_space.train_optimizer_momentum.type"), "uniform") &&
              yaml_num(y, "search_space.train_optimizer_momentum.min_value") == 0.5 &&
              yaml_num(y, "search_space.train_optimizer_momentum.max_value") == 0.99,
          "uniform bounds");
    const cJSON *depth = yaml_get(y, "search_space.model_params_depth.values");
    CHECK(!strcmp(yaml_str(y, "search_space.model_params_depth.type"), "choice") && cJSON_GetArraySize(depth) == 3 &&
              cJSON_GetArrayItem(depth, 0)->valuedouble == 2,
          "randint(2,4) -> choice [2, 3, 4] (AzureML's randint starts at 0)");
    const cJSON *kind = yaml_get(y, "search_space.train_optimizer_kind.values");
    CHECK(cJSON_IsString(cJSON_GetArrayItem(kind, 1)) && !strcmp(cJSON_GetArrayItem(kind, 1)->valuestring, "sgd"),
          "choice of words stays words");
    CHECK(!strcmp(yaml_str(y, "objective.primary_metric"), "val_loss") && !strcmp(yaml_str(y, "objective.goal"), "minimize"),
          "objective");
    CHECK(!strcmp(yaml_str(y, "early_termination.type"), "median_stopping"), "median stopping policy");
    CHECK(yaml_num(y, "early_termination.evaluation_interval") == 1 &&
              yaml_num(y, "early_termination.delay_evaluation") == 3,
          "evaluated every epoch from train.median_stop.min_epochs on");
    CHECK(yaml_num(y, "limits.max_total_trials") == 6 &&
              yaml_num(y, "limits.max_concurrent_trials") == 3,
          "limits: --trials, --parallel");
    check_runnable(y, "trial.", job.submit_dir, false);
    check_io(y, job.submit_dir, NULL);
    const char *cmd = yaml_str(y, "trial.command");
    static const char *const want[] = {"--set train.batch_size=${{search_space.train_batch_size}}",
                                       "--set train.optimizer.lr=${{search_space.train_optimizer_lr}}",
                                       "--set train.optimizer.momentum=${{search_space.train_optimizer_momentum}}",
                                       "--set model.params.depth=${{search_space.model_params_depth}}",
                                       "--set train.optimizer.kind=${{search_space.train_optimizer_kind}}"};
    for (int i = 0; i < 5; i++) CHECK(strstr(cmd, want[i]) != NULL, "trial command lacks %s: %s", want[i], cmd);
    CHECK(strstr(cmd, "--set train.median_stop.siblings= ") != NULL, "AzureML's policy stops trials, not ours: %s", cmd);
    /* Trial 4 alone, with the values AzureML drew for it (its hyperparameters tag). */
    cJSON *record = load_record(job.submit_dir);
    cJSON *drawn = cJSON_Parse("{\"train_batch_size\": 4, \"train_optimizer_lr\": 0.1, \"train_optimizer_momentum\": "
                               "0.73456789012345, \"model_params_depth\": 3, \"train_optimizer_kind\": \"sgd\"}");
    static char texts[5][64];
    const char *values[IE_SWEEP_MAX_KEYS] = {0};
    static const char *const keys[] = {"train.batch_size", "train.optimizer.lr", "train.optimizer.momentum",
                                       "model.params.depth", "train.optimizer.kind"};
    for (int i = 0; i < 5; i++) {
        CHECK(ie_azureml_param_text(drawn, keys[i], texts[i], sizeof texts[i]), "drawn value of %s", keys[i]);
        values[i] = texts[i];
    }
    CHECK(!strcmp(texts[1], "0.1") && !strcmp(texts[2], "0.73456789012345") && !strcmp(texts[4], "sgd"),
          "values as AzureML wrote them: %s %s %s", texts[1], texts[2], texts[4]);
    char *text = NULL;
    CHECK_OK(ie_azureml_task_job(record, 4, values, &text));
    char err[256] = "", want_cmd[8192];
    snprintf(want_cmd, sizeof want_cmd, "%s", cmd);
    static const char *const space[] = {"train_batch_size", "train_optimizer_lr", "train_optimizer_momentum",
                                        "model_params_depth", "train_optimizer_kind"};
    for (int i = 0; i < 5; i++) {
        char token[128];
        snprintf(token, sizeof token, "${{search_space.%s}}", space[i]);
        snprintf(want_cmd, sizeof want_cmd, "%s", replace(want_cmd, token, texts[i]));
    }
    cJSON *one = text ? yaml_parse(text, err, sizeof err) : NULL;
    CHECK(one != NULL, "the task job does not parse: %s", err);
    if (one) check_task_job(y, one, want_cmd, 4);
    CHECK_FAILS(ie_azureml_task_job(record, 4, NULL, &text), IE_ERR_INVALID_ARG, "values are needed");
    cJSON_Delete(one);
    cJSON_Delete(drawn);
    free(text);
    cJSON_Delete(record);
    cJSON_Delete(y);

    /* Grid keys only: AzureML's grid sampling, no seed. */
    ie_sweep_spec grid = {.early_stop = false};
    CHECK_OK(ie_sweep_add(&grid, "train.batch_size=2,4,8", false));
    const char *sets2[] = {"run.name=grid"};
    ie_config *cfg2 = config(base, sets2, 1);
    CHECK_OK(ie_job_prepare(cfg2, &grid, 0, "azureml", &job));
    out = tmpfile();
    CHECK_OK(ie_azureml_submit(&job, cfg2, &o, out));
    fclose(out);
    y = load_yaml(job.submit_dir, "sweep.yml");
    CHECK(!strcmp(yaml_str(y, "sampling_algorithm.type"), "grid"), "grid keys: grid sampling");
    CHECK(yaml_get(y, "early_termination") == NULL, "--no-early-stop: no policy");
    CHECK(yaml_num(y, "limits.max_total_trials") == 3, "every grid point");
    cJSON_Delete(y);
    ie_config_free(cfg);
    ie_config_free(cfg2);
}

/* A fake az on PATH: records its arguments, answers as the real one does. */
static void test_fake_az(void) {
    char bin[1100], log_path[1100], path_env[4096];
    snprintf(bin, sizeof bin, "%s/bin", root);
    snprintf(log_path, sizeof log_path, "%s/az.log", root);
    sh("mkdir -p %s", bin);
    char script[8192];
    snprintf(script, sizeof script,
             "cat > %s/az << 'EOF'\n#!/bin/sh\necho \"$*\" >> %s\n"
             "case \"$*\" in\n"
             "  'extension show --name ml') echo '{\"name\": \"ml\"}' ;;\n"
             "  'ml job create '*) echo \"job-$(wc -l < %s | tr -d ' ')\" ;;\n"
             "  'ml job show '*) echo '{\"name\": \"job-2\", \"status\": \"Failed\", \"services\": "
             "{\"Studio\": {\"endpoint\": \"https://ml.azure.com/runs/job-2\"}}}' ;;\n"
             "  *) exit 2 ;;\nesac\nEOF\nchmod +x %s/az",
             bin, log_path, log_path, bin);
    if (system(script) != 0) CHECK(0, "cannot write the fake az");
    snprintf(path_env, sizeof path_env, "%s:%s", bin, getenv("PATH"));
    setenv("PATH", path_env, 1);

    const char *sets[] = {"run.name=submitted"};
    ie_config *cfg = config(base, sets, 1);
    ie_job job;
    CHECK_OK(ie_job_prepare(cfg, NULL, 0, "azureml", &job));
    ie_azureml_opts o = opts();
    o.dry_run = false;
    o.resource_group = "rg1";
    o.workspace = "ws1";
    FILE *out = tmpfile();
    CHECK_OK(ie_azureml_submit(&job, cfg, &o, out));
    fclose(out);
    const char *log = read_file(log_path);
    char want[8192];
    snprintf(want, sizeof want,
             "extension show --name ml\nml job create --file %s/job.yml --query name --output tsv --resource-group rg1 "
             "--workspace-name ws1\n",
             job.submit_dir);
    CHECK(log && !strcmp(log, want), "az calls:\n%s\nexpected:\n%s", log ? log : "(none)", want);
    char path[8192];
    snprintf(path, sizeof path, "%s/submission.json", job.submit_dir);
    const char *record = read_file(path);
    CHECK(record && strstr(record, "\"name\":\t\"job-2\""), "the job's name is recorded: %s", record);

    /* status asks az for each job. */
    int failed = 0;
    out = tmpfile();
    CHECK_OK(ie_azureml_status(job.submit_dir, out, &failed));
    CHECK(failed == 1, "a Failed job counts as failed");
    rewind(out);
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof text - 1, out);
    text[n] = '\0';
    fclose(out);
    CHECK(strstr(text, "\n0     submitted                Failed        -          job-2\n") != NULL &&
              strstr(text, "    log:    az ml job stream --name job-2 --resource-group rg1 --workspace-name ws1\n") &&
              strstr(text, "    studio: https://ml.azure.com/runs/job-2\n"),
          "status output: %s", text);
    log = read_file(log_path);
    CHECK(strstr(log, "ml job show --name job-2 --output json --resource-group rg1 --workspace-name ws1\n") != NULL,
          "az calls: %s", log);

    /* Without az: nothing runs, the exact commands are printed. */
    setenv("PATH", "/usr/bin:/bin", 1);
    const char *sets2[] = {"run.name=printed"};
    ie_config *cfg2 = config(base, sets2, 1);
    CHECK_OK(ie_job_prepare(cfg2, NULL, 0, "azureml", &job));
    out = tmpfile();
    CHECK_OK(ie_azureml_submit(&job, cfg2, &o, out));
    rewind(out);
    n = fread(text, 1, sizeof text - 1, out);
    text[n] = '\0';
    fclose(out);
    snprintf(want, sizeof want, "  az ml job create --file %s/job.yml --resource-group rg1 --workspace-name ws1\n",
             job.submit_dir);
    CHECK(strstr(text, "not submitted (the Azure CLI (az) is not on PATH)") && strstr(text, want),
          "printed commands:\n%s", text);
    setenv("PATH", path_env, 1);
    ie_config_free(cfg);
    ie_config_free(cfg2);
}

static void test_refusals(void) {
    const char *sets[] = {"run.name=nodata", "data.synthetic=false", "data.fallback_synthetic=false",
                          "data.images_dir=missing/images", "data.labels_dir=missing/labels"};
    ie_config *cfg = config(base, sets, 5);
    ie_job job;
    CHECK_OK(ie_job_prepare(cfg, NULL, 0, "azureml", &job));
    ie_azureml_opts o = opts();
    FILE *out = tmpfile();
    CHECK_FAILS(ie_azureml_submit(&job, cfg, &o, out), IE_ERR_CONFIG, "does not exist here: give the data as --data");
    fclose(out);
    /* data.fallback_synthetic stands in for a missing images folder only,
     * as in the trainer: a missing dataset CSV's folder is refused too. */
    const char *sets_csv[] = {"run.name=nocsv", "data.synthetic=false", "data.fallback_synthetic=true",
                              "data.dataset_csv=missing/dataset.csv"};
    ie_config *cfg_csv = config(base, sets_csv, 4);
    CHECK_OK(ie_job_prepare(cfg_csv, NULL, 0, "azureml", &job));
    out = tmpfile();
    CHECK_FAILS(ie_azureml_submit(&job, cfg_csv, &o, out), IE_ERR_CONFIG, "does not exist here: give the data as --data");
    fclose(out);
    ie_config_free(cfg_csv);
    /* An existing run name is never reused. */
    const char *sets2[] = {"run.name=one"};
    ie_config *cfg2 = config(base, sets2, 1);
    CHECK_FAILS(ie_job_prepare(cfg2, NULL, 0, "azureml", &job), IE_ERR_IO, "one.azureml already exists (submitted before?");
    /* Not a git checkout: no snapshot. */
    const char *sets3[] = {"run.name=nogit"};
    ie_config *cfg3 = config(base, sets3, 1);
    CHECK_OK(ie_job_prepare(cfg3, NULL, 0, "azureml", &job));
    o.repo = "/";
    out = tmpfile();
    CHECK_FAILS(ie_azureml_submit(&job, cfg3, &o, out), IE_ERR_IO, "not a git checkout");
    fclose(out);
    ie_config_free(cfg);
    ie_config_free(cfg2);
    ie_config_free(cfg3);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/ie_test_azureml_XXXXXX");
    if (!mkdtemp(root)) return 1;
    /* A small repository to snapshot: HEAD has the Dockerfiles; an
     * untracked file must stay out of the snapshot. */
    sh("cd %s && mkdir -p repo/docker && cd repo && git init -q . && echo FROM > docker/Dockerfile && "
       "echo FROM > docker/Dockerfile.cuda && git add docker && git -c user.name=t -c user.email=t@t "
       "commit -qm snapshot && echo x > untracked.txt",
       root);
    if (chdir(root) != 0) return 1;
    test_single();
    test_cv();
    test_sweep();
    test_fake_az();
    test_refusals();
    sh("rm -rf %s", root);
    return test_summary();
}
