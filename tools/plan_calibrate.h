/* tools - `innereye plan --gflops measure` (docs/planning.md, "Time model").
 *
 * The plan is a pure function of its inputs; the machine's speed is one of
 * them (--gflops N, or the device's documented default).  Asked to, the
 * command measures it instead: a warm-up and 3 timed training steps
 * (forward, cross-entropy, backward, Adam) of a fixed UNet3D on fixed
 * inputs, on `threads` compute threads (0: every core).  The GFLOP/s is the
 * time model's FLOP count of that step over the median step time, rounded
 * down to two significant digits.  The figure is a measurement, so it varies
 * with the machine, its load and the thread count; the plan records it, and
 * `--gflops N` with it makes the same plan again. */
#ifndef IE_TOOLS_PLAN_CALIBRATE_H
#define IE_TOOLS_PLAN_CALIBRATE_H

#include "innereye/status.h"

ie_status ie_plan_measure_gflops(int threads, double *gflops, double *step_seconds);

#endif
