/* tools - the automatic planning commands (docs/planning.md):
 *
 *   innereye dataset fingerprint --dataset CSV --out fingerprint.json
 *       [--channels A,B] [--modality CT,MR] [--label-channel NAME] [--threads N]
 *   innereye plan fingerprint.json --memory MB --time-budget MIN
 *       [--device cpu|gpu] [--model-config FILE] --out plan.json */
#ifndef IE_TOOLS_CMD_PLAN_H
#define IE_TOOLS_CMD_PLAN_H

int ie_cmd_dataset_fingerprint(int argc, char **argv);
int ie_cmd_plan(int argc, char **argv);

#endif
