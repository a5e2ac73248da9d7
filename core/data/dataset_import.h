/* core/data - importing the Medical Segmentation Decathlon and nnU-Net
 * dataset layouts: a dataset.json plus imagesTr/, labelsTr/ and
 * (optionally) imagesTs/.
 *
 *   MSD:     dataset.json lists "modality" {"0": "MRI"}, "labels"
 *            {"0": "background", "1": "anterior"}, "training" [{"image":
 *            "./imagesTr/x.nii.gz", "label": "./labelsTr/x.nii.gz"}] and
 *            "test" ["./imagesTs/y.nii.gz"].  Several modalities live in one
 *            4-D file per case, which we do not split: such a dataset is
 *            refused with the command that converts it to nnU-Net's layout.
 *   nnU-Net: dataset.json has "channel_names" (v1: "modality") and "labels"
 *            ({"background": 0, ...}; v1 {"0": "background"}), "file_ending"
 *            (default .nii.gz); case X is labelsTr/X<ending> with one image
 *            per channel k, imagesTr/X_<kkkk><ending>; imagesTs likewise.
 *            splits_final.json, when present, holds nnU-Net's folds
 *            [{"train": [...], "val": [...]}, ...].
 *
 * Written into the output folder (never over an existing file; all are
 * checked before the first is written): dataset.csv (subject,filePath,
 * channel: one row per channel, then the label map as channel "label";
 * paths relative to the folder when inside it), config.json (a config stub:
 * extends unet3d.json, the dataset, channels and class names),
 * test.csv when there are test images, and folds/fold_<i>.json when there
 * are nnU-Net folds (data.split.train_subjects / val_subjects of fold i, to
 * add after config.json).  Refusals name the file and what is wrong. */
#ifndef IE_CORE_DATA_DATASET_IMPORT_H
#define IE_CORE_DATA_DATASET_IMPORT_H

#include <stdbool.h>

#include "innereye/status.h"

typedef enum ie_import_layout { IE_IMPORT_MSD, IE_IMPORT_NNUNET } ie_import_layout;

typedef struct ie_import_summary {
    int cases, test_cases, channels, classes, folds;
    int unlabelled; /* nnU-Net: training images without a label map (left out) */
} ie_import_summary;

/* Imports `dir` into `out_dir` (NULL: dir itself). */
ie_status ie_dataset_import(const char *dir, ie_import_layout layout, const char *out_dir, ie_import_summary *summary);

#endif
