/* core/run - the run's settings, read once. */
#include "core/run/run_settings.h"

#include <string.h>

ie_status ie_run_settings_read(const ie_config *cfg, ie_run_settings *out) {
    ie_run_settings s = {0};
    int64_t seed = 0, threads = 0;
    const char *blas = "none";
    IE_TRY(ie_config_get_string(cfg, "output.dir", &s.output_dir));
    IE_TRY(ie_config_get_string(cfg, "run.name", &s.name));
    IE_TRY(ie_config_get_int(cfg, "seed", &seed));
    IE_TRY(ie_config_get_int(cfg, "run.threads", &threads));
    IE_TRY(ie_config_get_bool(cfg, "run.train", &s.train));
    IE_TRY(ie_config_get_bool(cfg, "run.infer_test", &s.infer_test));
    IE_TRY(ie_config_get_bool(cfg, "run.infer_val", &s.infer_val));
    IE_TRY(ie_config_get_bool(cfg, "run.report", &s.report));
    IE_TRY(ie_config_get_string(cfg, "run.blas", &blas));
    s.openblas = strcmp(blas, "openblas") == 0;
    s.seed = (uint64_t)seed;
    s.threads = (int)threads;
    *out = s;
    return IE_OK;
}
