/* tools - the automatic planning commands (docs/planning.md):
 *
 *   innereye dataset fingerprint --dataset CSV --out fingerprint.json
 *       [--channels A,B] [--modality CT,MR] [--label-channel NAME] [--threads N]
 *   innereye plan fingerprint.json --memory MB --time-budget MIN
 *       [--device cpu|gpu] [--gflops N] [--extends CONFIG] [--classes A,B] --out plan.json
 *   innereye dataset from-msd DIR [--out FOLDER]
 *   innereye dataset from-nnunet DIR [--out FOLDER] */
#ifndef IE_TOOLS_CMD_PLAN_H
#define IE_TOOLS_CMD_PLAN_H

int ie_cmd_dataset_fingerprint(int argc, char **argv);
int ie_cmd_plan(int argc, char **argv);
/* `dataset from-msd DIR` and `dataset from-nnunet DIR` (cmd_dataset_import.c). */
int ie_cmd_dataset_from_msd(int argc, char **argv);
int ie_cmd_dataset_from_nnunet(int argc, char **argv);

#endif
