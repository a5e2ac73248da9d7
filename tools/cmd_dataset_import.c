/* tools - `innereye dataset from-msd` and `from-nnunet` (see cmd_plan.h and
 * core/data/dataset_import.h). */
#include <stdio.h>
#include <string.h>

#include "core/data/dataset_import.h"
#include "tools/cmd_plan.h"

static int run(const char *name, ie_import_layout layout, int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: innereye dataset %s DIR [--out FOLDER]\n\n"
                   "Reads DIR/dataset.json (%s layout) and writes into FOLDER (default DIR):\n"
                   "dataset.csv (subject,filePath,channel), config.json (a config stub naming the\n"
                   "channels and classes), test.csv for imagesTs%s. Existing files are never\n"
                   "overwritten. Next: innereye dataset fingerprint --dataset FOLDER/dataset.csv ...\n",
                   name, layout == IE_IMPORT_MSD ? "Medical Segmentation Decathlon" : "nnU-Net raw dataset",
                   layout == IE_IMPORT_NNUNET ? ", folds/fold_<i>.json from splits_final.json" : "");
            return 0;
        }
        if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "innereye dataset %s: --out needs a folder\n", name);
                return 2;
            }
            out = argv[++i];
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "innereye dataset %s: unexpected argument '%s' (usage: innereye dataset %s DIR [--out "
                            "FOLDER])\n", name, argv[i], name);
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        fprintf(stderr, "innereye dataset %s: give the dataset folder (the one holding dataset.json)\n", name);
        return 2;
    }
    ie_import_summary s;
    if (ie_dataset_import(dir, layout, out, &s) != IE_OK) {
        fprintf(stderr, "innereye dataset %s: %s\n", name, ie_error_message());
        return 1;
    }
    printf("wrote %s/dataset.csv and config.json: %d training cases, %d channel%s, %d classes", out ? out : dir, s.cases,
           s.channels, s.channels == 1 ? "" : "s", s.classes);
    if (s.test_cases) printf("; test.csv: %d test cases", s.test_cases);
    if (s.folds) printf("; folds/: %d folds from splits_final.json", s.folds);
    printf("\n");
    if (s.unlabelled)
        fprintf(stderr, "innereye dataset %s: warning: %d training images without a label map were left out\n", name,
                s.unlabelled);
    return 0;
}

int ie_cmd_dataset_from_msd(int argc, char **argv) { return run("from-msd", IE_IMPORT_MSD, argc, argv); }
int ie_cmd_dataset_from_nnunet(int argc, char **argv) { return run("from-nnunet", IE_IMPORT_NNUNET, argc, argv); }
