/* tools - `innereye dataset <subcommand>`: making dataset files.
 *
 *   innereye dataset create --images DIR --labels DIR --out dataset.csv
 *                           [--image-channel NAME] [--label-channel NAME]
 *                           [--max-subjects N]
 *
 * Subcommands are rows of a table in cmd_dataset.c: a new one is a
 * function with the signature below plus one row there. */
#ifndef IE_TOOLS_CMD_DATASET_H
#define IE_TOOLS_CMD_DATASET_H

/* argv holds the arguments after `dataset`; returns the exit code. */
int ie_cmd_dataset(int argc, char **argv);

/* A subcommand: argv holds the arguments after its name. */
typedef int (*ie_dataset_subcommand)(int argc, char **argv);

/* `dataset create` (pairs an image and a label folder). */
int ie_cmd_dataset_create(int argc, char **argv);

/* `dataset from-dicom` (an RT structure set into a label map; cmd_dataset_dicom.c). */
int ie_cmd_dataset_from_dicom(int argc, char **argv);
/* `dataset to-dicom` (a label map into an RT structure set or DICOM-SEG; cmd_dataset_to_dicom.c). */
int ie_cmd_dataset_to_dicom(int argc, char **argv);

/* The classification and regression examples' datasets (cmd_dataset_examples.c):
 * `dataset fashion-mnist` (Debian's images as PNG files) and
 * `dataset hippocampus-volume` (the volume of every label map). */
int ie_cmd_dataset_fashion_mnist(int argc, char **argv);
int ie_cmd_dataset_hippocampus_volume(int argc, char **argv);

#endif
