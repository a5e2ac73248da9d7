/* core/plan - `innereye plan`: a training config chosen from a dataset
 * fingerprint, a memory budget, a time budget and a device
 * (docs/planning.md has every rule; plan_rules.h the arithmetic).
 *
 * The plan is an ordinary config: it extends the model's config
 * (unet3d.json by default), sets data.*, model.params and train.*, and
 * explains every choice in plan.why.  It is a pure function of its inputs:
 * no clock, no measurement, so it is the same bytes on every machine and
 * for any thread count; the machine's speed enters as --gflops (a default
 * per device, measured as docs/planning.md says). */
#ifndef IE_CORE_PLAN_PLAN_H
#define IE_CORE_PLAN_PLAN_H

#include <stdbool.h>

#include "innereye/status.h"

#define IE_PLAN_MAX_CLASSES 64

typedef struct ie_plan_options {
    const char *fingerprint;   /* path of fingerprint.json */
    double memory_mb;          /* memory a training step may use */
    double time_budget_min;    /* wall time of the whole training run */
    bool gpu;
    double gflops;             /* training-step throughput; 0: the device's default */
    bool gflops_measured;      /* gflops came from `--gflops measure` (said in plan.why) */
    const char *extends;       /* the model config the plan extends; NULL: "unet3d.json" */
    int n_classes;             /* 0: "background", "class_1", ... (unless extends is set) */
    const char *classes[IE_PLAN_MAX_CLASSES];
} ie_plan_options;

/* The plan's JSON text (free()).  Errors name the fingerprint and field. */
ie_status ie_plan_make(const ie_plan_options *opts, char **json_out);

/* Default throughputs (GFLOP/s of training steps, docs/planning.md "Time
 * model").  CPU: 2 quiet cores of the development machine (AVX-512), where
 * unet3d_bench's training steps run at 147-161 GFLOP/s under chrt and the
 * hand-tuned hippocampus run's CPU time gives about 140 for a whole run. */
#define IE_PLAN_CPU_GFLOPS 140.0
#define IE_PLAN_GPU_GFLOPS 20000.0

#endif
