/* tools - `innereye infer`: segments new images with a trained model (a run
 * folder, or a checkpoint file and its config) and writes segmentations and
 * posteriors on the input's grid.  Takes the arguments after `infer`;
 * returns the process exit code (0 done, 1 failed, 2 bad command line or
 * config). */
#ifndef IE_TOOLS_CMD_INFER_H
#define IE_TOOLS_CMD_INFER_H

int ie_cmd_infer(int argc, char **argv);

#endif
