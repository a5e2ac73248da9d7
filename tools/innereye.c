/* tools - the `innereye` command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend/cpu/cpu_path.h"
#include "tools/cmd_experiment.h"
#include "tools/cmd_eval.h"
#include "tools/cmd_dataset.h"
#include "tools/cmd_export.h"
#include "tools/cmd_infer.h"
#include "tools/cmd_dataset_scalar.h"
#include "tools/cmd_eval_scalar.h"
#include "tools/cmd_plan.h"
#include "tools/cmd_plugins.h"
#include "tools/cmd_report.h"
#include "tools/cmd_serve.h"
#include "tools/cmd_submit.h"
#include "tools/cmd_train.h"
#include "tools/selfcheck.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: innereye <command> [options]\n"
            "\n"
            "commands:\n"
            "  train [--model NAME | --config FILE] [--set KEY=VALUE ...] [--resume RUN_DIR]\n"
            "                                        train a model into a new run folder (outputs/);\n"
            "                                        innereye --model=NAME is InnerEye's spelling\n"
            "  infer --run RUN_DIR (--image FILE ... | --dataset CSV) --out DIR\n"
            "                                        segment images with a trained model (docs/inference.md)\n"
            "  infer --run RUN_DIR --dataset CSV --out DIR\n"
            "                                        predict with a classification or regression run or ensemble\n"
            "  serve (--run RUN_DIR | --bundle FILE) [--port N]   segment images over HTTP (docs/deploy.md)\n"
            "  export --run RUN_DIR --format onnx --out FILE\n"
            "                                        a trained run or ensemble as an ONNX model (docs/export.md)\n"
            "  selfcheck [--steps N] [--threads N]   train a small UNet3D on synthetic volumes and\n"
            "                                        check that its loss falls (default 40 steps,\n"
            "                                        all cores)\n"
            "  repro-check (--model NAME | --config FILE) [--threads 1,2] [--workers 0,2]\n"
            "                                        train twice and per thread/worker count, compare\n"
            "                                        weights, optimiser state, logs, metrics byte for byte\n"
            "  rerun RUN_DIR                         repeat a run from its config and say if it matched\n"
            "  compare-runs RUN_A RUN_B              compare two runs byte for byte (first difference)\n"
            "  eval --pred P --truth T --out DIR [--labels a,b]  segmentation metrics (docs/metrics.md)\n"
            "  cv-aggregate CV_RUN_DIR               aggregate the folds of a cross-validation run one by one\n"
            "  ensemble --runs RUN_A RUN_B ... --out DIR   an ensemble folder of compatible runs\n"
            "  sweep (--model NAME | --config FILE) --grid KEY=V1,V2 | --random KEY=uniform(A,B)\n"
            "        [--trials N] [--parallel N] [--metric COLUMN] [--goal min|max] [--no-early-stop]\n"
            "                                        hyperparameter search, median stopping rule\n"
            "  sweep-aggregate SWEEP_RUN_DIR         rank the trials of a sweep run elsewhere (sweep.csv)\n"
            "  submit slurm|azureml (--model NAME | --config FILE) [--cv K | --grid ... --random ...]\n"
            "                                        run training, folds or trials on a cluster\n"
            "                                        (innereye submit --help, docs/cluster.md)\n"
            "  status RUN_DIR                        how a run stands (running, finished, failed, crashed,\n"
            "                                        interrupted) and how to resume it; each task of a\n"
            "                                        submitted run\n"
            "  collect RUN_DIR                       download an AzureML run's finished folds or trials\n"
            "                                        into RUN_DIR and aggregate them (docs/cluster.md)\n"
            "  plugins [--plugin PATH|NAME ...]      list the plugins found (built-in models,\n"
            "                                        INNEREYE_PLUGIN_PATH) and the requested ones\n"
            "  new-plugin NAME DIR                   start a plugin project in DIR from the SDK template\n"
            "  dataset create --images DIR --labels DIR --out FILE\n"
            "                                        write a dataset.csv pairing images and label maps\n"
            "                                        by file name (innereye dataset --help: all)\n"
            "  dataset fingerprint --dataset CSV --out FILE\n"
            "                                        measure a segmentation dataset for plan\n"
            "  dataset from-msd DIR | from-nnunet DIR\n"
            "                                        dataset.csv + config stub from a Decathlon / nnU-Net folder\n"
            "  plan FINGERPRINT --memory MB --time-budget MIN --out FILE\n"
            "                                        a training config chosen from the data (docs/planning.md)\n"
            "  dataset fashion-mnist --out DIR       Fashion-MNIST as PNG images and a dataset CSV\n"
            "  dataset hippocampus-volume --images DIR --labels DIR --out DIR\n"
            "                                        a regression dataset: hippocampus volume in mL\n"
            "  eval --task classification|regression --predictions CSV --out DIR\n"
            "                                        metrics of a per-subject predictions CSV\n"
            "  report DIR [--compare OTHER]          report.html of a run, cross-validation, ensemble or sweep\n"
            "                                        (docs/reports.md)\n"
            "  compare A B [--metric dice] [--out DIR]\n"
            "                                        paired Wilcoxon tests of two runs on the same subjects\n");
}

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

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* A bad IE_CPU_PATH is refused before any work (results never depend
     * on the path, so the library alone would only warn). */
    if (ie_cpu_path_from_env() != IE_OK) {
        fprintf(stderr, "innereye: %s\n", ie_error_message());
        return 2;
    }
    if (!strcmp(argv[1], "selfcheck")) {
        int steps = 40, threads = 0;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--steps")) {
                if (!parse_int("--steps", i + 1 < argc ? argv[++i] : NULL, 1, &steps)) return 2;
            } else if (!strcmp(argv[i], "--threads")) {
                if (!parse_int("--threads", i + 1 < argc ? argv[++i] : NULL, 0, &threads)) return 2;
            } else {
                fprintf(stderr, "innereye selfcheck: unknown option '%s'\n", argv[i]);
                return 2;
            }
        }
        return ie_selfcheck(steps, threads);
    }
    if (!strcmp(argv[1], "train")) return ie_cmd_train(argc - 2, argv + 2);
    /* Classification and regression metrics (tools/cmd_eval_scalar.c). */
    if (!strcmp(argv[1], "eval") && ie_cmd_eval_is_scalar(argc - 2, argv + 2))
        return ie_cmd_eval_scalar(argc - 2, argv + 2);
    if (!strcmp(argv[1], "dataset") && argc > 2 && ie_cmd_dataset_scalar_handles(argv[2]))
        return ie_cmd_dataset_scalar(argc - 2, argv + 2);
    /* InnerEye's runner: `innereye --model=HelloWorld --num_epochs=3`. */
    if (!strncmp(argv[1], "--model", 7) || !strncmp(argv[1], "--config", 8)) return ie_cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "repro-check")) return ie_cmd_repro_check(argc - 2, argv + 2);
    if (!strcmp(argv[1], "rerun")) return ie_cmd_rerun(argc - 2, argv + 2);
    if (!strcmp(argv[1], "compare-runs")) return ie_cmd_compare_runs(argc - 2, argv + 2);
    if (!strcmp(argv[1], "sweep")) return ie_cmd_sweep(argc - 2, argv + 2);
    if (!strcmp(argv[1], "cv-aggregate")) return ie_cmd_cv_aggregate(argc - 2, argv + 2);
    if (!strcmp(argv[1], "ensemble")) return ie_cmd_ensemble(argc - 2, argv + 2);
    if (!strcmp(argv[1], "eval")) return ie_cmd_eval(argc - 2, argv + 2);
    if (!strcmp(argv[1], "infer")) return ie_cmd_infer(argc - 2, argv + 2);
    if (!strcmp(argv[1], "serve")) return ie_cmd_serve(argc - 2, argv + 2);
    if (!strcmp(argv[1], "export")) return ie_cmd_export(argc - 2, argv + 2);
    /* Cluster submission (tools/cmd_submit.c). */
    if (!strcmp(argv[1], "submit")) return ie_cmd_submit(argc - 2, argv + 2);
    if (!strcmp(argv[1], "status")) return ie_cmd_status(argc - 2, argv + 2);
    if (!strcmp(argv[1], "collect")) return ie_cmd_collect(argc - 2, argv + 2);
    if (!strcmp(argv[1], "sweep-aggregate")) return ie_cmd_sweep_aggregate(argc - 2, argv + 2);
    if (!strcmp(argv[1], "plugins")) return ie_cmd_plugins(argc - 2, argv + 2);
    if (!strcmp(argv[1], "plan")) return ie_cmd_plan(argc - 2, argv + 2);
    if (!strcmp(argv[1], "new-plugin")) return ie_cmd_new_plugin(argc - 2, argv + 2);
    if (!strcmp(argv[1], "dataset")) return ie_cmd_dataset(argc - 2, argv + 2);
    if (!strcmp(argv[1], "report")) return ie_cmd_report(argc - 2, argv + 2);
    if (!strcmp(argv[1], "compare")) return ie_cmd_compare(argc - 2, argv + 2);
    fprintf(stderr, "innereye: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
