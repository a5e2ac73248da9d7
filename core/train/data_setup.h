/* core/train - turning the data section of a config into a dataset, a split
 * and the segmentation loader settings. */
#ifndef IE_CORE_TRAIN_DATA_SETUP_H
#define IE_CORE_TRAIN_DATA_SETUP_H

#include "core/data/dataset.h"
#include "core/data/geometry_settings.h"
#include "core/data/segmentation_hooks.h"
#include "core/data/split.h"
#include "innereye/config.h"

#define IE_MAX_CHANNELS 16

/* The segmentation data settings with the storage their pointers borrow. */
typedef struct ie_seg_setup {
    ie_seg_config seg;
    const char *image_channels[IE_MAX_CHANNELS];
    ie_seg_norm norm[IE_MAX_CHANNELS];
    ie_norm_params norm_params[IE_MAX_CHANNELS];
    const char *mask_channels[IE_MAX_CHANNELS];
    float crop_class_weights[64];
    int n_classes;
    ie_geometry_settings geometry; /* data.crop_size, data.pad_multiple (whole volumes), data.target_spacing */
} ie_seg_setup;

/* Finds or builds the run's dataset: data.dataset_csv (or
 * <data.root>/dataset.csv); or data.images_dir + data.labels_dir paired by
 * file name (core/data/pairing.h); or generated volumes (data.synthetic, or
 * data.fallback_synthetic when the images folder is missing).  Built CSVs
 * and generated volumes go into run_dir; when `resume`, the ones there are
 * read back instead of being built again.  `note` receives one line saying
 * which source was used. */
ie_status ie_data_prepare(const ie_config *cfg, const char *run_dir, bool resume, ie_dataset **out, char *note,
                          size_t note_size);

/* How the dataset is split (data.split.*, but the subject lists): read once
 * from a resolved config by ie_split_settings_read, for ie_data_split and
 * the folds' ensemble (is there a test set?).  Strings are borrowed from the
 * config. */
typedef struct ie_split_settings {
    uint64_t seed;                    /* data.split.seed, or the run's seed when it is -1 */
    const char *group_column;         /* data.split.group_column: "" = none */
    const char *column;               /* data.split.column: the dataset's own split; "" = none */
    double fraction[IE_SPLIT_PARTS];  /* data.split.train, val and test */
} ie_split_settings;

/* A missing key or one of the wrong type is an IE_ERR_CONFIG naming the key;
 * *out is untouched then. */
ie_status ie_split_settings_read(const ie_config *cfg, ie_split_settings *out);

/* Train/val/test split of the dataset per data.split.*: explicit subject
 * lists when any is set, else proportions with the seed, grouped by
 * data.split.group_column when set.  Written to <run_dir>/split.csv; with
 * `reuse` (resuming), read back from it. */
ie_status ie_data_split(const ie_config *cfg, const ie_dataset *ds, const char *run_dir, bool reuse, ie_split *out);

/* Segmentation loader settings from the config (channels, truth, classes,
 * normalisation, crop, flips, augmentation, resampling).  cfg must outlive
 * setup. */
ie_status ie_seg_setup_from_config(const ie_config *cfg, int n_classes, ie_seg_setup *setup);

/* Checks every subject of ds before training (core/data/validate.h) with
 * the segmentation settings of the config, unless data.validate is false.
 * Prints one line with the outcome and time.  With problems: writes them all
 * to problems_path (atomically, replacing an earlier attempt's list) and
 * fails with IE_ERR_CONFIG, the message naming the file and listing as many
 * as fit. */
ie_status ie_data_validate(const ie_config *cfg, const ie_dataset *ds, int n_classes, const char *problems_path);

/* Writes `count` generated subjects (a bright ellipsoid and a shell in
 * noise, classes 0..2) as NIfTI files into dir and a dataset.csv listing
 * them; a pure function of seed. */
ie_status ie_data_write_synthetic(const char *dir, int count, uint64_t seed, char *csv_path, size_t size);

#endif
