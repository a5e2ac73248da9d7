/* tools - `innereye repro-check` and `innereye rerun`. */
#ifndef IE_TOOLS_CMD_EXPERIMENT_H
#define IE_TOOLS_CMD_EXPERIMENT_H

int ie_cmd_repro_check(int argc, char **argv);
int ie_cmd_rerun(int argc, char **argv);
int ie_cmd_compare_runs(int argc, char **argv);
int ie_cmd_sweep(int argc, char **argv);
int ie_cmd_cv_aggregate(int argc, char **argv);
int ie_cmd_ensemble(int argc, char **argv);

#endif
