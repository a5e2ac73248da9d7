/* tools - `innereye convert`: a PyTorch or InnerEye-DeepLearning checkpoint
 * to safetensors (tools/convert_pytorch_checkpoint.py, docs/models.md). */
#ifndef IE_TOOLS_CMD_CONVERT_H
#define IE_TOOLS_CMD_CONVERT_H

#include <stdbool.h>

int ie_cmd_convert(int argc, char **argv);

#endif
