/* tools - `innereye train` (and InnerEye's spelling, `innereye --model=NAME`). */
#ifndef IE_TOOLS_CMD_TRAIN_H
#define IE_TOOLS_CMD_TRAIN_H

int ie_cmd_train(int argc, char **argv);

#endif
