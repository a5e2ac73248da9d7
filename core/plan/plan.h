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
    double gflops;             /* sustained training throughput; 0: the device's default */
    const char *extends;       /* the model config the plan extends; NULL: "unet3d.json" */
    int n_classes;             /* 0: "background", "class_1", ... (unless extends is set) */
    const char *classes[IE_PLAN_MAX_CLASSES];
} ie_plan_options;

/* The plan's JSON text (free()).  Errors name the fingerprint and field. */
ie_status ie_plan_make(const ie_plan_options *opts, char **json_out);

/* Default throughputs (GFLOP/s of training steps, measured: docs/planning.md). */
#define IE_PLAN_CPU_GFLOPS 40.0
#define IE_PLAN_GPU_GFLOPS 20000.0

#endif
