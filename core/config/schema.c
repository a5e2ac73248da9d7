/* core/config - the schema: every config key the host knows (one row each),
 * the checks of one value against its row, the cross-key rules, suggestions
 * for unknown keys, and the reference table of docs/config.md.
 *
 * To add a key: add one row to schema_keys (keep sections together), then
 * regenerate the table in docs/config.md (IE_UPDATE_DOCS=1 tests/test_config_docs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config/config_impl.h"

#define NO_LIMIT .min = -INFINITY, .max = INFINITY
#define AT_LEAST(lo) .min = (lo), .max = INFINITY
#define ABOVE(lo) .min = (lo), .max = INFINITY, .flags = IE_CFG_MIN_EXCLUSIVE
#define BETWEEN(lo, hi) .min = (lo), .max = (hi)

/* Largest integer a JSON number (a double) holds exactly. */
#define IE_CFG_INT_LIMIT 9007199254740992.0
/* Every integer key has an upper bound: the readers keep counts, sizes and
 * epochs in C ints, so INT_MAX (2147483647) is the ceiling of any key with
 * no smaller real limit; a key read as a 64-bit seed goes up to
 * IE_CFG_INT_LIMIT.  A larger value is refused with the key and the range
 * instead of wrapping in a cast. */
#define IE_CFG_INT_MAX 2147483647.0
#define COUNT(lo) .min = (lo), .max = IE_CFG_INT_MAX
/* A crop, tile or image axis: 16384 voxels (2^14) at most, so that a
 * volume's voxel count (2^42 at most) times channels and batch stays far
 * inside the 64-bit element counts of tensors. */
#define IE_CFG_AXIS_MAX 16384.0
#define AXIS .min = 1, .max = IE_CFG_AXIS_MAX

static const ie_config_key schema_keys[] = {
    {.path = "seed", .type = IE_CFG_INT, .def = "42", BETWEEN(0, IE_CFG_INT_LIMIT),
     .doc = "Run seed: every random draw is a pure function of it (InnerEye `random_seed`); at most 2^53, the "
            "largest integer a JSON number holds exactly."},

    {.path = "model.name", .type = IE_CFG_STRING, .def = "\"HelloWorld\"",
     .doc = "Model to build: a built-in model's name (InnerEye `--model`)."},
    {.path = "model.plugin", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Plugin shared object to load; empty: find model.name among the built-in models and on "
            "INNEREYE_PLUGIN_PATH."},
    {.path = "model.params", .type = IE_CFG_OBJECT, .def = "{}",
     .doc = "Settings for the model plugin, free-form; the plugin checks them."},
    {.path = "model.init_checkpoint", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Safetensors file of initial weights (for example from tools/convert_pytorch_checkpoint.py), loaded "
            "after the model is built and before training; a resumed run ignores it."},
    {.path = "model.init_strict", .type = IE_CFG_BOOL, .def = "true",
     .doc = "model.init_checkpoint must hold exactly the model's tensors; false loads those whose names match "
            "and keeps the others as initialised."},

    {.path = "data.dataset_csv", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Dataset CSV in InnerEye's layout (`subject,filePath,channel,...`)."},
    {.path = "data.root", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Dataset folder (InnerEye `local_dataset`): without data.dataset_csv the dataset is "
            "<root>/dataset.csv; with it, the CSV's relative file paths start here instead of at the CSV's folder."},
    {.path = "data.images_dir", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Instead of a dataset CSV: a folder of images, paired by file name with data.labels_dir "
            "(label maps); the run writes the dataset.csv it builds into its folder."},
    {.path = "data.labels_dir", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Folder of label maps (values 0..K-1) paired with data.images_dir by file name."},
    {.path = "data.max_subjects", .type = IE_CFG_INT, .def = "0", COUNT(0),
     .doc = "Use only the first N subjects (by name) of data.images_dir; 0: all."},
    {.path = "data.fallback_synthetic", .type = IE_CFG_BOOL, .def = "false",
     .doc = "When data.images_dir does not exist, train on generated volumes instead (and say so)."},
    {.path = "data.synthetic_subjects", .type = IE_CFG_INT, .def = "12", COUNT(3),
     .doc = "Number of generated subjects when data.synthetic is on."},
    {.path = "data.image_channels", .type = IE_CFG_STRING_ARRAY, .def = "[\"image\"]",
     .doc = "Values of the dataset's `channel` column that are image channels, in network input order."},
    {.path = "data.label_channel", .type = IE_CFG_STRING, .def = "\"label\"",
     .doc = "Value of the `channel` column of the label map (classes 0..K-1)."},
    {.path = "data.mask_channel", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Value of the `channel` column of a mask: inference sets every voxel outside it (0 in the mask) to "
            "background (InnerEye `mask_id`); empty: no mask."},
    {.path = "data.crop_class_weights", .type = IE_CFG_NUMBER_ARRAY, .def = "[]", AT_LEAST(0),
     .doc = "Class-balanced crop sampling (InnerEye `class_weights` of the sampler): one weight per class, background "
            "first; a crop's centre is a voxel of a class drawn with these weights. [] draws positions uniformly."},
    {.path = "data.flip_axes", .type = IE_CFG_INT_ARRAY, .def = "[]", .min = 0, .max = 2,
     .flags = IE_CFG_EMPTY_OK,
     .doc = "Augmentation: random flips along these axes (0 = D, 1 = H, 2 = W), each with probability 0.5."},
    {.path = "data.cache_mb", .type = IE_CFG_INT, .def = "512", COUNT(0),
     .doc = "Memory budget for keeping loaded, normalised volumes between epochs; 0 disables the cache."},
    {.path = "data.synthetic", .type = IE_CFG_BOOL, .def = "false",
     .doc = "Use generated volumes instead of a dataset (smoke tests)."},
    {.path = "data.workers", .type = IE_CFG_INT, .def = "2", BETWEEN(0, 64),
     .doc = "Data loader workers; 0 loads on the training thread (InnerEye `num_dataload_workers`)."},
    {.path = "data.prefetch", .type = IE_CFG_INT, .def = "2", BETWEEN(1, 64),
     .doc = "Batches prepared ahead of the training step."},
    {.path = "data.split.train", .type = IE_CFG_NUMBER, .def = "0.7", BETWEEN(0, 1),
     .doc = "Fraction of subjects for training when the dataset has no split; train + val + test must be 1."},
    {.path = "data.split.val", .type = IE_CFG_NUMBER, .def = "0.15", BETWEEN(0, 1),
     .doc = "Fraction of subjects for validation."},
    {.path = "data.split.test", .type = IE_CFG_NUMBER, .def = "0.15", BETWEEN(0, 1),
     .doc = "Fraction of subjects for testing."},
    {.path = "data.split.seed", .type = IE_CFG_INT, .def = "-1", BETWEEN(-1, IE_CFG_INT_LIMIT),
     .doc = "Seed of the subject split; -1 uses `seed`; at most 2^53, as `seed`."},
    {.path = "data.split.column", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Dataset column that assigns each subject to train, val or test (a dataset with an official "
            "test set); empty: split by the proportions above."},
    {.path = "data.crop_size", .type = IE_CFG_INT_ARRAY, .def = "[32, 32, 32]", .length = 3, AXIS,
     .doc = "Training crop (D, H, W) in voxels (InnerEye `crop_size`); at most 16384 along an axis, so that "
            "voxel counts stay inside 64-bit integers."},
    {.path = "data.test_crop_size", .type = IE_CFG_INT_ARRAY, .def = "[]", .length = 3, AXIS,
     .flags = IE_CFG_EMPTY_OK,
     .doc = "Inference tile (D, H, W); [] uses data.crop_size (InnerEye `test_crop_size`)."},
    {.path = "data.pad_multiple", .type = IE_CFG_INT, .def = "16", BETWEEN(1, IE_CFG_AXIS_MAX),
     .doc = "Whole volumes (validation, inference) are zero-padded to a multiple of this along each axis "
            "(at least 2^depth of a UNet), then predictions are cut back; at most 16384, as a crop's axis."},
    {.path = "data.classes", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Names of the classes or structures (InnerEye `ground_truth_ids`); [] lets the model decide."},
    {.path = "data.class_colours", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Display colour of each structure after the background, \"#RRGGBB\", in the order of data.classes "
            "(InnerEye `colours`); written into DICOM-RT and DICOM-SEG outputs; []: a fixed palette."},
    {.path = "data.dicom_series", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Which series of a DICOM folder to read when it holds several: uid=<SeriesInstanceUID>, "
            "modality=<CT, MR, ...> or description=<SeriesDescription>; \"\": the folder must hold one series."},
    {.path = "data.normalization", .type = IE_CFG_ENUM, .def = "\"SimpleNorm\"",
     .choices = "None|SimpleNorm|CtWindow|MriWindow|TrimmedNorm",
     .doc = "Intensity normalisation (InnerEye `norm_method`)."},
    /* ---- segmentation data: truth, normalisation, resampling, checks, splits, augmentation (docs/data.md) ---- */
    {.path = "data.truth", .type = IE_CFG_ENUM, .def = "\"label_map\"", .choices = "label_map|masks",
     .doc = "Ground truth: one label map (data.label_channel, values 0..K-1) or one binary mask per structure "
            "(data.mask_channels, InnerEye's layout)."},
    {.path = "data.mask_channels", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "data.truth \"masks\": the `channel` values of the structures' masks, in the order of data.classes "
            "after the background (InnerEye `ground_truth_ids`)."},
    {.path = "data.window_level", .type = IE_CFG_NUMBER, .def = "50", NO_LIMIT,
     .doc = "CtWindow: centre of the intensity window (InnerEye `level`)."},
    {.path = "data.window_width", .type = IE_CFG_NUMBER, .def = "600", ABOVE(0),
     .doc = "CtWindow: width of the intensity window (InnerEye `window`)."},
    {.path = "data.output_range", .type = IE_CFG_NUMBER_ARRAY, .def = "[-1, 1]", .length = 2, NO_LIMIT,
     .doc = "CtWindow, MriWindow, TrimmedNorm: the range the window is mapped onto (InnerEye `output_range`)."},
    {.path = "data.sharpen", .type = IE_CFG_NUMBER, .def = "0.9", ABOVE(0),
     .doc = "MriWindow, TrimmedNorm: half-width of the window in robust standard deviations (InnerEye `sharpen`)."},
    {.path = "data.tail", .type = IE_CFG_NUMBER_ARRAY, .def = "[1]", ABOVE(0),
     .doc = "MriWindow: widens the window's upper side; one value for all image channels or one per channel "
            "(InnerEye `tail`)."},
    {.path = "data.trim_percentiles", .type = IE_CFG_NUMBER_ARRAY, .def = "[1, 99]", .length = 2, BETWEEN(0, 100),
     .doc = "TrimmedNorm: only voxels strictly between these percentiles give the statistics (InnerEye "
            "`trim_percentiles`)."},
    {.path = "data.target_spacing", .type = IE_CFG_NUMBER_ARRAY, .def = "[]", .length = 3, .min = 0,
     .max = INFINITY, .flags = IE_CFG_EMPTY_OK | IE_CFG_MIN_EXCLUSIVE,
     .doc = "Resample every image and its truth to this spacing (mm along x, y, z) when loading; [] keeps the "
            "files' grids."},
    {.path = "data.validate", .type = IE_CFG_BOOL, .def = "true",
     .doc = "Check every subject's files before training: present, readable, same grid, labels in range; all "
            "problems are listed at once."},
    {.path = "data.allow_empty_truth", .type = IE_CFG_BOOL, .def = "true",
     .doc = "Accept subjects whose ground truth has no foreground voxel; false lists them as problems."},
    {.path = "data.split.group_column", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Dataset column whose equal values stay in one split part (InnerEye `groupID`); \"\": each subject "
            "alone."},
    {.path = "data.split.train_subjects", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Explicit split: the training subjects. When any of the three lists is set, they replace the "
            "proportions and unlisted subjects are left out."},
    {.path = "data.split.val_subjects", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Explicit split: the validation subjects."},
    {.path = "data.split.test_subjects", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Explicit split: the test subjects."},
    {.path = "data.augment.rotate_degrees", .type = IE_CFG_NUMBER_ARRAY, .def = "[0, 0, 0]", .length = 3,
     BETWEEN(0, 180),
     .doc = "Largest random rotation (degrees) about the D, H and W axes; images trilinear, labels nearest."},
    {.path = "data.augment.rotate_probability", .type = IE_CFG_NUMBER, .def = "0.2", BETWEEN(0, 1),
     .doc = "Probability that a training sample is rotated (nnU-Net's 0.2)."},
    {.path = "data.augment.scale_range", .type = IE_CFG_NUMBER_ARRAY, .def = "[1, 1]", .length = 2, ABOVE(0),
     .doc = "Random zoom factor range (e.g. [0.85, 1.25]; >1 enlarges); [1, 1] is off."},
    {.path = "data.augment.scale_probability", .type = IE_CFG_NUMBER, .def = "0.2", BETWEEN(0, 1),
     .doc = "Probability that a training sample is zoomed."},
    {.path = "data.augment.gamma_range", .type = IE_CFG_NUMBER_ARRAY, .def = "[1, 1]", .length = 2, ABOVE(0),
     .doc = "Random gamma on intensities rescaled to [0, 1] and back, as nnU-Net (e.g. [0.7, 1.5]); [1, 1] is "
            "off."},
    {.path = "data.augment.gamma_probability", .type = IE_CFG_NUMBER, .def = "0.3", BETWEEN(0, 1),
     .doc = "Probability that a training sample gets a gamma change."},
    {.path = "data.augment.gamma_retain_stats", .type = IE_CFG_BOOL, .def = "true",
     .doc = "Restore each channel's mean and std after the gamma change (nnU-Net's retain_stats)."},
    {.path = "data.augment.noise_std", .type = IE_CFG_NUMBER_ARRAY, .def = "[0, 0]", .length = 2, AT_LEAST(0),
     .doc = "Range of the standard deviation of added Gaussian noise (after normalisation); [0, 0] is off."},
    {.path = "data.augment.noise_probability", .type = IE_CFG_NUMBER, .def = "0.1", BETWEEN(0, 1),
     .doc = "Probability that a training sample gets noise."},
    {.path = "data.augment.gamma_invert_probability", .type = IE_CFG_NUMBER, .def = "0", BETWEEN(0, 1),
     .doc = "Probability of a gamma change of the inverted intensities (gamma of -x, negated back; gamma_range, "
            "own draws; nnU-Net's 0.1)."},
    {.path = "data.augment.blur_sigma", .type = IE_CFG_NUMBER_ARRAY, .def = "[0, 0]", .length = 2, BETWEEN(0, 16),
     .doc = "Range of the Gaussian blur's sigma in voxels (nnU-Net's [0.5, 1]; the kernel reaches 4 sigma); "
            "[0, 0] is off."},
    {.path = "data.augment.blur_probability", .type = IE_CFG_NUMBER, .def = "0.2", BETWEEN(0, 1),
     .doc = "Probability that a training sample is blurred (nnU-Net's 0.2)."},
    {.path = "data.augment.blur_channel_probability", .type = IE_CFG_NUMBER, .def = "0.5", BETWEEN(0, 1),
     .doc = "Probability that a channel of a sample drawn for blurring is blurred (nnU-Net's 0.5)."},
    {.path = "data.augment.brightness_range", .type = IE_CFG_NUMBER_ARRAY, .def = "[1, 1]", .length = 2,
     ABOVE(0), .doc = "Range of the per-channel intensity multiplier (nnU-Net's [0.75, 1.25]); [1, 1] is off."},
    {.path = "data.augment.brightness_probability", .type = IE_CFG_NUMBER, .def = "0.15", BETWEEN(0, 1),
     .doc = "Probability that a training sample's brightness is changed (nnU-Net's 0.15)."},
    {.path = "data.augment.contrast_range", .type = IE_CFG_NUMBER_ARRAY, .def = "[1, 1]", .length = 2, ABOVE(0),
     .doc = "Range of the per-channel contrast factor about the channel mean, clipped to the former range "
            "(nnU-Net's [0.75, 1.25]); [1, 1] is off."},
    {.path = "data.augment.contrast_probability", .type = IE_CFG_NUMBER, .def = "0.15", BETWEEN(0, 1),
     .doc = "Probability that a training sample's contrast is changed (nnU-Net's 0.15)."},
    {.path = "data.augment.lowres_zoom", .type = IE_CFG_NUMBER_ARRAY, .def = "[1, 1]", .length = 2,
     .min = 0, .max = 1, .flags = IE_CFG_MIN_EXCLUSIVE,
     .doc = "Range of the zoom of the simulated low resolution: a channel is resized to zoom x its size "
            "(nearest) and back (linear) (nnU-Net's [0.5, 1]); [1, 1] is off."},
    {.path = "data.augment.lowres_probability", .type = IE_CFG_NUMBER, .def = "0.25", BETWEEN(0, 1),
     .doc = "Probability that a training sample gets a simulated low resolution (nnU-Net's 0.25)."},
    {.path = "data.augment.lowres_channel_probability", .type = IE_CFG_NUMBER, .def = "0.5", BETWEEN(0, 1),
     .doc = "Probability that a channel of a sample drawn for low resolution gets it (nnU-Net's 0.5)."},
    {.path = "data.augment.elastic_alpha", .type = IE_CFG_NUMBER_ARRAY, .def = "[0, 0]", .length = 2, AT_LEAST(0),
     .doc = "Range of the elastic deformation's magnitude alpha: uniform noise in [-1, 1] smoothed by a Gaussian of "
            "sigma voxels, times alpha, displaces the crop's voxels (batchgenerators'; nnU-Net v1's [0, 900]); "
            "[0, 0] is off."},
    {.path = "data.augment.elastic_sigma", .type = IE_CFG_NUMBER_ARRAY, .def = "[9, 13]", .length = 2,
     .min = 0, .max = 64, .flags = IE_CFG_MIN_EXCLUSIVE,
     .doc = "Range of the elastic deformation's smoothness sigma in voxels (nnU-Net v1's [9, 13])."},
    {.path = "data.augment.elastic_probability", .type = IE_CFG_NUMBER, .def = "0.2", BETWEEN(0, 1),
     .doc = "Probability that a training sample is elastically deformed (nnU-Net v1's 0.2; its default trainers "
            "turn the deformation off)."},
    {.path = "data.augment.elastic_axes", .type = IE_CFG_INT_ARRAY, .def = "[0, 1, 2]", .min = 0, .max = 2,
     .doc = "Axes (0 = D, 1 = H, 2 = W) the elastic deformation displaces and varies along; [1, 2] deforms "
            "thick-slice data in plane, one field for every slice (nnU-Net's dummy 2D)."},

    /* Classification and regression datasets (core/data/classification_regression_hooks.h). */
    {.path = "data.scalar.label_columns", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Classification / regression: the dataset columns holding the labels (InnerEye "
            "`label_value_column`): 0/1 per column (binary, multi-label), one class index or name "
            "(multi-class), or numbers (regression)."},
    {.path = "data.scalar.target", .type = IE_CFG_ENUM, .def = "\"auto\"",
     .choices = "auto|binary|multiclass|regression",
     .doc = "What the labels are; auto: regression for a regression model, else multiclass when "
            "data.classes names classes, binary otherwise."},
    {.path = "data.scalar.image_columns", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Columns holding image file paths (2-D PNG or any image ITK reads, 3-D volumes), one "
            "input channel each (InnerEye `image_channels`)."},
    {.path = "data.scalar.image_size", .type = IE_CFG_INT_ARRAY, .def = "[]", .length = 3, AXIS,
     .flags = IE_CFG_EMPTY_OK,
     .doc = "Centre-crop or zero-pad every image to (D, H, W) (D = 1 for 2-D images); []: as read, all "
            "the same size."},
    {.path = "data.scalar.numerical_columns", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Numerical feature columns, standardised with the training split's mean and std "
            "(InnerEye `numerical_columns`)."},
    {.path = "data.scalar.categorical_columns", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Categorical feature columns, one-hot over the training split's values (InnerEye "
            "`categorical_columns`)."},
    {.path = "data.scalar.impute_missing", .type = IE_CFG_BOOL, .def = "false",
     .doc = "Missing numbers become the training mean and missing or unseen categories an all-zero "
            "one-hot; false: they are errors naming subject and column."},
    {.path = "data.scalar.standardize_targets", .type = IE_CFG_BOOL, .def = "false",
     .doc = "Regression: train on targets standardised with the training split's mean and std; "
            "predictions are mapped back to the labels' units."},

    {.path = "train.device", .type = IE_CFG_ENUM, .def = "\"cpu\"", .choices = "cpu|cuda",
     .doc = "Where training and inference run: the CPU, or the GPU through the CUDA backend module "
            "(libinnereye_cuda.so, docs/gpu.md; an error names what is missing: the module, the driver or a device)."},
    {.path = "train.precision", .type = IE_CFG_ENUM, .def = "\"fp32\"", .choices = "fp32|tf32|bf16",
     .doc = "Arithmetic the GPU libraries may use: fp32 (strict; the only CPU choice), tf32 (cuDNN may pick "
            "tensor-core, FFT and Winograd convolution engines) or bf16 (not implemented yet: refused)."},
    {.path = "train.epochs", .type = IE_CFG_INT, .def = "2", COUNT(1),
     .doc = "Training epochs (InnerEye `num_epochs`)."},
    {.path = "train.batch_size", .type = IE_CFG_INT, .def = "2", COUNT(1),
     .doc = "Samples per training step (InnerEye `train_batch_size`)."},
    {.path = "train.micro_batch_size", .type = IE_CFG_INT, .def = "0", COUNT(0),
     .doc = "Samples per forward and backward pass; a step sums the gradients of train.batch_size / "
            "micro_batch_size micro-batches in a fixed tree, so any number of processes gives the same bytes "
            "(docs/distributed.md). Must divide train.batch_size; 0: the batch size (one pass per step)."},
    {.path = "train.deep_supervision", .type = IE_CFG_BOOL, .def = "false",
     .doc = "Deep supervision as nnU-Net: the loss also compares the model's auxiliary outputs at coarser decoder "
            "levels with the labels downsampled to their size, weights 1, 1/2, 1/4, ... normalised; training only. "
            "Needs a model with auxiliary outputs (plugin ABI 1.4 forward_deep: UNet3D)."},
    {.path = "train.sync_batch_norm", .type = IE_CFG_BOOL, .def = "false",
     .doc = "Batch norm in training normalises with the statistics of the whole step (train.batch_size samples), "
            "not of each micro-batch: synchronised batch norm, combined in the micro-batches' fixed tree, so any "
            "number of processes gives the same bytes (docs/distributed.md). CPU only."},
    {.path = "train.optimizer.kind", .type = IE_CFG_ENUM, .def = "\"adam\"", .choices = "adam|adamw|sgd|rmsprop",
     .doc = "Optimiser, with torch.optim's update rules."},
    {.path = "train.optimizer.lr", .type = IE_CFG_NUMBER, .def = "0.001", ABOVE(0),
     .doc = "Base learning rate (InnerEye `l_rate`)."},
    {.path = "train.optimizer.weight_decay", .type = IE_CFG_NUMBER, .def = "0", AT_LEAST(0),
     .doc = "Weight decay: decoupled for adamw, an L2 term in the gradient otherwise."},
    {.path = "train.optimizer.momentum", .type = IE_CFG_NUMBER, .def = "0.9", AT_LEAST(0),
     .doc = "Momentum of sgd and rmsprop."},
    {.path = "train.optimizer.betas", .type = IE_CFG_NUMBER_ARRAY, .def = "[0.9, 0.999]", .length = 2,
     .min = 0, .max = 1, .flags = IE_CFG_MAX_EXCLUSIVE,
     .doc = "Adam's (beta1, beta2) (InnerEye `adam_betas`)."},
    {.path = "train.optimizer.eps", .type = IE_CFG_NUMBER, .def = "1e-8", AT_LEAST(0),
     .doc = "Term added to the denominator of adam, adamw and rmsprop (InnerEye `opt_eps`)."},
    {.path = "train.optimizer.amsgrad", .type = IE_CFG_BOOL, .def = "false",
     .doc = "AMSGrad variant of adam and adamw."},
    {.path = "train.optimizer.nesterov", .type = IE_CFG_BOOL, .def = "false",
     .doc = "Nesterov momentum for sgd (needs momentum > 0)."},
    {.path = "train.schedule.kind", .type = IE_CFG_ENUM, .def = "\"constant\"",
     .choices = "constant|polynomial|cosine|step|multistep|exponential",
     .doc = "Learning-rate schedule after the warm-up (InnerEye `l_rate_scheduler`)."},
    {.path = "train.schedule.warmup_epochs", .type = IE_CFG_INT, .def = "0", COUNT(0),
     .doc = "Epochs of linear warm-up before the schedule (InnerEye `l_rate_warmup_epochs`)."},
    {.path = "train.schedule.gamma", .type = IE_CFG_NUMBER, .def = "0.9", ABOVE(0),
     .doc = "Decay factor of step, multistep and exponential; exponent of polynomial."},
    {.path = "train.schedule.final_lr", .type = IE_CFG_NUMBER, .def = "0", AT_LEAST(0),
     .doc = "Learning rate that polynomial and cosine reach at the last epoch (InnerEye `min_l_rate`)."},
    {.path = "train.schedule.step_size", .type = IE_CFG_INT, .def = "1", COUNT(1),
     .doc = "Epochs between decays of the step schedule."},
    {.path = "train.schedule.milestones", .type = IE_CFG_INT_ARRAY, .def = "[]", COUNT(0),
     .doc = "Epochs at which multistep decays (InnerEye `l_rate_multi_step_milestones`)."},
    {.path = "train.loss.name", .type = IE_CFG_ENUM, .def = "\"Auto\"",
     .choices = "Auto|CrossEntropy|SoftDice|Focal|Mixture|BCE|MSE|L1",
     .doc = "Loss when the model does not bring its own (InnerEye `loss_type`). Auto: the one that fits the task "
            "and targets: CrossEntropy for segmentation and multi-class targets, BCE for binary (and multi-label) "
            "targets, MSE for regression."},
    {.path = "train.loss.class_weights", .type = IE_CFG_NUMBER_ARRAY, .def = "[]", AT_LEAST(0),
     .doc = "Weight per class, background first; [] weighs classes equally."},
    {.path = "train.loss.focal_gamma", .type = IE_CFG_NUMBER, .def = "2", AT_LEAST(0),
     .doc = "Focusing parameter of the Focal loss (InnerEye `focal_loss_gamma`)."},
    {.path = "train.loss.mixture", .type = IE_CFG_STRING_ARRAY, .def = "[\"CrossEntropy\", \"SoftDice\"]",
     .length = 2,
     .doc = "The two losses the Mixture loss adds (any of CrossEntropy, SoftDice, Focal; InnerEye `MixtureLoss`)."},
    {.path = "train.loss.mixture_weights", .type = IE_CFG_NUMBER_ARRAY, .def = "[1, 1]", .length = 2, AT_LEAST(0),
     .doc = "Weights of the two train.loss.mixture losses: loss = w0 * first + w1 * second."},
    {.path = "train.loss.label_smoothing", .type = IE_CFG_NUMBER, .def = "0", .min = 0, .max = 1,
     .flags = IE_CFG_MAX_EXCLUSIVE,
     .doc = "Label smoothing of CrossEntropy (as torch) and BCE (targets y(1-e) + e/2) (InnerEye "
            "`label_smoothing_eps`)."},
    {.path = "train.checkpoint_every", .type = IE_CFG_INT, .def = "1", COUNT(1),
     .doc = "Epochs between checkpoints."},
    {.path = "train.validate_every", .type = IE_CFG_INT, .def = "1", COUNT(1),
     .doc = "Epochs between validation passes."},

    /* ---- inference (core/inference, docs/inference.md) ---- */
    {.path = "infer.overlap", .type = IE_CFG_NUMBER, .def = "0.5", .min = 0, .max = 1, .flags = IE_CFG_MAX_EXCLUSIVE,
     .doc = "Sliding-window inference: fraction by which neighbouring windows overlap (nnU-Net's step rule); "
            "ignored along axes given in infer.stride."},
    {.path = "infer.stride", .type = IE_CFG_INT_ARRAY, .def = "[]", .length = 3, AXIS,
     .flags = IE_CFG_EMPTY_OK,
     .doc = "Fixed window stride (D, H, W) in voxels, at most the window, instead of infer.overlap "
            "(InnerEye `inference_stride_size`)."},
    {.path = "infer.batch_size", .type = IE_CFG_INT, .def = "2", COUNT(1),
     .doc = "Windows per network call (InnerEye `inference_batch_size`, default 8 there); memory grows with it, "
            "the built-in models give identical results for any value."},
    {.path = "infer.blend", .type = IE_CFG_ENUM, .def = "\"gaussian\"", .choices = "gaussian|uniform",
     .doc = "Weights of a window's voxels when overlapping windows are averaged: nnU-Net's Gaussian "
            "importance map, or uniform."},
    {.path = "infer.sigma_scale", .type = IE_CFG_NUMBER, .def = "0.125", ABOVE(0),
     .doc = "Sigma of the Gaussian blending weights as a fraction of the window size (nnU-Net: 1/8)."},
    {.path = "infer.mirror_axes", .type = IE_CFG_INT_ARRAY, .def = "[]", .min = 0, .max = 2,
     .flags = IE_CFG_EMPTY_OK,
     .doc = "Test-time mirroring: also predict every flip along these axes (0 = D, 1 = H, 2 = W) and average "
            "the posteriors (2^n passes)."},
    {.path = "infer.write_posteriors", .type = IE_CFG_BOOL, .def = "true",
     .doc = "`innereye infer` writes posterior_<class>.nii.gz for every class besides segmentation.nii.gz."},
    {.path = "infer.posterior_dtype", .type = IE_CFG_ENUM, .def = "\"uint8\"", .choices = "uint8|float32",
     .doc = "Posterior files as uint8 0..255 (InnerEye's floor(p * 255)) or float32 probabilities."},
    {.path = "infer.format", .type = IE_CFG_ENUM, .def = "\"nifti\"", .choices = "nifti|rtstruct|dicom-seg",
     .doc = "`innereye infer` also writes the segmentation as a DICOM RT Structure Set (rtstruct.dcm) or a "
            "DICOM Segmentation (segmentation.dcm) referencing the input series; needs a DICOM series input."},
    {.path = "postprocess.smoothing_mm", .type = IE_CFG_NUMBER_ARRAY, .def = "[]", .length = 3, .min = 0,
     .max = INFINITY, .flags = IE_CFG_EMPTY_OK,
     .doc = "Gaussian smoothing of the posteriors before the argmax, sigma in mm along (D, H, W) "
            "(InnerEye `posterior_smoothing_mm`); []: none."},
    {.path = "postprocess.summed_probability_rules", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "InnerEye `summed_probability_rules`, each \"first,second,external\" (class names): a voxel labelled "
            "external where p(external) < p(first) + p(second) takes the likelier of first and second."},
    {.path = "postprocess.largest_component", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Foreground classes reduced to their largest connected component (InnerEye "
            "`largest_connected_component_foreground_classes`)."},
    {.path = "postprocess.largest_component_fraction", .type = IE_CFG_NUMBER, .def = "0", BETWEEN(0, 0.5),
     .doc = "With 0 < f < 0.5, postprocess.largest_component keeps every component holding at least f of the "
            "class's voxels (InnerEye's threshold); 0 or 0.5: only the largest."},
    {.path = "postprocess.min_component_voxels", .type = IE_CFG_INT, .def = "0", COUNT(0),
     .doc = "Removes connected components of any foreground class smaller than this many voxels; 0: off."},
    {.path = "postprocess.min_component_mm3", .type = IE_CFG_NUMBER, .def = "0", AT_LEAST(0),
     .doc = "Removes connected components of any foreground class smaller than this volume in mm^3; 0: off."},
    {.path = "postprocess.class_min_component_mm3", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "Per class, each \"class,mm3\": removes that class's connected components smaller than mm3 cubic "
            "millimetres (what a cross-validation chooses, docs/experiments.md)."},
    {.path = "postprocess.connectivity", .type = IE_CFG_INT, .def = "6", BETWEEN(6, 26), .range_doc = "6 or 26",
     .doc = "Connected components: 6 joins voxels sharing a face (scipy's default, InnerEye), 26 also edges and "
            "corners."},
    {.path = "postprocess.slice_exclusion_rules", .type = IE_CFG_STRING_ARRAY, .def = "[]",
     .doc = "InnerEye `slice_exclusion_rules`, each \"higher,lower,higher_dominates\": class higher must lie in "
            "slices (along D) above class lower; where they overlap the dominant class takes the other's voxels."},

    {.path = "run.train", .type = IE_CFG_BOOL, .def = "true",
     .doc = "Train (InnerEye `--train`); false only runs inference with an existing checkpoint."},
    {.path = "run.infer_test", .type = IE_CFG_BOOL, .def = "true",
     .doc = "Run inference and metrics on the test set (InnerEye `--inference_on_test_set`)."},
    {.path = "run.infer_val", .type = IE_CFG_BOOL, .def = "false",
     .doc = "Run inference and metrics on the validation set (InnerEye `--inference_on_val_set`)."},
    {.path = "dist.timeout_s", .type = IE_CFG_NUMBER, .def = "300", ABOVE(0),
     .doc = "Data-parallel runs: how long a process waits for another's part of a step before the job stops "
            "with a message naming the missing rank (docs/distributed.md). Never changes results."},
    {.path = "dist.bucket_mb", .type = IE_CFG_NUMBER, .def = "0", AT_LEAST(0),
     .doc = "Data-parallel runs: the gradient is reduced in buckets of about this many MiB of whole parameters; "
            "0 lets the cost model pick sqrt(gradient bytes x 20 us x 10 GB/s), at least 64 KiB "
            "(docs/distributed.md). Never changes results."},
    {.path = "dist.overlap", .type = IE_CFG_BOOL, .def = "true",
     .doc = "Data-parallel runs: reduce each micro-batch's buckets while backward goes on, on a communication "
            "thread (summed with this process's earlier micro-batches, sent on as soon as complete); false reduces "
            "them after the step's last backward (docs/distributed.md). Never changes results."},
    {.path = "run.threads", .type = IE_CFG_INT, .def = "0", BETWEEN(0, 4096),
     .doc = "Compute threads; 0 uses every core.  Results do not depend on it."},
    {.path = "run.blas", .type = IE_CFG_ENUM, .def = "\"none\"", .choices = "none|openblas",
     .doc = "none: convolutions on the engine's own kernels, the same bytes on every CPU (docs/engine.md). "
            "openblas: vol2col + OpenBLAS for convolutions, sometimes faster on CPUs without AVX-512, but the "
            "results then depend on the CPU model and OpenBLAS's kernel (OPENBLAS_CORETYPE)."},
    {.path = "run.name", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Name of the run's folder under output.dir; empty: generated."},
    {.path = "run.mlflow", .type = IE_CFG_ENUM, .def = "\"auto\"", .choices = "auto|off",
     .doc = "MLflow (docs/cluster.md): auto sends the metrics to the tracking server MLFLOW_TRACKING_URI names "
            "(AzureML's inside a job, or any MLflow server) and, inside an AzureML job, also writes mlruns/ in the "
            "run folder; off does neither."},
    {.path = "run.report", .type = IE_CFG_BOOL, .def = "true",
     .doc = "Write report.html (docs/reports.md) into the run folder at the end of train, a cross-validation or a "
            "sweep; `innereye report DIR` writes it at any time."},
    {.path = "output.dir", .type = IE_CFG_STRING, .def = "\"outputs\"",
     .doc = "Folder that holds one folder per run (InnerEye `--output_to`)."},

    {.path = "train.median_stop.siblings", .type = IE_CFG_STRING, .def = "\"\"",
     .doc = "Median stopping rule (set by `innereye sweep`): folder of sibling trial runs; after each epoch this run "
            "stops when its best metric so far is worse than the median of the finished siblings' at that epoch."},
    {.path = "train.median_stop.metric", .type = IE_CFG_STRING, .def = "\"val_loss\"",
     .doc = "Column of train_log.csv the median stopping rule and `innereye sweep` rank trials by."},
    {.path = "train.median_stop.goal", .type = IE_CFG_ENUM, .def = "\"min\"", .choices = "min|max",
     .doc = "Whether a smaller or a larger train.median_stop.metric is better."},
    {.path = "train.median_stop.min_epochs", .type = IE_CFG_INT, .def = "2", COUNT(1),
     .doc = "Epochs a trial always trains before the median stopping rule may stop it."},

    {.path = "cv.splits", .type = IE_CFG_INT, .def = "0", BETWEEN(0, 64), .range_doc = "0, or 2 to 64",
     .doc = "Cross-validation folds (InnerEye `number_of_cross_validation_splits`); 0: no cross-validation."},
    {.path = "cv.split_index", .type = IE_CFG_INT, .def = "-1", BETWEEN(-1, 63), .range_doc = "-1, or 0 to cv.splits - 1",
     .doc = "Fold to run (InnerEye `cross_validation_split_index`); -1 runs every fold."},
    {.path = "cv.parallel", .type = IE_CFG_INT, .def = "1", BETWEEN(1, 64),
     .doc = "Folds trained at the same time, each in its own process with the cores shared out (`--parallel N`)."},
    {.path = "cv.choose_postprocessing", .type = IE_CFG_BOOL, .def = "true",
     .doc = "Segmentation: each fold also infers its validation split, and the folds' ensemble keeps, per class, "
            "the largest-component or small-component removal that raises the validation Dice (nnU-Net's "
            "determine_postprocessing; docs/experiments.md)."},
    {.path = "plan.why", .type = IE_CFG_OBJECT, .def = "{}",
     .doc = "Written by `innereye plan` (docs/planning.md): why each planned key has its value, one sentence per "
            "key; training ignores it, the run's resolved config keeps it."},
    {.path = "plan.inputs", .type = IE_CFG_OBJECT, .def = "{}",
     .doc = "Written by `innereye plan`: the fingerprint, memory, time budget and device the plan was made for; "
            "training ignores it."},
};

#define N_KEYS ((int)(sizeof schema_keys / sizeof schema_keys[0]))

int ie_config_schema_count(void) { return N_KEYS; }

const ie_config_key *ie_config_schema_at(int i) { return i >= 0 && i < N_KEYS ? &schema_keys[i] : NULL; }

const ie_config_key *ie_config_schema_find(const char *path) {
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(schema_keys[i].path, path) == 0) return &schema_keys[i];
    return NULL;
}

bool ie_config_schema_is_section(const char *path) {
    size_t n = strlen(path);
    for (int i = 0; i < N_KEYS; i++)
        if (strncmp(schema_keys[i].path, path, n) == 0 && schema_keys[i].path[n] == '.') return true;
    return false;
}

/* ---------------------------------------------------------------- one value */

static bool is_array_type(ie_config_type t) {
    return t == IE_CFG_INT_ARRAY || t == IE_CFG_NUMBER_ARRAY || t == IE_CFG_STRING_ARRAY;
}

static bool in_range(const ie_config_key *k, double x) {
    bool lo = (k->flags & IE_CFG_MIN_EXCLUSIVE) ? x > k->min : x >= k->min;
    bool hi = (k->flags & IE_CFG_MAX_EXCLUSIVE) ? x < k->max : x <= k->max;
    return lo && hi;
}

static bool number_ok(const ie_config_key *k, const cJSON *v, bool integral) {
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return false;
    double x = v->valuedouble;
    if (integral && (x != floor(x) || fabs(x) > IE_CFG_INT_LIMIT)) return false;
    return in_range(k, x);
}

static bool choice_ok(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, s, n) == 0) return true;
        c += len + (bar ? 1 : 0);
    }
    return false;
}

/* "[0, 1)", ">= 1", "> 0", "" (no limits). */
static void range_text(const ie_config_key *k, ie_strbuf *sb, const char *interval_prefix) {
    char lo[32], hi[32];
    ie_json_number(k->min, lo);
    ie_json_number(k->max, hi);
    bool has_lo = isfinite(k->min), has_hi = isfinite(k->max);
    bool lo_x = k->flags & IE_CFG_MIN_EXCLUSIVE, hi_x = k->flags & IE_CFG_MAX_EXCLUSIVE;
    if (has_lo && has_hi) ie_sb_printf(sb, "%s%s%s, %s%s", interval_prefix, lo_x ? "(" : "[", lo, hi, hi_x ? ")" : "]");
    else if (has_lo) ie_sb_printf(sb, "%s %s", lo_x ? ">" : ">=", lo);
    else if (has_hi) ie_sb_printf(sb, "%s %s", hi_x ? "<" : "<=", hi);
}

static bool has_range(const ie_config_key *k) {
    bool numeric = k->type == IE_CFG_INT || k->type == IE_CFG_NUMBER || k->type == IE_CFG_INT_ARRAY ||
                   k->type == IE_CFG_NUMBER_ARRAY;
    return numeric && (isfinite(k->min) || isfinite(k->max));
}

static void choices_text(const char *choices, ie_strbuf *sb, const char *quote) {
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        ie_sb_printf(sb, "%s%s%.*s%s", c == choices ? "" : ", ", quote, (int)len, c, quote);
        c += len + (bar ? 1 : 0);
    }
}

/* What a key accepts, as the end of "must be ...". */
static void expectation(const ie_config_key *k, ie_strbuf *sb) {
    static const char *elem[] = {[IE_CFG_INT_ARRAY] = "ints", [IE_CFG_NUMBER_ARRAY] = "numbers",
                                 [IE_CFG_STRING_ARRAY] = "strings"};
    switch (k->type) {
    case IE_CFG_INT: ie_sb_append(sb, "an int"); break;
    case IE_CFG_NUMBER: ie_sb_append(sb, "a number"); break;
    case IE_CFG_BOOL: ie_sb_append(sb, "true or false"); return;
    case IE_CFG_STRING: ie_sb_append(sb, "a string"); return;
    case IE_CFG_OBJECT: ie_sb_append(sb, "an object ({ ... })"); return;
    case IE_CFG_ENUM:
        ie_sb_append(sb, "one of ");
        choices_text(k->choices, sb, "\"");
        return;
    default:
        if (k->length) ie_sb_printf(sb, "an array of %d %s", k->length, elem[k->type]);
        else ie_sb_printf(sb, "an array of %s", elem[k->type]);
        if (has_range(k)) ie_sb_append(sb, ", each");
        break;
    }
    if (has_range(k)) {
        ie_sb_append(sb, " ");
        range_text(k, sb, "in ");
    }
    if (k->flags & IE_CFG_EMPTY_OK) ie_sb_append(sb, ", or []");
}

static bool array_ok(const ie_config_key *k, const cJSON *v) {
    if (!cJSON_IsArray(v)) return false;
    int n = cJSON_GetArraySize(v);
    if (k->length && n != k->length && !(n == 0 && (k->flags & IE_CFG_EMPTY_OK))) return false;
    for (const cJSON *e = v->child; e; e = e->next) {
        bool ok = k->type == IE_CFG_STRING_ARRAY ? cJSON_IsString(e) : number_ok(k, e, k->type == IE_CFG_INT_ARRAY);
        if (!ok) return false;
    }
    return true;
}

static void suggest_choice(const char *choices, const char *got, ie_strbuf *why) {
    const char *best = NULL;
    size_t best_len = 0;
    int best_d = 3;
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, c);
        int d = strcasecmp(name, got) == 0 ? 0 : ie_config_levenshtein(name, got);
        if (d < best_d) {
            best = c;
            best_len = len;
            best_d = d;
        }
        c += len + (bar ? 1 : 0);
    }
    if (best) ie_sb_printf(why, " (did you mean \"%.*s\"?)", (int)best_len, best);
}

bool ie_config_schema_check(const ie_config_key *k, const cJSON *v, ie_strbuf *why) {
    bool ok;
    switch (k->type) {
    case IE_CFG_INT: ok = number_ok(k, v, true); break;
    case IE_CFG_NUMBER: ok = number_ok(k, v, false); break;
    case IE_CFG_BOOL: ok = cJSON_IsBool(v); break;
    case IE_CFG_STRING: ok = cJSON_IsString(v); break;
    case IE_CFG_ENUM: ok = cJSON_IsString(v) && choice_ok(k->choices, v->valuestring); break;
    case IE_CFG_OBJECT: ok = cJSON_IsObject(v); break;
    default: ok = array_ok(k, v); break;
    }
    if (ok) return true;
    ie_sb_append(why, "must be ");
    expectation(k, why);
    ie_sb_append(why, ", got ");
    ie_json_describe(why, v);
    if (k->type == IE_CFG_ENUM && cJSON_IsString(v)) suggest_choice(k->choices, v->valuestring, why);
    if (k->type == IE_CFG_BOOL && cJSON_IsString(v)) ie_sb_append(why, " (write true or false without quotes)");
    return false;
}

/* ---------------------------------------------------------------- suggestions */

int ie_config_levenshtein(const char *a, const char *b) {
    enum { MAX = 128 };
    int n = (int)strnlen(a, MAX), m = (int)strnlen(b, MAX);
    int row[MAX + 1];
    for (int j = 0; j <= m; j++) row[j] = j;
    for (int i = 1; i <= n; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= m; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

static const char *last_component(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

static size_t parent_len(const char *path) { return (size_t)(last_component(path) - path); }

/* Distance of an unknown path to a candidate: the better of the whole dotted
 * paths and of the last components (plus one when the parents differ, so a
 * key put in the wrong section is still found). */
static int path_distance(const char *path, const char *cand, size_t cand_len) {
    char c[256];
    snprintf(c, sizeof c, "%.*s", (int)cand_len, cand);
    int full = ie_config_levenshtein(path, c);
    size_t pp = parent_len(path), cp = parent_len(c);
    bool same_parent = pp == cp && strncmp(path, c, pp) == 0;
    int last = ie_config_levenshtein(last_component(path), last_component(c)) + (same_parent ? 0 : 1);
    return full < last ? full : last;
}

bool ie_config_schema_suggest(const char *path, char *out, size_t cap) {
    const char *last = last_component(path);
    /* An InnerEye parameter name used as a key ("num_epochs", "l_rate") maps
     * straight to ours; short flag names like "seed" are left to the distance. */
    for (int i = 0; i < ie_config_flag_count(); i++) {
        const ie_config_flag *f = ie_config_flag_at(i);
        if (f->path && strchr(f->name, '_') && strcmp(f->name, last) == 0) {
            snprintf(out, cap, "%s", f->path);
            return true;
        }
    }
    size_t n = strlen(last);
    int limit = n <= 3 ? 1 : (n / 3 > 2 ? (int)(n / 3) : 2);
    int best_d = limit + 1;
    for (int i = 0; i < N_KEYS; i++) {
        const char *cand = schema_keys[i].path;
        /* the key itself and each of its sections ("train.optimizer") */
        for (const char *end = cand; end;) {
            end = strchr(end + 1, '.');
            size_t len = end ? (size_t)(end - cand) : strlen(cand);
            int d = path_distance(path, cand, len);
            if (d < best_d) {
                best_d = d;
                snprintf(out, cap, "%.*s", (int)len, cand);
            }
        }
    }
    return best_d <= limit;
}

/* ---------------------------------------------------------------- cross-key rules */

static const cJSON *typed(const ie_config_layer *r, const char *path) {
    const cJSON *v = ie_config_find(r->tree, path);
    const ie_config_key *k = ie_config_schema_find(path);
    ie_strbuf ignore = {0};
    bool ok = v && k && ie_config_schema_check(k, v, &ignore);
    ie_sb_free(&ignore);
    return ok ? v : NULL;
}

/* "a.json, --set x=1: " for the distinct sources of the given keys. */
static void sources_prefix(const ie_config_layer *r, ie_strbuf *sb, const char *const *paths, int n) {
    const char *seen[8];
    int n_seen = 0;
    for (int i = 0; i < n && n_seen < 8; i++) {
        const char *s = ie_config_prov_lookup(r->prov, paths[i]);
        if (!s) s = "default";
        bool dup = false;
        for (int j = 0; j < n_seen; j++) dup = dup || strcmp(seen[j], s) == 0;
        if (!dup) seen[n_seen++] = s;
    }
    ie_sb_append(sb, "  ");
    for (int j = 0; j < n_seen; j++) ie_sb_printf(sb, "%s%s", j ? ", " : "", seen[j]);
    ie_sb_append(sb, ": ");
}

int ie_config_schema_cross_check(const ie_config_layer *r, ie_strbuf *problems) {
    int count = 0;
    char a[32], b[32], c[32], s[32];

    static const char *const split[] = {"data.split.train", "data.split.val", "data.split.test"};
    const cJSON *tr = typed(r, split[0]), *va = typed(r, split[1]), *te = typed(r, split[2]);
    if (tr && va && te) {
        double sum = tr->valuedouble + va->valuedouble + te->valuedouble;
        if (fabs(sum - 1.0) > 1e-6) {
            ie_json_number(tr->valuedouble, a);
            ie_json_number(va->valuedouble, b);
            ie_json_number(te->valuedouble, c);
            ie_json_number(sum, s);
            sources_prefix(r, problems, split, 3);
            ie_sb_printf(problems, "data.split: train + val + test must be 1, got %s + %s + %s = %s\n", a, b, c, s);
            count++;
        }
    }

    static const char *const cv[] = {"cv.splits", "cv.split_index"};
    const cJSON *splits = typed(r, cv[0]), *index = typed(r, cv[1]);
    if (splits && splits->valuedouble == 1) {
        sources_prefix(r, problems, cv, 1);
        ie_sb_append(problems, "cv.splits: must be 0 (no cross-validation) or >= 2, got 1\n");
        count++;
    } else if (splits && index && index->valuedouble >= 0 && index->valuedouble >= splits->valuedouble) {
        sources_prefix(r, problems, cv, 2);
        if (splits->valuedouble == 0)
            ie_sb_printf(problems, "cv.split_index: is %.0f but cv.splits is 0 (no cross-validation); "
                                   "set cv.splits or use -1\n", index->valuedouble);
        else
            ie_sb_printf(problems, "cv.split_index: must be -1 or 0 to %.0f (cv.splits is %.0f), got %.0f\n",
                         splits->valuedouble - 1, splits->valuedouble, index->valuedouble);
        count++;
    }

    /* [low, high] pairs: strictly increasing where an empty range means nothing */
    static const struct {
        const char *path;
        bool strict;
    } pairs[] = {{"data.output_range", true},          {"data.trim_percentiles", true},
                 {"data.augment.scale_range", false},  {"data.augment.gamma_range", false},
                 {"data.augment.noise_std", false},    {"data.augment.blur_sigma", false},
                 {"data.augment.brightness_range", false}, {"data.augment.contrast_range", false},
                 {"data.augment.lowres_zoom", false}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const cJSON *v = typed(r, pairs[i].path);
        if (!v || cJSON_GetArraySize(v) != 2) continue;
        double lo = cJSON_GetArrayItem(v, 0)->valuedouble, hi = cJSON_GetArrayItem(v, 1)->valuedouble;
        if (pairs[i].strict ? lo < hi : lo <= hi) continue;
        ie_json_number(lo, a);
        ie_json_number(hi, b);
        sources_prefix(r, problems, &pairs[i].path, 1);
        ie_sb_printf(problems, "%s: must be [low, high] with low %s high, got [%s, %s]\n", pairs[i].path,
                     pairs[i].strict ? "<" : "<=", a, b);
        count++;
    }

    static const char *const nesterov[] = {"train.optimizer.nesterov", "train.optimizer.momentum",
                                           "train.optimizer.kind"};
    const cJSON *nes = typed(r, nesterov[0]), *mom = typed(r, nesterov[1]), *kind = typed(r, nesterov[2]);
    if (nes && mom && kind && cJSON_IsTrue(nes) && strcmp(kind->valuestring, "sgd") == 0 &&
        mom->valuedouble <= 0) {
        sources_prefix(r, problems, nesterov, 3);
        ie_sb_append(problems, "train.optimizer.nesterov: sgd's Nesterov momentum needs "
                               "train.optimizer.momentum > 0\n");
        count++;
    }

    static const char *const precision[] = {"train.precision", "train.device"};
    const cJSON *prec = typed(r, precision[0]), *dev = typed(r, precision[1]);
    if (prec && dev && strcmp(prec->valuestring, "bf16") == 0) {
        sources_prefix(r, problems, precision, 1);
        ie_sb_append(problems, "train.precision: bf16 is not implemented yet (on any device); use fp32, or tf32 "
                               "with train.device cuda\n");
        count++;
    } else if (prec && dev && strcmp(prec->valuestring, "fp32") != 0 && strcmp(dev->valuestring, "cpu") == 0) {
        sources_prefix(r, problems, precision, 2);
        ie_sb_printf(problems, "train.precision: %s needs train.device cuda; the CPU computes in fp32 only\n",
                     prec->valuestring);
        count++;
    }
    return count;
}

/* ---------------------------------------------------------------- reference table */

static void type_text(const ie_config_key *k, ie_strbuf *sb) {
    static const char *names[] = {[IE_CFG_INT] = "int",          [IE_CFG_NUMBER] = "number",
                                  [IE_CFG_BOOL] = "bool",        [IE_CFG_STRING] = "string",
                                  [IE_CFG_ENUM] = "enum",        [IE_CFG_INT_ARRAY] = "int",
                                  [IE_CFG_NUMBER_ARRAY] = "number", [IE_CFG_STRING_ARRAY] = "string",
                                  [IE_CFG_OBJECT] = "object"};
    ie_sb_append(sb, names[k->type]);
    if (is_array_type(k->type)) {
        if (k->length) ie_sb_printf(sb, "[%d]", k->length);
        else ie_sb_append(sb, "[]");
        if (k->flags & IE_CFG_EMPTY_OK) ie_sb_append(sb, " or []");
    }
    if (k->type == IE_CFG_OBJECT) ie_sb_append(sb, " (free-form)");
}

ie_status ie_config_schema_markdown(char **out) {
    if (!out) return ie_error_set(IE_ERR_INVALID_ARG, "ie_config_schema_markdown: out must not be NULL");
    ie_strbuf sb = {0};
    ie_sb_append(&sb, "| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
    for (int i = 0; i < N_KEYS; i++) {
        const ie_config_key *k = &schema_keys[i];
        cJSON *def = cJSON_Parse(k->def);
        ie_sb_printf(&sb, "| `%s` | ", k->path);
        type_text(k, &sb);
        ie_sb_append(&sb, " | `");
        if (def) ie_json_write(&sb, def, -1);
        ie_sb_append(&sb, "` | ");
        cJSON_Delete(def);
        if (k->range_doc) ie_sb_append(&sb, k->range_doc);
        else if (k->type == IE_CFG_ENUM) choices_text(k->choices, &sb, "`");
        else if (has_range(k)) {
            if (is_array_type(k->type)) ie_sb_append(&sb, "each ");
            range_text(k, &sb, "");
        }
        ie_sb_printf(&sb, " | %s |\n", k->doc);
    }
    *out = ie_sb_take(&sb);
    return *out ? IE_OK : ie_error_set(IE_ERR_NOMEM, "config: out of memory");
}
