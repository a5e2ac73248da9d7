/* tools - `innereye infer`: segments new images with a trained model (a run
 * folder, or a checkpoint file and its config) and writes segmentations and
 * posteriors on the input's grid; or, when --run names a classification or
 * regression run or ensemble (a task with infer_table, core/task/task.h),
 * predicts every subject of a dataset CSV (ie_cmd_infer_table,
 * cmd_infer_table.c).  Takes the arguments after
 * `infer`; returns the process exit code (0 done, 1 failed, 2 bad command
 * line or config). */
#ifndef IE_TOOLS_CMD_INFER_H
#define IE_TOOLS_CMD_INFER_H

struct ie_task;

int ie_cmd_infer(int argc, char **argv);
int ie_cmd_infer_table(const struct ie_task *task, int argc, char **argv);

#endif
