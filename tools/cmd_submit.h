/* tools - `innereye submit`, `innereye status`, `innereye collect` and
 * `innereye sweep-aggregate`. */
#ifndef IE_TOOLS_CMD_SUBMIT_H
#define IE_TOOLS_CMD_SUBMIT_H

int ie_cmd_submit(int argc, char **argv);
int ie_cmd_status(int argc, char **argv);
int ie_cmd_collect(int argc, char **argv);
int ie_cmd_sweep_aggregate(int argc, char **argv);

#endif
