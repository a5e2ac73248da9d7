/* tools - `innereye eval --task classification|regression`: the metrics of a
 * per-subject predictions CSV (tools/cmd_eval_scalar.c). */
#ifndef IE_TOOLS_CMD_EVAL_SCALAR_H
#define IE_TOOLS_CMD_EVAL_SCALAR_H

#include <stdbool.h>

/* True when the eval arguments ask for a classification or regression task
 * (--task classification|regression, or --task=...). */
bool ie_cmd_eval_is_scalar(int argc, char **argv);
int ie_cmd_eval_scalar(int argc, char **argv);

#endif
