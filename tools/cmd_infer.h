/* tools - `innereye infer`: segments new images with a trained model (a run
 * folder, or a checkpoint file and its config) and writes segmentations and
 * posteriors on the input's grid; or, when --run names a classification or
 * regression run or ensemble, predicts every subject of a dataset CSV
 * (ie_cmd_infer_scalar, cmd_infer_scalar.c).  Takes the arguments after
 * `infer`; returns the process exit code (0 done, 1 failed, 2 bad command
 * line or config). */
#ifndef IE_TOOLS_CMD_INFER_H
#define IE_TOOLS_CMD_INFER_H

int ie_cmd_infer(int argc, char **argv);
int ie_cmd_infer_scalar(int argc, char **argv);

#endif
