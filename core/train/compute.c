/* core/train - run.threads and run.blas applied to the engine. */
#include "core/train/compute.h"

#include "core/backend/cpu/cpu_conv.h"
#include "core/run/run_settings.h"
#include "innereye/threads.h"

ie_status ie_compute_setup(const ie_config *cfg, int threads_override) {
    ie_run_settings run;
    IE_TRY(ie_run_settings_read(cfg, &run));
    ie_threads_set(threads_override > 0 ? threads_override : run.threads);
    ie_cpu_conv_set_mode(run.openblas ? IE_CPU_CONV_BLAS : IE_CPU_CONV_AUTO);
    return IE_OK;
}
