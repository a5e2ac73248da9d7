/* tools - `innereye eval`: segmentation metrics between predicted and true
 * label maps (docs/metrics.md). */
#ifndef IE_TOOLS_CMD_EVAL_H
#define IE_TOOLS_CMD_EVAL_H

/* argv holds the options after "eval"; returns the exit code. */
int ie_cmd_eval(int argc, char **argv);

#endif
