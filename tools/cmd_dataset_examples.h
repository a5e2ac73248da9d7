/* tools - `innereye dataset fashion-mnist | hippocampus-volume`: datasets for
 * classification and regression (tools/cmd_dataset_scalar.c). */
#ifndef IE_TOOLS_CMD_DATASET_SCALAR_H
#define IE_TOOLS_CMD_DATASET_SCALAR_H

#include <stdbool.h>

/* True for the dataset kinds handled here. */
bool ie_cmd_dataset_scalar_handles(const char *kind);
/* argv[0] is the kind. */
int ie_cmd_dataset_scalar(int argc, char **argv);

#endif
