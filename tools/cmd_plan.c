/* tools - `innereye plan` (see cmd_plan.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/file_util.h"
#include "core/plan/plan.h"
#include "tools/cmd_plan.h"
#include "tools/plan_calibrate.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: innereye plan FINGERPRINT.json --memory MB --time-budget MIN --out plan.json\n"
            "           [--device cpu|gpu] [--gflops N|measure [--threads N]] [--extends CONFIG]\n"
            "           [--classes A,B,C]\n"
            "\n"
            "Chooses spacing, normalisation, patch, batch, network depth and pooling per axis,\n"
            "sampling, schedule and epochs from a fingerprint (innereye dataset fingerprint)\n"
            "and writes them as a config that `innereye train --config plan.json` runs; plan.why\n"
            "says why each value was chosen (docs/planning.md).\n"
            "  --memory MB        memory one training step may use (GPU memory, or RAM on a CPU)\n"
            "  --time-budget MIN  wall time of the whole training run\n"
            "  --device cpu|gpu   default cpu\n"
            "  --gflops N         training-step GFLOP/s of the machine (default: %g on a CPU, a\n"
            "                     quiet 2-core AVX-512 machine; %g on a GPU). The plan is a pure\n"
            "                     function of its inputs: the same bytes on every machine\n"
            "  --gflops measure   time a few training steps of a fixed UNet3D here first and\n"
            "                     plan with that figure (printed; pass it as --gflops N to\n"
            "                     make the same plan again); CPU only\n"
            "  --threads N        compute threads of the measurement: those training will use\n"
            "                     (default: every core)\n"
            "  --extends CONFIG   the config the plan extends (default unet3d.json; a config stub\n"
            "                     from `innereye dataset from-msd` brings the class names)\n"
            "  --classes A,B,C    class names, background first (default background, class_1, ...)\n",
            IE_PLAN_CPU_GFLOPS, IE_PLAN_GPU_GFLOPS);
}

static int number(const char *flag, const char *v, double lo, double *out) {
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || *end || !(x >= lo) || x > 1e9) {
        fprintf(stderr, "innereye plan: %s needs a number >= %g, got '%s'\n", flag, lo, v ? v : "");
        return 0;
    }
    *out = x;
    return 1;
}

int ie_cmd_plan(int argc, char **argv) {
    ie_plan_options o = {0};
    const char *out = NULL, *device = "cpu";
    char classes[4096] = "";
    bool have_memory = false, have_time = false, measure = false;
    double threads = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (a[0] != '-') {
            if (o.fingerprint) {
                fprintf(stderr, "innereye plan: one fingerprint only, got '%s' and '%s'\n", o.fingerprint, a);
                return 2;
            }
            o.fingerprint = a;
            continue;
        }
        bool known = !strcmp(a, "--memory") || !strcmp(a, "--time-budget") || !strcmp(a, "--device") ||
                     !strcmp(a, "--gflops") || !strcmp(a, "--extends") || !strcmp(a, "--classes") ||
                     !strcmp(a, "--out") || !strcmp(a, "--threads");
        if (!known) {
            fprintf(stderr, "innereye plan: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "innereye plan: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--memory")) {
            if (!number(a, v, 64, &o.memory_mb)) return 2;
            have_memory = true;
        } else if (!strcmp(a, "--time-budget")) {
            if (!number(a, v, 0.1, &o.time_budget_min)) return 2;
            have_time = true;
        } else if (!strcmp(a, "--gflops")) {
            measure = !strcmp(v, "measure");
            if (!measure && !number(a, v, 0.001, &o.gflops)) return 2;
        } else if (!strcmp(a, "--threads")) {
            if (!number(a, v, 0, &threads)) return 2;
            if (threads != (int)threads || threads > 4096) {
                fprintf(stderr, "innereye plan: --threads needs an integer 0..4096, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--device")) {
            device = v;
        } else if (!strcmp(a, "--extends")) {
            o.extends = v;
        } else if (!strcmp(a, "--classes")) {
            snprintf(classes, sizeof classes, "%s", v);
        } else {
            out = v;
        }
    }
    if (strcmp(device, "cpu") && strcmp(device, "gpu")) {
        fprintf(stderr, "innereye plan: --device must be cpu or gpu, got '%s'\n", device);
        return 2;
    }
    o.gpu = !strcmp(device, "gpu");
    if (!o.fingerprint || !have_memory || !have_time || !out) {
        fprintf(stderr, "innereye plan: a fingerprint, --memory, --time-budget and --out are required\n");
        usage(stderr);
        return 2;
    }
    if (measure && o.gpu) {
        fprintf(stderr, "innereye plan: --gflops measure times the CPU engine; on a GPU give --gflops N "
                        "(tools/bench/unet3d_bench times a training step)\n");
        return 2;
    }
    if (measure) {
        double step_s = 0;
        o.gflops_measured = true;
        if (ie_plan_measure_gflops((int)threads, &o.gflops, &step_s) != IE_OK) {
            fprintf(stderr, "innereye plan: --gflops measure: %s\n", ie_error_message());
            return 1;
        }
        fprintf(stderr, "innereye plan: measured %g GFLOP/s (a training step of the reference UNet3D took %.3f s); "
                        "--gflops %g makes this plan again\n", o.gflops, step_s, o.gflops);
    }
    for (char *tok = strtok(classes, ","); tok && o.n_classes < IE_PLAN_MAX_CLASSES; tok = strtok(NULL, ","))
        o.classes[o.n_classes++] = tok;
    char *json = NULL;
    if (ie_plan_make(&o, &json) != IE_OK) {
        fprintf(stderr, "innereye plan: %s\n", ie_error_message());
        return 1;
    }
    ie_status st = ie_write_file_atomic(out, json, strlen(json));
    free(json);
    if (st != IE_OK) {
        fprintf(stderr, "innereye plan: %s\n", ie_error_message());
        return 1;
    }
    printf("wrote %s (innereye train --config %s)\n", out, out);
    return 0;
}
