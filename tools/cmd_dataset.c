/* tools - `innereye dataset ...` (see cmd_dataset.h). */
#include "tools/cmd_dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/pairing.h"
#include "tools/cmd_plan.h"

typedef struct subcommand {
    const char *name;
    const char *usage;   /* the arguments */
    const char *summary; /* one line */
    ie_dataset_subcommand run;
} subcommand;

/* One row per subcommand. */
static const subcommand subcommands[] = {
    {"create", "--images DIR --labels DIR --out FILE [--image-channel NAME] [--label-channel NAME] [--max-subjects N]",
     "pair images and label maps by file name into a dataset.csv (subject,filePath,channel)", ie_cmd_dataset_create},
    {"fingerprint", "--dataset CSV --out FILE [--channels A,B] [--modality CT,MR] [--label-channel NAME] [--threads N]",
     "measure a segmentation dataset for `innereye plan` (docs/planning.md)", ie_cmd_dataset_fingerprint},
    {"from-msd", "DIR [--out FOLDER]",
     "dataset.csv + config.json from a Medical Segmentation Decathlon folder (dataset.json, imagesTr, labelsTr)",
     ie_cmd_dataset_from_msd},
    {"from-nnunet", "DIR [--out FOLDER]",
     "dataset.csv + config.json (+ folds/ from splits_final.json) from an nnU-Net raw dataset folder",
     ie_cmd_dataset_from_nnunet},
    {"from-dicom", "--series DIR --rtstruct FILE --out DIR [--subject NAME] [--structures A,B] [--select SELECTOR]",
     "rasterise an RT structure set drawn on a DICOM series into a label map and add it to OUT/dataset.csv",
     ie_cmd_dataset_from_dicom},
    {"to-dicom", "--series DIR --labels FILE --out FILE --format rtstruct|dicom-seg --classes bg,A,B [--colours ...]",
     "write a label map on a DICOM series' grid as an RT structure set or a DICOM segmentation",
     ie_cmd_dataset_to_dicom},
    {"fashion-mnist", "--out DIR [--source DIR] [--train N] [--val N] [--test N]",
     "Debian's dataset-fashion-mnist as PNG images + dataset.csv (subject,filePath,label,class_name,split) for "
     "classification", ie_cmd_dataset_fashion_mnist},
    {"hippocampus-volume", "--images DIR --labels DIR --out DIR",
     "dataset.csv with each label map's volume in mL (volume_ml, label1_ml, ...) as regression targets",
     ie_cmd_dataset_hippocampus_volume},
};
#define N_SUBCOMMANDS (int)(sizeof subcommands / sizeof subcommands[0])

static void usage(FILE *out) {
    fprintf(out, "usage: innereye dataset <subcommand> [options]\n\nsubcommands:\n");
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(out, "  %s %s\n      %s\n", subcommands[i].name, subcommands[i].usage, subcommands[i].summary);
}

int ie_cmd_dataset(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        if (!strcmp(argv[0], subcommands[i].name)) return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "innereye dataset: unknown subcommand '%s'\n", argv[0]);
    usage(stderr);
    return 2;
}

/* ---- dataset create ---- */

static void create_usage(FILE *out) {
    fprintf(out,
            "usage: innereye dataset create --images DIR --labels DIR --out FILE\n"
            "                               [--image-channel NAME] [--label-channel NAME] [--max-subjects N]\n"
            "\n"
            "Pairs every image in --images with the label map of the same name in --labels\n"
            "(case_001.nii.gz with case_001.nii.gz; .nii.gz, .nii, .hdr, .nrrd, .nhdr, .mha, .mhd)\n"
            "and writes InnerEye's dataset.csv: subject,filePath,channel, one row per image and per\n"
            "label.  Paths inside the CSV's folder are written relative to it, others absolute.\n"
            "Files without a partner are listed.  An existing FILE is never overwritten.\n"
            "  --image-channel NAME   channel of the images (default: image)\n"
            "  --label-channel NAME   channel of the label maps (default: label)\n"
            "  --max-subjects N       only the first N subjects by name\n");
}

int ie_cmd_dataset_create(int argc, char **argv) {
    const char *images = NULL, *labels = NULL, *out = NULL, *image_channel = "image", *label_channel = "label";
    int max_subjects = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            create_usage(stdout);
            return 0;
        }
        const char **slot = !strcmp(a, "--images")          ? &images
                            : !strcmp(a, "--labels")        ? &labels
                            : !strcmp(a, "--out")           ? &out
                            : !strcmp(a, "--image-channel") ? &image_channel
                            : !strcmp(a, "--label-channel") ? &label_channel
                                                            : NULL;
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (slot || !strcmp(a, "--max-subjects")) {
            if (!value) {
                fprintf(stderr, "innereye dataset create: %s needs a value\n", a);
                return 2;
            }
            i++;
        }
        if (slot) {
            *slot = value;
        } else if (!strcmp(a, "--max-subjects")) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*end || v < 1 || v > 100000000) {
                fprintf(stderr, "innereye dataset create: --max-subjects needs a positive integer, got '%s'\n", value);
                return 2;
            }
            max_subjects = (int)v;
        } else {
            fprintf(stderr, "innereye dataset create: unknown argument '%s'\n", a);
            create_usage(stderr);
            return 2;
        }
    }
    if (!images || !labels || !out) {
        fprintf(stderr, "innereye dataset create: --images, --labels and --out are required\n");
        create_usage(stderr);
        return 2;
    }
    ie_pairing pairs;
    if (ie_pairing_find(images, labels, max_subjects, &pairs) != IE_OK) {
        fprintf(stderr, "innereye dataset create: %s\n", ie_error_message());
        return 1;
    }
    int rc = 0;
    if (ie_pairing_write_csv(&pairs, image_channel, label_channel, out) != IE_OK) {
        fprintf(stderr, "innereye dataset create: %s\n", ie_error_message());
        rc = 1;
    } else {
        printf("wrote %s: %d subjects, channels '%s' and '%s'\n", out, pairs.n_pairs, image_channel, label_channel);
        char unpaired[4096];
        ie_pairing_describe_unpaired(&pairs, 20, unpaired, sizeof unpaired);
        if (unpaired[0]) fprintf(stderr, "innereye dataset create: warning: left out %s\n", unpaired);
    }
    ie_pairing_free(&pairs);
    return rc;
}
