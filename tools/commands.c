/* tools - the command table of `innereye` (commands.h) and the one option
 * behaviour every command shares: -h/--help exits 0 with the command's usage,
 * `innereye help CMD` prints the same, `innereye --version`, and a suggestion
 * for a mistyped command or option. */
#include "tools/commands.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/config/config_impl.h"
#include "ie_version.h"
#include "innereye/plugin.h"
#include "tools/cmd_convert.h"
#include "tools/cmd_dataset.h"
#include "tools/cmd_eval.h"
#include "tools/cmd_experiment.h"
#include "tools/cmd_export.h"
#include "tools/cmd_infer.h"
#include "tools/cmd_plan.h"
#include "tools/cmd_plugins.h"
#include "tools/cmd_report.h"
#include "tools/cmd_runs.h"
#include "tools/cmd_serve.h"
#include "tools/cmd_submit.h"
#include "tools/cmd_train.h"
#include "tools/selfcheck.h"

/* ------------------------------------------------ handlers without a file */

static int parse_int(const char *flag, const char *value, int lo, int *out) {
    char *end;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || v < lo || v > 1000000) {
        fprintf(stderr, "innereye: %s needs an integer >= %d, got '%s'\n", flag, lo, value ? value : "");
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int run_selfcheck(int argc, char **argv) {
    int steps = 40, threads = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--steps")) {
            if (!parse_int("--steps", i + 1 < argc ? argv[++i] : NULL, 1, &steps)) return 2;
        } else if (!strcmp(argv[i], "--threads")) {
            if (!parse_int("--threads", i + 1 < argc ? argv[++i] : NULL, 0, &threads)) return 2;
        } else {
            ie_cli_unknown_option("selfcheck", argv[i]);
            return 2;
        }
    }
    return ie_selfcheck(steps, threads);
}


static int run_help(int argc, char **argv);

/* ------------------------------------------------------------ the table */

/* One row per command, in the order the command list shows them. */
static const ie_cli_command commands[] = {
    {"train", "train a model into a new run folder (outputs/); innereye --model=NAME is InnerEye's spelling",
     "usage: innereye train [--config FILE] [--model NAME] [--set KEY=VALUE ...] [--threads N]\n"
     "                      [--output-dir DIR] [InnerEye flags: --num_epochs, --random_seed, ...]\n"
     "       innereye train --resume RUN_DIR [--threads N] [--set data.workers=N ...]\n"
     "       innereye train ... --cv K [--parallel N]          (K-fold cross-validation)\n"
     "       innereye train ... --processes P   (data-parallel: P MPI processes, the same bytes as one)\n"
     "       innereye train ... --cv K --cross_validation_split_index I --set run.name=CV_RUN\n"
     "       innereye train ... --device cpu|cuda [--precision fp32|tf32]   (train.device, train.precision)\n"
     "       innereye --model=NAME [...]      (the same as innereye train)\n"
     "\n"
     "Without --config, the model's built-in config configs/<model_name>.json is used.  --config NAME.json\n"
     "is looked for in the current folder, then among the installed configs (innereye help configs).\n"
     "--model may also be a plugin file (lib<name>.so).  Ctrl-C stops a run as 'interrupted' and prints\n"
     "the --resume command that continues it.  Keys and flags: docs/config.md.\n",
     ie_cmd_train, IE_CLI_CONFIG_FLAGS},
    {"infer", "segment images (or predict a classification / regression dataset) with a trained model",
     "usage: innereye infer --run RUN_DIR (--image FILE [--image FILE ...] [--mask FILE] [--subject NAME]\n"
     "                      | --dataset CSV) --out DIR [--set KEY=VALUE ...] [--threads N]\n"
     "                      [--allow-plugin-change] [--format nifti|rtstruct|dicom-seg] [--series SELECTOR]\n"
     "       innereye infer --checkpoint FILE.safetensors (--model NAME | --config FILE) [--set KEY=VALUE ...]\n"
     "                      (--image ... | --dataset CSV) --out DIR\n"
     "       innereye infer --bundle FILE (--image ... | --dataset CSV) --out DIR\n"
     "\n"
     "RUN_DIR may also be an ensemble folder (innereye ensemble): the members' posteriors are averaged.\n"
     "--bundle FILE (innereye export --format bundle) is a run or ensemble in one file, used as --run.\n"
     "For a classification or regression run: innereye infer --run RUN_DIR --dataset CSV --out DIR\n"
     "(see innereye infer --run RUN_DIR --help).\n"
     "Segments the images with the run's last checkpoint (or the given checkpoint and config) and writes\n"
     "DIR/<subject>/segmentation.nii.gz and posterior_<class>.nii.gz on each input's grid.  --image gives\n"
     "one subject, one file per image channel in data.image_channels order; --dataset a dataset CSV\n"
     "(subject,filePath,channel).  Settings: infer.* and postprocess.* (docs/inference.md).\n"
     "--format rtstruct|dicom-seg also writes rtstruct.dcm or segmentation.dcm referencing the input DICOM\n"
     "series (infer.format); --series picks a series of a DICOM folder: uid=..., modality=... or\n"
     "description=... (data.dicom_series).\n"
     "--run refuses a plugin file other than the one the run was trained with (run.json's SHA-256)\n"
     "unless --allow-plugin-change is given.\n",
     ie_cmd_infer, IE_CLI_OWN_HELP},
    {"serve", "segment images over HTTP with a trained run, ensemble or bundle (docs/deploy.md)",
     "usage: innereye serve (--run RUN_DIR | --bundle FILE) [--port N] [--host ADDR] [--token-file FILE]\n"
     "                      [--queue N] [--max-upload-mb N] [--max-image-mb N] [--timeout SECONDS]\n"
     "                      [--set KEY=VALUE ...] [--threads N] [--allow-plugin-change]\n"
     "\n"
     "Answers HTTP requests with the segmentation model of a run, an ensemble folder or a bundle\n"
     "(innereye export --format bundle), loaded once:\n"
     "  POST /v1/segment[?format=nifti|dicom-seg|rtstruct]  body: a NIfTI (.nii, .nii.gz), a single-file\n"
     "        NRRD or a zip of one DICOM series; answer: segmentation.nii.gz, the same bytes as innereye\n"
     "        infer writes (dicom-seg and rtstruct: segmentation.dcm / rtstruct.dcm, DICOM input only).\n"
     "        Several channels and a mask: multipart/form-data fields named by channel and mask\n"
     "        (curl -F ct=@ct.nii.gz -F mr=@mr.nii.gz -F mask=@roi.nii.gz; GET /v1/model names them)\n"
     "  A classification or regression run answers {\"predictions\": [...]}, infer's numbers, for fields\n"
     "        named by its CSV columns (files for image columns, -F age=63 for values)\n"
     "  GET  /v1/model    name, version, SHA-256 of the weights, classes (JSON)\n"
     "  GET  /v1/health   {\"status\": \"ok\"} (no token needed)\n"
     "--port N        port to listen on (default 8080; 0: any free port, printed)\n"
     "--host ADDR     address to listen on (default 127.0.0.1: this machine only)\n"
     "--token-file F  the requests need \"Authorization: Bearer TOKEN\", TOKEN being F's first line\n"
     "--queue N       requests at once, being received, waiting or segmented (default 8); more: 503\n"
     "--max-upload-mb N   largest request body (default 512); larger: 413\n"
     "--max-image-mb N    largest decompressed upload, and largest image as float32 voxels (default 2048)\n"
     "--timeout S     answer within S seconds of the upload or give up (503 waiting, 504 running), and\n"
     "                close connections idle for S seconds (default 600)\n"
     "--set KEY=VALUE changes infer.* and postprocess.* as for innereye infer; --threads N compute threads.\n"
     "One log line per request on stderr; SIGINT or SIGTERM stop the server cleanly.\n",
     ie_cmd_serve, 0},
    {"eval", "metrics of predictions: segmentation (Dice, Hausdorff, HD95, MSD) or classification / regression",
     "usage: innereye eval --pred FILE_OR_DIR --truth FILE_OR_DIR [--labels NAME1,NAME2,...]\n"
     "                     --out DIR [--threads N]\n"
     "       innereye eval --task classification|regression --predictions CSV --out DIR\n"
     "\n"
     "Compares predicted label maps with true ones: Dice, Hausdorff distance, HD95 and mean\n"
     "surface distance (mm) per subject and structure.  Writes DIR/metrics.csv and\n"
     "DIR/metrics_aggregates.csv; DIR is created, existing results are never replaced.\n"
     "Folders pair their images by file name without the extension (.nii.gz, .nii, .nrrd,\n"
     ".nhdr, .mha, .mhd, .hdr); a prediction may end in _segmentation, or be SUBJECT/segmentation.nii.gz\n"
     "(innereye infer's output folder).  --labels names\n"
     "classes 1, 2, ...; without it structures are named by their label value.  True label maps without\n"
     "a prediction are skipped (counted, the first few named).  See docs/metrics.md.\n"
     "--task: CSV is subject,target,label,prediction[,split,epoch] - the predictions.csv of a\n"
     "classification or regression run, or any table in that format (docs/classification.md).\n",
     ie_cmd_eval, 0},
    {"runs", "a table of the runs in a folder (default outputs/): model, task, status, epochs, metric, time",
     "usage: innereye runs [DIR]\n"
     "\n"
     "One line per run folder in DIR (default outputs/, or the folder given): name, model, task, status\n"
     "(running, finished, failed, interrupted, crashed, stopped), epochs done / planned, the headline\n"
     "metric (mean test Dice of a segmentation run, accuracy or AUC of a classifier, MAE of a regressor),\n"
     "duration and start time.  innereye show RUN tells more about one.\n",
     ie_cmd_runs, 0},
    {"show", "what a run ran, on what data, its results and where its files are",
     "usage: innereye show RUN_DIR\n"
     "\n"
     "The model and plugin, the config and the keys it changed, the data (dataset, subjects per split),\n"
     "the status (and the resume command of an unfinished run), the last epoch's losses, the test\n"
     "metrics, and the paths of the checkpoints, predictions, metrics and report.\n",
     ie_cmd_show, 0},
    {"status", "how a run stands (running, finished, failed, crashed, interrupted) and how to resume it",
     "usage: innereye status RUN_DIR\n"
     "\n"
     "A run of innereye train: running (which process), finished, failed (the error), crashed or\n"
     "interrupted (plugin, function, epoch, step) or stopped, and the command that resumes it.\n"
     "A run submitted with innereye submit: each task's state (docs/cluster.md).\n",
     ie_cmd_status, 0},
    {"report", "report.html of a run, cross-validation, ensemble or sweep (docs/reports.md)",
     "usage: innereye report DIR [--compare OTHER] [--metric dice|hd95|...]\n"
     "  writes DIR/report.html for a run, cross-validation, ensemble, sweep or comparison\n"
     "  folder (docs/reports.md); --compare OTHER adds a section comparing DIR (B) with OTHER\n"
     "  (A) on the same test subjects, kept in DIR/comparison/ (it replaces an earlier one)\n",
     ie_cmd_report, 0},
    {"compare", "paired Wilcoxon tests of two runs on the same subjects",
     "usage: innereye compare A B [--metric dice|hd95|hausdorff|msd|...] [--out DIR]\n"
     "  A, B: run, ensemble or cross-validation folders (or metrics.csv files) evaluated on\n"
     "  the same test subjects; a paired Wilcoxon signed-rank test per structure and metric,\n"
     "  the mean difference B - A with its 95% confidence interval, the subjects that got\n"
     "  worse; --out DIR writes compare.csv, compare_subjects.csv, compare.json and\n"
     "  report.html there (innereye report B --compare A puts the same section in B's report)\n",
     ie_cmd_compare, 0},
    {"export", "a trained run or ensemble as ONNX, a PyTorch state_dict or a bundle (docs/export.md)",
     "usage: innereye export --run RUN_DIR --format onnx --out FILE [--set KEY=VALUE ...]\n"
     "       innereye export --run RUN_DIR --format pytorch|bundle --out FILE\n"
     "\n"
     "Writes the run's model (its last checkpoint) as an ONNX model (opset 17): input \"image\"\n"
     "[1, C, D, H, W] of the inference window (data.test_crop_size, rounded up to data.pad_multiple),\n"
     "output \"posteriors\" [1, classes, D, H, W] (the softmax, or the plugin's postprocess).  The\n"
     "graph is traced from the model's forward pass, so any plugin built from SDK ops exports.\n"
     "RUN_DIR may be an ensemble folder: the members' posteriors are averaged in the graph.\n"
     "Classes, normalisation, window, spacing and post-processing settings are in the model's\n"
     "metadata_props (innereye.*).  A classification run exports its network with the mapping to\n"
     "probabilities (input \"image\" of the training images' shape, \"features\" when it has any,\n"
     "output \"predictions\"); its inputs are prepared as its training statistics say.\n"
     "--set changes config keys first (for example the window:\n"
     "--set data.test_crop_size=[64,64,64]).  FILE must not exist.\n"
     "\n"
     "--format pytorch writes the run's weights as torch.save(state_dict) does, with the state_dict\n"
     "names of InnerEye's PyTorch models (the reverse of innereye convert).\n"
     "--format bundle writes one file with the weights, config and training statistics of the run (or of\n"
     "every member of an ensemble), checked by SHA-256: innereye infer --bundle FILE uses it as --run.\n",
     ie_cmd_export, 0},
    {"convert", "a PyTorch / InnerEye-DeepLearning checkpoint to safetensors (needs PyTorch; docs/models.md)",
     "usage: innereye convert CHECKPOINT OUTPUT.safetensors [--model auto|UNet3D|UNet2D|Basic|any] [--prefix P]\n"
     "                        [--trust-pickle]\n"
     "  runs tools/convert_pytorch_checkpoint.py (installed in share/innereye/tools) with $INNEREYE_PYTHON or\n"
     "  python3, and prints the innereye train and infer commands that use the weights\n",
     ie_cmd_convert, IE_CLI_OWN_HELP},
    {"selfcheck", "train a small UNet3D on synthetic volumes and check that its loss falls",
     "usage: innereye selfcheck [--steps N] [--threads N]\n"
     "  trains a small UNet3D on synthetic volumes and checks that its loss falls (default 40 steps,\n"
     "  all cores)\n",
     run_selfcheck, 0},
    {"repro-check", "train twice and per thread/worker count; compare everything byte for byte",
     "usage: innereye repro-check (--model NAME | --config FILE) [--set KEY=VALUE ...] [--threads 1,2]\n"
     "                            [--workers 0,2]\n"
     "  trains twice and once per thread and worker count, then compares weights, optimiser state,\n"
     "  logs and metrics byte for byte (docs/experiments.md)\n",
     ie_cmd_repro_check, IE_CLI_CONFIG_FLAGS},
    {"rerun", "repeat a run from its config and say if it matched",
     "usage: innereye rerun RUN_DIR\n"
     "  trains again from RUN_DIR's config.resolved.json and compares the result byte for byte\n",
     ie_cmd_rerun, 0},
    {"compare-runs", "compare two runs byte for byte (the first difference)",
     "usage: innereye compare-runs RUN_A RUN_B\n"
     "  compares weights, optimiser state, per-epoch log and metrics byte for byte\n",
     ie_cmd_compare_runs, 0},
    {"cv-aggregate", "aggregate the folds of a cross-validation run that ran one by one",
     "usage: innereye cv-aggregate CV_RUN_DIR\n"
     "  after folds ran one by one (e.g. on a cluster): cv_metrics.csv, cv_summary.csv, and the\n"
     "  folds' ensemble evaluated on the test set\n",
     ie_cmd_cv_aggregate, 0},
    {"ensemble", "an ensemble folder of compatible runs (infer takes it like a run)",
     "usage: innereye ensemble --runs RUN_A RUN_B ... --out DIR\n", ie_cmd_ensemble, 0},
    {"sweep", "hyperparameter search (grid, random), median stopping rule",
     "usage: innereye sweep (--model NAME | --config FILE) --grid KEY=V1,V2 | --random KEY=uniform(A,B)\n"
     "                      [--trials N] [--parallel N] [--metric COLUMN] [--goal min|max] [--no-early-stop]\n"
     "  hyperparameter search with the median stopping rule (docs/experiments.md)\n",
     ie_cmd_sweep, IE_CLI_CONFIG_FLAGS},
    {"sweep-aggregate", "rank the trials of a sweep that ran elsewhere (sweep.csv)",
     "usage: innereye sweep-aggregate SWEEP_RUN_DIR\n  after the trials ran, e.g. on a cluster\n",
     ie_cmd_sweep_aggregate, 0},
    {"submit", "run training, folds or trials on Slurm or AzureML (docs/cluster.md)",
     "usage: innereye submit slurm (--model NAME | --config FILE) [--set KEY=VALUE ...]\n"
     "                             [--cv K | --grid KEY=V1,V2 --random KEY=uniform(A,B) [--trials N] ...]\n"
     "                             [--parallel N] [--partition P] [--gpus-per-task N] [--cpus-per-task N]\n"
     "                             [--time HH:MM:SS] [--mem M] [--nodes N --tasks-per-node T]\n"
     "                             [--innereye PATH] [--dry-run]\n"
     "       innereye submit slurm --resubmit RUN_DIR --task I\n"
     "       innereye submit azureml (--model NAME | --config FILE) [--cv K [--jobs-per-fold] | --grid ...]\n"
     "                             --compute CLUSTER [--data azureml:NAME@latest | --data-path PATH]\n"
     "                             [--experiment NAME] [--cuda] [--parallel N] [--resource-group RG]\n"
     "                             [--workspace WS] [--repo DIR] [--dry-run]\n"
     "                             [--instance-count N --processes-per-instance T]\n"
     "       innereye submit azureml --resubmit RUN_DIR --task I [--dry-run]\n"
     "Sweep flags as for innereye sweep: --grid, --random, --trials, --metric, --goal, --no-early-stop.\n"
     "Step by step: docs/cluster.md.\n",
     ie_cmd_submit, IE_CLI_CONFIG_FLAGS},
    {"collect", "download an AzureML run's finished folds or trials and aggregate them",
     "usage: innereye collect RUN_DIR\n"
     "  downloads the finished folds or trials of a run submitted with innereye submit azureml into\n"
     "  RUN_DIR, then aggregates them (docs/cluster.md)\n",
     ie_cmd_collect, 0},
    {"plugins", "list the models the host can load (built-in, INNEREYE_PLUGIN_PATH, requested)",
     "usage: innereye plugins [--plugin PATH|NAME ...]\n"
     "  lists the built-in models and the plugins on INNEREYE_PLUGIN_PATH (broken ones with\n"
     "  their error), then each requested plugin; fails if a requested one cannot be loaded\n",
     ie_cmd_plugins, 0},
    {"new-plugin", "start a plugin project in DIR from the SDK template (docs/sdk.md)",
     "usage: innereye new-plugin NAME DIR\n"
     "  creates DIR (which must not exist; the folders above it as needed) with a plugin project\n"
     "  copied from the SDK template, named NAME (a letter, then letters, digits or '_'), with a\n"
     "  config to train it\n",
     ie_cmd_new_plugin, 0},
    {"dataset", "make datasets: create, fingerprint, from-msd, from-nnunet, from-dicom, to-dicom, fashion-mnist, ...",
     "usage: innereye dataset <subcommand> [options]   (innereye dataset --help lists them)\n",
     ie_cmd_dataset, IE_CLI_OWN_HELP},
    {"plan", "a training config chosen from a dataset fingerprint (docs/planning.md)",
     "usage: innereye plan FINGERPRINT.json --memory MB --time-budget MIN --out plan.json\n"
     "           [--device cpu|gpu] [--gflops N] [--extends CONFIG] [--classes A,B,C]\n",
     ie_cmd_plan, IE_CLI_OWN_HELP},
    {"help", "this list, or the usage of one command: innereye help COMMAND",
     "usage: innereye help [COMMAND]\n"
     "  without COMMAND: the commands; with it: the command's usage (as innereye COMMAND --help)\n",
     run_help, 0},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

const ie_cli_command *ie_cli_find(const char *name) {
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name)) return &commands[i];
    return NULL;
}

void ie_cli_usage(const char *name, FILE *out) {
    const ie_cli_command *c = ie_cli_find(name);
    if (c) fputs(c->usage, out);
}

static void list_commands(FILE *out) {
    fprintf(out, "usage: innereye <command> [options]\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\ninnereye help COMMAND (or innereye COMMAND --help) shows a command's usage; innereye --version\n"
                 "the version.  Start with docs/guide.md.\n");
}

/* ------------------------------------------------------------ suggestions */

/* Near enough to suggest: a third of the longer word, at least 2 edits. */
static bool near(const char *a, const char *b, int *distance) {
    int d = ie_config_levenshtein(a, b);
    size_t la = strlen(a), lb = strlen(b), longer = la > lb ? la : lb;
    int limit = (int)longer / 3 < 2 ? 2 : (int)longer / 3;
    *distance = d;
    return d <= limit;
}

static void consider(const char *candidate, size_t len, const char *got, char *best, size_t cap, int *best_d) {
    char word[128];
    if (len >= sizeof word) return;
    memcpy(word, candidate, len);
    word[len] = '\0';
    int d;
    if (near(word, got, &d) && d < *best_d) {
        *best_d = d;
        snprintf(best, cap, "%s", word);
    }
}

/* The nearest --option of the command's usage text (and of the config flags)
 * to `got` (without its =value), into best; false when none is near. */
static bool suggest_option(const ie_cli_command *c, const char *got, char *best, size_t cap) {
    char name[128];
    size_t n = strcspn(got, "=");
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), got);
    int best_d = 1 << 30;
    best[0] = '\0';
    for (const char *p = c->usage; (p = strstr(p, "--")) != NULL;) {
        size_t len = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789-_");
        if (len > 3) consider(p, len, name, best, cap, &best_d);
        p += len;
    }
    if (c->flags & IE_CLI_CONFIG_FLAGS)
        for (int i = 0; i < ie_config_flag_count(); i++) {
            char flag[128];
            snprintf(flag, sizeof flag, "--%s", ie_config_flag_at(i)->name);
            consider(flag, strlen(flag), name, best, cap, &best_d);
        }
    /* --epochs: a config key's last part ("train.epochs"), set with --set. */
    if ((c->flags & IE_CLI_CONFIG_FLAGS) && best_d > 0)
        for (int i = 0; i < ie_config_schema_count(); i++) {
            const char *path = ie_config_schema_at(i)->path, *dot = strrchr(path, '.');
            const char *last = dot ? dot + 1 : path, *given = name + strspn(name, "-");
            int d;
            if (near(last, given, &d) && d < best_d) {
                best_d = d;
                snprintf(best, cap, "--set %s=VALUE", path);
            }
        }
    return best[0] != '\0' && strcmp(best, name) != 0;
}

void ie_cli_unknown_option(const char *name, const char *arg) {
    const ie_cli_command *c = ie_cli_find(name);
    char best[128];
    if (arg[0] == '-' && c && suggest_option(c, arg, best, sizeof best))
        fprintf(stderr, "innereye %s: unknown option '%s'; did you mean '%s'? (innereye help %s lists them)\n", name,
                arg, best, name);
    else
        fprintf(stderr, "innereye %s: %s '%s' (innereye help %s lists the options)\n", name,
                arg[0] == '-' ? "unknown option" : "unexpected argument", arg, name);
}

/* "did you mean" for a command name, or "". */
static const char *suggest_command(const char *got) {
    const char *best = NULL;
    int best_d = 1 << 30;
    for (int i = 0; i < N_COMMANDS; i++) {
        int d;
        bool prefix = strlen(got) >= 3 && !strncmp(commands[i].name, got, strlen(got));
        if ((prefix || near(commands[i].name, got, &d)) && (prefix ? 0 : d) < best_d) {
            best_d = prefix ? 0 : d;
            best = commands[i].name;
        }
    }
    return best;
}

static int unknown_command(const char *got) {
    const char *best = suggest_command(got);
    if (best) fprintf(stderr, "innereye: unknown command '%s'; did you mean '%s'?\n", got, best);
    else fprintf(stderr, "innereye: unknown command '%s'\n", got);
    fprintf(stderr, "innereye help lists the commands.\n");
    return 2;
}

/* ------------------------------------------------------------ dispatch */

static int print_help(const ie_cli_command *c) {
    if (c->flags & IE_CLI_OWN_HELP) {
        char help[] = "--help", *argv[] = {help, NULL};
        return c->run(1, argv);
    }
    fputs(c->usage, stdout);
    return 0;
}

static int run_help(int argc, char **argv) {
    if (argc == 0) {
        list_commands(stdout);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "innereye help: one command at a time (innereye help %s)\n", argv[0]);
        return 2;
    }
    const ie_cli_command *c = ie_cli_find(argv[0]);
    if (!c) return unknown_command(argv[0]);
    return print_help(c);
}

static void print_version(void) {
    printf("innereye %s (commit %s), plugin ABI %d.%d\n", IE_VERSION_STRING, IE_GIT_COMMIT, IE_PLUGIN_ABI_MAJOR,
           IE_PLUGIN_ABI_MINOR);
}

static bool asks_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--")) return false;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
    }
    return false;
}

int ie_cli_main(int argc, char **argv) {
    if (argc < 2) {
        list_commands(stderr);
        return 2;
    }
    const char *first = argv[1];
    if (!strcmp(first, "--help") || !strcmp(first, "-h")) {
        list_commands(stdout);
        return 0;
    }
    if (!strcmp(first, "--version") || !strcmp(first, "-V") || !strcmp(first, "version")) {
        print_version();
        return 0;
    }
    /* InnerEye's runner: `innereye --model=HelloWorld --num_epochs=3`. */
    if (!strncmp(first, "--model", 7) || !strncmp(first, "--config", 8)) {
        if (asks_help(argc - 1, argv + 1)) return print_help(ie_cli_find("train"));
        return ie_cmd_train(argc - 1, argv + 1);
    }
    const ie_cli_command *c = ie_cli_find(first);
    if (!c) return unknown_command(first);
    if (asks_help(argc - 2, argv + 2) && !(c->flags & IE_CLI_OWN_HELP)) return print_help(c);
    return c->run(argc - 2, argv + 2);
}
